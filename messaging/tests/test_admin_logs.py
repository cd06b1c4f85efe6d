"""Click events and messages in the admin: read-only pages that show why an automation failed."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event, make_message


@pytest.fixture
def client(admin_member: Member) -> Client:
    client = Client()
    client.force_login(admin_member.user)
    return client


def failed_event(button: Button, member: Member) -> ClickEvent:
    event = make_event(button, member, object_id="4711")
    ClickEvent.objects.filter(pk=event.pk).update(
        delivery="failed", http_status=502, duration_ms=1234, attempts=1, error="The webhook answered HTTP 502."
    )
    event.refresh_from_db()
    return event


def test_a_click_event_page_shows_delivery_payload_and_messages(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = failed_event(make_button(), admin_member)
    make_message(event, "Error (HTTP 502)", source="http_response", message_type="error")
    make_message(event, "Step <b>2</b> failed", message_type="warning", seconds=2)
    response = client.get(f"/admin/buttons/clickevent/{event.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("Failed", "502", "1234", "The webhook answered HTTP 502.", "Error (HTTP 502)",
                  "Step &lt;b&gt;2&lt;/b&gt; failed", "&quot;selectedIds&quot;: &quot;4711&quot;",
                  f"&quot;event_id&quot;: &quot;{event.pk}&quot;"):
        assert shown in page, shown
    assert "<pre>{\n  &quot;" in page  # pretty-printed
    assert 'name="_save"' not in page  # read-only
    assert client.post(f"/admin/buttons/clickevent/{event.pk}/change/", {"delivery": "delivered"}).status_code == 403
    assert client.get("/admin/buttons/clickevent/add/").status_code == 403
    assert client.post(f"/admin/buttons/clickevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_an_event_page_reads_in_seconds_and_titles_messages_as_text(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    # The window is 45 s: without seconds the admin could not tell the order of a click's messages.
    event = failed_event(make_button(), admin_member)
    ClickEvent.objects.filter(pk=event.pk).update(created_at=datetime(2026, 3, 4, 9, 5, 7, tzinfo=UTC))
    event.refresh_from_db()
    make_message(event, "Step <b>2</b> failed", message_type="warning", seconds=2)
    page = client.get(f"/admin/buttons/clickevent/{event.pk}/change/").content.decode()
    assert "March 4, 2026, 09:05:07" in page
    assert "March 4, 2026, 09:05:09" in page  # the message, 2 s later
    assert "HTTP status" in page and "Duration (ms)" in page
    assert "Warning: Step 2 failed" in page  # the inline row's title, as text


def test_the_lists_show_why_a_click_failed_and_what_each_message_says(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = failed_event(make_button(), admin_member)
    make_message(event, "Step <b>2</b> failed: " + "x" * 200, message_type="error")
    events = client.get("/admin/buttons/clickevent/").content.decode()
    assert "The webhook answered HTTP 502." in events
    messages = client.get("/admin/messaging/message/").content.decode()
    assert "Step 2 failed: xxx" in messages  # as text, not HTML source
    assert "x" * 100 not in messages  # shortened: the whole message is on its own page


def test_events_are_found_by_event_id_record_or_error(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    event = failed_event(button, admin_member)
    other = make_event(button, admin_member, object_id="1")
    for query in (str(event.pk), "4711", "HTTP 502", "delivery=failed"):
        param = query if "=" in query else f"q={query}"
        listed = list(client.get(f"/admin/buttons/clickevent/?{param}").context["cl"].queryset)
        assert listed == [event], query
    assert other in client.get("/admin/buttons/clickevent/").context["cl"].queryset


def test_a_message_page_shows_it_as_users_see_it(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    message = make_message(make_event(make_button(), admin_member), 'See <a href="https://example.com/x">x</a>')
    page = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    assert 'rel="noopener noreferrer"' in page and 'target="_blank"' in page
    assert 'name="_save"' not in page


def test_message_filters_and_search(
    client: Client, admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    first, second = make_button(), make_button(label="Second")
    event = make_event(first, admin_member)
    error = make_message(event, "Could not reach the CRM", message_type="error", source="http_response")
    info = make_message(event, "All good", seconds=2)
    read = make_message(make_event(second, teammate), "Read one", read_at=event.created_at)

    def listed(query: str) -> set[int]:
        response = client.get(f"/admin/messaging/message/?{query}")
        assert response.status_code == 200, query
        return {m.pk for m in response.context["cl"].queryset}

    assert listed("") == {error.pk, info.pk, read.pk}
    assert listed("message_type=error") == {error.pk}
    assert listed("source=custom") == {info.pk, read.pk}
    assert listed(f"button={second.pk}") == {read.pk}
    assert listed("read=unread") == {error.pk, info.pk}
    assert listed("read=read") == {read.pk}
    assert listed("q=CRM") == {error.pk}
    assert listed("button=%C2%B2") == listed("button=" + "9" * 30) == set()  # "²" is a digit to isdigit()


@pytest.mark.parametrize("url", ["/admin/messaging/message/", "/admin/buttons/clickevent/",
                                 "/admin/buttons/button/"])
def test_changelists_run_a_fixed_number_of_queries(
    client: Client, admin_member: Member, teammate: Member, make_button: Callable[..., Button], url: str
) -> None:
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    make_message(make_event(make_button(), admin_member), "one")
    few = queries_for_page()
    for n in range(15):
        button = make_button(label=f"Button {n}")
        make_message(make_event(button, teammate if n % 2 else admin_member), f"message {n}")
    assert queries_for_page() == few
