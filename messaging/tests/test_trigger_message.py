"""POST /api/trigger-message: every status and sentence of the contract."""

import itertools
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from messaging.models import Message
from messaging.public_ids import from_public

NOT_FOUND = {"detail": "Not found or the event window is expired"}


@pytest.fixture
def event(admin_member: Member, make_button: Callable[..., Button]) -> ClickEvent:
    return make_event(make_button(), admin_member)


def post(body: object, path: str = "/api/trigger-message", fmt: str = "json"):
    return APIClient().post(path, body, format=fmt)


def test_it_stores_a_message_and_answers_201(event: ClickEvent) -> None:
    response = post({"event_id": str(event.pk), "message": "You succeeded", "message_type": "success"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "event_id", "click_id", "source", "message_type", "content", "redirect_url",
                         "created_at", "read"}
    assert {k: body[k] for k in ("event_id", "source", "message_type", "content", "redirect_url", "read")} == {
        "event_id": str(event.pk), "source": "custom", "message_type": "success", "content": "You succeeded",
        "redirect_url": None, "read": False,
    }
    message = Message.objects.get(pk=from_public(body["id"]))
    assert message.recipient == event.user and message.button == event.button
    assert (message.resource, message.object_id) == ("deal", "21389")
    event.refresh_from_db()
    assert event.custom_message_count == 1


def test_trailing_slash_and_form_bodies_work(event: ClickEvent) -> None:
    response = post({"event_id": str(event.pk), "message": "Form body"}, "/api/trigger-message/", "multipart")
    assert response.status_code == 201 and response.json()["message_type"] == "info"
    response = APIClient().post("/api/trigger-message", f"event_id={event.pk}&message=urlencoded",
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201 and response.json()["content"] == "urlencoded"


def test_html_within_the_allowlist_is_kept(event: ClickEvent) -> None:
    content = '<div><b>Invoice</b> <a href="https://x.example/1" target="_blank">INV-1</a><br><i>ok</i></div>'
    response = post({"event_id": str(event.pk), "message": content})
    assert response.status_code == 201 and response.json()["content"] == content


@pytest.mark.parametrize(
    "event_id", [str(uuid.uuid4()), "not-a-uuid", "", "   ", 12, None, ["x"], "d3cc3758-41d3-4eba-bb80"]
)
def test_unknown_or_malformed_event_ids_get_the_same_answer(db: None, event_id: object) -> None:
    response = post({"event_id": event_id, "message": "hi"})
    assert response.status_code == 400
    if event_id not in ("", None):
        assert response.json() == NOT_FOUND


def test_a_missing_event_id_is_named(db: None) -> None:
    response = post({"message": "hi"})
    assert response.status_code == 400 and "event_id" in response.json()["detail"]


def test_a_button_with_messaging_off_is_not_found(event: ClickEvent) -> None:
    Button.objects.filter(pk=event.button_id).update(messaging_enabled=False)
    assert post({"event_id": str(event.pk), "message": "hi"}).json() == NOT_FOUND


def test_window_edges(event: ClickEvent) -> None:
    with time_machine.travel(event.created_at + timedelta(seconds=44.9), tick=False):
        assert post({"event_id": str(event.pk), "message": "just in time"}).status_code == 201
    with time_machine.travel(event.created_at + timedelta(seconds=45.1), tick=False):
        response = post({"event_id": str(event.pk), "message": "too late"})
        assert response.status_code == 400 and response.json() == NOT_FOUND
    assert list(Message.objects.values_list("content", flat=True)) == ["just in time"]


def test_the_eleventh_custom_message_is_refused(event: ClickEvent) -> None:
    for i in range(10):
        assert post({"event_id": str(event.pk), "message": f"step {i}"}).status_code == 201
    response = post({"event_id": str(event.pk), "message": "step 11"})
    assert response.status_code == 400
    assert "10 custom messages" in response.json()["detail"]
    assert Message.objects.filter(event=event).count() == 10


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "Send a message, a redirect_url, or both"),
        ({"message": "   "}, "Send a message"),
        ({"message": "<script>alert(1)</script>"}, "<script>"),
        ({"message": '<b style="color:red">x</b>'}, "style"),
        ({"message": "<div onclick=alert(1)>x</div>"}, "onclick"),
        ({"message": "<!-- hidden -->"}, "comment"),
        ({"message": '<a href="javascript:alert(1)">x</a>'}, "javascript"),
        ({"message": "x" * 2001}, "2000"),
        ({"message": "<b>" + "x" * 1995 + "</b>"}, "2000"),
        ({"message": "hi", "message_type": "fatal"}, "message_type"),
        ({"message": "hi", "message_type": 3}, "message_type"),
        ({"message": {"nested": True}}, "message must be a string"),
        ({"message": "nul \u0000 byte"}, "control characters"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"redirect_url": "ftp://files.example/x"}, "redirect_url"),
        ({"redirect_url": "https://"}, "redirect_url"),
        ({"redirect_url": "https://a.example/x y"}, "redirect_url"),
        ({"redirect_url": 42}, "redirect_url"),
        ({"message": "hi", "redirect_url": "//evil.example"}, "redirect_url"),
    ],
)
def test_bad_messages_are_refused_with_a_sentence_and_nothing_stored(
    event: ClickEvent, body: dict, words: str
) -> None:
    response = post({"event_id": str(event.pk), **body})
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Message.objects.exists()
    event.refresh_from_db()
    assert event.custom_message_count == 0  # an illegal message does not use up the quota


def test_a_body_that_is_not_an_object_is_400(db: None) -> None:
    assert APIClient().post("/api/trigger-message", "[1,2]", content_type="application/json").status_code == 400
    assert APIClient().post("/api/trigger-message", "{bad json", content_type="application/json").status_code == 400
    assert APIClient().post("/api/trigger-message", '"x"', content_type="application/json").status_code == 400


def test_redirect_only_logs_where_it_went(event: ClickEvent) -> None:
    response = post({"event_id": str(event.pk), "redirect_url": "https://crm.example/organizations/list/filter/37"})
    assert response.status_code == 201
    body = response.json()
    assert body["content"] == "Redirected to https://crm.example/organizations/list/filter/37"
    assert body["message_type"] == "info"
    assert body["redirect_url"] == "https://crm.example/organizations/list/filter/37"


def test_message_with_redirect(event: ClickEvent) -> None:
    response = post({"event_id": str(event.pk), "message": "Done", "message_type": "success",
                     "redirect_url": "https://crm.example/x"})
    assert response.status_code == 201
    assert (response.json()["content"], response.json()["redirect_url"]) == ("Done", "https://crm.example/x")


def test_no_authentication_and_no_csrf_needed(event: ClickEvent) -> None:
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/trigger-message", {"event_id": str(event.pk), "message": "hi"}, format="json")
    assert response.status_code == 201


def test_misses_are_throttled_per_client_address_and_valid_posts_never(
    event: ClickEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from messaging.throttling import TriggerMessageMissThrottle

    monkeypatch.setattr(TriggerMessageMissThrottle, "rate", "3/minute")
    statuses = [post({"event_id": str(uuid.uuid4()), "message": "guess"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = post({"event_id": str(uuid.uuid4()), "message": "guess"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    # The same address (a platform's shared egress) still delivers its valid messages.
    assert post({"event_id": str(event.pk), "message": "hi"}).status_code == 201
    other = APIClient(REMOTE_ADDR="10.9.8.7").post(
        "/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "guess"}, format="json"
    )
    assert other.status_code == 400


def test_a_thousand_valid_posts_from_one_address_are_all_accepted(
    admin_member: Member, make_button: Callable[..., Button], monkeypatch: pytest.MonkeyPatch
) -> None:
    from messaging.throttling import TriggerMessageMissThrottle

    monkeypatch.setattr(TriggerMessageMissThrottle, "rate", "5/minute")
    button = make_button()
    events = [make_event(button, admin_member, object_id=str(n)) for n in range(100)]
    statuses = [post({"event_id": str(e.pk), "message": f"step {i}"}).status_code for i in range(10) for e in events]
    assert statuses == [201] * 1000
    misses = [post({"event_id": str(uuid.uuid4()), "message": "guess"}).status_code for _ in range(7)]
    assert misses == [400] * 5 + [429] * 2


def test_a_forged_forwarded_for_header_does_not_buy_a_fresh_budget(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from messaging.throttling import TriggerMessageMissThrottle

    monkeypatch.setattr(TriggerMessageMissThrottle, "rate", "3/minute")
    statuses = [
        APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            "/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "guess"}, format="json"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [400, 400, 400, 429, 429, 429]


def raw_post(body: str | bytes, content_type: str = "application/json"):
    return APIClient().post("/api/trigger-message", body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('{"event_id": "x", "message": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        (r'{"event_id": "x", "message": "half \\ud800 of a character"}', None),  # an escaped backslash: fine
        (r'{"event_id": "x", "message": "half \ud800 of a character"}', "lone surrogate"),
        (r'{"event_id": "x", "message": "ok", "redirect_url": "https://example.com/\uDBFF"}', "lone surrogate"),
        (r'{"event_id": "x", "message_type": "\udc00", "message": "ok"}', "lone surrogate"),
        ('{"event_id": "x", "message": NaN}', "JSON parse error"),
    ],
    ids=["deep", "escaped-backslash", "surrogate", "surrogate-url", "surrogate-type", "nan"],
)
def test_hostile_json_gets_a_400_with_a_sentence(db: None, body: str, named: str | None) -> None:
    response = raw_post(body)
    assert response.status_code == 400
    if named:
        assert named in response.json()["detail"]
    else:
        assert response.json() == NOT_FOUND  # parsed, then the unknown event is refused as usual


def test_a_surrogate_pair_is_a_character_and_is_kept(event: ClickEvent) -> None:
    response = raw_post(r'{"event_id": "EVENT", "message": "Done \ud83c\udf89"}'.replace("EVENT", str(event.pk)))
    assert response.status_code == 201 and response.json()["content"] == "Done \U0001f389"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_an_oversized_body_gets_a_413_with_a_sentence(
    db: None, settings: object, content_type: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    padding = "x" * 20_000
    json_body = f'{{"event_id": "x", "message": "{padding}"}}'
    body = json_body if content_type == "application/json" else f"event_id=x&message={padding}"
    response = raw_post(body, content_type)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 9 KB."}


def test_the_201_body_is_what_the_json_renderer_would_write(event: ClickEvent) -> None:
    from rest_framework.renderers import JSONRenderer

    content = "Ünïcode – line\u2028separator <b>bold</b>"
    response = post({"event_id": str(event.pk), "message": content})
    assert response.status_code == 201 and response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(response.json())
    assert response.json()["content"] == content


def test_message_ids_tell_a_tenant_nothing_of_other_tenants_traffic(event: ClickEvent) -> None:
    ids = [post({"event_id": str(event.pk), "message": f"step {n}"}).json()["id"] for n in range(10)]
    rows = sorted(Message.objects.filter(event=event).values_list("pk", flat=True))
    # The rows are consecutive; the ids the automation sees are neither ordered nor one apart.
    assert rows == list(range(rows[0], rows[0] + 10))
    assert ids != sorted(ids) and all(abs(b - a) > 1 for a, b in itertools.pairwise(ids))
    assert sorted(from_public(i) for i in ids) == rows and all(0 <= i < 2**53 for i in ids)
