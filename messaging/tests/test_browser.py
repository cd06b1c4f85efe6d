"""The panel in a real browser: Chromium through Playwright against the app served by uvicorn.

One long scenario (clicking, live messages, envelope colours, the log, read state, the disable rules,
a redirect, hostile content) and one short one for the polling fallback.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from messaging.models import Message
from messaging.tests.reading_helpers import message
from testing.browser import (
    answer_late,
    app_on_test_database,
    chromium,
    log_in,
    require_chromium,
)
from testing.hooks import QuietHandler

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

require_chromium()

HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>hostile</b>'
           '<a href="javascript:window.__pwned=3">one</a><a href=" java&#x09;script:window.__pwned=4">two</a>'
           '<a href="https://ok.example/" target="_self" onclick="window.__pwned=5">three</a>')


class Automation:
    """A receiver on 127.0.0.1 acting like a Make scenario: it answers the webhook, then posts custom
    messages to /api/trigger-message with the click's event_id, one script step at a time."""

    def __init__(self) -> None:
        self.app = ""
        self.events: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.go_on = threading.Event()
        self.posted: list[int] = []
        self.answer = "Started <b>the scenario</b>"
        self.hold: threading.Event | None = None  # set: the webhook's answer waits for it
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        automation = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                automation.events.append(body["event_id"])
                if automation.hold is not None:
                    automation.hold.wait(30)
                self._send(json.dumps({"message_type": "success", "message": automation.answer}),
                           "application/json")
                threading.Thread(target=automation.follow_up, args=(body["event_id"],), daemon=True).start()

            def do_GET(self) -> None:  # the page a redirect opens
                self._send("<!doctype html><title>Landed</title><p>Landed</p>", "text/html")

        return Handler

    def follow_up(self, event_id: str) -> None:
        # The script's messages come after the app has recorded the webhook's answer, as a real
        # scenario's would: otherwise, on a loaded machine, the answer can be stored after step 1 and
        # be the newest message, which is what the button's status shows.
        try:
            deadline = time.monotonic() + 10
            while ClickEvent.objects.filter(pk=event_id, delivery="pending").exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        finally:
            connection.close()
        for step in self.steps:
            if step.get("wait"):
                self.go_on.wait(30)
                self.go_on.clear()
                continue
            self.post({"event_id": event_id, **step})

    def post(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(f"{self.app}/api/trigger-message", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            self.posted.append(response.status)

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def app_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    # One reader signs in many times a minute here, from one address: more than sign-in's budget.
    with app_on_test_database(django_db_blocker, {"LOGIN_RATE": "1000/minute"}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def automation(app_url: str) -> Iterator[Automation]:
    instance = Automation()
    instance.app = app_url
    yield instance
    instance.go_on.set()
    instance.close()


def envelope(page: Any, label: str) -> Any:
    return page.locator(f'.btn-row[data-label="{label}"] [data-role="envelope"]')


def press(page: Any, label: str) -> Any:
    return page.locator(f'.btn-row[data-label="{label}"] [data-role="press"]')


def test_the_panel_end_to_end(
    app_url: str, browser: Any, automation: Automation, admin_member: Member,
    make_button: Callable[..., Button],
) -> None:
    invoice = make_button(label="Create invoice", url=f"{automation.base}/hook", disable_on_unread_error=True)
    vat = make_button(label="Check VAT", url=f"{automation.base}/hook", disable_on_any_unread=True)
    make_button(label="Open in maps", kind="link", url=f"{automation.base}/maps", messaging_enabled=False)
    automation.steps = [
        {"message": "Step 1: <i>customer found</i>", "message_type": "info"},
        {"wait": True},
        {"message": "Could not reach the bank", "message_type": "error"},
        {"wait": True},
        {"redirect_url": f"{automation.base}/invoice/42"},
        {"wait": True},
        {"message": "Invoice <b>INV-42</b> sent", "message_type": "success"},
    ]
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/21389/")
    streams = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
    page.wait_for_selector(f'#live[data-state="{"stream" if streams else "poll"}"]')
    if streams:
        # On "ready" the page catches up with one panel refresh; let it land before the test stores
        # messages behind the page's back, or it may already show the 409 case disabled.
        page.wait_for_function(
            "() => performance.getEntriesByType('resource').some(e => e.name.includes('/api/panel/'))"
        )
    assert envelope(page, "Create invoice").is_hidden()
    maps = page.locator('.btn-row[data-label="Open in maps"] a')
    assert maps.get_attribute("target") == "_blank" and "noopener" in maps.get_attribute("rel")

    # The server refuses a click the page still shows enabled (409): it says why and shows the button disabled.
    # (Messages stored behind the page's back, without a live announcement.)
    for n in range(25):
        message(vat, admin_member, content=f"VAT check {n}", event=make_event(vat, admin_member))
    press(page, "Check VAT").click()
    page.wait_for_selector('.toast:has-text("disabled until you have read its messages")')
    page.wait_for_selector('.btn-row[data-label="Check VAT"] [data-role="press"][aria-disabled="true"]')
    page.wait_for_selector('.btn-row[data-label="Check VAT"] .envelope-blue')

    # Click: the button shows it works; the HTTP response and the first custom message arrive live.
    press(page, "Create invoice").click()
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .btn-status:has-text("customer found")')
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .envelope-blue')
    assert envelope(page, "Create invoice").locator(".badge").inner_text() == "2"
    event_id = automation.events[0]

    # An error arrives: the envelope turns red and the rule disables the button, reason on hover.
    automation.go_on.set()
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .envelope-red')
    button = press(page, "Create invoice")
    page.wait_for_selector('.btn-row[data-label="Create invoice"] [data-role="press"][aria-disabled="true"]')
    assert "error messages" in button.get_attribute("title")
    assert "error messages" in page.locator(f'#reason-{invoice.identifier}').inner_text()

    # A redirect long after the click (the gesture no longer counts; Playwright's own waiting would lend
    # the page one, so a plain sleep first) is offered beside the click; a press opens it, once.
    page.wait_for_timeout(5500)
    automation.go_on.set()
    page.wait_for_timeout(2500)
    offer = page.locator('.btn-row[data-label="Create invoice"] a.btn-open')
    offer.wait_for(timeout=15000)
    assert len(context.pages) == 1
    with context.expect_page(timeout=15000) as new_tab:
        offer.click()
    landed = new_tab.value
    landed.wait_for_url(f"{automation.base}/invoice/42")
    assert landed.evaluate("window.opener") is None
    landed.close()
    assert offer.count() == 0

    # A hostile message stored behind validation's back, then the log: it renders inert.
    hostile = message(invoice, admin_member, content=HOSTILE, event=invoice.events.get(pk=event_id))
    Message.objects.filter(pk=hostile.pk).update(created_at=hostile.event.created_at)
    envelope(page, "Create invoice").click()
    log = page.locator("dialog#log")
    log.wait_for(state="visible")
    page.wait_for_selector("#log-list .msg >> nth=4")
    assert page.locator("#log-list .msg").count() == 5
    # Newest first, type by class, exact time on hover.
    assert page.locator("#log-list .msg").first.get_attribute("data-type") == "info"
    assert "Redirected to" in page.locator("#log-list .msg").first.inner_text()
    assert page.locator("#log-list .msg-error").count() == 1
    assert page.locator("#log-list time").first.get_attribute("title")
    assert page.locator("#log-list img, #log-list script, #log-list [onclick]").count() == 0
    assert "hostile" in page.locator("#log-list").inner_text()
    links = page.locator("#log-list .msg a").evaluate_all(
        "links => links.map(a => [a.textContent, a.getAttribute('href'), a.target, a.rel])")
    assert [link for link in links if link[0] in ("one", "two", "three")] == [
        ["one", None, "_blank", "noopener noreferrer"], ["two", None, "_blank", "noopener noreferrer"],
        ["three", "https://ok.example/", "_blank", "noopener noreferrer"]]

    # Seen messages become read: the envelope goes grey and the button comes back, while the log keeps
    # showing which messages were new until the reader leaves it.
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .envelope-grey', state="attached",
                           timeout=10000)
    assert press(page, "Create invoice").get_attribute("aria-disabled") is None
    assert Message.objects.filter(button=invoice, read_at__isnull=True).count() == 0
    assert page.locator("#log-list .msg.is-unread .unread-pill").first.is_visible()

    # With the log open, a new message appears at the top, live, and is announced.
    automation.go_on.set()
    page.wait_for_selector('#log-list .msg >> nth=0 >> text="INV-42"')
    page.wait_for_selector('#log-announcer:has-text("INV-42")')
    page.keyboard.press("Escape")
    log.wait_for(state="hidden")
    envelope(page, "Create invoice").click()  # reopened: what was read is no longer marked
    page.wait_for_selector('#log-list .msg >> text="INV-42"')
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .envelope-grey', state="attached")
    page.wait_for_timeout(600)  # the new message, seen now, is read and stays marked until closing
    page.keyboard.press("Escape")
    log.wait_for(state="hidden")
    envelope(page, "Create invoice").click()
    page.wait_for_selector('#log-list .msg >> text="INV-42"')
    assert page.locator("#log-list .msg.is-unread").count() == 0
    page.keyboard.press("Escape")
    log.wait_for(state="hidden")

    # A long log pages in as it scrolls; "Mark all read" marks everything, the button comes back.
    envelope(page, "Check VAT").click()
    page.wait_for_selector("#log-list .msg >> nth=19")
    page.locator("#log-more").scroll_into_view_if_needed()
    page.wait_for_selector("#log-list .msg >> nth=24")
    page.click('[data-role="read-all"]')
    page.wait_for_selector('.btn-row[data-label="Check VAT"] .envelope-grey', state="attached")
    assert page.locator("#log-list .msg.is-unread").count() == 0
    assert Message.objects.filter(button=vat, read_at__isnull=True).count() == 0
    page.keyboard.press("Escape")
    assert press(page, "Check VAT").get_attribute("aria-disabled") is None

    assert page.evaluate("window.__pwned") is None
    assert problems == []
    assert automation.posted == [201, 201, 201, 201]
    context.close()


def test_the_polling_fallback_still_shows_new_messages(
    app_url: str, browser: Any, automation: Automation, admin_member: Member,
    make_button: Callable[..., Button],
) -> None:
    make_button(label="Create invoice", url=f"{automation.base}/hook")
    automation.steps = [{"wait": True}, {"message": "Done by polling", "message_type": "success"}]
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/7/?live=poll")
    page.wait_for_selector('#live[data-state="poll"]')
    press(page, "Create invoice").click()
    page.wait_for_selector('.btn-row[data-label="Create invoice"] .btn-status:has-text("Started")')
    envelope(page, "Create invoice").click()
    page.wait_for_selector("#log-list .msg")
    automation.go_on.set()
    page.wait_for_selector('#log-list .msg:has-text("Done by polling")', timeout=10000)
    page.close()


# Every visible text's contrast against the background it is drawn on (WCAG 2 relative luminance):
# the lowest ratio on the page and which text it was. Disabled controls are exempt, as in WCAG.
LOWEST_CONTRAST = """() => {
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const backdrop = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
  };
  let lowest = { ratio: 99, text: "" };
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    const shown = style.visibility !== "hidden" && el.getClientRects().length;
    if (!own || !shown || el.closest(":disabled, .sr-only")) continue;
    const a = lum(parse(style.color)), b = lum(backdrop(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < lowest.ratio) lowest = { ratio, text: el.textContent.trim().slice(0, 40) };
  }
  return { ...lowest, background: getComputedStyle(document.body).backgroundColor };
}"""


@pytest.mark.parametrize("chosen_by", ["the system", "the host"])
def test_dark_mode_follows_the_system_or_the_host(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button], chosen_by: str,
) -> None:
    button = make_button(label="Create invoice")
    message(button, admin_member, "42", content="An <b>unread</b> warning", message_type="warning")
    seen = {}
    for theme in ("light", "dark"):
        # The host's ?theme wins over the system's scheme, so it is tried against the other one.
        system = theme if chosen_by == "the system" else {"light": "dark", "dark": "light"}[theme]
        page = browser.new_page(color_scheme=system)
        log_in(page, app_url, "alice", "pw-alice-123",
               "/panel/deal/42/" + (f"?theme={theme}" if chosen_by == "the host" else ""))
        envelope(page, "Create invoice").click()
        page.wait_for_selector("#log-list .msg")
        # The login page in a page of its own: signed out, as its readers are.
        login = browser.new_page(color_scheme=system)
        login.goto(f"{app_url}/login/" + (f"?theme={theme}" if chosen_by == "the host" else ""))
        for where, shown in (("panel with its log open", page), ("login page", login)):
            found = shown.evaluate(LOWEST_CONTRAST)
            assert found["ratio"] >= 4.5, f"{theme} {where}: {found}"
            seen[(theme, where)] = found["background"]
        page.close()
        login.close()
    assert seen[("light", "panel with its log open")] != seen[("dark", "panel with its log open")]
    assert seen[("light", "login page")] != seen[("dark", "login page")]


def test_a_long_message_opens_with_show_more(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    button = make_button(label="Create invoice")
    long_text = "Line of the automation's report. " * 60  # 1,980 characters
    message(button, admin_member, "42", content=long_text.strip())
    message(button, admin_member, "42", content="Short and sweet")
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    envelope(page, "Create invoice").click()
    page.wait_for_selector("#log-list .msg >> nth=1")
    short, long = page.locator("#log-list .msg").nth(0), page.locator("#log-list .msg").nth(1)
    assert short.locator(".msg-more").count() == 0
    more = long.locator(".msg-more")
    assert more.inner_text() == "Show more" and more.get_attribute("aria-expanded") == "false"
    clamped = long.locator(".msg-content").bounding_box()["height"]
    more.click()
    assert more.inner_text() == "Show less" and more.get_attribute("aria-expanded") == "true"
    opened = long.locator(".msg-content").bounding_box()["height"]
    assert opened > 2 * clamped
    assert long.locator(".msg-content").evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    page.close()


def test_an_open_log_empties_when_its_button_is_cleared(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    from messaging import actions

    button = make_button(label="Create invoice")
    for n in range(3):
        message(button, admin_member, "42", content=f"Message {n}", read=True)
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    envelope(page, "Create invoice").click()
    page.wait_for_selector("#log-list .msg >> nth=2")
    actions.clear_messages(button)  # what the admin's "Clear all messages" does
    # Live with Redis (CI), within a poll otherwise: no reopening needed.
    page.wait_for_selector("#log-list .msg", state="detached", timeout=8000)
    assert page.locator("#log-empty").is_visible()
    assert page.locator("dialog#log").is_visible()
    page.close()


# The automation answers the webhook, then posts a message each time the test lets it go on.
TWO_STEPS = [{"wait": True}, {"message": "Step 1 of 2 done", "message_type": "info"},
             {"wait": True}, {"message": "All done", "message_type": "success"}]


@pytest.mark.parametrize("late_polls", [False, True], ids=["prompt polls", "late polls"])
def test_the_button_shows_the_automations_answer_then_each_message(
    app_url: str, browser: Any, automation: Automation, admin_member: Member, make_button: Callable[..., Button],
    late_polls: bool,
) -> None:
    make_button(label="Create invoice", url=f"{automation.base}/hook")
    automation.steps = TWO_STEPS
    page = browser.new_page()
    if late_polls:  # a poll sent before a message was stored lands after the stream brought it
        answer_late(page, "/api/events/")
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    status = page.locator(".btn-row[data-label=\"Create invoice\"] .btn-status")
    # Every text the status shows, in order, from the click on.
    status.evaluate("""node => {
        window.shown = [];
        new MutationObserver(() => window.shown.push(node.textContent.trim()))
            .observe(node, {childList: true, subtree: true, characterData: true});
    }""")
    press(page, "Create invoice").click()
    # The webhook's own answer first (it used to be skipped when the next message came within a poll).
    status.locator("text=Started the scenario").wait_for()
    automation.go_on.set()
    status.locator("text=Step 1 of 2 done").wait_for()
    page.wait_for_timeout(300)  # the poll Step 1 set off is answered (late) before "All done" is stored
    automation.go_on.set()
    status.locator("text=All done").wait_for()
    page.wait_for_timeout(2500 if late_polls else 1000)  # late answers land within 1.5 s
    shown = [text for text in page.evaluate("window.shown") if text]
    after = shown[shown.index(next(t for t in shown if "All done" in t)):]
    assert all("All done" in text for text in after), shown  # never an older message back
    assert "status-success" in status.get_attribute("class")
    page.close()


def test_a_late_log_page_never_takes_away_a_message_the_stream_brought(
    app_url: str, browser: Any, automation: Automation, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    make_button(label="Create invoice", url=f"{automation.base}/hook")
    automation.steps = TWO_STEPS
    page = browser.new_page()
    answer_late(page, "/messages?")
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    press(page, "Create invoice").click()
    page.locator(".btn-row[data-label=\"Create invoice\"] .btn-status >> text=Started the scenario").wait_for()
    envelope(page, "Create invoice").click()
    items = page.locator("#log-list .msg")
    items.filter(has_text="Started the scenario").wait_for()
    page.evaluate("""() => {
        window.removed = [];
        new MutationObserver(changes => changes.forEach(change => change.removedNodes.forEach(node => {
            // A message item taken out (a click's group moving to the top is not one)
            if (node.nodeType === 1 && node.matches(".msg")) window.removed.push(node.textContent);
        })))
            .observe(document.getElementById("log-list"), {childList: true, subtree: true});
    }""")
    automation.go_on.set()
    # Step 1 comes by the stream and makes the log ask for its newest page, which answers late...
    items.filter(has_text="Step 1 of 2 done").wait_for()
    page.wait_for_timeout(300)  # that page is answered (late) before "All done" is stored
    automation.go_on.set()
    # ... after "All done" came by the stream too: that late page must not take it away.
    items.filter(has_text="All done").wait_for()
    page.wait_for_timeout(2500)  # the late page lands within 1.5 s
    assert not [text for text in page.evaluate("window.removed") if "All done" in text]
    assert items.count() == 3
    page.close()


def test_a_second_click_keeps_its_own_status_and_lock_while_the_first_is_still_followed(
    app_url: str, browser: Any, automation: Automation, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    make_button(label="Create invoice", url=f"{automation.base}/hook")
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/?live=poll")  # polls every click it follows
    page.wait_for_selector('#live[data-state="poll"]')
    status = page.locator(".btn-row[data-label=\"Create invoice\"] .btn-status")
    press(page, "Create invoice").click()
    status.locator("text=Started the scenario").wait_for()
    automation.hold = threading.Event()  # the second click's automation takes its time
    automation.answer = "Second invoice created"
    press(page, "Create invoice").click()
    status.locator("text=Started the scenario").wait_for(state="detached")  # "Sending…"
    page.wait_for_timeout(3200)  # the panel polls the first click (still in its window) meanwhile
    assert "Started the scenario" not in status.inner_text()
    assert press(page, "Create invoice").get_attribute("aria-busy") == "true"  # no duplicate click yet
    automation.hold.set()
    status.locator("text=Second invoice created").wait_for()
    page.wait_for_timeout(2000)
    assert "Second invoice created" in status.inner_text()
    assert press(page, "Create invoice").get_attribute("aria-busy") is None
    page.close()


def test_a_late_state_answer_never_brings_back_the_count_of_messages_just_read(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    button = make_button(label="Create invoice")
    for n in range(3):
        message(button, admin_member, "42", content=f"Invoice {n} sent")
    page = browser.new_page()
    answer_late(page, "/api/panel/")  # the panel's state, asked for every 1.5 s while the log is open
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/?live=poll")
    badge = page.locator('.btn-row[data-label="Create invoice"] .badge')
    badge.wait_for()
    page.evaluate("""() => {
        const badge = document.querySelector('.btn-row[data-label="Create invoice"] .badge');
        window.badges = [];
        new MutationObserver(() => window.badges.push(badge.hidden ? "" : badge.textContent))
            .observe(badge, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back to the tab: the state is asked
    envelope(page, "Create invoice").click()  # seen, so read, while that state's answer is on its way
    badge.wait_for(state="hidden")
    page.wait_for_timeout(3000)  # the late answer, and the one asked again
    shown = page.evaluate("window.badges")
    assert "" in shown and not [count for count in shown[shown.index(""):] if count], shown
    page.close()


def test_390_pixels_wide_nothing_overlaps_and_no_lone_dot(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    button = make_button(label="Check VAT number of the organization")
    message(button, admin_member, "42", content="VAT number missing on the organization: used the default rate.",
            message_type="warning")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    envelope(page, "Check VAT number of the organization").click()
    item = page.locator("#log-list .msg").first
    item.wait_for()
    boxes = item.evaluate("""li => [...li.querySelectorAll('.msg-type, .msg-source, time, .unread-pill')]
        .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = min(a[2], b[2]) - max(a[0], b[0]) > 0 and min(a[3], b[3]) - max(a[1], b[1]) > 0
            assert not overlap, (a, b)
    pill, type_label = boxes[-1], boxes[0]
    assert abs(pill[1] - type_label[1]) < 8  # the pill shares the first line, not one of its own
    visible_dots = page.locator("#log .sep").evaluate_all("els => els.filter(e => e.getClientRects().length).length")
    assert visible_dots == 0
    assert page.evaluate("document.querySelector('#log').scrollWidth <= document.querySelector('#log').clientWidth")
    page.close()


def test_an_admins_test_click_shows_the_answer_and_the_messages_live(
    app_url: str, browser: Any, automation: Automation, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    button = make_button(label="Create invoice", url=f"{automation.base}/hook")
    automation.steps = [{"wait": True}, {"message": "Looked up <b>deal 12345</b>", "message_type": "info"},
                        {"message": "Invoice drafted", "message_type": "success"}]
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, app_url, "alice", "pw-alice-123", f"/admin/buttons/button/{button.pk}/change/")
    page.click("text=Send a test click")
    page.click('input[type="submit"][value="Send a test click"]')
    page.wait_for_url(f"**/admin/buttons/button/{button.pk}/test-click/*/")
    box = page.locator("#test-click")
    box.locator('[data-role="delivery"]:has-text("Delivered")').wait_for()
    box.locator('[data-role="messages"] >> text=Started the scenario').wait_for()
    automation.go_on.set()  # the automation's two custom messages now come back, and show without a reload
    box.locator('[data-role="messages"] >> text=Invoice drafted').wait_for()
    texts = box.locator('[data-role="messages"] li').all_inner_texts()
    assert [t.split(" · ")[0] for t in texts] == ["Success", "Info", "Success"]
    assert "Looked up deal 12345" in texts[1]  # text, not markup
    assert '"selectedIds": "12345"' in box.locator("pre").nth(1).inner_text()
    assert problems == []
    # The test reached nobody's log: the member's panel for the sample record is untouched.
    page.goto(f"{app_url}/panel/deal/12345/")
    assert page.locator('.btn-row[data-label="Create invoice"]').get_attribute("data-envelope") == "none"
    page.close()


def test_messages_stay_with_the_click_they_answer(
    app_url: str, browser: Any, admin_member: Member, make_button: Callable[..., Button],
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    button = make_button(label="Create invoice")
    start = timezone.now() - timedelta(minutes=10)
    first, second = make_event(button, admin_member, "42"), make_event(button, admin_member, "42")
    # Two quick clicks whose answers interleave in time: A at +1 s and +10 s, B at +5 s and +8 s.
    for event, seconds, text in ((first, 1, "A answered"), (second, 5, "B answered"), (second, 8, "B done"),
                                 (first, 10, "A done")):
        Message.objects.create(event=event, button=button, company_id=button.company_id, resource="deal",
                               object_id="42", recipient=admin_member.user, source="custom", message_type="info",
                               content=text, created_at=start + timedelta(seconds=seconds), read_at=start)
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    envelope(page, "Create invoice").click()
    page.wait_for_selector("#log-list .msg >> nth=3")
    groups = page.locator("#log-list > .click-group")
    assert groups.count() == 2
    # Newest click first (B's first answer is newer than A's), each click's messages newest first.
    assert groups.nth(0).locator(".msg-content").all_inner_texts() == ["B done", "B answered"]
    assert groups.nth(1).locator(".msg-content").all_inner_texts() == ["A done", "A answered"]
    assert groups.nth(0).locator(".click-head time").count() == 1
    page.close()


def test_the_pages_title_counts_the_readers_unread_messages(
    app_url: str, browser: Any, automation: Automation, admin_member: Member, teammate: Member,
    make_button: Callable[..., Button],
) -> None:
    button = make_button(label="Create invoice", url=f"{automation.base}/hook", messages_public=True)
    automation.steps = [{"wait": True}, {"message": "Invoice sent", "message_type": "success"}]
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    title = page.title()
    assert not title.startswith("(")
    # Someone else's public message: in the log, but nothing to announce to alice.
    message(button, teammate, "42", content="Bob's own answer")
    page.wait_for_timeout(2500)
    assert page.title() == title
    press(page, "Create invoice").click()  # her own click: its answer, then a message, while the log is closed
    page.wait_for_function("(t) => document.title === '(1) ' + t", arg=title)
    automation.go_on.set()
    page.wait_for_function("(t) => document.title === '(2) ' + t", arg=title)
    envelope(page, "Create invoice").click()  # read: the count goes
    page.wait_for_function("(t) => document.title === t", arg=title, timeout=15000)
    page.close()
