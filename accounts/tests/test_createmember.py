import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Company, Member


@pytest.mark.django_db
def test_it_creates_the_company_and_a_member() -> None:
    call_command("createmember", "carol", "--password", "s3cret-pass", "--company", "42",
                 "--company-name", "Carol Co", "--user-id", "7")
    member = Member.objects.get(user__username="carol")
    assert member.company.external_id == "42" and member.company.name == "Carol Co"
    assert member.external_id == "7" and not member.is_company_admin
    assert not member.user.is_staff
    assert authenticate(username="carol", password="s3cret-pass") == member.user


@pytest.mark.django_db
def test_admin_flag_gives_admin_panel_access_and_reuses_the_company() -> None:
    call_command("createmember", "carol", "--password", "pw-123456", "--company", "42")
    call_command("createmember", "dave", "--password", "pw-123456", "--company", "42", "--admin")
    assert Company.objects.count() == 1
    dave = Member.objects.get(user__username="dave")
    assert dave.is_company_admin and dave.user.is_staff and not dave.user.is_superuser
    assert dave.user.has_perm("buttons.change_button")


@pytest.mark.django_db
def test_it_refuses_an_existing_username() -> None:
    call_command("createmember", "carol", "--password", "pw-123456", "--company", "42")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createmember", "carol", "--password", "pw-123456", "--company", "43")
    assert Company.objects.filter(external_id="43").count() == 0  # nothing half-written
