"""A button only where it belongs, in Chromium inside the demo CRM: the demo's "Send contract" is limited to
deals in "Negotiations started", so the same user sees it on deal 43 and not on deal 42, whether the demo
CRM frames the panel as a signed embed (its token says the stage) or as Pipedrive's panel (the demo's
record source says it), and the deal page of the session shows the same."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from buttons.models import Button
from testing.browser import (
    app_on_test_database,
    chromium,
    free_port,
    log_in,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

require_chromium()

PORT = free_port()


@pytest.fixture(scope="module")
def app_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    env = {"ONECLICK_LOCAL": "true", "LOGIN_RATE": "1000/minute", "DEMO_BASE_URL": f"http://127.0.0.1:{PORT}",
           "PIPEDRIVE_JWT_SECRET": "browser-test-pipedrive-jwt-secret-0123456789abcdef",
           "EMBED_FRAME_ANCESTORS": f"http://localhost:{PORT}"}
    with app_on_test_database(django_db_blocker, env, port=PORT) as base:
        yield base


@pytest.fixture
def demo(app_url: str) -> Button:
    with override_settings(DEMO_BASE_URL=app_url):
        call_command("seed_demo", stdout=io.StringIO())
    return Button.objects.get(company__external_id="737569", label="Send contract")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def labels_in(frame: Any) -> list[str]:
    frame.locator("#panel .btn-row").first.wait_for()
    return frame.locator("#panel .btn-row:not([hidden])").evaluate_all("rows => rows.map(r => r.dataset.label)")


@pytest.mark.parametrize("host", ["signed", "pipedrive"])
def test_the_same_user_sees_the_stage_bound_button_on_one_deal_only(browser: Any, demo: Button, host: str) -> None:
    assert demo.visibility["stages"] == [4]
    page = browser.new_page()
    try:
        page.goto(f"http://localhost:{PORT}/demo/crm/?as=demo&host={host}&deal=43")
        assert page.locator("text=Negotiations started").first.is_visible()
        on_43 = labels_in(page.frame_locator("#crm-panel"))
        assert "Send contract" in on_43 and "Create invoice" in on_43
        page.goto(f"http://localhost:{PORT}/demo/crm/?as=demo&host={host}&deal=42")
        on_42 = labels_in(page.frame_locator("#crm-panel"))
        assert "Send contract" not in on_42 and "Create invoice" in on_42
    finally:
        page.close()


def test_the_session_deal_page_follows_the_demo_deals_stage(browser: Any, app_url: str, demo: Button) -> None:
    page = browser.new_page()
    try:
        log_in(page, app_url, "demo", "oneclick-demo", "/panel/deal/43/")
        assert "Send contract" in labels_in(page)
        page.goto(f"{app_url}/panel/deal/42/")
        assert "Send contract" not in labels_in(page)
        assert not page.locator("#panel-notice").is_visible()  # the demo CRM says where deal 42 is
        page.goto(f"{app_url}/panel/deal/77/")  # a deal the demo CRM does not have: its stage is unknown
        assert "Send contract" not in labels_in(page)
        assert "Buttons limited to pipelines or stages are hidden" in page.locator("#panel-notice").inner_text()
    finally:
        page.close()


def test_an_open_panel_follows_a_change_of_the_rules(browser: Any, app_url: str, demo: Button) -> None:
    """The panel's regular refresh (here forced by the tab becoming visible again) hides a button the rules
    now hide and adds one they now show, pressable, without a reload."""
    call = Button.objects.create(company=demo.company, label="Book a call", url=demo.url, resource="deal",
                                 messaging_enabled=True, visibility={"users": ["1108047"]})  # the admin only
    page = browser.new_page()
    try:
        log_in(page, app_url, "demo", "oneclick-demo", "/panel/deal/43/")
        assert "Send contract" in labels_in(page) and "Book a call" not in labels_in(page)
        demo.visibility = {"groups": [], "users": ["1108047"]}
        demo.save()
        call.visibility = {"users": ["1108048"]}
        call.save()
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.locator('.btn-row[data-label="Book a call"]').wait_for()
        page.locator('.btn-row[data-label="Send contract"]').wait_for(state="hidden")
        shown = labels_in(page)
        assert "Send contract" not in shown and shown.index("Book a call") < shown.index("Check VAT number")
        page.locator('.btn-row[data-label="Book a call"] [data-role="press"]').click()
        page.locator('.btn-row[data-label="Book a call"] [data-role="envelope"]:not([hidden])').wait_for(timeout=20000)
    finally:
        page.close()
