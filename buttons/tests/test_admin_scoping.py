"""The admin panel is tenant-scoped: a company admin sees and changes their own company's objects only."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import Company, Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event, make_message
from messaging.models import Message

OWN_LABEL, OTHER_LABEL = "Create invoice", "Secret sync of Other Inc"
OWN_TEXT, OTHER_TEXT = "Invoice INV-1 created", "Payroll of Other Inc exported"


@dataclass
class World:
    own_button: Button
    own_event: ClickEvent
    own_message: Message
    other_button: Button
    other_event: ClickEvent
    other_message: Message


@pytest.fixture
def world(admin_member: Member, teammate: Member, outsider: Member, make_button: Callable[..., Button]) -> World:
    own_button = make_button(label=OWN_LABEL)
    own_event = make_event(own_button, teammate, object_id="101")
    other_button = make_button(company=outsider.company, label=OTHER_LABEL)
    other_event = make_event(other_button, outsider, object_id="909")
    return World(
        own_button, own_event, make_message(own_event, OWN_TEXT),
        other_button, other_event, make_message(other_event, OTHER_TEXT, message_type="error"),
    )


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def companies_listed(response: object) -> set[int]:
    """The companies of the rows a changelist shows (all of them, not just the page's text)."""
    return {obj.company_id for obj in response.context["cl"].queryset}


CHANGELISTS = ("/admin/buttons/button/", "/admin/buttons/clickevent/", "/admin/messaging/message/")


def test_a_company_admin_lists_only_their_own_company(admin_member: Member, world: World) -> None:
    client = logged_in(admin_member.user)
    for url in CHANGELISTS:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert OWN_LABEL in page, url
        assert OTHER_LABEL not in page and OTHER_TEXT not in page and "909" not in page, url
        assert companies_listed(response) == {admin_member.company_id}, url
    assert OWN_TEXT in client.get("/admin/messaging/message/").content.decode()


def test_every_filter_offers_only_own_buttons(admin_member: Member, world: World) -> None:
    client = logged_in(admin_member.user)
    for url in ("/admin/buttons/clickevent/", "/admin/messaging/message/"):
        page = client.get(url).content.decode()
        assert f"button={world.own_button.pk}" in page, url
        assert f"button={world.other_button.pk}" not in page, url
        # Asking for another company's button by hand finds nothing of it.
        response = client.get(f"{url}?button={world.other_button.pk}")
        assert response.status_code == 200
        assert OTHER_LABEL not in response.content.decode() and OTHER_TEXT not in response.content.decode()
    for query in ("message_type=error", "source=custom", "read=unread", "read=read", "q=Payroll",
                  "resource=deal", "button=abc"):
        response = client.get(f"/admin/messaging/message/?{query}")
        assert response.status_code == 200 and OTHER_LABEL not in response.content.decode(), query
        assert companies_listed(response) <= {admin_member.company_id}, query
    for query in ("delivery=pending", "view=details", "resource=deal", "q=909", f"q={world.other_event.pk}"):
        response = client.get(f"/admin/buttons/clickevent/?{query}")
        assert response.status_code == 200 and OTHER_LABEL not in response.content.decode(), query
        assert companies_listed(response) <= {admin_member.company_id}, query


def test_another_companys_object_urls_are_refused(admin_member: Member, world: World) -> None:
    client = logged_in(admin_member.user)
    other = world.other_button
    urls = [
        f"/admin/buttons/button/{other.pk}/change/",
        f"/admin/buttons/button/{other.pk}/delete/",
        f"/admin/buttons/button/{other.pk}/history/",
        f"/admin/buttons/button/{other.pk}/clear-messages/",
        f"/admin/buttons/clickevent/{world.other_event.pk}/change/",
        f"/admin/messaging/message/{world.other_message.pk}/change/",
    ]
    for url in urls:
        response = client.get(url, follow=True)
        page = response.content.decode()
        assert response.status_code in (200, 403, 404), url
        assert response.redirect_chain or response.status_code in (403, 404), url
        assert OTHER_LABEL not in page and OTHER_TEXT not in page, url
    client.post(f"/admin/buttons/button/{other.pk}/change/", {"label": "hijacked"})
    client.post(f"/admin/buttons/button/{other.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/buttons/button/{other.pk}/clear-messages/")
    other.refresh_from_db()
    assert other.label == OTHER_LABEL and other.messages_cleared_at is None
    assert Message.objects.filter(pk=world.other_message.pk).exists()


def test_autocomplete_leaks_nothing(admin_member: Member, world: World) -> None:
    client = logged_in(admin_member.user)
    for model, field in (("message", "button"), ("clickevent", "button")):
        app = "messaging" if model == "message" else "buttons"
        response = client.get("/admin/autocomplete/", {"app_label": app, "model_name": model,
                                                        "field_name": field, "term": ""})
        assert OTHER_LABEL not in response.content.decode()


def test_a_member_without_admin_rights_cannot_reach_the_admin(teammate: Member, world: World) -> None:
    client = logged_in(teammate.user)
    for url in ("/admin/", *CHANGELISTS, f"/admin/buttons/button/{world.own_button.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_a_staff_user_who_is_no_longer_company_admin_sees_nothing(admin_member: Member, world: World) -> None:
    Member.objects.filter(pk=admin_member.pk).update(is_company_admin=False)  # is_staff and perms linger
    client = logged_in(admin_member.user)
    assert OWN_LABEL not in client.get("/admin/").content.decode()
    for url in CHANGELISTS:
        assert client.get(url).status_code == 403, url


def test_a_company_admin_sees_only_their_own_company_and_no_members(
    admin_member: Member, outsider: Member, world: World
) -> None:
    client = logged_in(admin_member.user)
    listing = client.get("/admin/accounts/company/").content.decode()
    assert admin_member.company.name in listing and "Other Inc" not in listing
    assert client.get(f"/admin/accounts/company/{admin_member.company_id}/change/").status_code == 200
    # Another company's page does not exist for them (the admin redirects to its index with a notice).
    other = client.get(f"/admin/accounts/company/{outsider.company_id}/change/")
    assert other.status_code == 302 and "Other Inc" not in other.content.decode()
    assert client.get("/admin/accounts/company/add/").status_code == 403
    assert client.post(f"/admin/accounts/company/{admin_member.company_id}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/accounts/member/").status_code == 403


def test_a_company_admin_sets_up_the_embed_but_not_the_crm_id(admin_member: Member) -> None:
    client = logged_in(admin_member.user)
    url = f"/admin/accounts/company/{admin_member.company_id}/change/"
    response = client.post(url, {"name": "Acme", "external_id": "111111", "embed_origins": "https://crm.acme.test",
                                 "embed_secret_action": "generate", "_save": "Save"})
    assert response.status_code == 302
    company = Company.objects.get(pk=admin_member.company_id)
    assert company.external_id == "737569"  # read-only for them: the company's identity in every token
    assert company.allowed_origins() == ["https://crm.acme.test"] and company.embed_secret.startswith("oce_")
    shown = client.get(url).content.decode()
    assert company.embed_secret in shown  # shown once, right after saving
    assert company.embed_secret not in client.get(url).content.decode()
    refused = client.post(url, {"name": "Acme", "embed_origins": "https://crm.acme.test; script-src *",
                                "embed_secret_action": "keep", "_save": "Save"})
    assert refused.status_code == 200 and "is not an origin" in refused.content.decode()
    assert Company.objects.get(pk=admin_member.company_id).allowed_origins() == ["https://crm.acme.test"]


def test_a_company_admin_creates_buttons_in_their_own_company(
    admin_member: Member, outsider: Member, world: World
) -> None:
    client = logged_in(admin_member.user)
    response = client.post("/admin/buttons/button/add/", {
        "company": outsider.company_id,  # not a field for company admins: ignored
        "label": "Send quote", "kind": "webhook", "url": "https://hooks.example.test/quote", "resource": "deal",
        "view": "details", "messaging_enabled": "on", "secret_action": "keep", "_save": "Save",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Button.objects.get(label="Send quote").company_id == admin_member.company_id


def test_a_superuser_sees_every_company(superuser: object, world: World) -> None:
    client = logged_in(superuser)
    for url in CHANGELISTS:
        page = client.get(url).content.decode()
        assert OWN_LABEL in page and OTHER_LABEL in page, url
    page = client.get("/admin/messaging/message/").content.decode()
    assert f"button={world.own_button.pk}" in page and f"button={world.other_button.pk}" in page
    assert client.get(f"/admin/buttons/button/{world.other_button.pk}/change/").status_code == 200
    companies = client.get("/admin/accounts/company/").content.decode()
    assert "Acme" in companies and "Other Inc" in companies


def test_bookmarks_of_companies_and_members_from_before_the_accounts_app_still_work(admin_member: Member) -> None:
    client = logged_in(admin_member.user)
    moved = client.get(f"/admin/buttons/company/{admin_member.company_id}/change/?_changelist_filters=q")
    assert moved.status_code == 302
    assert moved["Location"] == f"/admin/accounts/company/{admin_member.company_id}/change/?_changelist_filters=q"
    assert client.get(moved["Location"]).status_code == 200
    assert client.get("/admin/buttons/member/")["Location"] == "/admin/accounts/member/"
