"""Who may show a page in a frame. Every page answers `X-Frame-Options: DENY` and CSP
`frame-ancestors 'none'` (settings), except the embedded panels under /pipedrive/ and /embed/, which
name the origins allowed to frame them: Pipedrive's (EMBED_FRAME_ANCESTORS) or the company's own list."""

from __future__ import annotations

from collections.abc import Iterable

from csp.constants import NONE
from django.http import HttpResponse


def framed_by(response: HttpResponse, origins: Iterable[str]) -> HttpResponse:
    allowed = list(origins)
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    # frame-ancestors supersedes X-Frame-Options in every browser that reads it; none is sent here, as
    # X-Frame-Options cannot name a list of origins.
    response._csp_replace = {"frame-ancestors": allowed or [NONE]}  # type: ignore[attr-defined]
    return response
