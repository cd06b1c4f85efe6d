"""Messages in the admin (read-only, searchable by content, filterable, scoped to the admin's company),
and the button admin's page that clears all of a button's messages."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.admin import ReadOnlyAdmin
from buttons.admin import ButtonAdmin, ButtonFilter
from messaging import actions, reads
from messaging.models import Message
from messaging.reads import not_cleared
from messaging.validation import sanitize_message


class ReadFilter(admin.SimpleListFilter):
    """Read state belongs to the user who clicked (the recipient)."""

    title = "read by the recipient"
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("unread", "Unread"), ("read", "Read")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "unread":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "read":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    # What the message says first; the table scrolls sideways on a narrow screen.
    list_display = ("created_at", "short_content", "message_type", "source", "is_read", "button", "object_id",
                    "recipient", "resource")
    list_filter = ("message_type", "source", ButtonFilter, ReadFilter, "resource")
    list_select_related = ("button", "recipient")
    search_fields = ("content",)
    search_help_text = "Search the message content."
    fieldsets = (
        (None, {"fields": ("event", "button", "resource", "object_id", "recipient", "created_at", "read_at")}),
        ("Message", {"fields": ("source", "message_type", "content", "rendered", "redirect_url")}),
    )
    readonly_fields = ("rendered",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        # A cleared log is empty at once here too, before the task has deleted its rows.
        return super().get_queryset(request).filter(not_cleared())

    @admin.display(description="read", boolean=True)
    def is_read(self, message: Message) -> bool:
        return message.read_at is not None

    @admin.display(description="content")
    def short_content(self, message: Message) -> str:
        # As text: a list of HTML source is hard to scan; the message's page shows both.
        return message.preview(80)

    @admin.display(description="As users see it")
    def rendered(self, message: Message) -> str:
        # sanitize_message is the same nh3 pass the message log uses: its output is safe to render.
        return format_html('<div class="readonly">{}</div>', mark_safe(sanitize_message(message.content)))  # noqa: S308


# --- The button admin's Clear all messages --------------------------------------------------------


def clear_messages_pages(model_admin: ButtonAdmin) -> list[URLPattern]:
    return [path("<path:object_id>/clear-messages/",
                 model_admin.admin_site.admin_view(partial(clear_messages_view, model_admin)),
                 name="buttons_button_clear_messages")]


ButtonAdmin.pages.append(clear_messages_pages)


def clear_messages_view(model_admin: ButtonAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Clear all messages: a confirmation page (GET), then the clearing itself (POST, CSRF)."""
    button = model_admin.editable_button(request, object_id)
    if button is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    change_url = reverse("admin:buttons_button_change", args=[button.pk])
    if request.method == "POST":
        actions.clear_messages(button)
        model_admin.log_change(request, button, "Cleared all messages.")
        model_admin.message_user(
            request,
            f"All messages of “{button}” were cleared. The message log is empty now; the messages are "
            "deleted for good within a minute.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Clear all messages?",
        "subtitle": str(button),
        "opts": model_admin.opts,
        "object": button,
        "change_url": change_url,
        "message_count": Message.objects.filter(reads.visible_after(button), button=button).count(),
    }
    return TemplateResponse(request, "admin/buttons/button/clear_messages.html", context)
