"""Messages in the admin: read-only, searchable by content, filterable, scoped to the admin's company."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from buttons.admin import ButtonFilter, ReadOnlyAdmin
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
