"""Signing and embed secrets are stored encrypted and read back as they were (core.crypto.EncryptedTextField)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from django.apps import apps
from django.db import connection

from accounts.actions import rotate_embed_secret
from accounts.models import Member
from buttons.models import Button
from core.secrets import generate_secret


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # the names are this test's own
        return cursor.fetchone()[0]


def test_secrets_are_encrypted_in_the_database_and_plain_in_python(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    secret = generate_secret()
    button = make_button(signing_secret=secret)
    assert stored("buttons_button", "signing_secret", button.pk).startswith("gAAAAA")
    assert secret not in stored("buttons_button", "signing_secret", button.pk)
    assert Button.objects.get(pk=button.pk).signing_secret == secret
    embed = rotate_embed_secret(admin_member.company)
    raw = stored("buttons_company", "embed_secret", admin_member.company_id)
    assert raw.startswith("gAAAAA") and embed not in raw
    assert type(admin_member.company).objects.get(pk=admin_member.company_id).embed_secret == embed
    assert make_button(label="Plain").signing_secret == ""  # empty stays empty
    assert stored("buttons_button", "signing_secret", Button.objects.get(label="Plain").pk) == ""


def test_the_migration_encrypts_secrets_written_in_the_clear(make_button: Callable[..., Button]) -> None:
    secret = generate_secret()
    button = make_button()
    with connection.cursor() as cursor:  # as a row written before the field was encrypted
        cursor.execute("UPDATE buttons_button SET signing_secret = %s WHERE id = %s", [secret, button.pk])
    assert Button.objects.get(pk=button.pk).signing_secret == secret  # still read while in the clear
    migration = importlib.import_module("buttons.migrations.0014_secrets_encrypted")
    migration.encrypt_existing(apps, None)
    assert stored("buttons_button", "signing_secret", button.pk).startswith("gAAAAA")
    assert Button.objects.get(pk=button.pk).signing_secret == secret
