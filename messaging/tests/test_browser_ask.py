"""Buttons that ask, in Chromium: the form filled with the keyboard only, in both themes; Escape sends
nothing and gives the focus back; a refused input's sentence beside it; a confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Member
from buttons.models import Button, ClickEvent
from testing.browser import (
    answer_late,
    app_on_test_database,
    chromium,
    log_in,
    require_chromium,
)
from testing.hooks import JsonHook

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

require_chromium()

FIELDS = [
    {"label": "Valid until", "type": "date", "required": True},
    {"label": "Discount", "type": "number"},
    {"label": "Send to", "type": "email", "required": True},
    {"label": "Language", "type": "select", "options": ["English", "German"]},
    {"label": "Products", "type": "multiselect", "options": ["Licences", "Support"]},
    {"label": "Note", "type": "textarea"},
    {"label": "Send me a copy", "type": "boolean"},
]


@pytest.fixture(scope="module")
def app_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with app_on_test_database(django_db_blocker, {"LOGIN_RATE": "1000/minute"}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def receiver() -> Iterator[JsonHook]:
    instance = JsonHook(lambda _: {"message": "Quote sent", "message_type": "success"})
    yield instance
    instance.close()


def button_with(member: Member, url: str, **values: Any) -> Button:
    button = Button(company=member.company, label="Send quote", url=url, resource="deal", messaging_enabled=True,
                    **values)
    button.full_clean()
    button.save()
    return button


def tab_to(page: Any, name: str) -> None:
    """Tab until the control named `name` has the focus (a date input takes a Tab per part)."""
    for _ in range(6):
        page.keyboard.press("Tab")
        if focused(page) == name:
            return
    raise AssertionError(f"Tab never reached {name}; the focus is on {focused(page)!r}")


def focused(page: Any) -> str:
    return page.evaluate("document.activeElement && (document.activeElement.name || "
                         "document.activeElement.textContent.trim())")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_form_is_filled_with_the_keyboard_only(
    app_url: str, browser: Any, admin_member: Member, receiver: JsonHook, scheme: str
) -> None:
    button_with(admin_member, receiver.url, fields=FIELDS)
    page = browser.new_page(color_scheme=scheme)
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    press = page.locator('.btn-row[data-label="Send quote"] [data-role="press"]')
    press.focus()
    page.keyboard.press("Enter")
    page.locator("#ask[open]").wait_for()
    assert focused(page) == "valid_until"  # the first input, named by its label
    page.keyboard.type("02282026")  # Chromium's date input takes the digits of mm/dd/yyyy
    tab_to(page, "discount")
    page.keyboard.type("12.5")
    tab_to(page, "send_to")
    page.keyboard.type("not-an-address")  # the server refuses it: its sentence shows beside the field
    tab_to(page, "language")
    page.keyboard.press("ArrowDown")  # Language: English
    tab_to(page, "products")
    page.keyboard.press("Space")  # Products: Licences
    tab_to(page, "note")
    page.keyboard.type("Thanks!")
    tab_to(page, "send_me_a_copy")
    page.keyboard.press("Space")
    tab_to(page, "Run Send quote")
    page.keyboard.press("Enter")
    error = page.locator("#ask-send_to-error")
    error.wait_for()
    assert "must be an e-mail address" in error.inner_text()
    assert page.locator("#ask-send_to").get_attribute("aria-invalid") == "true"
    assert focused(page) == "send_to" and receiver.payloads == []
    page.keyboard.press("Control+A")
    page.keyboard.type("ap@globex.example")
    page.keyboard.press("Enter")  # submits the form
    page.locator("#ask").wait_for(state="hidden")
    page.locator('.btn-row[data-label="Send quote"] .btn-status', has_text="Quote sent").wait_for()
    assert receiver.payloads[0]["fields"] == {
        "valid_until": "2026-02-28", "discount": 12.5, "send_to": "ap@globex.example", "language": "English",
        "products": ["Licences"], "note": "Thanks!", "send_me_a_copy": True}
    contrast = page.evaluate("""() => {
        const dialog = document.getElementById('ask');
        return [getComputedStyle(dialog).backgroundColor, getComputedStyle(dialog).color];
    }""")
    assert contrast[0] != contrast[1]
    page.close()


def test_escape_sends_nothing_and_the_focus_goes_back(
    app_url: str, browser: Any, admin_member: Member, receiver: JsonHook
) -> None:
    button_with(admin_member, receiver.url, fields=FIELDS[:1])
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    press = page.locator('.btn-row[data-label="Send quote"] [data-role="press"]')
    press.click()
    page.locator("#ask[open]").wait_for()
    page.keyboard.press("Escape")
    page.locator("#ask").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.dataset.role") == "press"
    assert press.get_attribute("aria-busy") is None
    page.wait_for_timeout(500)
    assert receiver.payloads == [] and not ClickEvent.objects.exists()
    page.close()


def test_a_confirmation_comes_before_the_click(
    app_url: str, browser: Any, admin_member: Member, receiver: JsonHook
) -> None:
    button_with(admin_member, receiver.url, confirm=True, confirm_text="Send the quote to the customer?")
    page = browser.new_page()
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    press = page.locator('.btn-row[data-label="Send quote"] [data-role="press"]')
    press.click()
    page.locator("#ask[open] .ask-title", has_text="Send the quote to the customer?").wait_for()
    page.locator("#ask").get_by_role("button", name="Cancel", exact=True).click()
    page.wait_for_timeout(300)
    assert receiver.payloads == []
    press.click()
    page.locator("#ask[open]").get_by_role("button", name="Run", exact=True).click()
    page.locator('.btn-row[data-label="Send quote"] .btn-status', has_text="Quote sent").wait_for()
    assert len(receiver.payloads) == 1 and receiver.payloads[0]["fields"] is None
    page.close()


def test_a_second_button_pressed_while_a_form_loads_neither_takes_it_over_nor_clicks(
    app_url: str, browser: Any, admin_member: Member, receiver: JsonHook
) -> None:
    button_with(admin_member, receiver.url, confirm=True, confirm_text="Send the quote to the customer?")
    other = Button(company=admin_member.company, label="Archive deal", url=receiver.url, resource="deal",
                   messaging_enabled=True, fields=[{"label": "Reason", "type": "text", "required": True}])
    other.full_clean()
    other.save()
    page = browser.new_page()
    answer_late(page, "/form?")  # a form that reads the CRM can take a while
    log_in(page, app_url, "alice", "pw-alice-123", "/panel/deal/42/")
    page.locator('.btn-row[data-label="Send quote"] [data-role="press"]').click()
    page.locator('.btn-row[data-label="Archive deal"] [data-role="press"]').click()
    title = page.locator("#ask[open] .ask-title")
    title.wait_for()
    page.wait_for_timeout(2500)  # the second form, had it been asked for, would have landed by now
    assert title.inner_text() == "Send the quote to the customer?"
    assert page.locator("#ask .ask-input").count() == 0
    page.locator("#ask[open]").get_by_role("button", name="Run", exact=True).click()
    page.locator('.btn-row[data-label="Send quote"] .btn-status', has_text="Quote sent").wait_for()
    page.wait_for_timeout(500)
    assert len(receiver.payloads) == 1  # the confirmed one, and nothing else
    assert ClickEvent.objects.filter(button=other).count() == 0
    page.close()


def test_the_admin_edits_fields_as_rows_with_a_preview(app_url: str, browser: Any, admin_member: Member) -> None:
    button = button_with(admin_member, "http://hooks.example.test/quote",
                         fields=[{"label": "Deal", "kind": "record", "source": "title"}])
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, app_url, "alice", "pw-alice-123", f"/admin/buttons/button/{button.pk}/change/")
    editor = page.locator(".oneclick-fields")
    assert page.locator("textarea[data-fields-editor]").is_hidden()  # the rows stand for the JSON
    editor.get_by_role("button", name="Add a field").click()
    row = editor.locator(".oneclick-field-row").nth(1)
    row.get_by_label("Label", exact=True).fill("Currency")
    row.get_by_label("Type").select_option("select")
    row.get_by_label("Options, one per line").fill("EUR\nUSD")
    row.get_by_label("Required").check()
    preview = editor.locator(".oneclick-preview")
    assert "Currency *" in preview.inner_text() and preview.locator("select option").count() == 2
    row.get_by_role("button", name="Move up: Currency").click()  # reordered: Currency first
    assert editor.locator(".oneclick-field-row").first.get_by_label("Label", exact=True).input_value() == "Currency"
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_load_state()
    button.refresh_from_db()
    assert [(f["key"], f["type"], f["required"], f["options"]) for f in button.fields] == [
        ("currency", "select", True, ["EUR", "USD"]), ("deal", None, False, [])]
    assert problems == []
    page.close()
