"""Companies and members moved from the buttons app to accounts with their tables: a database made before
the move migrates forward with every row where it was, and the content types follow the models."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import Company, Member
from buttons.models import Button, ClickEvent
from messaging.models import Message

BEFORE = [("buttons", "0007_embed"), ("messaging", "0002_event_created_index"), ("accounts", None)]


def migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_every_row() -> None:
    executor = migrate(BEFORE)
    try:
        old = executor.loader.project_state([("buttons", "0007_embed"), ("messaging", "0002_event_created_index")]).apps
        ContentType.objects.clear_cache()
        User = old.get_model("auth", "User")
        OldCompany, OldMember = old.get_model("buttons", "Company"), old.get_model("buttons", "Member")
        OldButton, OldEvent = old.get_model("buttons", "Button"), old.get_model("buttons", "ClickEvent")
        OldMessage = old.get_model("messaging", "Message")
        company = OldCompany.objects.create(external_id="737569", name="Acme", embed_secret="oce_x",
                                            embed_origins="https://app.hubspot.com")
        user = User.objects.create(username="alice")
        member = OldMember.objects.create(user=user, company=company, external_id="1108047", is_company_admin=True)
        button = OldButton.objects.create(company=company, label="Create invoice", url="https://hook.example/x",
                                          resource="deal", messaging_enabled=True)
        now = timezone.now()
        event = OldEvent.objects.create(id=uuid.uuid4(), button=button, company=company, user=user, resource="deal",
                                        view="details", object_id="42", created_at=now,
                                        window_ends_at=now + timedelta(seconds=45))
        message = OldMessage.objects.create(event=event, button=button, company=company, resource="deal",
                                            object_id="42", recipient=user, source="custom", content="Done",
                                            created_at=now)
        old_types = {ct.model: ct.pk for ct in ContentType.objects.filter(app_label="buttons",
                                                                          model__in=("company", "member"))}
    finally:
        migrate(latest())
    ContentType.objects.clear_cache()

    moved = Company.objects.get(pk=company.pk)
    assert (moved.external_id, moved.name, moved.embed_secret, moved.allowed_origins()) == (
        "737569", "Acme", "oce_x", ["https://app.hubspot.com"])
    moved_member = Member.objects.select_related("user", "company").get(pk=member.pk)
    assert (moved_member.user.username, moved_member.company, moved_member.is_company_admin) == ("alice", moved, True)
    assert Button.objects.get(pk=button.pk).company == moved
    assert ClickEvent.objects.get(pk=event.pk).company == moved
    assert Message.objects.get(pk=message.pk).company == moved
    assert list(moved.members.all()) == [moved_member] and list(moved.buttons.all()) == [Button.objects.get()]
    # The same content type rows, now the accounts app's: permissions and admin history still point at them.
    assert set(old_types) == {"company", "member"}
    now = ContentType.objects.filter(app_label="accounts", model__in=("company", "member"))  # not its groups
    moved_types = {ct.model: ct.pk for ct in now}
    assert moved_types == old_types
    assert not ContentType.objects.filter(app_label="buttons", model__in=("company", "member")).exists()
