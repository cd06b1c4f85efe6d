"""Admin: company admins manage their own company's buttons; superusers see everything."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import QuerySet
from django.http import HttpRequest

from buttons.models import Button, ClickEvent, Company, Member

# What `createmember --admin` grants: enough to manage buttons and read the logs, nothing else.
COMPANY_ADMIN_PERMISSIONS = (
    ("buttons", "view_button"),
    ("buttons", "add_button"),
    ("buttons", "change_button"),
    ("buttons", "delete_button"),
    ("buttons", "view_clickevent"),
    ("messaging", "view_message"),
)


def grant_company_admin_permissions(user: AbstractBaseUser) -> None:
    perms = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in COMPANY_ADMIN_PERMISSIONS},
        codename__in={code for _, code in COMPANY_ADMIN_PERMISSIONS},
    )
    user.user_permissions.add(*perms)  # type: ignore[attr-defined]


def company_id_of(request: HttpRequest) -> int | None:
    """None for superusers (no scoping); otherwise the admin's company (-1 matches nothing)."""
    if request.user.is_superuser:
        return None
    member = Member.objects.filter(user_id=request.user.pk).only("company_id").first()
    return member.company_id if member else -1


class CompanyScopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        company_id = company_id_of(request)
        return qs if company_id is None else qs.filter(company_id=company_id)


@admin.register(Button)
class ButtonAdmin(CompanyScopedAdmin):
    list_display = ("label", "kind", "resource", "view", "messaging_enabled", "messages_public")
    list_filter = ("kind", "resource", "view", "messaging_enabled")
    search_fields = ("label", "url")
    readonly_fields = ("identifier",)

    def get_exclude(self, request: HttpRequest, obj: Button | None = None) -> tuple[str, ...]:
        return () if request.user.is_superuser else ("company",)

    def save_model(self, request: HttpRequest, obj: Button, form: object, change: bool) -> None:
        company_id = company_id_of(request)
        if company_id is not None:
            obj.company_id = company_id
        super().save_model(request, obj, form, change)


@admin.register(ClickEvent)
class ClickEventAdmin(CompanyScopedAdmin):
    list_display = ("created_at", "button", "resource", "object_id", "user", "delivery", "http_status")
    list_filter = ("delivery", "resource")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id")
    search_fields = ("name", "external_id")


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("user", "company", "external_id", "is_company_admin")
    list_filter = ("is_company_admin",)
