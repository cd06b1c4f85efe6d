"""The button form in the admin: grouped as the guide groups it, its rules, and the signing secret."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, override_settings

from accounts.models import Member
from buttons.models import Button
from core.secrets import mask_secret, secret_key_bytes

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def client(admin_member: Member) -> Client:
    client = Client()
    client.force_login(admin_member.user)
    return client


def form_data(button: Button | None = None, **changes: Any) -> dict[str, Any]:
    """What the browser posts for the button (checkboxes: present when ticked)."""
    data: dict[str, Any] = {"label": "Create invoice", "kind": "webhook", "url": "https://hooks.example.test/x",
                            "resource": "deal", "view": "details", "messaging_enabled": True,
                            "secret_action": "keep", "signing_secret": ""}
    if button is not None:
        data |= {f: getattr(button, f) for f in ("label", "kind", "url", "resource", "view", "messaging_enabled",
                                                  "messages_public", "disable_on_unread_error",
                                                  "disable_on_any_unread")}
        data["do_not_log_http_responses"] = not button.log_http_responses
    data |= changes
    return {key: ("on" if value is True else value) for key, value in data.items() if value is not False}


def change(client: Client, button: Button, **changes: Any) -> Any:
    return client.post(f"/admin/buttons/button/{button.pk}/change/", form_data(button, **changes))


def test_the_form_groups_fields_as_the_guide_does(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button()
    response = client.get(f"/admin/buttons/button/{button.pk}/change/")
    assert response.status_code == 200
    fieldsets = [(fs.name, [f for line in fs for field in line for f in [field.field["name"]
                                                                          if isinstance(field.field, dict)
                                                                          else field.field.name]])
                 for fs in response.context["adminform"]]
    assert fieldsets == [
        ("Button", ["button_identifier", "label", "kind", "url", "resource", "view"]),
        ("Messaging", ["messaging_enabled", "messages_public", "do_not_log_http_responses",
                       "disable_on_unread_error", "disable_on_any_unread", "clear_all_messages"]),
        ("Signing secret", ["current_secret", "signing_secret", "secret_action"]),
        ("Ask the user before the click", ["fields", "confirm", "confirm_text"]),
        ("Custom headers", ["headers"]),
        ("Where it shows", ["vis_pipelines", "vis_stages", "vis_users", "vis_groups"]),
        ("Try it", ["test_click"]),  # not the guide's: the test click, once the button is saved
    ]
    page = response.content.decode()
    for words in ("Enable messaging", "Make messages public", "Do not log HTTP responses",
                  "Disable the button if there are unread error messages",
                  "Disable the button if there are any unread messages",
                  "If you do not wish to consider HTTP responses as OneClick messages",
                  "If you want all users to see each other's messages you can make the messages public",
                  "until the user goes to the message log and sees the error message",
                  "This feature is not available for Link buttons", "Clear all messages"):
        assert words in page, words


def test_do_not_log_http_responses_is_the_inverse_of_the_model_field(
    client: Client, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    assert change(client, button, do_not_log_http_responses=True).status_code == 302
    button.refresh_from_db()
    assert button.log_http_responses is False
    assert change(client, button, do_not_log_http_responses=False).status_code == 302
    button.refresh_from_db()
    assert button.log_http_responses is True


def test_a_link_button_cannot_have_messaging(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button()
    response = change(client, button, kind="link")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["messaging_enabled"] == [
        "Messaging is not available for link buttons."
    ]
    assert "Messaging is not available for link buttons." in response.content.decode()
    button.refresh_from_db()
    assert button.kind == "webhook"
    assert change(client, button, kind="link", messaging_enabled=False).status_code == 302


@override_settings(WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_urls_are_validated_with_the_ssrf_guard(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button()
    for url, error in (("http://127.0.0.1:8000/hook", "private"), ("http://localhost/x", "private"),
                       ("ftp://files.example.test/", "http:// or https://"),
                       ("https://user:pw@example.test/", "password")):
        response = change(client, button, url=url)
        assert response.status_code == 200, url
        assert error in " ".join(response.context["adminform"].form.errors["url"]), url
    button.refresh_from_db()
    assert button.url == "http://hooks.example.test/invoice"


def test_the_secret_is_shown_masked_and_kept_when_left_blank(
    client: Client, make_button: Callable[..., Button]
) -> None:
    button = make_button(signing_secret=SECRET)
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert SECRET not in page and SECRET[10:-4] not in page
    assert mask_secret(SECRET) in page
    assert change(client, button, label="Renamed").status_code == 302
    button.refresh_from_db()
    assert button.label == "Renamed" and button.signing_secret == SECRET


def test_a_typed_secret_replaces_it_and_a_bad_one_is_refused(
    client: Client, make_button: Callable[..., Button]
) -> None:
    button = make_button(signing_secret=SECRET)
    response = change(client, button, signing_secret="whsec_not*base64")
    assert response.status_code == 200
    assert "whsec_ followed by base64" in " ".join(response.context["adminform"].form.errors["signing_secret"])
    assert "whsec_not*base64" not in response.content.decode()  # not echoed back either
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    assert change(client, button, signing_secret=other).status_code == 302
    button.refresh_from_db()
    assert button.signing_secret == other


def test_generate_a_new_secret_shows_it_once(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button(signing_secret=SECRET)
    response = change(client, button, secret_action="generate")
    assert response.status_code == 302 and response["Location"].endswith(f"/{button.pk}/change/")
    button.refresh_from_db()
    assert button.signing_secret != SECRET and len(secret_key_bytes(button.signing_secret)) == 24
    first = client.get(response["Location"])
    assert button.signing_secret in first.content.decode() and "no-store" in first["Cache-Control"]
    assert 'data-copy="new-secret-value"' in first.content.decode()  # a copy button beside it
    assert button.signing_secret not in client.get(response["Location"]).content.decode()


def test_remove_the_secret(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button(signing_secret=SECRET)
    response = change(client, button, secret_action="remove", signing_secret="whsec_" + "A" * 32)
    assert response.status_code == 200  # typing one and removing it at once is ambiguous
    assert change(client, button, secret_action="remove").status_code == 302
    button.refresh_from_db()
    assert button.signing_secret == ""
    assert "No secret" in client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()


def test_a_new_button_can_get_a_generated_secret(client: Client, admin_member: Member) -> None:
    response = client.post("/admin/buttons/button/add/", form_data(secret_action="generate",
                                                                   do_not_log_http_responses=True))
    assert response.status_code == 302
    button = Button.objects.get()
    assert button.company_id == admin_member.company_id and button.signing_secret.startswith("whsec_")
    assert button.log_http_responses is False
    assert button.signing_secret in client.get(response["Location"]).content.decode()


def test_the_add_page_shows_no_identifier_until_the_button_is_saved(
    client: Client, make_button: Callable[..., Button]
) -> None:
    import re

    page = client.get("/admin/buttons/button/add/").content.decode()
    uuid_like = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert "Assigned when the button is saved." in page and not uuid_like.search(page)
    button = make_button()
    assert str(button.identifier) in client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()


def test_after_a_form_error_the_add_page_shows_no_url_as_current(client: Client, admin_member: Member) -> None:
    page = client.post("/admin/buttons/button/add/", form_data(label="", url="https://example.com/hook"))
    html = page.content.decode()
    assert page.status_code == 200 and "errorlist" in html
    assert "Currently:" not in html and 'value="https://example.com/hook"' in html


def test_the_retention_period_in_the_form_is_the_setting(
    client: Client, make_button: Callable[..., Button], settings: object
) -> None:
    settings.MESSAGE_RETENTION_DAYS = 7  # type: ignore[attr-defined]
    page = client.get(f"/admin/buttons/button/{make_button().pk}/change/").content.decode()
    assert "Messages are retained for 7 days and then automatically permanently removed." in page
    assert "30 days" not in page


@pytest.mark.parametrize("option", ["messages_public", "disable_on_unread_error", "disable_on_any_unread"])
def test_a_link_button_cannot_have_a_messaging_option(
    client: Client, make_button: Callable[..., Button], option: str
) -> None:
    button = make_button(messaging_enabled=False)
    response = change(client, button, kind="link", messaging_enabled=False, **{option: True})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[option] == ["Messaging is not available for link buttons."]
    button.refresh_from_db()
    assert button.kind == "webhook" and getattr(button, option) is False  # nothing saved


def test_the_admin_saves_fields_and_refuses_a_bad_one_on_its_field(
    client: Client, make_button: Callable[..., Button]
) -> None:
    import json

    from django.utils.html import escape

    button = make_button()
    form = {"label": button.label, "kind": "webhook", "url": button.url, "resource": "deal", "view": "details",
            "messaging_enabled": "on", "secret_action": "keep", "confirm": "on",
            "confirm_text": "Send the invoice to the customer?"}
    bad = client.post(f"/admin/buttons/button/{button.pk}/change/",
                      {**form, "fields": json.dumps([{"label": "Currency", "type": "select"}])})
    assert bad.status_code == 200
    assert escape('Field 1 "Currency": a select needs its options') in bad.content.decode()
    good = client.post(f"/admin/buttons/button/{button.pk}/change/", {**form, "fields": json.dumps(
        [{"label": "Amount (EUR)", "type": "number", "required": True},
         {"label": "Currency", "type": "select", "options": ["EUR", "USD"]}])})
    assert good.status_code == 302
    button.refresh_from_db()
    assert [f["key"] for f in button.fields] == ["amount_eur", "currency"]
    assert button.confirm and button.confirmation() == "Send the invoice to the customer?"
