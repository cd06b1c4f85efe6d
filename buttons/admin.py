"""Admin: company admins manage their own company's buttons; superusers see everything.

Every admin class that shows company data derives from CompanyScopedAdmin: its queryset is scoped to
the signed-in admin's company, and the change, delete, history and autocomplete views all look objects
up through that queryset, so another company's object is simply not found. Filters that list related
objects (ButtonFilter) are scoped the same way.
"""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from buttons.access import (
    admin_company_of,
    grant_company_admin_permissions,
    may_use_admin,
    revoke_company_admin_permissions,
)
from buttons.admin_pages import ButtonPages
from buttons.models import Button, ClickEvent, Company, Member
from buttons.signing import generate_embed_secret, generate_secret, mask_secret
from messaging import reads
from messaging.models import Message

NEW_SECRET_SESSION_KEY = "oneclick_new_signing_secret"  # noqa: S105 - a session key


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


class ButtonFilter(admin.SimpleListFilter):
    """Filter by button, offering only the admin's own company's buttons."""

    title = "button"
    parameter_name = "button"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        company_id = admin_company_of(request)
        buttons = Button.objects.order_by("label", "id")
        if company_id is not None:
            return [(str(pk), label) for pk, label in buttons.filter(company_id=company_id).values_list("pk", "label")]
        return [
            (str(pk), f"{label} ({company})")
            for pk, label, company in buttons.values_list("pk", "label", "company__name")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        # Only a choice the filter offers (the admin's own company's buttons): anything else, another
        # company's id or a value that is no id at all, matches nothing.
        offered = {pk for pk, _ in self.lookup_choices}
        return queryset.filter(button_id=int(value)) if value in offered else queryset.none()


# --- Buttons --------------------------------------------------------------------------------------

# The product guide's words, for the settings it describes.
GUIDE_HELP = {
    "messaging_enabled": "OneClick can listen for messages from your automation once the button has been "
    "triggered: the HTTP response of your end-point / webhook, and up to 10 custom messages sent to "
    "/api/trigger-message within the 45 second event window. This feature is not available for Link buttons.",
    "messages_public": "By default the messages are only visible to the user who clicked the button and only "
    "on the specific deal, organization or person object from which the button was clicked. If you want all "
    "users to see each other's messages you can make the messages public; they are still specific to the "
    "object (messages on deal A are not shown on deal B).",
    "do_not_log_http_responses": "If you do not wish to consider HTTP responses as OneClick messages you can "
    "enable this option. You can still use custom messages. If enabled any HTTP responses will not be "
    "visible in the message log view.",
    "disable_on_unread_error": "If you want to make sure the users pay attention to error messages you can "
    "enable this feature. If enabled and an unread error message is present, the button will be disabled "
    "until the user goes to the message log and sees the error message. If you have also made the messages "
    "public this only applies to the user who clicked the button.",
    "disable_on_any_unread": "If you want to make sure the users read all messages before clicking the button "
    "again you can enable this feature. If enabled and there are any unread messages in the message log the "
    "user needs to see all the messages until the button can be clicked again. If you have also made the "
    "messages public this only applies to the user who clicked the button.",
}
SECRET_ACTIONS = (
    ("keep", "Keep the current secret (or set the one typed above)"),
    ("generate", "Generate a new secret"),
    ("remove", "Remove the secret (webhooks are sent unsigned)"),
)


class ButtonAdminForm(forms.ModelForm):
    # The guide's option, inverted onto the model's log_http_responses (default: log them).
    do_not_log_http_responses = forms.BooleanField(
        label="Do not log HTTP responses", required=False, help_text=GUIDE_HELP["do_not_log_http_responses"]
    )
    # Never rendered back: the current secret only appears masked (ButtonAdmin.current_secret).
    signing_secret = forms.CharField(
        label="Set a secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "size": 60}),
        help_text="Paste a Standard Webhooks secret (whsec_ followed by base64) to replace the current one. "
        "Leave blank to keep the current secret.",
    )
    secret_action = forms.ChoiceField(
        label="Secret", choices=SECRET_ACTIONS, initial="keep", required=False, widget=forms.RadioSelect
    )

    class Meta:
        model = Button
        # log_http_responses is edited through do_not_log_http_responses, the guide's wording.
        fields = ("company", "label", "kind", "url", "resource", "view", "messaging_enabled", "messages_public",
                  "disable_on_unread_error", "disable_on_any_unread", "signing_secret")
        help_texts = {name: text for name, text in GUIDE_HELP.items() if name != "do_not_log_http_responses"}
        field_classes = {"url": partial(forms.URLField, assume_scheme="https")}
        # A plain input: the admin's URL widget adds "Currently: <url>", which after a form error on the
        # Add page shows a URL that was never saved.
        widgets = {"url": forms.URLInput(attrs={"class": "vURLField", "size": 60})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.generated_secret: str | None = None
        self.initial["signing_secret"] = ""
        self.initial["do_not_log_http_responses"] = not self.instance.log_http_responses

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        action = cleaned.get("secret_action") or "keep"
        typed = cleaned.get("signing_secret") or ""
        if typed and action != "keep":
            self.add_error("secret_action", "Either type a secret or choose to generate or remove one, not both.")
        elif action == "generate":
            self.generated_secret = cleaned["signing_secret"] = generate_secret()
        elif action == "remove":
            cleaned["signing_secret"] = ""
        else:
            cleaned["signing_secret"] = typed or self.instance.signing_secret
        self.instance.log_http_responses = not cleaned.get("do_not_log_http_responses", False)
        return cleaned


@admin.register(Button)
class ButtonAdmin(ButtonPages, CompanyScopedAdmin):
    form = ButtonAdminForm
    list_display = ("label", "kind", "resource", "view", "messaging_enabled", "messages_public")
    list_filter = ("kind", "resource", "view", "messaging_enabled")
    search_fields = ("label", "url")
    readonly_fields = ("button_identifier", "current_secret", "clear_all_messages", "test_click")
    fieldsets = (
        ("Button", {"fields": ("button_identifier", "label", "kind", "url", "resource", "view")}),
        (
            "Messaging",
            {
                "fields": (
                    "messaging_enabled",
                    "messages_public",
                    "do_not_log_http_responses",
                    "disable_on_unread_error",
                    "disable_on_any_unread",
                    "clear_all_messages",
                ),
                "description": "Messaging is not available for Link buttons. Messages are retained for 30 days "
                "and then automatically permanently removed.",
            },
        ),
        (
            "Signing secret",
            {
                "fields": ("current_secret", "signing_secret", "secret_action"),
                "description": "With a secret, every webhook carries the Standard Webhooks headers webhook-id, "
                "webhook-timestamp and webhook-signature, so your automation can check the call came from "
                "OneClick.",
            },
        ),
        ("Try it", {"fields": ("test_click",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Button | None = None) -> Any:
        if request.user.is_superuser:
            (title, options), *rest = self.fieldsets
            return ((title, {**options, "fields": ("company", *options["fields"])}), *rest)
        return self.fieldsets

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("company", *self.list_filter) if request.user.is_superuser else self.list_filter

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*self.list_display, "company") if request.user.is_superuser else self.list_display

    @admin.display(description="Identifier")
    def button_identifier(self, obj: Button | None) -> str:
        # An unsaved button's default UUID is not the one it will be saved with (a new one per render).
        if obj is None or obj.pk is None:
            return "Assigned when the button is saved."
        return str(obj.identifier)

    @admin.display(description="Current secret")
    def current_secret(self, obj: Button | None) -> str:
        return mask_secret(obj.signing_secret) if obj and obj.signing_secret else "No secret"

    @admin.display(description="Test")
    def test_click(self, obj: Button | None) -> str:
        if obj is None or obj.pk is None:
            return "Available once the button is saved."
        if obj.kind == "link":
            return "A link button sends no webhook."
        return format_html(
            '<span class="oneclick-inline"><a class="button" href="{}">Send a test click</a>'
            '<span class="help">Sends the webhook with sample record ids, so Make or Zapier can learn its'
            " fields; the answer and the messages that come back show on the test's page.</span></span>",
            reverse("admin:buttons_button_test_click", args=[obj.pk]),
        )

    @admin.display(description="Clear all messages")
    def clear_all_messages(self, obj: Button | None) -> str:
        if obj is None or obj.pk is None:
            return "Available once the button is saved."
        url = reverse("admin:buttons_button_clear_messages", args=[obj.pk])
        last = (
            f" Last cleared {timezone.localtime(obj.messages_cleared_at):%Y-%m-%d %H:%M %Z}."
            if obj.messages_cleared_at else ""
        )
        return format_html(
            '<span class="oneclick-inline"><a class="button" href="{}">Clear all messages</a>'
            '<span class="help">Permanently deletes all messages related to this button.{}</span></span>',
            url,
            last,
        )

    def save_form(self, request: HttpRequest, form: ButtonAdminForm, change: bool) -> Button:
        if form.generated_secret:
            # Shown once, on the next page, from the server-side session: never in a cookie or URL.
            request.session[NEW_SECRET_SESSION_KEY] = form.generated_secret
        return super().save_form(request, form, change)

    def save_model(self, request: HttpRequest, obj: Button, form: object, change: bool) -> None:
        company_id = admin_company_of(request)
        if company_id is not None:
            obj.company_id = company_id
        super().save_model(request, obj, form, change)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context["new_signing_secret"] = request.session.pop(NEW_SECRET_SESSION_KEY, None)
        # The admin marks every page never_cache (no-store), so the secret is not kept by the browser.
        return super().change_view(request, object_id, form_url, extra_context)

    def response_add(self, request: HttpRequest, obj: Button, post_url_continue: str | None = None) -> HttpResponse:
        if request.session.get(NEW_SECRET_SESSION_KEY):
            # Land on the change page, which shows the new secret once.
            return HttpResponseRedirect(reverse("admin:buttons_button_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Button) -> HttpResponse:
        if request.session.get(NEW_SECRET_SESSION_KEY):
            return HttpResponseRedirect(reverse("admin:buttons_button_change", args=[obj.pk]))
        return super().response_change(request, obj)


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
    search_fields = ("object_id", "error")
    search_help_text = "Search by record id or error text, or paste an event_id."
    inlines = (MessageInline,)
    fieldsets = (
        ("Click", {"fields": ("id", "button", "user", "resource", "view", "object_id", "selected_ids",
                              "created_at", "window_ends_at", "custom_message_count")}),
        ("Delivery", {"fields": ("delivery", "http_status", "duration_ms", "attempts", "error")}),
        ("Webhook payload", {"fields": ("pretty_payload", "pretty_fields")}),
    )
    readonly_fields = ("pretty_payload", "pretty_fields")

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

    @admin.display(description="error")
    def short_error(self, obj: ClickEvent) -> str:
        return Truncator(obj.error).chars(80)

    @admin.display(description="Payload")
    def pretty_payload(self, obj: ClickEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.display(description="Fields")
    def pretty_fields(self, obj: ClickEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.fields, indent=2, ensure_ascii=False))


# --- Companies and members (superusers; a company admin sees only their own) -------------------


EMBED_SECRET_SESSION_KEY = "oneclick_new_embed_secret"  # noqa: S105 - a session key
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
class CompanyAdmin(CompanyScopedAdmin):
    """Superusers manage every company; a company admin sees and edits their own company's name and
    its embedding (the embed secret and the origins allowed to frame the panel)."""

    form = CompanyAdminForm
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

    def save_form(self, request: HttpRequest, form: CompanyAdminForm, change: bool) -> Company:
        if form.generated_secret:
            request.session[EMBED_SECRET_SESSION_KEY] = form.generated_secret  # shown once, as the signing secret
        return super().save_form(request, form, change)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            extra_context["new_embed_secret"] = request.session.pop(EMBED_SECRET_SESSION_KEY, None)
        return super().change_view(request, object_id, form_url, extra_context)

    def response_change(self, request: HttpRequest, obj: Company) -> HttpResponse:
        if request.session.get(EMBED_SECRET_SESSION_KEY):
            return HttpResponseRedirect(reverse("admin:buttons_company_change", args=[obj.pk]))
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: Company, post_url_continue: str | None = None) -> HttpResponse:
        if request.session.get(EMBED_SECRET_SESSION_KEY):
            return HttpResponseRedirect(reverse("admin:buttons_company_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)


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
