"""An admin's test click: the real webhook with sample ids, whose answer and messages reach only the admin."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Member
from buttons.models import TEST_OBJECT_ID, Button, ClickEvent
from deliveries import actions
from messaging import reads
from messaging.models import Message

HOOK = "http://hooks.example.test/invoice"


def admin_client(member: Member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_test_click_sends_the_real_payload_with_sample_ids(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post(HOOK, json={"message": "Got it", "message_type": "success"})
    button = make_button(url=HOOK)
    event = actions.send_test_click(admin_member.user, button.identifier)
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {"identifier": str(button.identifier), "resource": "deal", "view": "details",
                    "userId": "1108047", "companyId": "737569", "selectedIds": "12345", "fields": None,
                    "event_id": str(event.pk)}
    event.refresh_from_db()
    assert event.is_test and event.object_id == TEST_OBJECT_ID and event.delivery == "delivered"
    assert Message.objects.get(event=event).content == "Got it"
    # A real event_id with an open window: the automation's custom messages are accepted.
    posted = APIClient().post("/api/trigger-message", {"event_id": str(event.pk), "message": "Step 1"}, format="json")
    assert posted.status_code == 201


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_test_clicks_messages_reach_no_members_log(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    responses.post(HOOK, json={"message": "Got it", "message_type": "error"})
    button = make_button(url=HOOK, messages_public=True, disable_on_any_unread=True)
    actions.send_test_click(admin_member.user, button.identifier)
    assert Message.objects.count() == 1
    for member in (admin_member, teammate):  # not on the sample record, nor anywhere a member looks
        (state,) = reads.panel_state(member.user, "deal", "12345").buttons
        assert state.envelope == "none" and state.unread == 0 and not state.disabled
    assert reads.recent_records(admin_member.user) == []
    # The record-naming API refuses the test's object id, so its log cannot be asked for either.
    answer = APIClient()
    answer.force_authenticate(admin_member.user)
    log = answer.get(f"/api/buttons/{button.identifier}/messages", {"resource": "deal", "object_id": TEST_OBJECT_ID})
    assert log.status_code == 400


def test_link_buttons_and_other_companies_buttons_are_refused(
    admin_member: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    link = make_button(kind="link", messaging_enabled=False, url="https://example.com/")
    with pytest.raises(actions.ClickRefused, match="nothing to test"):
        actions.send_test_click(admin_member.user, link.identifier)
    from django.http import Http404

    with pytest.raises(Http404):
        actions.send_test_click(outsider.user, make_button(url=HOOK).identifier)


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_admin_sends_one_and_sees_its_page(admin_member: Member, make_button: Callable[..., Button]) -> None:
    responses.post(HOOK, body="Thanks")
    button = make_button(url=HOOK, signing_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    client = admin_client(admin_member)
    change = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert f"/admin/buttons/button/{button.pk}/test-click/" in change
    page = client.get(f"/admin/buttons/button/{button.pk}/test-click/").content.decode()
    assert "Send a test click" in page and "csrfmiddlewaretoken" in page and not ClickEvent.objects.exists()
    sent = client.post(f"/admin/buttons/button/{button.pk}/test-click/")
    event = ClickEvent.objects.get()
    assert sent.status_code == 302 and sent["Location"].endswith(f"/test-click/{event.pk}/")
    result = client.get(sent["Location"]).content.decode()
    assert str(event.pk) in result and "webhook-signature" in result and "Thanks" in result
    assert responses.calls[0].request.headers["webhook-signature"].startswith("v1,")
    tests_only = client.get("/admin/buttons/clickevent/?is_test__exact=1").content.decode()
    assert "test click" in tests_only and "1 click event" in tests_only


def test_another_admins_test_click_page_is_not_found(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(url=HOOK)
    other = ClickEvent.objects.create(button=button, company_id=button.company_id, user=admin_member.user,
                                      resource="deal", view="details", object_id="1", is_test=False)
    client = admin_client(admin_member)
    assert client.get(f"/admin/buttons/button/{button.pk}/test-click/{other.pk}/").status_code == 404
