"""Groups of members (the first part of "Buttons only where they belong"): /api/groups/ and the admin, for
company admins, each company's own."""

from __future__ import annotations

from django.test import Client

from accounts.models import Group, Member
from conftest import api_client


def test_a_company_admin_creates_renames_fills_and_deletes_a_group(admin_member: Member, teammate: Member) -> None:
    client = api_client(admin_member)
    made = client.post("/api/groups/", {"name": "Sales team", "members": ["1108048"]}, format="json")
    assert made.status_code == 201, made.json()
    group = made.json()
    assert group == {"id": group["id"], "name": "Sales team", "members": ["1108048"]}
    changed = client.patch(f"/api/groups/{group['id']}/", {"name": "Sales", "members": ["1108048", "1108047"]},
                           format="json")
    assert changed.json() == {"id": group["id"], "name": "Sales", "members": ["1108047", "1108048"]}
    assert client.patch(f"/api/groups/{group['id']}/", {"name": "Sales EU"}, format="json").json()["members"] == [
        "1108047", "1108048"]  # a rename keeps the members
    assert client.get("/api/groups/").json()["results"][0]["name"] == "Sales EU"
    assert client.delete(f"/api/groups/{group['id']}/").status_code == 204
    assert not Group.objects.exists()


def test_refusals_name_the_problem_and_create_nothing(admin_member: Member, outsider: Member) -> None:
    client = api_client(admin_member)
    client.post("/api/groups/", {"name": "Sales", "members": []}, format="json")
    twice = client.post("/api/groups/", {"name": "sales", "members": []}, format="json")
    assert twice.status_code == 400 and "already has a group named sales" in twice.json()["errors"]["name"][0]
    stranger = client.post("/api/groups/", {"name": "Mixed", "members": [outsider.external_id]}, format="json")
    assert stranger.status_code == 400
    assert f"User {outsider.external_id} is not a member of this company" in stranger.json()["errors"]["members"][0]
    assert list(Group.objects.values_list("name", flat=True)) == ["Sales"]


def test_another_companys_group_is_a_404_everywhere(admin_member: Member, outsider: Member) -> None:
    theirs = api_client(outsider).post("/api/groups/", {"name": "Theirs", "members": []}, format="json")
    assert theirs.status_code == 201  # the other company's admin, in their own company
    mine = api_client(admin_member)
    group = Group.objects.get(pk=theirs.json()["id"])
    for answer in (mine.get(f"/api/groups/{group.pk}/"), mine.patch(f"/api/groups/{group.pk}/", {"name": "x"},
                                                                        format="json"),
                   mine.delete(f"/api/groups/{group.pk}/")):
        assert answer.status_code == 404
    assert mine.get("/api/groups/").json()["results"] == []
    assert Group.objects.filter(pk=group.pk).exists()
    page = Client()
    page.force_login(admin_member.user)
    assert page.get(f"/admin/accounts/group/{group.pk}/change/").status_code == 302  # not found: back to the list


def test_the_admin_offers_only_the_companys_members_and_refuses_a_duplicate_name(
    admin_member: Member, teammate: Member, outsider: Member
) -> None:
    page = Client()
    page.force_login(admin_member.user)
    form = page.get("/admin/accounts/group/add/").content.decode()
    assert "bob" in form and "mallory" not in form
    saved = page.post("/admin/accounts/group/add/", {"name": "Sales", "members": [teammate.pk]})
    assert saved.status_code == 302
    group = Group.objects.get()
    assert group.company_id == admin_member.company_id and list(group.members.all()) == [teammate]
    again = page.post("/admin/accounts/group/add/", {"name": "sales", "members": []})
    assert again.status_code == 200 and "already has a group named sales" in again.content.decode()


def test_a_plain_member_cannot_manage_groups(teammate: Member) -> None:
    answer = api_client(teammate).post("/api/groups/", {"name": "Mine", "members": []}, format="json")
    assert answer.status_code == 403 and not Group.objects.exists()
