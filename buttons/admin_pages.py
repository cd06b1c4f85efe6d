"""The button admin's own pages beside Django's: sending a test click and its live result, and the
confirmation before clearing all messages. Mixed into ButtonAdmin (buttons.admin), whose company-scoped
queryset finds the button, so another company's button is simply not found.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from buttons import actions
from buttons.access import get_own_event
from buttons.models import Button, ClickEvent
from buttons.webhooks import USER_AGENT
from messaging import actions as messaging
from messaging import reads
from messaging.models import Message


class ButtonPages:
    """ButtonAdmin's first base: `self` is the ModelAdmin, and super() reaches Django's get_urls()."""

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/test-click/",
                self.admin_site.admin_view(self.test_click_view),
                name="buttons_button_test_click",
            ),
            path(
                "<path:object_id>/test-click/<uuid:event_id>/",
                self.admin_site.admin_view(self.test_click_result_view),
                name="buttons_button_test_click_result",
            ),
            path(
                "<path:object_id>/clear-messages/",
                self.admin_site.admin_view(self.clear_messages_view),
                name="buttons_button_clear_messages",
            ),
            *super().get_urls(),
        ]

    def _editable_button(self, request: HttpRequest, object_id: str) -> Button | None:
        button = self.get_object(request, unquote(object_id))
        if button is not None and not self.has_change_permission(request, button):
            raise PermissionDenied
        return button

    def test_click_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What a test click sends (GET), then sending it (POST, CSRF) and on to its live result."""
        button = self._editable_button(request, object_id)
        if button is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            try:
                event = actions.send_test_click(request.user, button.identifier)
            except (actions.ClickRefused, Http404, actions.QueueUnavailable) as exc:
                refusal = str(exc) if not isinstance(exc, Http404) else (
                    "Test clicks are sent as a member of the button's company; your user is not one.")
                self.message_user(request, refusal, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:buttons_button_change", args=[button.pk]))
            self.log_change(request, button, f"Sent a test click ({event.pk}).")
            return HttpResponseRedirect(
                reverse("admin:buttons_button_test_click_result", args=[button.pk, event.pk]))
        return self._test_click_page(request, button, None)

    def test_click_result_view(self, request: HttpRequest, object_id: str, event_id: uuid.UUID) -> HttpResponse:
        button = self._editable_button(request, object_id)
        if button is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        event = get_own_event(request.user, event_id)  # the admin's own test clicks only
        if event.button_id != button.pk or not event.is_test:
            raise Http404("No such test click.")
        return self._test_click_page(request, button, event)

    def _test_click_page(self, request: HttpRequest, button: Button, event: ClickEvent | None) -> HttpResponse:
        headers = ["Content-Type: application/json", f"User-Agent: {USER_AGENT}",
                   "Idempotency-Key: <the event_id>"]
        if button.signing_secret:
            headers += ["webhook-id: <the event_id>", "webhook-timestamp: <seconds since 1970>",
                        "webhook-signature: v1,<base64 HMAC-SHA256>"]
        context = {
            **self.admin_site.each_context(request),
            "title": "Test click",
            "subtitle": str(button),
            "opts": self.opts,
            "object": button,
            "change_url": reverse("admin:buttons_button_change", args=[button.pk]),
            "event": event,
            "payload": json.dumps(event.payload, indent=2) if event else None,
            "headers": headers,
            "messages_log": list(reads.event_messages(event))[::-1] if event else [],  # oldest first
        }
        return TemplateResponse(request, "admin/buttons/button/test_click.html", context)

    def clear_messages_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Clear all messages: a confirmation page (GET), then the clearing itself (POST, CSRF)."""
        button = self._editable_button(request, object_id)
        if button is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:buttons_button_change", args=[button.pk])
        if request.method == "POST":
            messaging.clear_messages(button)
            self.log_change(request, button, "Cleared all messages.")
            self.message_user(
                request,
                f"All messages of “{button}” were cleared. The message log is empty now; the messages are "
                "deleted for good within a minute.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Clear all messages?",
            "subtitle": str(button),
            "opts": self.opts,
            "object": button,
            "change_url": change_url,
            "message_count": Message.objects.filter(reads.visible_after(button), button=button).count(),
        }
        return TemplateResponse(request, "admin/buttons/button/clear_messages.html", context)
