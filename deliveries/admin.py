"""The click events in the admin (read-only, with their messages) and the button admin's test click:
what it sends, sending it, and its live result."""

from __future__ import annotations

import json
import uuid
from functools import partial

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from accounts.admin import ReadOnly, ReadOnlyAdmin
from buttons.admin import ButtonAdmin, ButtonFilter
from buttons.models import Button, ClickEvent
from deliveries import actions
from deliveries.webhooks import USER_AGENT
from messaging import reads
from messaging.models import Message


def test_click_pages(model_admin: ButtonAdmin) -> list[URLPattern]:
    return [
        path("<path:object_id>/test-click/", model_admin.admin_site.admin_view(partial(test_click_view, model_admin)),
             name="buttons_button_test_click"),
        path("<path:object_id>/test-click/<uuid:event_id>/",
             model_admin.admin_site.admin_view(partial(test_click_result_view, model_admin)),
             name="buttons_button_test_click_result"),
    ]


ButtonAdmin.pages.append(test_click_pages)


def test_click_view(model_admin: ButtonAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """What a test click sends (GET), then sending it (POST, CSRF) and on to its live result."""
    button = model_admin.editable_button(request, object_id)
    if button is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    if request.method == "POST":
        try:
            event = actions.send_test_click(request.user, button.identifier)
        except (actions.ClickRefused, Http404, actions.QueueUnavailable) as exc:
            refusal = str(exc) if not isinstance(exc, Http404) else (
                "Test clicks are sent as a member of the button's company; your user is not one.")
            model_admin.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:buttons_button_change", args=[button.pk]))
        model_admin.log_change(request, button, f"Sent a test click ({event.pk}).")
        return HttpResponseRedirect(
            reverse("admin:buttons_button_test_click_result", args=[button.pk, event.pk]))
    return _test_click_page(model_admin, request, button, None)


def test_click_result_view(model_admin: ButtonAdmin, request: HttpRequest, object_id: str,
                           event_id: uuid.UUID) -> HttpResponse:
    button = model_admin.editable_button(request, object_id)
    if button is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    event, messages = reads.own_event_with_messages(request.user, event_id)  # the admin's own test clicks only
    if event.button_id != button.pk or not event.is_test:
        raise Http404("No such test click.")
    return _test_click_page(model_admin, request, button, event, messages)


def _test_click_page(model_admin: ButtonAdmin, request: HttpRequest, button: Button,
                     event: ClickEvent | None, messages_log: list[Message] | None = None) -> HttpResponse:
    headers = ["Content-Type: application/json", f"User-Agent: {USER_AGENT}",
               "Idempotency-Key: <the event_id>"]
    if button.signing_secret:
        headers += ["webhook-id: <the event_id>", "webhook-timestamp: <seconds since 1970>",
                    "webhook-signature: v1,<base64 HMAC-SHA256>"]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Test click",
        "subtitle": str(button),
        "opts": model_admin.opts,
        "object": button,
        "change_url": reverse("admin:buttons_button_change", args=[button.pk]),
        "event": event,
        "payload": json.dumps(event.payload, indent=2) if event else None,
        "headers": headers,
        "messages_log": (messages_log or [])[::-1],  # oldest first
    }
    return TemplateResponse(request, "admin/buttons/button/test_click.html", context)


# --- Click events ---------------------------------------------------------------------------------


class MessageInline(ReadOnly, admin.TabularInline):
    model = Message
    fields = ("created_at", "source", "message_type", "content", "redirect_url", "recipient", "read_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).filter(reads.not_cleared()).select_related("recipient")


@admin.register(ClickEvent)
class ClickEventAdmin(ReadOnlyAdmin):
    # Why a click failed first; what fits a laptop's width (the rest is on each click's page).
    list_display = ("created_at", "button", "record", "user", "outcome", "short_error", "custom_message_count")
    list_filter = ("delivery", "is_test", ButtonFilter, "resource", "view")
    list_select_related = ("button", "user")
    search_fields = ("object_id", "error", "response_note")
    search_help_text = "Search by record id or error text, or paste an event_id."
    inlines = (MessageInline,)
    fieldsets = (
        ("Click", {"fields": ("id", "button", "user", "resource", "view", "object_id", "selected_ids",
                              "created_at", "window_ends_at", "custom_message_count")}),
        ("Delivery", {"fields": ("delivery", "http_status", "duration_ms", "attempts", "error")}),
        ("What came back", {
            "fields": ("pretty_response_body", "response_note"),
            "description": "The first 2 KB of the webhook's answer, and why the log shows \"Success\" or "
                           "\"Error (HTTP status)\" instead of it when it could not be shown as a message.",
        }),
        ("Webhook payload", {"fields": ("pretty_payload", "pretty_fields")}),
    )
    readonly_fields = ("pretty_payload", "pretty_fields", "pretty_response_body")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        try:
            event_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(pk=event_id), False

    @admin.display(description="record", ordering="object_id")
    def record(self, obj: ClickEvent) -> str:
        return "test click" if obj.is_test else f"{obj.resource} {obj.object_id}"

    @admin.display(description="delivery", ordering="delivery")
    def outcome(self, obj: ClickEvent) -> str:
        """Pending, or how it ended: "Delivered · HTTP 200 · 312 ms"."""
        parts = [obj.get_delivery_display()]
        if obj.http_status:
            parts.append(f"HTTP {obj.http_status}")
        if obj.duration_ms is not None:
            parts.append(f"{obj.duration_ms} ms")
        return " · ".join(parts)

    @admin.display(description="error or replaced answer")
    def short_error(self, obj: ClickEvent) -> str:
        # A delivered answer the log could not show is worth a glance too: its author must fix it.
        return Truncator(obj.error or obj.response_note).chars(80)

    @admin.display(description="Response body")
    def pretty_response_body(self, obj: ClickEvent) -> str:
        if obj.http_status is None:
            return "-"
        return format_html("<pre class=\"oneclick-body\">{}</pre>", obj.response_body or "(empty)")

    @admin.display(description="Payload")
    def pretty_payload(self, obj: ClickEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.display(description="Fields")
    def pretty_fields(self, obj: ClickEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.fields, indent=2, ensure_ascii=False))


