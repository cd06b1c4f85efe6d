"""The colour theme a page is drawn in: the reader's prefers-color-scheme, unless the page's host says.

A CRM that embeds the panel passes its own theme as ?theme=light or ?theme=dark on the panel's URL, so
the panel matches the CRM rather than the operating system; anything else is ignored.
"""

from __future__ import annotations

from django.http import HttpRequest

THEMES = frozenset({"light", "dark"})


def theme(request: HttpRequest) -> dict[str, str | None]:
    """Template context: `theme` is "light", "dark" or None (follow the reader's system)."""
    chosen = request.GET.get("theme")
    return {"theme": chosen if chosen in THEMES else None}
