from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from buttons.admin import CompanyScopedAdmin
from messaging.models import Message


@admin.register(Message)
class MessageAdmin(CompanyScopedAdmin):
    list_display = ("created_at", "button", "resource", "object_id", "recipient", "message_type", "source")
    list_filter = ("message_type", "source")
    search_fields = ("content",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
