"""The button admin: company admins manage their own company's buttons (accounts.admin scopes them).

Its form speaks the product guide's words for the messaging settings; the pages beside it come from the
apps above this one (ButtonAdmin.pages). ButtonFilter offers only the admin's own company's buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.access import admin_company_of
from accounts.admin import CompanyScopedAdmin, ShowsNewSecretOnce
from accounts.models import Company
from buttons import visibility
from buttons.admin_rules import VisibilityEditor
from buttons.headers import HeaderError, clean_headers, shown, url_keepers
from buttons.models import Button
from buttons.serializers import URL_KEPT
from core.secrets import generate_secret, mask_secret


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


class ButtonAdminForm(VisibilityEditor, forms.ModelForm):
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
    # A JSON list underneath; static/admin-oneclick.js turns it into rows to add, remove and reorder,
    # with a preview of the form the user will see. Without script it stays editable JSON.
    headers = forms.JSONField(
        label="Custom headers", required=False, initial=list,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text='Sent with every webhook and test click, as a list: [{"name": "Authorization", "value": '
        '"Bearer ...", "confidential": true}]. A confidential value is stored encrypted and never shown again (it '
        'reads null: leave it null to keep it); while a button has one, only the admin who added it may change the '
        "URL. At most 10; OneClick's own headers (Content-Type, Idempotency-Key, webhook-*...) cannot be set.",
    )
    fields = forms.JSONField(
        label="Fields", required=False, initial=list,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "data-fields-editor": "true"}),
        help_text="Record fields show a value of the CRM record (its field key: title, value, stage_id, a custom "
        "field's key); inputs are filled by the user before each click (boolean, date, email, number, text, "
        "textarea, select, multiselect). The webhook's fields object carries every one by its key.",
    )

    class Meta:
        model = Button
        # log_http_responses is edited through do_not_log_http_responses, the guide's wording.
        fields = ("company", "label", "kind", "url", "resource", "view", "messaging_enabled", "messages_public",
                  "disable_on_unread_error", "disable_on_any_unread", "signing_secret", "fields", "confirm",
                  "confirm_text", "headers")
        help_texts = {name: text for name, text in GUIDE_HELP.items() if name != "do_not_log_http_responses"}
        field_classes = {"url": partial(forms.URLField, assume_scheme="https")}
        # A plain input: the admin's URL widget adds "Currently: <url>", which after a form error on the
        # Add page shows a URL that was never saved.
        widgets = {"url": forms.URLInput(attrs={"class": "vURLField", "size": 60})}

    user_id: int | None = None  # the admin editing (ButtonAdmin.get_form): confidential headers are theirs

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # (VisibilityEditor offers the rules' choices)
        self.initial["headers"] = shown(self.instance.headers or [])  # never a confidential value
        self.generated_secret: str | None = None
        self.initial["signing_secret"] = ""
        self.initial["do_not_log_http_responses"] = not self.instance.log_http_responses

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # (VisibilityEditor composes the rules)
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
        previous = list(self.instance.headers or []) if self.instance.pk else []
        try:  # as stored (the form saves cleaned_data onto the button): confidential values encrypted
            cleaned["headers"] = clean_headers(cleaned.get("headers"), previous, self.user_id)
        except HeaderError as exc:
            self.add_error("headers", str(exc))
        if self.instance.pk and "url" in self.changed_data:
            keepers = url_keepers(previous)
            if keepers and self.user_id not in keepers:
                self.add_error("url", URL_KEPT)
        return cleaned


@admin.register(Button)
class ButtonAdmin(ShowsNewSecretOnce, CompanyScopedAdmin):
    form = ButtonAdminForm
    new_secret_session_key = "oneclick_new_signing_secret"  # noqa: S105 - a session key
    new_secret_context_name = "new_signing_secret"  # noqa: S105 - a template variable
    # The pages of the apps above this one, each a function of this admin returning its URL patterns,
    # registered from their own admin modules: the test click (deliveries.admin) and clearing all
    # messages (messaging.admin). Their links below name those pages' URLs.
    pages: ClassVar[list[Callable[[ButtonAdmin], list[URLPattern]]]] = []
    list_display = ("label", "kind", "resource", "view", "messaging_enabled", "messages_public", "where_it_shows")
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
                "description": "",  # get_fieldsets: the retention period is a setting
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
        (
            "Ask the user before the click",
            {
                "fields": ("fields", "confirm", "confirm_text"),
                "description": "Show values of the record and ask for inputs (an amount, a date, a reason) before "
                "the webhook goes, or ask for a confirmation. A button without fields sends fields: null.",
            },
        ),
        ("Custom headers", {"fields": ("headers",)}),
        (
            "Where it shows",
            {
                "fields": ("vis_pipelines", "vis_stages", "vis_users", "vis_groups"),
                "description": "Limit the button to deals in some pipelines and stages (deal buttons of the details "
                "view), and to some users or groups. A member sees it where the deal passes the pipeline and stage "
                "rules and, when users or groups are ticked, is one of them. Nothing ticked: everywhere, to everyone. "
                "A hidden button cannot be pressed; its messages stay readable where they were sent.",
                "classes": ("oneclick-rules",),
            },
        ),
        ("Try it", {"fields": ("test_click",)}),
    )

    def get_form(self, request: HttpRequest, obj: Button | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.user_id = request.user.pk
        company_id = admin_company_of(request)
        form.company = Company.objects.filter(pk=company_id).first() if company_id else None
        return form

    def get_urls(self) -> list:
        return [*(url for page in self.pages for url in page(self)), *super().get_urls()]

    def editable_button(self, request: HttpRequest, object_id: str) -> Button | None:
        """The button of a page of this admin's (None: not found in the admin's company)."""
        button = self.get_object(request, unquote(object_id))
        if button is not None and not self.has_change_permission(request, button):
            raise PermissionDenied
        return button

    def get_fieldsets(self, request: HttpRequest, obj: Button | None = None) -> Any:
        (title, options), (messaging_title, messaging_options), *rest = self.fieldsets
        messaging = (messaging_title, {**messaging_options, "description": (
            "Messaging is not available for Link buttons. Messages are retained for "
            f"{settings.MESSAGE_RETENTION_DAYS} days and then automatically permanently removed.")})
        if request.user.is_superuser:
            return ((title, {**options, "fields": ("company", *options["fields"])}), messaging, *rest)
        return ((title, options), messaging, *rest)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("company", *self.list_filter) if request.user.is_superuser else self.list_filter

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*self.list_display, "company") if request.user.is_superuser else self.list_display

    @admin.display(description="Where it shows")
    def where_it_shows(self, obj: Button) -> str:
        rules = {**visibility.empty(), **(obj.visibility or {})}
        parts = [f"{len(rules[key])} {key if len(rules[key]) > 1 else key[:-1]}" for key in visibility.KEYS
                 if rules[key]]
        return ", ".join(parts) if parts else "Everywhere"

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

    def save_model(self, request: HttpRequest, obj: Button, form: object, change: bool) -> None:
        company_id = admin_company_of(request)
        if company_id is not None:
            obj.company_id = company_id
        super().save_model(request, obj, form, change)
