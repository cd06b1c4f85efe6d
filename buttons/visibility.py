"""Visibility rules (DESIGN "Buttons only where they belong"): which buttons a member sees on a record.

A button's `visibility` is {"pipelines", "stages", "users", "groups"}, each a list, empty for no limit.
A member sees it when the record passes the pipeline and stage rules (deal buttons of the details view
only) and, where users or groups are set, the member is one of the users or in one of the groups.

`Viewer` is the one place that answers "does this member see this button on this record": the panel
state, the form, the log endpoints and the click all ask it. What the rules need is read at most once
per request and only when a rule asks: the member's groups (one query) and the deal's pipeline and stage
(buttons.sources: the signed embed's claims, or the CRM's record, cached). Where the deal's pipeline or
stage cannot be known, the buttons limited by them are hidden (fail closed) and `notice` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import Group, Member
from buttons.sources import NO_CRM, DealPlace, RecordContext, RecordUnavailable, deal_place
from core.ids import crm_id

KEYS = ("pipelines", "stages", "users", "groups")
MAX_IDS = 200
NOT_AVAILABLE = "This button is not available on this record."
HIDDEN, UNKNOWN = "hidden", "unknown"
DEAL_ONLY = "Pipelines and stages limit deal buttons of the details view only (a list has no stage)."


class VisibilityError(ValueError):
    """A visibility refused; str() is the sentence, `key` the rule it is about (None: the whole)."""

    def __init__(self, sentence: str, key: str | None = None) -> None:
        super().__init__(sentence)
        self.key = key


def empty() -> dict[str, list]:
    return {key: [] for key in KEYS}


def _crm_ids(key: str, raw: object) -> list[int | str]:
    """CRM ids as the CRM gives them: numbers stay numbers (Pipedrive's are), others short strings."""
    if not isinstance(raw, list):
        raise VisibilityError(f"visibility.{key} must be a list of ids.", key)
    if len(raw) > MAX_IDS:
        raise VisibilityError(f"visibility.{key} lists at most {MAX_IDS} ids.", key)
    ids: list[int | str] = []
    for item in raw:
        value = crm_id(item)
        if value is None:
            raise VisibilityError(f"visibility.{key} must hold ids (numbers or 1 to 64 printable characters).", key)
        # Pipedrive's ids are numbers: kept as numbers when the text is exactly one (ASCII digits, no
        # leading zero, so "007" and "²" stay text and never compare equal to another id).
        typed: int | str = value
        if key != "users" and value.isascii() and value.isdigit() and len(value) < 16 and str(int(value)) == value:
            typed = int(value)
        if typed not in ids:
            ids.append(typed)
    return ids


def _group_ids(raw: object) -> list[int]:
    if not isinstance(raw, list) or len(raw) > MAX_IDS:
        raise VisibilityError(f"visibility.groups must be a list of at most {MAX_IDS} group ids.", "groups")
    ids: list[int] = []
    for item in raw:
        text = str(item).strip()
        if isinstance(item, bool) or not isinstance(item, int | str) or not (text.isascii() and text.isdigit()) \
                or len(text) > 18:
            raise VisibilityError("visibility.groups must hold group ids (numbers, as /api/groups/ lists them).",
                                  "groups")
        if int(text) not in ids:
            ids.append(int(text))
    return ids


def clean_visibility(raw: object, resource: str = "deal", view: str = "details") -> dict[str, list]:
    """The rules as stored, from what an admin sent (None or {} for none); the shape only; which ids
    exist in the company is buttons.actions.check_visibility's to say."""
    if raw is None or raw == {}:
        return empty()
    if not isinstance(raw, dict):
        raise VisibilityError('visibility must be an object: {"pipelines": [], "stages": [], "users": [], '
                              '"groups": []}.')
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise VisibilityError(f"visibility has no {unknown[0][:40]!r}: use pipelines, stages, users and groups.")
    rules = {key: _group_ids(raw.get(key) or []) if key == "groups" else _crm_ids(key, raw.get(key) or [])
             for key in KEYS}
    if (rules["pipelines"] or rules["stages"]) and (resource != "deal" or view != "details"):
        raise VisibilityError(DEAL_ONLY, "pipelines" if rules["pipelines"] else "stages")
    return rules


def has_rules(rules: dict[str, Any] | None) -> bool:
    return bool(rules) and any(rules.get(key) for key in KEYS)  # type: ignore[union-attr]


def needs_place(rules: dict[str, Any] | None) -> bool:
    return bool(rules) and bool(rules.get("pipelines") or rules.get("stages"))  # type: ignore[union-attr]


@dataclass
class Viewer:
    """A member looking at one record, with what the rules need read lazily, once."""

    member: Member
    context: RecordContext
    _groups: set[int] | None = field(default=None, repr=False)
    _place: DealPlace | None = field(default=None, repr=False)
    # Why buttons limited to pipelines or stages are hidden here (the panel shows it in one line), once
    # the place was asked for and could not be known.
    notice: str | None = None

    def groups(self) -> set[int]:
        if self._groups is None:
            self._groups = set(Group.objects.filter(members=self.member).values_list("pk", flat=True))
        return self._groups

    def place(self) -> DealPlace:
        if self._place is None:
            try:
                self._place = deal_place(self.context)
            except RecordUnavailable as exc:
                self._place = DealPlace(None, None, f"Buttons limited to pipelines or stages are hidden: {exc}",
                                        failed=str(exc))
        return self._place

    def sees(self, button: Any) -> bool:
        """Whether the member sees the button on this record (a button without rules: always)."""
        return self.verdict(button) is None

    def verdict(self, button: Any) -> str | None:
        """None when the member sees the button here; else HIDDEN (its rules leave them or the deal out)
        or UNKNOWN (its rules need the deal's pipeline or stage, which cannot be known here)."""
        rules = button.visibility
        if not has_rules(rules):
            return None
        if rules.get("users") or rules.get("groups"):
            in_users = self.member.external_id in {str(u) for u in rules.get("users") or []}
            if not in_users and not self.groups().intersection(rules.get("groups") or []):
                return HIDDEN
        if needs_place(rules):
            place = self.place()
            pipelines = {str(p) for p in rules.get("pipelines") or []}
            stages = {str(s) for s in rules.get("stages") or []}
            known = (not pipelines or place.pipeline is not None) and (not stages or place.stage is not None)
            if not known:
                self.notice = place.unknown or NO_CRM
                return UNKNOWN
            if (pipelines and place.pipeline not in pipelines) or (stages and place.stage not in stages):
                return HIDDEN
        return None
