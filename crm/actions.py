"""CRM verbs: Pipedrive's install and uninstall callbacks, on the members they concern."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.access import grant_company_admin_permissions, revoke_company_admin_permissions
from accounts.actions import new_crm_member
from accounts.models import Company, Member
from core.logs import events
from crm.models import PipedriveConnection


@transaction.atomic
def install_from_pipedrive(*, company_id: str, company_name: str, user_id: str, name: str = "", email: str = "",
                           is_admin: bool = False, domain: str = "", api_base: str = "",
                           tokens: dict[str, Any] | None = None) -> Member:
    """Pipedrive's OAuth callback: the company and the installing user, active again if they had
    uninstalled; company admin exactly when Pipedrive says the user is an admin there."""
    company, created = Company.objects.get_or_create(
        external_id=company_id, defaults={"name": company_name or f"Company {company_id}", "crm_domain": domain})
    if not created:  # a company can rename itself, and its Pipedrive address
        fresh = {"name": company_name, "crm_domain": domain}
        changed = [field for field, value in fresh.items() if value and getattr(company, field) != value]
        for field in changed:
            setattr(company, field, fresh[field])
        if changed:
            company.save(update_fields=changed)
    if tokens is not None and api_base:
        _keep_tokens(company, user_id, api_base, tokens)
    member = Member.objects.select_related("user").select_for_update().filter(
        company=company, external_id=user_id).first()
    if member is None:
        member = new_crm_member(company, user_id, name=name, email=email, is_admin=is_admin)
        events.info("member_installed", company=company.external_id, user=user_id, admin=is_admin)
        return member
    member.is_active, member.is_company_admin = True, is_admin
    member.save(update_fields=["is_active", "is_company_admin"])
    user = member.user
    user.is_staff = is_admin or user.is_superuser
    user.first_name = name[:150] or user.first_name
    user.email = email[:254] or user.email
    user.save(update_fields=["is_staff", "first_name", "email"])
    (grant_company_admin_permissions if is_admin else revoke_company_admin_permissions)(user)
    events.info("member_installed", company=company.external_id, user=user_id, admin=is_admin)
    return member


def _keep_tokens(company: Company, user_id: str, api_base: str, tokens: dict[str, Any]) -> None:
    """The company's Pipedrive tokens, encrypted: the latest installation's replace any before."""
    connection = PipedriveConnection.objects.filter(company=company).first() or PipedriveConnection(company=company)
    connection.api_domain, connection.user_external_id = api_base, user_id
    connection.keep(tokens)
    connection.save()


def uninstall_from_pipedrive(company_id: str, user_id: str) -> bool:
    """Pipedrive's uninstall callback: that member is no longer active (no panel, no clicks), and the
    company's tokens are deleted when they were that user's (or nobody is left). False when there was no
    active member to uninstall."""
    PipedriveConnection.objects.filter(company__external_id=company_id, user_external_id=user_id).delete()
    changed = Member.objects.filter(company__external_id=company_id, external_id=user_id, is_active=True).update(
        is_active=False)
    if not Member.objects.filter(company__external_id=company_id, is_active=True).exists():
        PipedriveConnection.objects.filter(company__external_id=company_id).delete()
    events.info("member_uninstalled", company=company_id, user=user_id, changed=bool(changed))
    return bool(changed)
