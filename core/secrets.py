"""Standard Webhooks signatures (https://www.standardwebhooks.com): `whsec_<base64 key>` secrets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# A company's embed secret (the key other CRMs sign the panel's token with) reads the same way.
EMBED_SECRET_PREFIX = "oce_"


def generate_secret(prefix: str = SECRET_PREFIX, size: int = 24) -> str:
    """A new random secret in the Standard Webhooks form (24 random bytes, as its reference tools)."""
    return prefix + base64.b64encode(secrets.token_bytes(size)).decode()


def generate_embed_secret() -> str:
    """A company's embed secret: 32 bytes, the key length RFC 7518 asks of HS256 (PyJWT warns below it)."""
    return generate_secret(EMBED_SECRET_PREFIX, size=32)


def secret_key_bytes(secret: str, prefix: str = SECRET_PREFIX) -> bytes:
    """The HMAC key a secret stands for; ValueError with a sentence when it is not a valid secret."""
    name = "signing secret" if prefix == SECRET_PREFIX else "embed secret"
    encoded = secret.removeprefix(prefix)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"The {name} must be {prefix} followed by base64 text.") from None
    if not 16 <= len(key) <= 64:
        raise ValueError(f"The {name} must encode between 16 and 64 bytes.")
    return key


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a receiver verifies: the signed content is `<id>.<timestamp>.<body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def mask_secret(secret: str) -> str:
    """What admin pages show of a secret: enough to recognise it, not enough to use it."""
    if not secret:
        return ""
    return f"{secret[:10]}…{secret[-4:]}"
