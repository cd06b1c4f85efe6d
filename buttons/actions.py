"""Verbs on buttons that need more than the button itself: rules checked against the company and its CRM."""

from __future__ import annotations

from typing import Any

from accounts.actions import group_members
from accounts.models import Company, Group
from buttons import sources
from buttons.models import Button
from buttons.visibility import VisibilityError

CATALOGUE_DOWN = ("{} Pipelines and stages cannot be checked now, so they were not changed: save again in a "
                  "moment.")


def check_visibility(company: Company, rules: dict[str, list], previous: dict[str, Any] | None = None) -> None:
    """The rules' ids exist in the company (users, groups) and its CRM (pipelines, and stages within the
    chosen pipelines); VisibilityError with a sentence naming the first that does not. Pipelines and
    stages kept as they were are not asked of the CRM again (it may be down while a label changes)."""
    try:
        group_members(company.pk, [str(u) for u in rules["users"]])  # the groups API's check, and sentence
    except ValueError as exc:
        raise VisibilityError(str(exc), "users") from None
    groups = set(Group.objects.filter(company=company, pk__in=rules["groups"]).values_list("pk", flat=True))
    for group in rules["groups"]:
        if group not in groups:
            raise VisibilityError(f"There is no group {group} in this company: /api/groups/ lists its groups.",
                                  "groups")
    place = (rules["pipelines"], rules["stages"])
    if not any(place) or (previous and place == (previous.get("pipelines"), previous.get("stages"))):
        return
    try:
        pipelines = sources.pipelines(company)
    except sources.RecordUnavailable as exc:
        raise VisibilityError(CATALOGUE_DOWN.format(exc), "stages" if rules["stages"] else "pipelines") from None
    if pipelines is None:
        return  # no CRM lists them (a signed embed's host): the ids are the host's, as typed
    by_id = {p.id: p for p in pipelines}
    stage_of = {stage_id: (p, name) for p in pipelines for stage_id, name in p.stages}
    chosen = {str(p) for p in rules["pipelines"]}
    for pipeline in chosen:
        if pipeline not in by_id:
            raise VisibilityError(f"The CRM has no pipeline {pipeline}.", "pipelines")
    for stage in map(str, rules["stages"]):
        if stage not in stage_of:
            raise VisibilityError(f"The CRM has no stage {stage}.", "stages")
        pipeline, name = stage_of[stage]
        if chosen and pipeline.id not in chosen:
            raise VisibilityError(f'The stage "{name}" is in the pipeline "{pipeline.name}", which this button is '
                                  "not limited to: choose that pipeline too, or another stage.", "stages")


def buttons_limited_to(group: Group) -> list[str]:
    """The labels of the buttons a group limits (accounts.actions asks before deleting it)."""
    buttons = Button.objects.filter(company_id=group.company_id).only("label", "visibility").order_by("label")
    return [b.label for b in buttons if group.pk in (b.visibility or {}).get("groups", [])]
