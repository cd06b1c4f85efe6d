"""Redirects in Chromium as people have it: the popup blocker on (Playwright turns it off by default).

An automation's redirect opens a tab by itself while the click's gesture still counts; later, or where the
browser says no, the click's row offers "Open <host>", and a press opens the tab. Never an empty tab. The
same holds inside the demo CRM's frame (signed embed and Pipedrive panel), where a redirect to a record of
the Pipedrive account navigates there through the SDK's REDIRECT_TO instead. And the demo CRM's list of
deals: what is ticked there is what a list button sends.
"""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Company
from buttons.models import Button
from testing.browser import (
    app_on_test_database,
    chromium_with_popup_blocker,
    free_port,
    log_in,
    require_chromium,
)
from testing.hooks import JsonHook

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

require_chromium()

PORT = free_port()
PIPEDRIVE_SECRET = "browser-test-pipedrive-jwt-secret-0123456789abcdef"
LATE_SECONDS = 7  # past Chromium's ~5 s of user activation


class Automation(JsonHook):
    """Answers with a redirect at once ("now"), or answers and posts the redirect as a custom message
    LATE_SECONDS after the click ("late"), or answers a list click with its selection ("list")."""

    def __init__(self) -> None:
        super().__init__(self.respond)
        self.app = ""
        self.mode = "now"
        self.target = f"{self.base}/invoices/INV-7"

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.mode == "list":
            return {"message": f"Exporting {body['selectedIds']}"}
        if self.mode == "now":
            return {"message": "Invoice ready", "redirect_url": self.target}
        threading.Thread(target=self.late, args=(body["event_id"],), daemon=True).start()
        return {"message": "Working on it"}

    def late(self, event_id: str) -> None:
        time.sleep(LATE_SECONDS)
        request = urllib.request.Request(
            f"{self.app}/api/trigger-message", headers={"Content-Type": "application/json"},
            data=json.dumps({"event_id": event_id, "redirect_url": self.target}).encode())
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def app_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    # The local mode mounts the demo CRM (http://localhost:<port>/demo/crm/), as ./run does.
    env = {"ONECLICK_LOCAL": "true", "LOGIN_RATE": "1000/minute", "DEMO_BASE_URL": f"http://127.0.0.1:{PORT}",
           "PIPEDRIVE_JWT_SECRET": PIPEDRIVE_SECRET, "EMBED_FRAME_ANCESTORS": f"http://localhost:{PORT}"}
    with app_on_test_database(django_db_blocker, env, port=PORT) as base:
        yield base



@pytest.fixture
def automation(app_url: str) -> Iterator[Automation]:
    instance = Automation()
    instance.app = app_url
    yield instance
    instance.close()


@pytest.fixture
def demo(app_url: str, automation: Automation) -> Button:
    """The demo company (as ./run seeds it) with one more button, wired to this test's automation."""
    with override_settings(DEMO_BASE_URL=app_url):
        call_command("seed_demo", stdout=io.StringIO())
    company = Company.objects.get(external_id="737569")
    return Button.objects.create(company=company, label="Open the invoice", url=f"{automation.base}/hook",
                                 resource="deal", messaging_enabled=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium_with_popup_blocker(tmp_path / "profile") as context:
        yield context


def row(frame: Any, label: str) -> Any:
    return frame.locator(f'.btn-row[data-label="{label}"]')


def blocker_is_on(context: Any) -> bool:
    # A page's own script, with no gesture (Playwright's evaluate() would lend one): with the blocker on,
    # window.open() answers null and opens nothing.
    page = context.new_page()
    page.goto("data:text/html,<script>window.opened = window.open('about:blank') !== null;</script>")
    opened = page.evaluate("window.opened")
    page.close()
    return not opened and len(context.pages) == 1


def wait_for_the_offer(page: Any, button_row: Any) -> Any:
    """The "Open <host>" link of a late redirect. Waited for with a plain sleep first: Playwright's own
    waiting runs scripts in the page as if the user had acted, which would keep the click's gesture alive."""
    page.wait_for_timeout((LATE_SECONDS + 3) * 1000)
    offer = button_row.locator("a.btn-open")
    offer.wait_for(timeout=10000)
    return offer


def no_blank_tabs(context: Any) -> None:
    assert [p.url for p in context.pages if p.url in ("about:blank", "")] == []


def test_a_redirect_within_the_gesture_opens_the_tab_by_itself(browser: Any, app_url: str, demo: Button,
                                                               automation: Automation) -> None:
    page = browser.pages[0] if browser.pages else browser.new_page()
    assert blocker_is_on(browser)
    log_in(page, app_url, "demo", "oneclick-demo", "/panel/deal/42/")
    with browser.expect_page(timeout=10000) as opened:
        row(page, demo.label).locator('[data-role="press"]').click()
    tab = opened.value
    tab.wait_for_url(automation.target)
    assert tab.evaluate("window.opener") is None
    assert row(page, demo.label).locator(".btn-open").count() == 0  # opened: nothing left to press
    no_blank_tabs(browser)


def test_a_late_redirect_is_offered_and_a_press_opens_it(browser: Any, app_url: str, demo: Button,
                                                         automation: Automation) -> None:
    automation.mode = "late"
    page = browser.pages[0] if browser.pages else browser.new_page()
    log_in(page, app_url, "demo", "oneclick-demo", "/panel/deal/42/")
    row(page, demo.label).locator('[data-role="press"]').click()
    offer = wait_for_the_offer(page, row(page, demo.label))
    host = automation.base.removeprefix("http://")
    assert offer.inner_text().strip() == f"Open {host}"
    assert len(browser.pages) == 1  # the late redirect opened nothing by itself, not even a blank tab
    assert "blocked" not in page.locator("#toasts").inner_text()
    with browser.expect_page(timeout=10000) as opened:
        offer.click()
    tab = opened.value
    tab.wait_for_url(automation.target)
    assert tab.evaluate("window.opener") is None
    page.wait_for_function("() => !document.querySelector('.btn-open')")  # pressed: gone
    no_blank_tabs(browser)


@pytest.mark.parametrize("host", ["signed", "pipedrive"])
def test_inside_the_demo_crm_frame_the_tab_opens_too(browser: Any, app_url: str, demo: Button,
                                                     automation: Automation, host: str) -> None:
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(f"http://localhost:{PORT}/demo/crm/?as=demo&host={host}&deal=42")
    frame = page.frame_locator("#crm-panel")
    row(frame, demo.label).wait_for()
    with browser.expect_page(timeout=10000) as opened:
        row(frame, demo.label).locator('[data-role="press"]').click()
    opened.value.wait_for_url(automation.target)
    no_blank_tabs(browser)

    if host == "pipedrive":
        return  # the late case is the same code in both frames: once is enough (it waits 10 s)
    automation.mode = "late"  # and a late one: offered in the frame, opened by a press
    opened.value.close()
    row(frame, demo.label).locator('[data-role="press"]').click()
    offer = wait_for_the_offer(page, row(frame, demo.label))
    assert len(browser.pages) == 1
    with browser.expect_page(timeout=10000) as again:
        offer.click()
    again.value.wait_for_url(automation.target)
    no_blank_tabs(browser)


def test_a_redirect_to_a_deal_of_the_pipedrive_account_navigates_there(
    browser: Any, app_url: str, demo: Button, automation: Automation
) -> None:
    Company.objects.filter(external_id="737569").update(crm_domain="demo-company.pipedrive.com")
    automation.target = "https://demo-company.pipedrive.com/deal/43"
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(f"http://localhost:{PORT}/demo/crm/?as=demo&host=pipedrive&deal=42")
    frame = page.frame_locator("#crm-panel")
    row(frame, demo.label).locator('[data-role="press"]').click()
    # The host (the demo CRM playing Pipedrive) went to that deal.
    page.wait_for_url(lambda url: url.endswith("deal=43"), wait_until="commit")
    page.locator("h1", has_text="Support renewal for Initech").wait_for()
    assert len(browser.pages) == 1  # no tab: Pipedrive itself navigated


def test_the_demo_crms_list_sends_the_ticked_deals(browser: Any, app_url: str, demo: Button,
                                                   automation: Automation) -> None:
    automation.mode = "list"
    Button.objects.create(company=demo.company, label="Export to sheet", url=f"{automation.base}/hook",
                          resource="deal", view="list", messaging_enabled=True)
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(f"http://localhost:{PORT}/demo/crm/?as=demo&deal=list")
    frame = page.frame_locator("#crm-panel")
    press = row(frame, "Export to sheet").locator('[data-role="press"]')
    press.click()  # nothing ticked yet: the panel asks for a selection and sends nothing
    frame.locator(".toast", has_text="Select at least one deal in the list first").wait_for()
    assert automation.payloads == []
    page.check('input[value="42"]')
    page.check('input[value="44"]')
    assert page.locator("#selection").inner_text() == "2 deals selected: #42, #44."
    press.click()
    row(frame, "Export to sheet").locator(".btn-status", has_text="Exporting 42,44").wait_for()
    assert [(p["view"], p["selectedIds"]) for p in automation.payloads] == [("list", "42,44")]
