"""Webhook targets on private networks are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on."""

import socket
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from conftest import Receiver, api_client
from core.destinations import check_destination
from deliveries import delivery
from messaging.models import Message

PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0.0.0.0/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://localhost/hook",
    "http://metadata.internal/hook",
]


@pytest.fixture
def guarded(settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_targets_are_refused_when_saving(guarded: None, url: str) -> None:
    with pytest.raises(ValidationError, match="private"):
        check_destination(url)


def test_a_host_that_resolves_privately_is_refused(guarded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, *args: object, **kwargs: object) -> list:
        if host == "rebind.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(ValidationError, match="resolves to a private or reserved address") as refused:
        check_destination("http://rebind.example.test/hook")
    assert "169.254" not in str(refused.value)  # what internal names resolve to is not a tenant's business
    with pytest.raises(ValidationError, match=r"\(169\.254\.169\.254\)"):  # typed in: named back
        check_destination("http://169.254.169.254/hook")


def test_the_api_refuses_a_private_url(guarded: None, admin_member: Member) -> None:
    response = api_client(admin_member).post(
        "/api/buttons/",
        {"label": "x", "url": "http://169.254.169.254/", "resource": "deal", "view": "details"},
        format="json",
    )
    assert response.status_code == 400 and "private" in response.json()["detail"]


def test_sending_refuses_a_private_target_even_if_saved_earlier(
    guarded: None, admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    # Saved while the guard was off (or before the host's DNS changed): the send-time guard still holds.
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    assert receiver.requests == []
    event.refresh_from_db()
    assert event.delivery == "failed" and "private" in event.error
    assert Message.objects.get(event=event).message_type == "error"


def test_send_time_dns_answer_is_checked_and_pinned(
    guarded: None, admin_member: Member, make_button: Callable[..., Button], receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = socket.getaddrinfo
    port = int(receiver.url.split(":")[2].split("/")[0])

    def resolve(host: str, *args: object, **kwargs: object) -> list:
        if host == "rebind.example.test":  # public at save time, loopback when sending
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    event = make_event(make_button(url=f"http://rebind.example.test:{port}/hook"), admin_member)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    delivery.deliver_click(str(event.pk))
    assert receiver.requests == []
    failed = ClickEvent.objects.get(pk=event.pk)
    assert failed.delivery == "failed" and "private or reserved address" in failed.error
    # The clicker learns why, not the operator's internal address.
    assert "127.0.0.1" not in failed.error and "127.0.0.1" not in Message.objects.get(event=event).content


def test_local_mode_allows_private_targets(
    settings, admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    check_destination("http://127.0.0.1/hook")
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
