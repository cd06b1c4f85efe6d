from rest_framework.test import APIClient

from accounts.models import Member


def test_it_returns_a_token_that_authenticates(admin_member: Member) -> None:
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice-123"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/buttons/").status_code == 200


def test_it_refuses_a_wrong_password(admin_member: Member) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_anonymous_callers_are_refused(admin_member: Member) -> None:
    assert APIClient().get("/api/buttons/").status_code in (401, 403)
