"""Visibility rules (DESIGN "Buttons only where they belong"): who sees which button on which deal, and
what a hidden button answers: the panel state, the form, the log endpoints and the click."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.access import RecordClaims, issue_access
from accounts.actions import create_member, save_group
from accounts.models import Group, Member
from buttons.models import Button, ClickEvent
from buttons.sources import NO_CRM, NO_PLACE_CLAIMS
from buttons.visibility import NOT_AVAILABLE
from conftest import api_client, forget
from crm import records
from crm.models import PipedriveConnection
from messaging.tests.reading_helpers import message
from testing.browser import free_port
from testing.pipedrive import FakePipedrive

RECORD = "42"


@pytest.fixture
def carol(admin_member: Member) -> Member:
    return create_member("carol", "pw-carol-123", "737569", user_external_id="1108049")


@pytest.fixture
def sales(admin_member: Member, teammate: Member) -> Group:
    return save_group(admin_member.company_id, "Sales", [teammate.external_id])


def embedded(member: Member, pipeline: str | None = "1", stage: str | None = "3", record: str = RECORD) -> APIClient:
    """The member's panel in a signed embed whose token says where the deal is (pipelineId, stageId)."""
    token, _ = issue_access(member, ("deal", record), RecordClaims(None, pipeline, stage, signed=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def panel(client: APIClient, record: str = RECORD) -> dict[str, Any]:
    response = client.get(f"/api/panel/deal/{record}/")
    assert response.status_code == 200, response.content
    return response.json()


def labels(client: APIClient, record: str = RECORD) -> list[str]:
    return [b["label"] for b in panel(client, record)["buttons"]]


def click(client: APIClient, button: Button, record: str = RECORD) -> Any:
    return client.post(f"/api/buttons/{button.identifier}/click",
                       {"resource": "deal", "view": "details", "selectedIds": [record], "fields": None}, format="json")


def form(client: APIClient, button: Button, record: str = RECORD) -> Any:
    return client.get(f"/api/buttons/{button.identifier}/form", {"resource": "deal", "object_id": record})


def limited(make_button: Callable[..., Button], **rules: list) -> Button:
    button = make_button(label="Send contract")
    button.visibility = rules
    button.full_clean()
    button.save()
    return button


# --- Saving rules ---------------------------------------------------------------------------------


def test_rules_are_saved_through_the_api_and_read_back(admin_member: Member, teammate: Member, sales: Group) -> None:
    client = api_client(admin_member)
    made = client.post("/api/buttons/", {
        "label": "Send contract", "kind": "webhook", "url": "https://hooks.example.com/contract", "resource": "deal",
        "visibility": {"pipelines": ["1"], "stages": [3, 4], "users": [1108048], "groups": [sales.pk]},
    }, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["visibility"] == {"pipelines": [1], "stages": [3, 4], "users": ["1108048"], "groups": [sales.pk]}
    plain = client.post("/api/buttons/", {"label": "Create invoice", "kind": "webhook", "resource": "deal",
                                          "url": "https://hooks.example.com/invoice"}, format="json")
    assert plain.json()["visibility"] == {"pipelines": [], "stages": [], "users": [], "groups": []}
    cleared = client.patch(f"/api/buttons/{made.json()['identifier']}/", {"visibility": {}}, format="json")
    assert cleared.json()["visibility"] == {"pipelines": [], "stages": [], "users": [], "groups": []}


@pytest.mark.parametrize(("visibility", "extra", "sentence"), [
    ([1], {}, "visibility must be an object"),
    ({"stage": [1]}, {}, "visibility has no 'stage'"),
    ({"stages": "3"}, {}, "visibility.stages must be a list of ids."),
    ({"users": [{"id": 1}]}, {}, "visibility.users must hold ids"),
    ({"groups": ["sales"]}, {}, "visibility.groups must hold group ids"),
    ({"stages": [3]}, {"resource": "organization"}, "Pipelines and stages limit deal buttons"),
    ({"pipelines": [1]}, {"view": "list"}, "a list has no stage"),
    ({"users": ["999999"]}, {}, "User 999999 is not a member of this company."),
    ({"users": ["555"]}, {}, "User 555 is not a member of this company."),  # the outsider: another company's
    ({"groups": ["²"]}, {}, "visibility.groups must hold group ids"),  # a digit to str.isdigit(), not to int()
    ({"groups": [10**20]}, {}, "visibility.groups must hold group ids"),
])
def test_bad_rules_are_refused_with_a_sentence(admin_member: Member, outsider: Member, visibility: Any,
                                               extra: dict, sentence: str) -> None:
    answer = api_client(admin_member).post("/api/buttons/", {
        "label": "Send contract", "kind": "webhook", "url": "https://hooks.example.com/contract", "resource": "deal",
        "visibility": visibility, **extra}, format="json")
    assert answer.status_code == 400
    assert sentence in str(answer.json()["errors"]["visibility"])
    assert not Button.objects.exists()


def test_ids_that_only_look_like_numbers_stay_text(admin_member: Member) -> None:
    made = api_client(admin_member).post("/api/buttons/", {
        "label": "Send contract", "kind": "webhook", "url": "https://hooks.example.com/contract", "resource": "deal",
        "visibility": {"pipelines": ["007", "²", 7], "stages": ["١٢", " 12 "]}}, format="json")
    assert made.status_code == 201, made.content
    # "007" is not pipeline 7 (a host sending "007" means "007"), nor an Arabic-Indic "12" stage 12.
    assert made.json()["visibility"]["pipelines"] == ["007", "²", 7]
    assert made.json()["visibility"]["stages"] == ["١٢", 12]
    button = Button.objects.get()
    assert labels(embedded(admin_member, "007", "١٢")) == ["Send contract"]
    assert labels(embedded(admin_member, "7", "12")) == ["Send contract"]
    assert labels(embedded(admin_member, "07", "12")) == []
    assert button.visibility["pipelines"] == ["007", "²", 7]


def test_another_companys_group_is_refused(admin_member: Member, outsider: Member) -> None:
    theirs = save_group(outsider.company_id, "Their sales", [])
    answer = api_client(admin_member).post("/api/buttons/", {
        "label": "Send contract", "kind": "webhook", "url": "https://hooks.example.com/contract", "resource": "deal",
        "visibility": {"groups": [theirs.pk]}}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"]["visibility"] == [
        f"There is no group {theirs.pk} in this company: /api/groups/ lists its groups."]


def test_stages_are_checked_against_the_crms_pipelines(admin_member: Member, connected: PipedriveConnection,
                                                       pipedrive: FakePipedrive) -> None:
    client = api_client(admin_member)
    body = {"label": "Send contract", "kind": "webhook", "url": "https://hooks.example.com/contract",
            "resource": "deal"}
    outside = client.post("/api/buttons/", {**body, "visibility": {"pipelines": [1], "stages": [5]}}, format="json")
    assert outside.status_code == 400
    assert outside.json()["errors"]["visibility"] == [
        'The stage "Introduced" is in the pipeline "Partners", which this button is not limited to: choose that '
        "pipeline too, or another stage."]
    unknown = client.post("/api/buttons/", {**body, "visibility": {"stages": [99]}}, format="json")
    assert unknown.json()["errors"]["visibility"] == ["The CRM has no stage 99."]
    made = client.post("/api/buttons/", {**body, "visibility": {"pipelines": [1, 2], "stages": [4, 5]}},
                       format="json")
    assert made.status_code == 201
    # Pipedrive unreachable: new pipelines and stages cannot be checked, so they are refused; the label of
    # a button whose rules stay as they were still changes.
    PipedriveConnection.objects.update(api_domain=f"http://127.0.0.1:{free_port()}")
    records.cache.delete(f"crm:pipelines:{admin_member.company_id}")
    url = f"/api/buttons/{made.json()['identifier']}/"
    down = client.patch(url, {"visibility": {"pipelines": [1], "stages": [4]}}, format="json")
    assert down.status_code == 400
    assert "Pipedrive could not be reached" in down.json()["errors"]["visibility"][0]
    assert client.patch(url, {"label": "Send the contract", "visibility": made.json()["visibility"]},
                        format="json").status_code == 200


# --- Who sees what --------------------------------------------------------------------------------

# (rules, the deal's pipeline and stage as the page says, who looks) -> shown?
CASES = [
    ({"pipelines": [1]}, ("1", "3"), "alice", True),
    ({"pipelines": [1]}, ("2", "5"), "alice", False),
    ({"stages": [3]}, ("1", "3"), "alice", True),
    ({"stages": [3]}, ("1", "4"), "alice", False),
    ({"pipelines": [1], "stages": [3]}, ("1", "3"), "alice", True),  # pipelines AND stages
    ({"pipelines": [1], "stages": [3]}, ("1", "4"), "alice", False),
    ({"pipelines": [1], "stages": [3]}, ("2", "3"), "alice", False),
    ({"users": ["1108048"]}, ("1", "3"), "bob", True),
    ({"users": ["1108048"]}, ("1", "3"), "alice", False),
    ({"groups": ["sales"]}, ("1", "3"), "bob", True),
    ({"groups": ["sales"]}, ("1", "3"), "carol", False),
    ({"users": ["1108047"], "groups": ["sales"]}, ("1", "3"), "alice", True),  # users OR groups
    ({"users": ["1108047"], "groups": ["sales"]}, ("1", "3"), "bob", True),
    ({"users": ["1108047"], "groups": ["sales"]}, ("1", "3"), "carol", False),
    ({"stages": [3], "groups": ["sales"]}, ("1", "3"), "bob", True),  # the place AND the people
    ({"stages": [3], "groups": ["sales"]}, ("1", "4"), "bob", False),
    ({"stages": [3], "groups": ["sales"]}, ("1", "3"), "alice", False),
]


@pytest.mark.parametrize(("rules", "place", "who", "shown"), CASES)
def test_each_rule_and_their_combinations(admin_member: Member, teammate: Member, carol: Member, sales: Group,
                                          make_button: Callable[..., Button], rules: dict, place: tuple,
                                          who: str, shown: bool) -> None:
    rules = {key: [sales.pk if v == "sales" else v for v in values] for key, values in rules.items()}
    button = limited(make_button, **rules)
    make_button(label="Create invoice")  # no rules: everywhere, to everyone
    member = {"alice": admin_member, "bob": teammate, "carol": carol}[who]
    client = embedded(member, *place)
    assert labels(client) == (["Create invoice", "Send contract"] if shown else ["Create invoice"])
    assert form(client, button).status_code == (200 if shown else 404)
    answer = click(client, button)
    if shown:
        assert answer.status_code == 202
        assert ClickEvent.objects.count() == 1
    else:
        assert answer.status_code == 404
        assert answer.json() == {"detail": NOT_AVAILABLE}
        assert not ClickEvent.objects.exists()


def test_a_hidden_buttons_log_is_404_until_it_has_messages_there(admin_member: Member,
                                                                   make_button: Callable[..., Button]) -> None:
    button = limited(make_button, stages=[4])
    client = embedded(admin_member, "1", "3")
    log = f"/api/buttons/{button.identifier}/messages"
    query = {"resource": "deal", "object_id": RECORD}
    assert client.get(log, query).json() == {"detail": NOT_AVAILABLE}
    assert client.post(f"{log}/read-all", query, format="json").status_code == 404
    # Clicked while the deal was in "Negotiations started"; the automation then moved it back.
    message(button, admin_member, RECORD, content="Contract sent", message_type="error")
    state = panel(client)["buttons"]
    assert state == [{"identifier": str(button.identifier), "label": "Send contract", "kind": "webhook", "url": None,
                      "envelope": "red", "unread": 1, "disabled": True, "disabled_reason": NOT_AVAILABLE,
                      "hidden": True}]
    page = client.get(log, query)
    assert page.status_code == 200 and [m["content"] for m in page.json()["results"]] == ["Contract sent"]
    marked = client.post(f"{log}/read", {**query, "ids": [page.json()["results"][0]["id"]]}, format="json")
    assert marked.status_code == 200 and marked.json()["button"]["hidden"] is True
    assert marked.json()["button"]["envelope"] == "grey"
    assert click(client, button).json() == {"detail": NOT_AVAILABLE}
    assert form(client, button).status_code == 404
    assert ClickEvent.objects.count() == 1  # the message's own click only


# --- Where the deal's place cannot be known: fail closed ----------------------------------------------


def test_without_crm_context_place_rules_hide_and_people_rules_still_apply(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    staged = limited(make_button, stages=[3])
    staged.label = "Send contract"
    people = make_button(label="For Bob")
    people.visibility = {"users": ["1108048"]}
    people.save()
    # The session page's API of a company with no Pipedrive connection.
    body = panel(api_client(teammate))
    assert [b["label"] for b in body["buttons"]] == ["For Bob"]
    assert body["notice"] == NO_CRM
    assert [b["label"] for b in panel(api_client(admin_member))["buttons"]] == []
    assert click(api_client(teammate), staged).json() == {"detail": NOT_AVAILABLE}
    # A signed embed whose token leaves pipelineId and stageId out.
    body = panel(embedded(teammate, None, None))
    assert [b["label"] for b in body["buttons"]] == ["For Bob"] and body["notice"] == NO_PLACE_CLAIMS
    # Nothing limited by place on the page: no notice.
    staged.delete()
    assert "notice" not in panel(api_client(teammate))


def test_the_session_page_says_why_in_one_line(client: Any, admin_member: Member,
                                               make_button: Callable[..., Button]) -> None:
    limited(make_button, stages=[3])
    client.force_login(admin_member.user)
    page = client.get(f"/panel/deal/{RECORD}/").content.decode()
    assert NO_CRM.replace("'", "&#x27;") in page
    assert "Send contract" not in page.split("<template")[0]
    assert 'data-place-rules="true"' in page  # an open page asks for its state every 25 s (panel.js)


def test_with_pipedrive_the_deals_stage_decides_and_a_move_shows_within_the_cache(
    admin_member: Member, connected: PipedriveConnection, pipedrive: FakePipedrive,
    make_button: Callable[..., Button],
) -> None:
    button = limited(make_button, pipelines=[1], stages=[3])
    client = api_client(admin_member)  # the session page, or Pipedrive's panel: the record comes from Pipedrive
    assert labels(client) == ["Send contract"] and "notice" not in panel(client)
    assert form(client, button).status_code == 200
    pipedrive.deals["42"]["stage_id"] = 4  # moved in Pipedrive
    reads = pipedrive.reads
    assert labels(client) == ["Send contract"]  # the cached answer (at most RECORD_CACHE_SECONDS old)
    assert pipedrive.reads == reads
    assert records.RECORD_CACHE_SECONDS + 25 <= 60  # the cache, then an open panel's refresh (panel.js)
    forget(admin_member)  # the cache's minute has passed
    assert labels(client) == []
    assert click(client, button).json() == {"detail": NOT_AVAILABLE}
    assert not ClickEvent.objects.exists()


def test_with_pipedrive_down_place_rules_hide_and_the_click_is_a_503(
    admin_member: Member, connected: PipedriveConnection, make_button: Callable[..., Button],
) -> None:
    button = limited(make_button, stages=[3])
    make_button(label="Create invoice")
    PipedriveConnection.objects.update(api_domain=f"http://127.0.0.1:{free_port()}")  # nobody listens
    client = api_client(admin_member)
    body = panel(client)
    assert [b["label"] for b in body["buttons"]] == ["Create invoice"]
    assert body["notice"].startswith("Buttons limited to pipelines or stages are hidden: Pipedrive could not be "
                                     "reached")
    answer = click(client, button)
    assert answer.status_code == 503 and "Pipedrive could not be reached" in answer.json()["detail"]
    assert form(client, button).status_code == 503
    assert not ClickEvent.objects.exists()


# --- What rules cost ------------------------------------------------------------------------------


def test_fifty_buttons_with_rules_cost_at_most_two_more_queries(
    admin_member: Member, teammate: Member, sales: Group, connected: PipedriveConnection,
    make_button: Callable[..., Button],
) -> None:
    save_group(admin_member.company_id, "Sales", [admin_member.external_id], sales)  # Alice is in by her group
    plain = [make_button(label=f"Plain {n:02}") for n in range(50)]
    client = api_client(admin_member)
    panel(client)  # Pipedrive's answer cached, as the CRM's record is for a minute
    with CaptureQueriesContext(connection) as without:
        assert len(panel(client)["buttons"]) == 50
    for button in plain:
        button.visibility = {"pipelines": [1], "stages": [3], "users": [teammate.external_id], "groups": [sales.pk]}
        button.save()
    panel(client)
    with CaptureQueriesContext(connection) as with_rules:
        body = panel(client)
    assert len(body["buttons"]) == 50 and not any(b.get("hidden") for b in body["buttons"])
    assert len(with_rules.captured_queries) <= len(without.captured_queries) + 2, [
        q["sql"][:120] for q in with_rules.captured_queries]


# --- Groups a button names ------------------------------------------------------------------------


def test_a_group_that_limits_buttons_is_not_deleted(admin_member: Member, sales: Group,
                                                    make_button: Callable[..., Button]) -> None:
    button = limited(make_button, groups=[sales.pk])
    client = api_client(admin_member)
    refused = client.delete(f"/api/groups/{sales.pk}/")
    assert refused.status_code == 409
    assert refused.json() == {"detail": 'The group "Sales" limits who sees "Send contract": remove it from that '
                                        "button first."}
    assert Group.objects.filter(pk=sales.pk).exists()
    button.visibility = {}
    button.save()
    assert client.delete(f"/api/groups/{sales.pk}/").status_code == 204


def test_a_panel_whose_buttons_are_all_hidden_says_none_are_for_you(client: Any, teammate: Member,
                                                                     make_button: Callable[..., Button]) -> None:
    limited(make_button, users=["1108047"])
    client.force_login(teammate.user)
    page = client.get(f"/panel/deal/{RECORD}/").content.decode()
    assert "No buttons for you on this deal." in page and "Send contract" not in page.split("<template")[0]
    assert "yet" not in page.split('class="empty"')[1][:80]
    assert "data-place-rules" not in page  # no rule needs the deal's stage: the usual refresh
