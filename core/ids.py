"""Ids as CRMs send them (tokens' claims, Pipedrive's answers, visibility rules): one rule for all."""

from __future__ import annotations

MAX_ID_LENGTH = 64


def crm_id(value: object) -> str | None:
    """A CRM's company or user id as it comes in (a token's claim, Pipedrive's answers): a number or 1 to
    64 printable characters, spaces around it dropped; None for anything else (never cut to fit, which
    could name someone else)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isprintable():
        return None
    value = value.strip()
    return value if 0 < len(value) <= MAX_ID_LENGTH else None
