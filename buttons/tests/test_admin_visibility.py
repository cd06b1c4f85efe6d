"""The admin's rule editor ("Where it shows"): the company's pipelines and stages as its CRM names them,
its members and groups; a note when the CRM cannot be reached; a group in use is not deleted."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.actions import save_group
from accounts.models import Group, Member
from buttons.models import Button
from buttons.tests.test_admin_button_form import form_data
from crm import records
from crm.models import PipedriveConnection
from testing.browser import free_port
from testing.pipedrive import FakePipedrive


@pytest.fixture
def client(admin_member: Member) -> Client:
    client = Client()
    client.force_login(admin_member.user)
    return client


@pytest.fixture
def sales(admin_member: Member, teammate: Member) -> Group:
    return save_group(admin_member.company_id, "Sales", [teammate.external_id])


def test_the_editor_offers_the_crms_pipelines_and_stages_and_saves_the_rules(
    client: Client, admin_member: Member, teammate: Member, sales: Group, connected: PipedriveConnection,
    pipedrive: FakePipedrive, make_button: Callable[..., Button],
) -> None:
    button = make_button()
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    for offered in ("Where it shows", "Sales", "Partners", "Qualified", "Negotiations started", "Introduced",
                    f"bob (user {teammate.external_id})"):
        assert offered in page
    assert page.index("Qualified") < page.index("Contact made") < page.index("Proposal made")  # Pipedrive's order
    outside = client.post(f"/admin/buttons/button/{button.pk}/change/",
                          form_data(button, vis_pipelines=["1"], vis_stages=["5"]))
    assert outside.status_code == 200
    assert "The stage &quot;Introduced&quot; is in the pipeline &quot;Partners&quot;" in outside.content.decode()
    saved = client.post(f"/admin/buttons/button/{button.pk}/change/", form_data(
        button, vis_pipelines=["1"], vis_stages=["4"], vis_users=[teammate.external_id], vis_groups=[str(sales.pk)]))
    assert saved.status_code == 302
    button.refresh_from_db()
    assert button.visibility == {"pipelines": [1], "stages": [4], "users": ["1108048"], "groups": [sales.pk]}
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    ticked = set(re.findall(r'<input type="checkbox" name="(vis_\w+)" value="(\w+)"[^>]*checked', page))
    assert ticked == {("vis_pipelines", "1"), ("vis_stages", "4"), ("vis_users", teammate.external_id),
                      ("vis_groups", str(sales.pk))}


def test_with_the_crm_unreachable_the_editor_says_so_and_keeps_the_saved_rules(
    client: Client, admin_member: Member, connected: PipedriveConnection, make_button: Callable[..., Button],
) -> None:
    button = make_button()
    button.visibility = {"pipelines": [1], "stages": [4]}
    button.save()
    PipedriveConnection.objects.update(api_domain=f"http://127.0.0.1:{free_port()}")  # nobody listens
    records.cache.delete(f"crm:pipelines:{admin_member.company_id}")
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert "Pipedrive could not be reached to list the company's pipelines and stages" in page
    assert "Stage 4 (as saved)" in page and "Pipeline 1 (as saved)" in page
    kept = client.post(f"/admin/buttons/button/{button.pk}/change/",
                       form_data(button, label="Send the contract", vis_pipelines=["1"], vis_stages=["4"]))
    assert kept.status_code == 302
    button.refresh_from_db()
    assert button.label == "Send the contract" and button.visibility["stages"] == [4]
    changed = client.post(f"/admin/buttons/button/{button.pk}/change/",
                          form_data(button, vis_pipelines=["1"], vis_stages=[]))
    assert changed.status_code == 200 and "cannot be checked now" in changed.content.decode()


def test_without_a_crm_catalogue_the_ids_are_typed(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button()
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert "type the ids your host sends as pipelineId and stageId" in page
    saved = client.post(f"/admin/buttons/button/{button.pk}/change/", form_data(
        button, vis_pipelines="sales, 2", vis_stages="7"))
    assert saved.status_code == 302
    button.refresh_from_db()
    assert button.visibility["pipelines"] == ["sales", 2] and button.visibility["stages"] == [7]
    refused = client.post(f"/admin/buttons/button/{button.pk}/change/", form_data(
        button, resource="person", vis_stages="7"))
    assert refused.status_code == 200 and "Pipelines and stages limit deal buttons" in refused.content.decode()


def test_a_group_in_use_cannot_be_deleted_in_the_admin(client: Client, sales: Group,
                                                       make_button: Callable[..., Button]) -> None:
    button = make_button(label="Send contract")
    button.visibility = {"groups": [sales.pk]}
    button.save()
    page = client.get(f"/admin/accounts/group/{sales.pk}/delete/").content.decode()
    assert 'Button "Send contract": it is limited to the group "Sales"'.replace('"', "&quot;") in page
    assert "Yes, I’m sure" not in page
    client.post(f"/admin/accounts/group/{sales.pk}/delete/", {"post": "yes"})
    assert Group.objects.filter(pk=sales.pk).exists()


def test_a_saved_user_who_left_stays_on_the_page_and_is_not_dropped_unseen(
    client: Client, admin_member: Member, teammate: Member, make_button: Callable[..., Button],
) -> None:
    button = make_button()
    button.visibility = {"users": [teammate.external_id]}
    button.save()
    teammate.user.delete()  # the member is gone; the rule still names the CRM user id
    page = client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert "User 1108048 (as saved; no longer a member)" in page
    kept = client.post(f"/admin/buttons/button/{button.pk}/change/",
                       form_data(button, label="Renamed", vis_users=["1108048"]))
    assert kept.status_code == 200 and "User 1108048 is not a member of this company." in kept.content.decode()
    button.refresh_from_db()
    assert button.label == "Create invoice" and button.visibility["users"] == ["1108048"]


def test_the_button_list_says_where_each_shows(client: Client, sales: Group,
                                               make_button: Callable[..., Button]) -> None:
    make_button(label="Create invoice")
    limited = make_button(label="Send contract")
    limited.visibility = {"stages": ["4", "5"], "groups": [sales.pk]}
    limited.save()
    page = client.get("/admin/buttons/button/").content.decode()
    cells = re.findall(r'<td class="field-where_it_shows">([^<]*)</td>', page)
    assert sorted(cells) == ["2 stages, 1 group", "Everywhere"]
