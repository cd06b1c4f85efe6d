"""Secrets at rest (signing and embed secrets, confidential webhook headers, a company's CRM tokens):
Fernet from `cryptography`.

ENCRYPTION_KEYS holds comma-separated Fernet keys: the first encrypts, every one decrypts (MultiFernet),
so a key is rotated by putting a new one first, re-saving, then dropping the old one. What is stored is
the Fernet token (authenticated: a changed byte is refused, never decrypted into something else).
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

KEYS_SENTENCE = ("ENCRYPTION_KEYS must hold one or more Fernet keys, comma-separated (each 32 random bytes in "
                 "url-safe base64; make one with: python -c \"from cryptography.fernet import Fernet; "
                 "print(Fernet.generate_key().decode())\").")


class DecryptionFailed(Exception):
    """No key of ENCRYPTION_KEYS opens the value (a key dropped too early, or the value altered)."""


def parse_keys(value: str) -> list[str]:
    """The keys of an ENCRYPTION_KEYS value; ImproperlyConfigured with a sentence when one is malformed."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(KEYS_SENTENCE)
    for key in keys:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(KEYS_SENTENCE) from None
    return keys


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionFailed("A stored secret could not be decrypted with ENCRYPTION_KEYS.") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


FERNET_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80, then the timestamp)


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token and read back as the text: the ORM, and core.sql's raw statements
    (which run the fields' converters), never hand the database a secret in the clear. A value written
    before the field was encrypted reads as it was until it is saved again (the migration does that)."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        if not value:
            return ""
        return decrypt(value) if value.startswith(FERNET_PREFIX) else value

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        return encrypt(value) if isinstance(value, str) and value else (value or "")
