"""Account verbs: bootstrapping a company's members, members a CRM vouches for, the embed secret."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.access import grant_company_admin_permissions
from accounts.models import Company, Group, Member
from core.secrets import generate_embed_secret

# --- Bootstrapping --------------------------------------------------------------------------------


@transaction.atomic
def create_member(
    username: str,
    password: str,
    company_external_id: str,
    *,
    company_name: str | None = None,
    user_external_id: str | None = None,
    is_admin: bool = False,
) -> Member:
    """Create a user in a company (created if new). Company admins get admin-panel access."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValueError(f"A user named {username!r} already exists.")
    company, created = Company.objects.get_or_create(
        external_id=company_external_id, defaults={"name": company_name or f"Company {company_external_id}"}
    )
    if not created and company_name and company.name != company_name:
        company.name = company_name
        company.save(update_fields=["name"])
    user = User.objects.create_user(username=username, password=password, is_staff=is_admin)
    external = user_external_id or str(user.pk)
    if Member.objects.filter(company=company, external_id=external).exists():
        raise ValueError(f"Company {company_external_id} already has a member with user id {external}.")
    member = Member.objects.create(user=user, company=company, external_id=external, is_company_admin=is_admin)
    if is_admin:
        grant_company_admin_permissions(user)
    return member


# --- Members the CRM vouches for (crm.tokens verified who they are) --------------------------------


def new_crm_member(company: Company, user_id: str, *, name: str = "", email: str = "",
                   is_admin: bool = False) -> Member:
    """A user who signs in through the CRM only: no password of ours."""
    User = get_user_model()
    username = f"crm-{company.pk}-{user_id}"[:150]
    if User.objects.filter(username=username).exists():  # an operator's user took the name
        username = f"{username[:140]}-{uuid.uuid4().hex[:8]}"
    user = User(username=username, first_name=name[:150], email=email[:254], is_staff=is_admin)
    user.set_unusable_password()
    user.save()
    member = Member.objects.create(user=user, company=company, external_id=user_id, is_company_admin=is_admin)
    if is_admin:
        grant_company_admin_permissions(user)
    return member


def join_from_crm(company: Company, user_id: str, name: str = "") -> Member:
    """The member a CRM's token names; a new user of the company joins as a plain member."""
    members = Member.objects.select_related("user", "company")
    member = members.filter(company=company, external_id=user_id).first()
    if member is not None:
        return member
    try:
        with transaction.atomic():
            return new_crm_member(company, user_id, name=name)
    except IntegrityError:  # the same user's first two requests at once: the other one made it
        return members.get(company=company, external_id=user_id)


def rotate_embed_secret(company: Company) -> str:
    """A new embed secret for the company (shown once to the admin); tokens signed with the old one stop."""
    company.embed_secret = generate_embed_secret()
    company.save(update_fields=["embed_secret"])
    return company.embed_secret


def group_name_taken(company_id: int | None, name: str, group_pk: int | None = None) -> bool:
    """Whether the company already has another group of this name (case aside)."""
    return Group.objects.filter(company_id=company_id, name__iexact=name).exclude(pk=group_pk).exists()


def group_members(company_id: int, user_ids: list[str]) -> list[Member]:
    """The members a group lists by their CRM user ids; ValueError naming the first id that is not an
    active member of the company."""
    found = {m.external_id: m for m in Member.objects.filter(company_id=company_id, external_id__in=user_ids)}
    for user_id in user_ids:
        if user_id not in found:
            raise ValueError(f"User {user_id[:64]} is not a member of this company.")
    return [found[user_id] for user_id in dict.fromkeys(user_ids)]


@transaction.atomic
def save_group(company_id: int, name: str, user_ids: list[str], group: Group | None = None) -> Group:
    """Create or change a group: its name (unique in the company) and its members (CRM user ids)."""
    members = group_members(company_id, user_ids)
    group = group or Group(company_id=company_id)
    group.name = name
    group.save()
    group.members.set(members)
    return group


# Who uses a group, registered by the apps above this one (buttons: the buttons it limits), so deleting a
# group never silently widens a button's audience nor leaves it pointing at nothing.
group_uses: list[Callable[[Group], list[str]]] = []


class GroupInUse(Exception):
    """A group still limits buttons; str() is the sentence."""


def group_users(group: Group) -> list[str]:
    return [label for uses in group_uses for label in uses(group)]


@transaction.atomic
def delete_group(group: Group) -> None:
    # Two admins deleting at once check and delete one after the other. (A button saved with this group in
    # the same instant may still name it afterwards: nobody is in a deleted group, so it fails closed, and
    # the admin shows it "as saved" to remove.)
    Group.objects.select_for_update().filter(pk=group.pk).first()
    users = group_users(group)
    if users:
        raise GroupInUse(in_use_sentence(group, users))
    group.delete()


def in_use_sentence(group: Group, labels: list[str]) -> str:
    more = f" and {len(labels) - 5} more" if len(labels) > 5 else ""
    shown = ", ".join(f'"{label}"' for label in labels[:5]) + more
    return (f'The group "{group.name}" limits who sees {shown}: remove it from '
            f'{"that button" if len(labels) == 1 else "those buttons"} first.')
