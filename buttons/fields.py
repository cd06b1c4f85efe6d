"""Buttons that ask: a button's field definitions, the inputs a click brings, and the webhook's `fields`.

Pure functions, no database (DESIGN "Buttons that ask"). A definition is a record field (a value of the
CRM record, read by the server, never taken from the click) or a one-time input the user fills before
the click. Every refusal is a FieldError whose sentence names the field, for a 400 or a form error.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_FIELDS = 20
KINDS = ("record", "input")
TYPES = ("boolean", "date", "email", "number", "text", "textarea", "select", "multiselect")
CHOICE_TYPES = ("select", "multiselect")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]{0,99}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER_PATTERN = re.compile(r"^-?\d{1,15}(\.\d{1,10})?$")
MAX_LABEL, MAX_OPTION, MAX_OPTIONS = 100, 100, 50
MAX_TEXT, MAX_TEXTAREA = 255, 5000
MAX_NUMBER = 1e15  # beyond this a JSON number loses digits in most automations' languages
DEFINITION_KEYS = {"key", "label", "kind", "type", "required", "options", "source"}
TYPE_NAMES = {"boolean": "a checkbox", "date": "a date", "email": "an e-mail address", "number": "a number",
              "text": "one line of text", "textarea": "text", "select": "one of its options",
              "multiselect": "a list of its options"}


class FieldError(ValueError):
    """A definition or an input refused; str() is the sentence, naming the field (`key`: an input's key,
    so a form can show the sentence beside it)."""

    def __init__(self, sentence: str, key: str | None = None) -> None:
        super().__init__(sentence)
        self.key = key


# --- Definitions (the admin and /api/buttons/) ------------------------------------------------------


def key_from_label(label: str) -> str:
    """"Amount (EUR)" -> "amount_eur": lowercase ASCII words joined by underscores."""
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:50].rstrip("_")
    if not key or not key[0].isalpha():
        key = ("field_" + key)[:50].rstrip("_")
    return key


def _named(position: int, raw: dict[str, Any]) -> str:
    label = raw.get("label")
    shown = f' "{label.strip()[:40]}"' if isinstance(label, str) and label.strip() else ""
    return f"Field {position}{shown}"


def clean_definitions(raw: object) -> list[dict[str, Any]]:
    """The definitions as stored: a list of {key, label, kind, type, required, options, source}."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FieldError("fields must be a list of field definitions.")
    if len(raw) > MAX_FIELDS:
        raise FieldError(f"A button has at most {MAX_FIELDS} fields; this one has {len(raw)}.")
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise FieldError(f"Field {position} must be an object with a label, a kind and a type.")
        cleaned.append(_clean_definition(position, item))
        key = cleaned[-1]["key"]
        if key in keys:
            raise FieldError(f'{_named(position, item)}: the key "{key}" is already used by another field of '
                             "this button; give it a key of its own.")
        keys.add(key)
    return cleaned


def _clean_definition(position: int, item: dict[str, Any]) -> dict[str, Any]:
    name = _named(position, item)
    unknown = sorted(set(item) - DEFINITION_KEYS)
    if unknown:
        raise FieldError(f'{name}: "{unknown[0]}" is not a property of a field (use key, label, kind, type, '
                         "required, options, source).")
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        raise FieldError(f"{name}: a label is required.")
    label = label.strip()
    if len(label) > MAX_LABEL or any(ord(ch) < 32 for ch in label):
        raise FieldError(f"{name}: the label must be one line of at most {MAX_LABEL} characters.")
    kind = item.get("kind", "input")
    if kind not in KINDS:
        raise FieldError(f'{name}: kind must be "record" (a value of the CRM record) or "input" (filled in '
                         "before the click).")
    key = item.get("key") or key_from_label(label)
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise FieldError(f"{name}: the key must start with a lowercase letter and hold only lowercase letters, "
                         "digits and underscores, at most 50 (like amount_eur).")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise FieldError(f"{name}: required must be true or false.")
    options = item.get("options")
    source = item.get("source")
    if kind == "record":
        if not isinstance(source, str) or not SOURCE_PATTERN.match(source):
            raise FieldError(f"{name}: a record field needs the CRM field's key as its source (like title, value "
                             "or stage_id).")
        if options:
            raise FieldError(f"{name}: options are only for select and multiselect inputs.")
        if item.get("type") not in (None, ""):
            raise FieldError(f"{name}: a record field has no type; the CRM's value is sent as it is.")
        return {"key": key, "label": label, "kind": kind, "type": None, "required": False, "options": [],
                "source": source}
    if source not in (None, ""):
        raise FieldError(f"{name}: only record fields have a source.")
    field_type = item.get("type")
    if field_type not in TYPES:
        raise FieldError(f"{name}: type must be one of {', '.join(TYPES)}.")
    if field_type in CHOICE_TYPES:
        options = _clean_options(name, options)
    elif options:
        raise FieldError(f"{name}: options are only for select and multiselect inputs, not {field_type}.")
    else:
        options = []
    return {"key": key, "label": label, "kind": kind, "type": field_type, "required": required,
            "options": options, "source": None}


def _clean_options(name: str, options: object) -> list[str]:
    if not isinstance(options, list) or not options:
        raise FieldError(f"{name}: a select needs its options, a list of 1 to {MAX_OPTIONS} texts.")
    if len(options) > MAX_OPTIONS:
        raise FieldError(f"{name}: at most {MAX_OPTIONS} options; this one has {len(options)}.")
    cleaned: list[str] = []
    for option in options:
        if not isinstance(option, str) or not option.strip():
            raise FieldError(f"{name}: every option must be a non-empty text.")
        text = option.strip()
        if len(text) > MAX_OPTION or any(ord(ch) < 32 for ch in text):
            raise FieldError(f"{name}: an option must be one line of at most {MAX_OPTION} characters.")
        if text in cleaned:
            raise FieldError(f'{name}: the option "{text[:40]}" is listed twice.')
        cleaned.append(text)
    return cleaned


# --- A click's inputs -------------------------------------------------------------------------------


def clean_inputs(definitions: list[dict[str, Any]], raw: object) -> dict[str, Any]:
    """The inputs of a click, typed, for every input definition (None where an optional one is empty)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FieldError("fields must be an object of the button's input keys and their values.")
    inputs = {d["key"]: d for d in definitions if d["kind"] == "input"}
    records = {d["key"] for d in definitions if d["kind"] == "record"}
    for key in raw:
        if key in records:
            raise FieldError(f'Field "{str(key)[:50]}" is read from the CRM record; a click cannot send it.')
        if key not in inputs:
            raise FieldError(f'Unknown field "{str(key)[:50]}": this button has no such input.')
    cleaned: dict[str, Any] = {}
    for key, definition in inputs.items():
        try:
            cleaned[key] = _clean_input(definition, raw.get(key))
        except FieldError as exc:
            raise FieldError(str(exc), key) from None
    return cleaned


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean_input(definition: dict[str, Any], value: object) -> Any:
    label, field_type = definition["label"], definition["type"]
    if field_type == "boolean":
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise FieldError(f'"{label}" must be true or false.')
        if definition["required"] and not value:
            raise FieldError(f'"{label}" must be ticked.')
        return value
    if _empty(value):
        if definition["required"]:
            raise FieldError(f'"{label}" is required.')
        return None
    return _CHECKS[field_type](label, value, definition)


def _check_date(label: str, value: object, _: dict) -> str:
    if not isinstance(value, str) or not DATE_PATTERN.match(value.strip()):
        raise FieldError(f'"{label}" must be a date written YYYY-MM-DD.')
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise FieldError(f'"{label}": {value.strip()} is not a date of the calendar.') from None


def _check_email(label: str, value: object, _: dict) -> str:
    if not isinstance(value, str) or len(value.strip()) > 254:
        raise FieldError(f'"{label}" must be an e-mail address.')
    try:
        validate_email(value.strip())
    except ValidationError:
        raise FieldError(f'"{label}" must be an e-mail address, like name@example.com.') from None
    return value.strip()


def _check_number(label: str, value: object, _: dict) -> int | float:
    if isinstance(value, str) and NUMBER_PATTERN.match(value.strip()):
        text = value.strip()
        value = float(text) if "." in text else int(text)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(f'"{label}" must be a number, like 1250 or 12.5.')
    if abs(value) >= MAX_NUMBER:
        raise FieldError(f'"{label}" must be smaller than 1,000,000,000,000,000.')
    return value


def _check_text(label: str, value: object, definition: dict) -> str:
    many = definition["type"] == "textarea"
    limit = MAX_TEXTAREA if many else MAX_TEXT
    if not isinstance(value, str):
        raise FieldError(f'"{label}" must be text.')
    text = value.strip()
    allowed = "\n\t\r" if many else "\t"
    if any(ord(ch) < 32 and ch not in allowed for ch in text):
        raise FieldError(f'"{label}" must be {"text without control characters" if many else "one line of text"}.')
    if len(text) > limit:
        raise FieldError(f'"{label}" is {len(text):,} characters long; the maximum is {limit:,}.')
    return text


def _check_select(label: str, value: object, definition: dict) -> str:
    if not isinstance(value, str) or value not in definition["options"]:
        raise FieldError(f'"{label}" must be one of its options: {", ".join(definition["options"][:10])}.')
    return value


def _check_multiselect(label: str, value: object, definition: dict) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise FieldError(f'"{label}" must be a list of its options.')
    unknown = [v for v in value if v not in definition["options"]]
    if unknown:
        raise FieldError(f'"{label}": "{unknown[0][:40]}" is not one of its options.')
    if len(set(value)) != len(value):
        raise FieldError(f'"{label}" lists an option twice.')
    order = definition["options"]
    return sorted(value, key=order.index)


_CHECKS = {"date": _check_date, "email": _check_email, "number": _check_number, "text": _check_text,
           "textarea": _check_text, "select": _check_select, "multiselect": _check_multiselect}


# --- The webhook's `fields` -------------------------------------------------------------------------


def webhook_fields(definitions: list[dict[str, Any]], inputs: dict[str, Any],
                   record: dict[str, Any]) -> dict[str, Any]:
    """Every defined key: record values as the CRM gives them (null when it has none), inputs typed."""
    return {d["key"]: (record.get(d["source"]) if d["kind"] == "record" else inputs.get(d["key"]))
            for d in definitions}


def needs_record(definitions: list[dict[str, Any]]) -> bool:
    return any(d["kind"] == "record" for d in definitions)


SAMPLES = {"boolean": True, "date": "2026-01-31", "email": "ada@example.com", "number": 1250.5,
           "text": "Sample text", "textarea": "Sample text\non two lines"}


def sample_fields(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    """What a test click sends: a sample value of every field, so the automation sees each shape."""
    values: dict[str, Any] = {}
    for d in definitions:
        if d["kind"] == "record":
            values[d["key"]] = f"<{d['source']} of the record>"
        elif d["type"] == "select":
            values[d["key"]] = d["options"][0]
        elif d["type"] == "multiselect":
            values[d["key"]] = d["options"][:2]
        else:
            values[d["key"]] = SAMPLES[d["type"]]
    return values
