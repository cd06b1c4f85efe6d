"""Demo data for the embedded local mode: a company, an admin, a user and buttons wired to the
built-in demo automation. Safe to run again: it brings everything back to the demo state."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.actions import create_member, rotate_embed_secret, save_group
from accounts.models import Company, Group
from buttons.models import Button

DEMO_COMPANY = "737569"
USERS = (
    ("admin", "oneclick-admin", "1108047", True),
    ("demo", "oneclick-demo", "1108048", False),
)


class Command(BaseCommand):
    help = "Create or refresh the demo company, users and buttons (local mode)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username, password, user_id, is_admin in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                create_member(username, password, DEMO_COMPANY, company_name="Demo Company",
                              user_external_id=user_id, is_admin=is_admin)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
        company = Company.objects.get(external_id=DEMO_COMPANY)
        # The demo CRM page (demo.crm) frames the panel from http://localhost:<port>.
        crm_origin = f"http://localhost:{urlsplit(settings.DEMO_BASE_URL).port or 80}"
        if crm_origin not in company.allowed_origins():
            company.embed_origins = "\n".join([*company.allowed_origins(), crm_origin])
            company.save(update_fields=["embed_origins"])
        if not company.embed_secret:
            rotate_embed_secret(company)
        # A group to limit buttons to (the admin's "Where it shows"); the demo user is in it.
        if not Group.objects.filter(company=company, name="Sales team").exists():
            save_group(company.pk, "Sales team", ["1108048"])
        hook = f"{settings.DEMO_BASE_URL.rstrip('/')}/demo/automation"
        buttons: list[dict[str, Any]] = [
            {"label": "Create invoice", "url": f"{hook}?scenario=progress", "resource": "deal",
             "messaging_enabled": True},
            {"label": "Check VAT number", "url": f"{hook}?scenario=warning", "resource": "deal",
             "messaging_enabled": True, "messages_public": True, "disable_on_any_unread": True},
            {"label": "Sync to accounting", "url": f"{hook}?scenario=fail", "resource": "deal",
             "messaging_enabled": True, "disable_on_unread_error": True, "confirm": True,
             "confirm_text": "Sync this deal to accounting? The accounting system keeps what it receives."},
            {"label": "Send quote", "url": f"{hook}?scenario=answer", "resource": "deal", "messaging_enabled": True,
             "fields": [
                 {"label": "Deal", "kind": "record", "source": "title"},
                 {"label": "Value", "kind": "record", "source": "value"},
                 {"label": "Stage", "kind": "record", "source": "stage"},
                 {"label": "Owner", "kind": "record", "source": "owner"},
                 {"label": "Valid until", "type": "date", "required": True},
                 {"label": "Discount (%)", "key": "discount", "type": "number"},
                 {"label": "Send to", "type": "email", "required": True},
                 {"label": "Products", "type": "multiselect", "options": ["Licences", "Support", "Training"]},
                 {"label": "Language", "type": "select", "options": ["English", "German", "French"]},
                 {"label": "Note to the customer", "type": "textarea"},
                 {"label": "Send me a copy", "type": "boolean"},
             ]},
            # Shown only on deals in "Negotiations started" (deal 43 of the demo CRM), not on the others.
            {"label": "Send contract", "url": f"{hook}?scenario=answer", "resource": "deal",
             "messaging_enabled": True, "visibility": {"pipelines": [1], "stages": [4]}},
            {"label": "Open in maps", "kind": "link", "url": "https://www.openstreetmap.org/",
             "resource": "deal"},
            {"label": "Export selection", "url": f"{hook}?scenario=export", "resource": "deal",
             "view": "list", "messaging_enabled": True},
            {"label": "Enrich organization", "url": f"{hook}?scenario=progress", "resource": "organization",
             "messaging_enabled": True},
            {"label": "Welcome e-mail", "url": f"{hook}?scenario=progress", "resource": "person",
             "messaging_enabled": True},
        ]
        for values in buttons:
            label = values.pop("label")
            # The first button of that label is the demo's (an admin may have added more of the same name).
            existing = Button.objects.filter(company=company, label=label).order_by("pk").first()
            if existing is None:
                Button.objects.create(company=company, label=label, **{"view": "details", **values})
            else:
                # The demo automation moves with the port (PORT=9000 ./run) and its scenarios with the
                # demo; a button an admin pointed elsewhere stays as it is.
                current, wanted = urlsplit(existing.url), urlsplit(values["url"])
                if current.path == wanted.path and existing.url != values["url"]:
                    existing.url = values["url"]
                    existing.save(update_fields=["url"])
                # What a later demo asks (fields, a confirmation), on a demo button that asks nothing yet.
                asks = {k: values[k] for k in ("fields", "confirm", "confirm_text") if k in values}
                if asks and current.path == wanted.path and not existing.fields and not existing.confirm:
                    for name, value in asks.items():
                        setattr(existing, name, value)
                    existing.save(update_fields=list(asks))
        base = settings.DEMO_BASE_URL.rstrip("/")
        self.stdout.write(
            "Demo data ready.\n"
            f"  user:  demo / oneclick-demo    open {base}/panel/deal/42/\n"
            f"  admin: admin / oneclick-admin  open {base}/admin/\n"
            f"  inside a CRM:                  open {crm_origin}/demo/crm/\n"
        )
