"""Admin scoping for every company-owned model, the one "show a new secret once" flow, and the companies
and members themselves (superusers; a company admin sees only their own).

Every admin class that shows company data derives from CompanyScopedAdmin: its queryset is scoped to
the signed-in admin's company, and the change, delete, history and autocomplete views all look objects
up through that queryset, so another company's object is simply not found. Filters that list related
objects (buttons.admin.ButtonFilter) are scoped the same way.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from accounts.access import (
    admin_company_of,
    grant_company_admin_permissions,
    may_use_admin,
    revoke_company_admin_permissions,
)
from accounts.actions import delete_group, group_name_taken, group_users
from accounts.models import Company, Group, Member
from core.secrets import generate_embed_secret, mask_secret


class CompanyScopedAdmin(admin.ModelAdmin):
    """Objects of the admin's own company only (the model has a `company` foreign key)."""

    company_field = "company_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        company_id = admin_company_of(request)
        return qs if company_id is None else qs.filter(**{self.company_field: company_id})

    # A staff user who is no longer a company admin keeps no access through stale permissions.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request) and super().has_delete_permission(request, obj)


class ReadOnly:
    """Click events and messages are records of what happened: viewed, searched, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, CompanyScopedAdmin):
    show_full_result_count = False  # one COUNT(*) per page is enough on big tables
    show_facets = admin.ShowFacets.NEVER  # a COUNT per filter choice would be too much on big tables


class ShowsNewSecretOnce(admin.ModelAdmin):
    """A secret the form just generated (form.generated_secret) is shown once, on the change page that
    follows the save, read from the server-side session: never in a cookie or a URL, and the admin marks
    every page never_cache (no-store), so the browser does not keep it. Afterwards only a masked form."""

    new_secret_session_key = ""  # where the secret waits for the next page
    new_secret_context_name = ""  # its name in the change form's template

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if getattr(form, "generated_secret", None):
            request.session[self.new_secret_session_key] = form.generated_secret
        return super().save_form(request, form, change)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context[self.new_secret_context_name] = request.session.pop(self.new_secret_session_key, None)
        return super().change_view(request, object_id, form_url, extra_context)

    def _to_change_page(self, obj: Any) -> HttpResponse:
        """Where a save that made a secret lands: the change page, which shows it."""
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        if request.session.get(self.new_secret_session_key):
            return self._to_change_page(obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if request.session.get(self.new_secret_session_key):
            return self._to_change_page(obj)
        return super().response_change(request, obj)


# --- Companies and members (superusers; a company admin sees only their own) -------------------


EMBED_SECRET_ACTIONS = (
    ("keep", "Keep the current embed secret"),
    ("generate", "Generate a new embed secret (tokens signed with the old one stop working)"),
    ("remove", "Remove the embed secret (no other CRM can show the panel)"),
)


class CompanyAdminForm(forms.ModelForm):
    embed_secret_action = forms.ChoiceField(
        label="Embed secret", choices=EMBED_SECRET_ACTIONS, initial="keep", required=False, widget=forms.RadioSelect)

    class Meta:
        model = Company
        fields = ("name", "external_id", "embed_origins")
        widgets = {"embed_origins": forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "https://app.hubspot.com"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.generated_secret: str | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        action = cleaned.get("embed_secret_action") or "keep"
        if action == "generate":
            self.generated_secret = self.instance.embed_secret = generate_embed_secret()
        elif action == "remove":
            self.instance.embed_secret = ""
        return cleaned


@admin.register(Company)
class CompanyAdmin(ShowsNewSecretOnce, CompanyScopedAdmin):
    """Superusers manage every company; a company admin sees and edits their own company's name and
    its embedding (the embed secret and the origins allowed to frame the panel)."""

    form = CompanyAdminForm
    new_secret_session_key = "oneclick_new_embed_secret"  # noqa: S105 - a session key
    new_secret_context_name = "new_embed_secret"  # noqa: S105 - a template variable
    company_field = "pk"
    list_display = ("name", "external_id", "installed_members")
    search_fields = ("name", "external_id")
    fieldsets = (
        ("Company", {"fields": ("name", "external_id", "installed_members")}),
        ("Embedding in other CRMs", {
            "fields": ("current_embed_secret", "embed_secret_action", "embed_origins", "embed_help"),
            "description": "Any web page can show the OneClick panel in a frame (HubSpot, Salesforce, an intranet): "
            "its server signs a short token with this secret and opens /embed/panel/?token=… .",
        }),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Company | None = None) -> Any:
        # The CRM's company id is the company's identity in every token: only a superuser changes it.
        fixed = () if request.user.is_superuser else ("external_id",)
        return (*fixed, "installed_members", "current_embed_secret", "embed_help")

    # A company admin needs no Django permission on companies: the queryset already holds only theirs.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # One count per company in the same query, not one query per row of the list.
        return super().get_queryset(request).annotate(
            active_members=Count("members", filter=Q(members__is_active=True)))

    @admin.display(description="Active members")
    def installed_members(self, obj: Company | None) -> str:
        if obj is None or obj.pk is None:
            return "-"
        active = getattr(obj, "active_members", None)
        if active is None:  # an object the admin did not load through get_queryset
            active = obj.members.filter(is_active=True).count()
        return f"{active} active" + ("" if active else " (OneClick counts as not installed)")

    @admin.display(description="Current embed secret")
    def current_embed_secret(self, obj: Company | None) -> str:
        return mask_secret(obj.embed_secret) if obj and obj.embed_secret else "No embed secret"

    @admin.display(description="How to sign")
    def embed_help(self, obj: Company | None) -> str:
        company_id = obj.external_id if obj else "<company id>"
        return format_html(
            '<span class="help">A JWT signed HS256 with the key the secret encodes (the base64 after '
            "<code>oce_</code>), with the claims <code>companyId</code> ({}), <code>userId</code>, "
            "<code>resource</code>, <code>view</code>, <code>selectedIds</code>, <code>exp</code> (at most 15 "
            "minutes ahead) and optionally <code>name</code>. The README shows it in Python and Node.</span>",
            company_id,
        )


@admin.register(Member)
class MemberAdmin(CompanyScopedAdmin):
    list_display = ("user", "company", "external_id", "is_company_admin", "is_active")
    list_filter = ("is_company_admin", "is_active")
    list_select_related = ("user", "company")
    search_fields = ("user__username", "external_id")

    def save_model(self, request: HttpRequest, obj: Member, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Admin-panel access follows the company-admin flag, as `createmember --admin` sets it up.
        user = obj.user
        if user.is_staff != obj.is_company_admin and not user.is_superuser:
            user.is_staff = obj.is_company_admin
            user.save(update_fields=["is_staff"])
        if obj.is_company_admin:
            grant_company_admin_permissions(user)
        elif not user.is_superuser:
            revoke_company_admin_permissions(user)


class GroupAdminForm(forms.ModelForm):
    company_id: int | None = None  # the admin's company (GroupAdmin.get_form): names are unique in it

    class Meta:
        model = Group
        fields = ("name", "members")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        company = self.cleaned_data.get("company")  # a superuser names the company
        company_id = self.company_id if self.company_id is not None else (
            company.pk if company is not None else self.instance.company_id)
        if group_name_taken(company_id, name, self.instance.pk):
            raise forms.ValidationError(f"The company already has a group named {name}.")
        return name


@admin.register(Group)
class GroupAdmin(CompanyScopedAdmin):
    """Company admins name groups of their members (a button can be limited to groups)."""

    form = GroupAdminForm
    list_display = ("name", "size")
    search_fields = ("name",)
    filter_horizontal = ("members",)
    fields = ("name", "members")

    def get_fields(self, request: HttpRequest, obj: Group | None = None) -> Any:
        return ("company", *self.fields) if request.user.is_superuser else self.fields

    # Any company admin manages the company's groups: no separate Django permission to hand out.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(size_=Count("members"))

    @admin.display(description="members", ordering="size_")
    def size(self, obj: Group) -> int:
        return obj.size_

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "members":  # only the admin's own company's members can be chosen
            members = Member.objects.select_related("user").filter(is_active=True)
            company_id = admin_company_of(request)
            kwargs["queryset"] = members if company_id is None else members.filter(company_id=company_id)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Group | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.company_id = admin_company_of(request)
        return form

    def save_model(self, request: HttpRequest, obj: Group, form: object, change: bool) -> None:
        company_id = admin_company_of(request)
        if company_id is not None:
            obj.company_id = company_id
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # A group that limits buttons is not deleted (that would widen or empty their audience): the
        # delete page lists those buttons the way Django lists protected objects, and offers no "Yes".
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for group in objs:
            protected.extend(f'Button "{label}": it is limited to the group "{group.name}"; remove the group '
                             "from its visibility first" for label in group_users(group))
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        delete_group(obj)  # GroupInUse if a button still names it (the page above refuses first)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for group in queryset:
            delete_group(group)
