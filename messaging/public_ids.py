"""The ids tenants see: message ids (the database's counter, permuted under a key) and click ids.

Message rows are numbered by one sequence for every company, so two posts' ids would tell a tenant how
many messages all the others stored in between. The API shows each id through a keyed permutation of
the integers below 2**52 (a four-round Feistel network whose round function is keyed BLAKE2b, the
Luby-Rackoff construction): one-to-one, so ids stay unique and are turned back exactly, and without the
key neither their order nor their gaps mean anything. 52 bits, so JavaScript reads them exactly.
Rotating DJANGO_SECRET_KEY renumbers every message for the API (open pages reload their log).

A click id is the keyed hash of its event_id: it groups a click's messages for every reader while the
event_id itself (the credential of /api/trigger-message) reaches the clicker alone, and it cannot be
turned back into one.
"""

from __future__ import annotations

import functools
import hashlib

from django.conf import settings

BITS = 52
HALF = BITS // 2
MASK = (1 << HALF) - 1
LIMIT = 1 << BITS
ROUNDS = 4


@functools.cache
def _key(purpose: bytes) -> bytes:
    """A key of its own for each use of the secret."""
    return hashlib.sha256(b"oneclick." + purpose + b":" + settings.SECRET_KEY.encode()).digest()


def click_id(event_id: object) -> str:
    return hashlib.blake2b(str(event_id).encode(), key=_key(b"click_id"), digest_size=16).hexdigest()


def _round(number: int, half: int) -> int:
    key = _key(b"message-ids")
    digest = hashlib.blake2b(half.to_bytes(4, "big") + bytes([number]), key=key, digest_size=4).digest()
    return int.from_bytes(digest, "big") & MASK


def to_public(pk: int) -> int:
    if not 0 <= pk < LIMIT:
        raise ValueError(f"message id {pk} is beyond {BITS} bits")
    left, right = pk >> HALF, pk & MASK
    for number in range(ROUNDS):
        left, right = right, left ^ _round(number, right)
    return (left << HALF) | right


def from_public(public: int) -> int:
    """The row id of a public id; every value below LIMIT names some row id (maybe none that exists)."""
    if not 0 <= public < LIMIT:
        raise ValueError(f"message ids are below 2**{BITS}")
    left, right = public >> HALF, public & MASK
    for number in reversed(range(ROUNDS)):
        left, right = right ^ _round(number, left), left
    return (left << HALF) | right
