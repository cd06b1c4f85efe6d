"""Buttons that ask, end to end through the API: definitions in /api/buttons/, the form, the click and the
webhook's `fields` (record values from the signed embed's claims; Pipedrive's are in crm/tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from accounts.access import RecordClaims, issue_access
from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.test_fields import EVERY_TYPE
from conftest import api_client

HOOK = "http://hooks.example.test/invoice"
DEAL = {"title": "120 licences for Globex", "value": 18400, "stage_id": 3}
INPUTS = {"send_the_invoice_now": True, "due_date": "2026-02-28", "billing_e_mail": "ap@globex.example",
          "amount_eur": "18400.50", "reference": "PO-77", "note_to_the_customer": "Thanks!",
          "currency": "USD", "products": ["Support", "Licences"]}


def asking_button(make_button: Callable[..., Button], **overrides: Any) -> Button:
    button = make_button(url=HOOK, **overrides)
    button.fields = EVERY_TYPE
    button.full_clean()
    button.save()
    return button


def embedded(member: Member, record: str = "42", values: dict | None = DEAL) -> APIClient:
    """A client holding the embedded panel's credential, with the host's values of the record."""
    token, _ = issue_access(member, ("deal", record), RecordClaims(values, signed=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_definitions_are_saved_and_read_through_the_api(admin_member: Member) -> None:
    client = api_client(admin_member)
    created = client.post("/api/buttons/", {"label": "Create invoice", "kind": "webhook", "url": HOOK,
                                            "resource": "deal", "messaging_enabled": True, "fields": EVERY_TYPE,
                                            "confirm": True}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert [f["key"] for f in body["fields"]][:4] == ["deal_title", "value", "stage", "send_the_invoice_now"]
    assert body["confirm"] is True and body["confirm_text"] == ""
    read = client.get(f"/api/buttons/{body['identifier']}/").json()
    assert read["fields"] == body["fields"]


@pytest.mark.parametrize(("fields", "sentence"), [
    ([{"label": "Amount", "type": "text", "options": ["a"]}], "options are only for select"),
    ([{"label": "A", "type": "text"}, {"label": "a", "type": "number"}], 'the key "a" is already used'),
    ([{"label": "Size", "type": "select"}], "a select needs its options"),
    ("a list please", "fields must be a list"),
])
def test_a_bad_definition_is_a_400_naming_the_field_and_creates_nothing(
    admin_member: Member, fields: object, sentence: str
) -> None:
    response = api_client(admin_member).post("/api/buttons/", {
        "label": "Create invoice", "kind": "webhook", "url": HOOK, "resource": "deal", "fields": fields,
    }, format="json")
    assert response.status_code == 400 and sentence in response.json()["errors"]["fields"][0]
    assert not Button.objects.exists()


def test_a_link_button_asks_nothing(admin_member: Member) -> None:
    response = api_client(admin_member).post("/api/buttons/", {
        "label": "Docs", "kind": "link", "url": "https://docs.example/", "resource": "deal",
        "messaging_enabled": False, "confirm": True}, format="json")
    assert response.status_code == 400 and "cannot ask for fields or a confirmation" in response.json()["detail"]


def test_the_form_shows_record_values_from_the_crm_and_empty_inputs(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = asking_button(make_button, confirm=True)
    form = embedded(admin_member).get(f"/api/buttons/{button.identifier}/form",
                                      {"resource": "deal", "object_id": "42"})
    assert form.status_code == 200
    data = form.json()
    assert data["confirm"] is True and data["confirm_text"] == "Run Create invoice?"
    values = {f["key"]: f["value"] for f in data["fields"]}
    assert values["deal_title"] == "120 licences for Globex" and values["value"] == 18400
    assert values["amount_eur"] is None
    currency = next(f for f in data["fields"] if f["key"] == "currency")
    assert currency == {"key": "currency", "label": "Currency", "kind": "input", "type": "select",
                        "required": False, "options": ["EUR", "USD", "GBP"], "value": None}
    # The credential vouches for deal 42 only: another deal's values are not its to give.
    other = embedded(admin_member).get(f"/api/buttons/{button.identifier}/form",
                                       {"resource": "deal", "object_id": "43"}).json()
    assert {f["key"]: f["value"] for f in other["fields"]}["deal_title"] is None


def test_the_form_refuses_what_it_cannot_serve(
    admin_member: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    button = asking_button(make_button)
    client = api_client(admin_member)
    url = f"/api/buttons/{button.identifier}/form"
    assert client.get(url, {"resource": "lead", "object_id": "1"}).status_code == 400
    assert client.get(f"/api/buttons/{button.identifier}/form",
                      {"resource": "person", "object_id": "1"}).json()["detail"].startswith("This button is for deal")
    assert api_client(outsider).get(f"/api/buttons/{button.identifier}/form",
                                    {"resource": "deal", "object_id": "1"}).status_code == 404


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_webhook_carries_every_field_typed(admin_member: Member, make_button: Callable[..., Button]) -> None:
    responses.post(HOOK, body="ok")
    button = asking_button(make_button)
    answer = embedded(admin_member).post(f"/api/buttons/{button.identifier}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"], "fields": INPUTS}, format="json")
    assert answer.status_code == 202, answer.json()
    sent = json.loads(responses.calls[0].request.body)
    assert sent["fields"] == {
        "deal_title": "120 licences for Globex", "value": 18400, "stage": 3, "send_the_invoice_now": True,
        "due_date": "2026-02-28", "billing_e_mail": "ap@globex.example", "amount_eur": 18400.5,
        "reference": "PO-77", "note_to_the_customer": "Thanks!", "currency": "USD",
        "products": ["Licences", "Support"]}


@pytest.mark.parametrize(("change", "field", "sentence"), [
    ({"due_date": "2026-02-30"}, "due_date", "is not a date of the calendar"),
    ({"amount_eur": "1e999"}, "amount_eur", "must be a number"),
    ({"amount_eur": None}, "amount_eur", "is required"),
    ({"currency": "CHF"}, "currency", "must be one of its options"),
    ({"deal_title": "Forged"}, None, "is read from the CRM record"),
    ({"colour": "red"}, None, 'Unknown field "colour"'),
    ({"note_to_the_customer": "x" * 5001}, "note_to_the_customer", "the maximum is 5,000"),
])
def test_a_bad_input_is_a_400_naming_its_field_and_creates_no_click(
    admin_member: Member, make_button: Callable[..., Button], change: dict, field: str | None, sentence: str
) -> None:
    button = asking_button(make_button)
    answer = embedded(admin_member).post(f"/api/buttons/{button.identifier}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"], "fields": {**INPUTS, **change}},
        format="json")
    assert answer.status_code == 400 and sentence in answer.json()["detail"]
    assert answer.json().get("field") == field
    assert not ClickEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_record_field_is_never_taken_from_the_click(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post(HOOK, body="ok")
    button = make_button(url=HOOK)
    button.fields = [{"label": "Deal title", "kind": "record", "source": "title"}]
    button.save()
    # A session page of a company with no CRM connection: the value is unknown, so null, never a guess.
    answer = api_client(admin_member).post(f"/api/buttons/{button.identifier}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"], "fields": {}}, format="json")
    assert answer.status_code == 202
    assert json.loads(responses.calls[0].request.body)["fields"] == {"deal_title": None}


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_button_without_definitions_passes_the_fields_on_as_before(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post(HOOK, body="ok")
    button = make_button(url=HOOK)
    answer = api_client(admin_member).post(f"/api/buttons/{button.identifier}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"], "fields": {"stage": 3}}, format="json")
    assert answer.status_code == 202
    assert json.loads(responses.calls[0].request.body)["fields"] == {"stage": 3}


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_test_click_sends_a_sample_of_every_field(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from deliveries import actions

    responses.post(HOOK, body="ok")
    button = asking_button(make_button)
    actions.send_test_click(admin_member.user, button.identifier)
    fields = json.loads(responses.calls[0].request.body)["fields"]
    assert fields["currency"] == "EUR" and fields["products"] == ["Licences", "Support"]
    assert fields["due_date"] == "2026-01-31" and fields["deal_title"] == "<title of the record>"
