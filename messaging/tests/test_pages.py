"""The HTML pages: login, logout, the start page and a record's panel; no inline code anywhere."""

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_event
from messaging.tests.reading_helpers import message


def logged_in(member: Member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


class InlineCode(HTMLParser):
    """Collects what the CSP would block: inline scripts, style attributes/elements, on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        self.problems += [f"{name} attribute on <{tag}>" for name in names if name == "style" or name.startswith("on")]
        if tag == "a" and dict(attrs).get("target") == "_blank" and "noopener" not in (dict(attrs).get("rel") or ""):
            self.problems.append("target=_blank without rel=noopener")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.problems


def test_login_page_and_logging_in(admin_member: Member) -> None:
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    assert inline_code(page.content.decode()) == []
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and b"alert" in wrong.content
    response = client.post("/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_empty_login_form_says_what_is_missing(db: None) -> None:
    html = Client().post("/login/", {"username": "", "password": ""}).content.decode()
    assert "Enter your username." in html and "Enter your password." in html
    assert 'aria-describedby="username-error"' in html and 'aria-describedby="password-error"' in html
    only_password = Client().post("/login/", {"username": "alice", "password": ""}).content.decode()
    assert "Enter your password." in only_password and "Enter your username." not in only_password


def test_logout_is_a_post(admin_member: Member) -> None:
    client = logged_in(admin_member)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_anonymous_users_go_to_the_login_page(db: None) -> None:
    for url in ("/", "/panel/deal/21389/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_the_start_page_lists_recent_records(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    make_event(button, admin_member, "111")
    make_event(button, admin_member, "222")
    page = logged_in(admin_member).get("/")
    html = page.content.decode()
    assert page.status_code == 200 and inline_code(html) == []
    assert html.index("Deal 222") < html.index("Deal 111")
    assert 'href="/panel/deal/111/"' in html
    assert "last <time" in html and ">just now</time>" in html and "0 minutes" not in html


def test_the_start_page_opens_a_record(admin_member: Member) -> None:
    client = logged_in(admin_member)
    response = client.get("/?resource=person&object_id=77")
    assert response.status_code == 302 and response["Location"] == "/panel/person/77/"
    assert client.get("/?resource=lead&object_id=77").status_code == 400
    assert client.get("/?resource=deal&object_id=").status_code == 400
    slash = client.get("/?resource=deal&object_id=12/34")
    assert slash.status_code == 400 and "cannot contain &#x27;/&#x27;" in slash.content.decode()
    too_long = client.get("/?resource=deal&object_id=" + "9" * 65)
    assert too_long.status_code == 400 and "at most 64 characters" in too_long.content.decode()


def test_the_panel_renders_buttons_envelopes_and_disabled_state(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    blocked = make_button(label="Sync", disable_on_unread_error=True)
    message(blocked, admin_member, message_type="error")
    make_button(label="Open map", kind="link", url="https://maps.example.com/", messaging_enabled=False)
    make_button(label="Bob only")
    page = logged_in(admin_member).get("/panel/deal/21389/")
    html = page.content.decode()
    assert page.status_code == 200 and inline_code(html) == []
    assert 'href="https://maps.example.com/" target="_blank" rel="noopener noreferrer"' in html
    assert "envelope envelope-red" in html and 'aria-disabled="true"' in html
    assert 'title="This button is disabled until you have read its error messages on this record."' in html
    assert "<dialog" in html and "/static/panel.js" in html
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_unknown_resources_and_outsiders(admin_member: Member, outsider: Member, db: None) -> None:
    assert logged_in(admin_member).get("/panel/lead/1/").status_code == 404
    assert logged_in(admin_member).get("/panel/deal/list/").status_code == 200
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user("loner", password="pw-loner-123")
    client = Client()
    client.force_login(loner)
    assert client.get("/panel/deal/1/").status_code == 404


TEMPLATES = Path(__file__).parents[2] / "templates"


@pytest.mark.parametrize(
    "path", sorted(str(p) for pattern in ("*.html", "messaging/*.html", "registration/*.html")
                   for p in TEMPLATES.glob(pattern))
)
def test_templates_carry_no_inline_code(path: str) -> None:
    assert inline_code(Path(path).read_text()) == []


def test_the_favicon_is_found(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("days", [30, 7])
def test_the_retention_period_shown_is_the_setting(admin_member: Member, settings: object, days: int) -> None:
    settings.MESSAGE_RETENTION_DAYS = days  # type: ignore[attr-defined]
    page = logged_in(admin_member).get("/panel/deal/42/").content.decode()
    assert page.count(f"Messages are kept for {days} days.") == 2  # the panel's note and the log's end
