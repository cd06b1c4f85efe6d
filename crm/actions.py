"""CRM verbs: Pipedrive's install and uninstall callbacks, on the members they concern."""

from __future__ import annotations

from django.db import transaction

from accounts.access import grant_company_admin_permissions, revoke_company_admin_permissions
from accounts.actions import new_crm_member
from accounts.models import Company, Member
from core.logs import events


@transaction.atomic
def install_from_pipedrive(*, company_id: str, company_name: str, user_id: str, name: str = "", email: str = "",
                           is_admin: bool = False, domain: str = "") -> Member:
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


def uninstall_from_pipedrive(company_id: str, user_id: str) -> bool:
    """Pipedrive's uninstall callback: that member is no longer active (no panel, no clicks). False when
    there was no active member to uninstall."""
    changed = Member.objects.filter(company__external_id=company_id, external_id=user_id, is_active=True).update(
        is_active=False)
    events.info("member_uninstalled", company=company_id, user=user_id, changed=bool(changed))
    return bool(changed)
