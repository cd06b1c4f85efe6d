"""Buttons that ask: field definitions, a click's inputs and the webhook's `fields` (buttons.fields)."""

from __future__ import annotations

from typing import Any

import pytest

from buttons.fields import FieldError, clean_definitions, clean_inputs, key_from_label, sample_fields, webhook_fields

EVERY_TYPE = [
    {"label": "Deal title", "kind": "record", "source": "title"},
    {"label": "Value", "kind": "record", "source": "value"},
    {"label": "Stage", "kind": "record", "source": "stage_id"},
    {"label": "Send the invoice now", "type": "boolean"},
    {"label": "Due date", "type": "date", "required": True},
    {"label": "Billing e-mail", "type": "email"},
    {"label": "Amount (EUR)", "type": "number", "required": True},
    {"label": "Reference", "type": "text"},
    {"label": "Note to the customer", "type": "textarea"},
    {"label": "Currency", "type": "select", "options": ["EUR", "USD", "GBP"]},
    {"label": "Products", "type": "multiselect", "options": ["Licences", "Support", "Training"]},
]


def definitions() -> list[dict[str, Any]]:
    return clean_definitions(EVERY_TYPE)


def test_keys_are_made_from_labels_and_definitions_are_normalised() -> None:
    cleaned = definitions()
    assert [d["key"] for d in cleaned] == [
        "deal_title", "value", "stage", "send_the_invoice_now", "due_date", "billing_e_mail", "amount_eur",
        "reference", "note_to_the_customer", "currency", "products"]
    assert cleaned[0] == {"key": "deal_title", "label": "Deal title", "kind": "record", "type": None,
                          "required": False, "options": [], "source": "title"}
    assert cleaned[9]["options"] == ["EUR", "USD", "GBP"]
    assert key_from_label("Été 2026 – Zürich") == "ete_2026_zurich"
    assert key_from_label("42 things") == "field_42_things"


@pytest.mark.parametrize(("raw", "sentence"), [
    ("nope", "fields must be a list"),
    ([{"label": f"F{i}", "type": "text"} for i in range(21)], "at most 20 fields"),
    ([{"type": "text"}], "Field 1: a label is required"),
    ([{"label": "A", "type": "colour"}], 'Field 1 "A": type must be one of'),
    ([{"label": "A", "type": "text", "options": ["x"]}], "options are only for select and multiselect"),
    ([{"label": "A", "type": "select"}], "a select needs its options"),
    ([{"label": "A", "type": "select", "options": ["x", "x"]}], 'the option "x" is listed twice'),
    ([{"label": "A", "type": "select", "options": [str(i) for i in range(51)]}], "at most 50 options"),
    ([{"label": "A", "type": "select", "options": ["", "b"]}], "every option must be a non-empty text"),
    ([{"label": "A", "type": "text"}, {"label": "a", "type": "text"}], 'the key "a" is already used'),
    ([{"label": "A", "key": "Amount", "type": "text"}], "the key must start with a lowercase letter"),
    ([{"label": "A", "type": "text", "colour": "red"}], '"colour" is not a property of a field'),
    ([{"label": "A", "kind": "record"}], "needs the CRM field's key as its source"),
    ([{"label": "A", "kind": "record", "source": "title", "type": "text"}], "a record field has no type"),
    ([{"label": "A", "type": "text", "source": "title"}], "only record fields have a source"),
    ([{"label": "A", "kind": "calculated", "type": "text"}], 'kind must be "record"'),
    ([{"label": "A", "type": "text", "required": "yes"}], "required must be true or false"),
    (["text"], "Field 1 must be an object"),
])
def test_every_broken_definition_is_refused_with_a_sentence_naming_it(raw: object, sentence: str) -> None:
    with pytest.raises(FieldError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        clean_definitions(raw)


GOOD = {"send_the_invoice_now": True, "due_date": "2026-02-28", "billing_e_mail": " ap@globex.example ",
        "amount_eur": "18400.50", "reference": "PO-77", "note_to_the_customer": "Thanks!\nSee you.",
        "currency": "USD", "products": ["Training", "Licences"]}


def test_accepted_inputs_come_out_typed() -> None:
    assert clean_inputs(definitions(), GOOD) == {
        "send_the_invoice_now": True, "due_date": "2026-02-28", "billing_e_mail": "ap@globex.example",
        "amount_eur": 18400.5, "reference": "PO-77", "note_to_the_customer": "Thanks!\nSee you.",
        "currency": "USD", "products": ["Licences", "Training"]}
    # Optional inputs left out are null; a number may come as a JSON number.
    assert clean_inputs(definitions(), {"due_date": "2026-01-01", "amount_eur": 12}) == {
        "send_the_invoice_now": False, "due_date": "2026-01-01", "billing_e_mail": None, "amount_eur": 12,
        "reference": None, "note_to_the_customer": None, "currency": None, "products": None}


@pytest.mark.parametrize(("change", "sentence"), [
    ({"due_date": "2026-02-30"}, '"Due date": 2026-02-30 is not a date of the calendar'),
    ({"due_date": "28/02/2026"}, '"Due date" must be a date written YYYY-MM-DD'),
    ({"due_date": None}, '"Due date" is required'),
    ({"amount_eur": "1e999"}, '"Amount (EUR)" must be a number'),
    ({"amount_eur": 1e999}, '"Amount (EUR)" must be a number'),
    ({"amount_eur": "NaN"}, '"Amount (EUR)" must be a number'),
    ({"amount_eur": True}, '"Amount (EUR)" must be a number'),
    ({"amount_eur": 1e16}, "must be smaller than"),
    ({"billing_e_mail": "not-an-address"}, '"Billing e-mail" must be an e-mail address'),
    ({"reference": "two\nlines"}, '"Reference" must be one line of text'),
    ({"reference": "x" * 256}, '"Reference" is 256 characters long; the maximum is 255'),
    ({"note_to_the_customer": "x" * 5001}, '"Note to the customer" is 5,001 characters long; the maximum is 5,000'),
    ({"currency": "CHF"}, '"Currency" must be one of its options'),
    ({"products": ["Licences", "Cake"]}, '"Products": "Cake" is not one of its options'),
    ({"products": "Licences"}, '"Products" must be a list of its options'),
    ({"products": ["Support", "Support"]}, '"Products" lists an option twice'),
    ({"send_the_invoice_now": "yes"}, '"Send the invoice now" must be true or false'),
    ({"colour": "red"}, 'Unknown field "colour"'),
    ({"deal_title": "Forged"}, 'Field "deal_title" is read from the CRM record'),
    ({"reference": 42}, '"Reference" must be text'),
])
def test_every_bad_input_is_refused_with_a_sentence_naming_its_field(change: dict, sentence: str) -> None:
    with pytest.raises(FieldError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        clean_inputs(definitions(), {**GOOD, **change})


def test_a_required_checkbox_must_be_ticked() -> None:
    confirm = clean_definitions([{"label": "I confirm the amount", "type": "boolean", "required": True}])
    with pytest.raises(FieldError, match='"I confirm the amount" must be ticked'):
        clean_inputs(confirm, {"i_confirm_the_amount": False})
    assert clean_inputs(confirm, {"i_confirm_the_amount": True}) == {"i_confirm_the_amount": True}


def test_the_webhooks_fields_hold_every_key() -> None:
    cleaned = definitions()
    inputs = clean_inputs(cleaned, {"due_date": "2026-02-28", "amount_eur": 10})
    record = {"title": "120 licences for Globex", "value": 18400, "stage_id": 3, "org_id": 9}
    assert webhook_fields(cleaned, inputs, record) == {
        "deal_title": "120 licences for Globex", "value": 18400, "stage": 3, "send_the_invoice_now": False,
        "due_date": "2026-02-28", "billing_e_mail": None, "amount_eur": 10, "reference": None,
        "note_to_the_customer": None, "currency": None, "products": None}
    # A record without the value: null, never a guess.
    assert webhook_fields(cleaned[:1], {}, {})["deal_title"] is None


def test_a_test_click_sends_a_sample_of_every_shape() -> None:
    samples = sample_fields(definitions())
    assert samples["currency"] == "EUR" and samples["products"] == ["Licences", "Support"]
    assert samples["amount_eur"] == 1250.5 and samples["send_the_invoice_now"] is True
    assert samples["deal_title"] == "<title of the record>"
    assert set(samples) == {d["key"] for d in definitions()}
