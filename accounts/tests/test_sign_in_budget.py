"""Sign-in has a per-address attempt budget: the login page, the admin's, and /api/auth/token/."""

import pytest
from django.test import Client

from accounts.models import Member
from accounts.views import TOO_MANY, LoginThrottle

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LoginThrottle, "rate", "3/minute", raising=False)


@pytest.fixture
def member(admin_member: Member) -> Member:
    admin_member.user.set_password(PASSWORD)
    admin_member.user.save()
    return admin_member


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_guessing_stops_at_the_budget_even_for_the_right_password(member: Member, path: str) -> None:
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(3):
        assert guesser.post(path, {"username": member.user.username, "password": f"guess {n}"}).status_code == 200
    right = guesser.post(path, {"username": member.user.username, "password": PASSWORD})
    assert right.status_code == 429 and TOO_MANY in right.content.decode()
    assert "_auth_user_id" not in guesser.session
    # Somebody else, from another address, signs in as usual.
    other = Client(REMOTE_ADDR="198.51.100.4")
    assert other.post(path, {"username": member.user.username, "password": PASSWORD}).status_code == 302
    assert "_auth_user_id" in other.session


def test_the_token_endpoint_has_the_same_budget(member: Member) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.post("/api/auth/token/", {"username": member.user.username, "password": password}).status_code
        for password in ("a", "b", "c", PASSWORD)
    ]
    assert statuses == [400, 400, 400, 429]
    assert Client(REMOTE_ADDR="198.51.100.4").post(
        "/api/auth/token/", {"username": member.user.username, "password": PASSWORD}
    ).json()["token"]
