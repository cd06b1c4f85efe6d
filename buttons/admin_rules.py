"""The button form's rule editor ("Where it shows", DESIGN "Buttons only where they belong"): the company's
pipelines and stages as its CRM names them, its members and groups, composed into Button.visibility."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Company, Group, Member
from buttons import sources, visibility
from buttons.actions import check_visibility

RULE_FIELDS = {"pipelines": "vis_pipelines", "stages": "vis_stages", "users": "vis_users", "groups": "vis_groups"}
TYPED_IDS_HELP = ("No CRM lists this company's pipelines (a signed embed's host): type the ids your host sends as "
                  "pipelineId and stageId, separated by commas.")


def _typed_ids(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.TextInput(attrs={"size": 40, "placeholder": "e.g. 1, 2"}))


class VisibilityEditor(forms.Form):
    """Mixed into the button's ModelForm: four fields, offered in __init__, checked in clean()."""

    # Where it shows (buttons.visibility): offered as the company's CRM and members name them; composed into
    # the button's visibility in clean().
    vis_pipelines = forms.MultipleChoiceField(
        label="Pipelines", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Deals in any of these pipelines. None ticked: every pipeline.")
    vis_stages = forms.MultipleChoiceField(
        label="Stages", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Deals in any of these stages (each in a pipeline ticked above, if any). None ticked: every stage.")
    vis_users = forms.MultipleChoiceField(
        label="Users", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Shown to these users, and to the members of the groups below. None of either: to everyone.")
    vis_groups = forms.MultipleChoiceField(
        label="Groups", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Shown to the members of these groups (Groups, in this admin).")

    company: Company | None = None  # whose members, groups and CRM pipelines the rules offer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._offer_rules()

    def _offer_rules(self) -> None:
        """The rule editor's choices: the company's pipelines and stages as its CRM names them (a note
        when it cannot be reached, the saved ids kept), its members and its groups."""
        rules = {**visibility.empty(), **(self.instance.visibility or {})}
        for key, name in RULE_FIELDS.items():
            self.initial[name] = [str(value) for value in rules[key]]
        company = self.company or (self.instance.company if self.instance.company_id else None)
        self.catalogue_note = ""
        try:
            catalogue = sources.pipelines(company) if company else None
        except sources.RecordUnavailable as exc:
            catalogue, self.catalogue_note = [], f"{exc} The pipelines and stages saved are kept; choose again later."
        if catalogue is None:
            self.fields["vis_pipelines"] = _typed_ids("Pipelines", TYPED_IDS_HELP)
            self.fields["vis_stages"] = _typed_ids("Stages", "Deals in any of these stages. Empty: every stage.")
            for name in ("vis_pipelines", "vis_stages"):
                self.initial[name] = ", ".join(self.initial[name])
        else:
            staged = {stage for p in catalogue for stage, _ in p.stages}
            self._offer("vis_pipelines", [(p.id, p.name) for p in catalogue], "Pipeline {} (as saved)")
            self._offer("vis_stages", [(p.name, list(p.stages)) for p in catalogue if p.stages],
                        "Stage {} (as saved)", staged)
            if self.catalogue_note:
                self.fields["vis_pipelines"].help_text = self.catalogue_note
        members = Member.objects.select_related("user").order_by("user__username")
        groups = Group.objects.order_by("name")
        if company is not None:
            members, groups = members.filter(company=company), groups.filter(company=company)
        else:
            members, groups = members.none(), groups.none()
        self._offer("vis_users", [(m.external_id, f"{m.user.get_username()} (user {m.external_id})")
                                  for m in members], "User {} (as saved; no longer a member)")
        self._offer("vis_groups", [(str(g.pk), g.name) for g in groups], "Group {} (as saved; deleted)")
        if not self.fields["vis_groups"].choices:
            self.fields["vis_groups"].help_text = ("No groups yet: make one under Groups in this admin (or at "
                                                   "/api/groups/).")

    def _offer(self, name: str, choices: list, saved_label: str, offered: set[str] | None = None) -> None:
        """A rule's choices, and after them each saved id no longer offered (a pipeline Pipedrive does not
        list now, a member or group deleted since), ticked: a save never drops one unseen (which could show
        the button to everyone); the check then asks to untick it."""
        offered = offered if offered is not None else {value for value, _ in choices}
        self.fields[name].choices = choices + [(value, saved_label.format(value)) for value in self.initial[name]
                                               if value not in offered]

    def _clean_rules(self, cleaned: dict[str, Any]) -> None:
        """The rule editor's choices as the button's visibility, checked against the company and its CRM."""
        raw: dict[str, list] = {}
        for key, name in RULE_FIELDS.items():
            value = cleaned.get(name) or []
            raw[key] = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        company = self.company or cleaned.get("company") or (
            self.instance.company if self.instance.company_id else None)
        resource = cleaned.get("resource") or self.instance.resource
        try:
            rules = visibility.clean_visibility(raw, resource, cleaned.get("view") or self.instance.view)
            if company is not None:
                check_visibility(company, rules, self.instance.visibility if self.instance.pk else None)
        except visibility.VisibilityError as exc:
            self.add_error(RULE_FIELDS.get(exc.key or "", "vis_stages"), str(exc))
            rules = visibility.empty()  # the error is shown above; the model's own check has nothing to add
        self.instance.visibility = rules

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._clean_rules(cleaned)
        return cleaned
