"""Take docs/screenshots/panel.png and log.png (and -dark twins): a seeded throw-away database, the real app, Chromium.

    .venv/bin/python docs/screenshots/take.py
    .venv/bin/python docs/screenshots/take.py --crm http://localhost:8000   # crm.png, crm-dark.png

The second form photographs the demo CRM page of a running `./run` (the panel inside another site's
frame, answered by the built-in demo automation).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB = ROOT / "var" / "screenshots.sqlite3"
os.environ.update({
    "DJANGO_SETTINGS_MODULE": "oneclick.test_settings", "DATABASE_URL": f"sqlite:///{DB}",
    "CELERY_BROKER_URL": "filesystem://",
})


def seed() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from django.utils import timezone

    from accounts.actions import create_member
    from buttons.models import Button, ClickEvent
    from messaging.models import Message

    call_command("migrate", verbosity=0)
    dana = create_member("dana", "pw-dana-123", "737569", company_name="Acme Sales", user_external_id="11")
    now = timezone.now()

    def button(label: str, **values: object) -> Button:
        base = {"company": dana.company, "label": label, "url": "https://hooks.example.com/x",
                "resource": "deal", "messaging_enabled": True}
        return Button.objects.create(**{**base, **values})

    clicks: dict[tuple[int, float], ClickEvent] = {}

    def say(b: Button, minutes: float, content: str, kind: str = "info", read: bool = False,
            source: str = "custom", redirect: str = "", click: float | None = None) -> None:
        """A message `minutes` ago, answering the click made `click` minutes ago (its own, if None)."""
        at = now - timedelta(minutes=minutes)
        clicked = now - timedelta(minutes=click if click is not None else minutes)
        key = (b.pk, click if click is not None else minutes)
        if key not in clicks:
            clicks[key] = ClickEvent.objects.create(
                button=b, company=dana.company, user=dana.user, resource="deal", view="details",
                object_id="21389", created_at=clicked, window_ends_at=clicked + timedelta(seconds=45))
        Message.objects.create(event=clicks[key], button=b, company=dana.company, resource="deal",
                               object_id="21389", recipient=dana.user, source=source, message_type=kind,
                               content=content, redirect_url=redirect, created_at=at, read_at=at if read else None)

    invoice = button("Create invoice")
    sync = button("Sync to accounting", disable_on_unread_error=True)
    vat = button("Check VAT number", messages_public=True)
    button("Send contract for signature")
    button("Open in maps", kind="link", url="https://www.openstreetmap.org/", messaging_enabled=False)
    say(invoice, 180, "Started the invoice scenario.", read=True, source="http_response", click=180)
    say(invoice, 179.7, "Invoice <b>INV-2041</b> created for <i>Globex</i>.", "success", read=True, click=180)
    say(invoice, 179.5, "Could not reach the bank: <b>timed out after 40 s</b>.", "error", read=True, click=180)
    say(invoice, 3, "Started the invoice scenario.", source="http_response", click=3)
    say(invoice, 2.8, "VAT number missing on the organization: used the default rate.", "warning", click=3)
    say(invoice, 2.6, "Invoice <b>INV-2042</b> created. <a href=\"https://billing.example.com/inv/2042\">Open "
        "it in Billing</a>", "success", redirect="https://billing.example.com/inv/2042", click=3)
    say(sync, 12, "Could not sync <b>deal 21389</b>: the accounting system answered 422 (customer has no "
        "VAT id).", "error", source="http_response")
    say(vat, 60 * 26, "VAT number <b>DE811907980</b> is valid.", "success", read=True)


def main() -> None:
    DB.unlink(missing_ok=True)
    seed()
    from testing.browser import app_server, chromium, log_in

    out = Path(__file__).parent
    with app_server(f"sqlite:///{DB}", broker_url="filesystem://") as base, chromium() as browser:
        for scheme, suffix in (("light", ""), ("dark", "-dark")):
            page = browser.new_page(viewport={"width": 1040, "height": 720}, device_scale_factor=1,
                                    color_scheme=scheme)
            log_in(page, base, "dana", "pw-dana-123", "/panel/deal/21389/")
            page.wait_for_selector('#live[data-state="poll"]')
            page.screenshot(path=str(out / f"panel{suffix}.png"))
            # Keep the unread markers on screen for the picture: reads never reach the server.
            page.route("**/messages/read", lambda route: route.fulfill(status=503, body="{}"))
            page.click('.btn-row[data-label="Create invoice"] [data-role="envelope"]')
            page.wait_for_selector("#log-list .msg >> nth=5")
            page.wait_for_timeout(400)
            page.screenshot(path=str(out / f"log{suffix}.png"))
            page.close()
        browser.close()
    DB.unlink(missing_ok=True)
    print(f"Saved panel.png, log.png and their -dark twins in {out}")


def crm(base: str) -> None:
    from testing.browser import chromium

    out = Path(__file__).parent
    with chromium() as browser:
        for scheme, suffix in (("light", ""), ("dark", "-dark")):
            page = browser.new_page(viewport={"width": 1120, "height": 700}, device_scale_factor=1)
            page.goto(f"{base.rstrip('/')}/demo/crm/?theme={scheme}")
            frame = page.frame_locator("#crm-panel")
            frame.get_by_role("button", name="Create invoice", exact=True).click()
            frame.locator(".btn-status", has_text="Invoice").wait_for(timeout=15000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / f"crm{suffix}.png"))
            page.close()
    print(f"Saved crm.png and crm-dark.png in {out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--crm"]:
        crm(sys.argv[2] if len(sys.argv) > 2 else "http://localhost:8000")
    else:
        main()
