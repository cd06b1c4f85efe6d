"""The one seam for outbound HTTP: the SSRF guard, timeouts, and failures classified by what they mean.

`requests-hardened` resolves the host, refuses non-public addresses and pins the vetted address for the
connection, so a DNS answer cannot change between the check and the connect (DNS rebinding). Redirects
are never followed: a public URL must not bounce the request to an internal one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from core import __version__

logger = logging.getLogger(__name__)
USER_AGENT = f"OneClick/{__version__}"
# Enough for any message (2000 characters) wrapped in JSON; an automation answering with a whole web
# page does not need to be read to the end to know it is not a message.
MAX_RESPONSE_BYTES = 256 * 1024

_sessions: dict[bool, requests.Session] = {}


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    duration_ms: int


class WebhookError(Exception):
    """The request failed. `retryable` is True only when it certainly never reached the receiver."""

    def __init__(self, message: str, *, retryable: bool, duration_ms: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.duration_ms = duration_ms


def _session(allow_private: bool) -> requests.Session:
    """One pooled session per worker process (and per guard setting, which tests flip)."""
    session = _sessions.get(allow_private)
    if session is None:
        session = HTTPSession(
            Config(
                ip_filter_enable=not allow_private,
                ip_filter_allow_loopback_ips=False,
                never_redirect=True,
                default_timeout=(settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_TOTAL_TIMEOUT),
                user_agent_override=USER_AGENT,
            )
        )
        # Nothing of the process's environment is looked up per request (requests does by default, a
        # scan of every variable for proxies on each call: 4 % of a delivery's CPU). No proxy: the guard
        # vets the address it connects to, and a proxy resolves plain-HTTP names itself, past the guard
        # (webhooks need direct outbound access; README). No ~/.netrc: its passwords must never reach a
        # tenant's URL. A custom CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) is read once.
        session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        # requests keeps 10 connections per host and pools for 10 hosts; most buttons post to a handful
        # of hosts (Make's, Zapier's), hundreds of deliveries at once each: beyond 10, every delivery
        # paid a new TCP and TLS handshake and urllib3 logged "pool is full" for each. Kept for reuse
        # instead (never blocking: a delivery beyond the pool opens a connection of its own).
        for adapter in session.adapters.values():
            adapter.init_poolmanager(settings.WEBHOOK_POOL_HOSTS, settings.WEBHOOK_POOL_PER_HOST, block=False)
        _sessions[allow_private] = session
    return session


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: requests wraps urllib3, which wraps the socket error."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return seen


def _classify(exc: requests.RequestException, elapsed_ms: int) -> WebhookError:
    causes = _causes(exc)
    if any(isinstance(c, InvalidIPAddress) for c in causes):
        address = next(c for c in causes if isinstance(c, InvalidIPAddress)).args[0]
        logger.warning("Refused to call a webhook whose host resolves to %s", address)
        return WebhookError(
            "Refused to call the webhook: its host resolves to a private or reserved address.",
            retryable=False,
            duration_ms=elapsed_ms,
        )
    if any(isinstance(c, socket.gaierror | urllib3.exceptions.NameResolutionError) for c in causes) or (
        "Failed to resolve domain" in str(exc)
    ):
        return WebhookError(
            "The webhook's host name could not be resolved (DNS lookup failed).",
            retryable=True,
            duration_ms=elapsed_ms,
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return WebhookError("The webhook refused the connection.", retryable=True, duration_ms=elapsed_ms)
    if isinstance(exc, requests.ConnectTimeout):
        return WebhookError(
            f"Could not connect to the webhook within {settings.WEBHOOK_CONNECT_TIMEOUT:g} s.",
            retryable=False,
            duration_ms=elapsed_ms,
        )
    if isinstance(exc, requests.Timeout):
        return WebhookError(
            f"The webhook timed out after {settings.WEBHOOK_TOTAL_TIMEOUT:g} s.",
            retryable=False,
            duration_ms=elapsed_ms,
        )
    if any(isinstance(c, requests.exceptions.SSLError) for c in causes):
        return WebhookError(
            "The webhook's TLS certificate could not be verified.", retryable=False, duration_ms=elapsed_ms
        )
    return WebhookError(
        f"The webhook could not be reached ({type(exc).__name__}).", retryable=False, duration_ms=elapsed_ms
    )


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return None


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """Read up to MAX_RESPONSE_BYTES, giving up at the deadline even if the receiver trickles bytes.

    requests' read timeout applies to each socket read, so a body sent a byte at a time could keep
    the worker for ever; read1() returns what has arrived, and each read may wait only until the
    deadline.
    """
    chunks: list[bytes] = []
    size = 0
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    # urllib3 hands the connection back to the pool as soon as the body's last byte is read: from
    # then on the socket may carry another thread's webhook, so it is never touched again.
    while size < MAX_RESPONSE_BYTES and not response.raw.isclosed():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise requests.ReadTimeout("deadline passed while reading the body")
        if sock is not None:
            sock.settimeout(remaining)
        try:
            chunk = response.raw.read1(MAX_RESPONSE_BYTES - size, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            raise requests.ReadTimeout("deadline passed while reading the body") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise requests.ConnectionError(exc) from exc
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def post_json(url: str, body: bytes, headers: dict[str, str], *, deadline: float | None = None) -> WebhookResponse:
    """POST once. Returns the response (any status), or raises WebhookError saying what happened.

    The whole exchange ends by `deadline` (time.monotonic(); default WEBHOOK_TOTAL_TIMEOUT from now), so
    retries share one 40 s budget and a delivery's end is known: the stalled-delivery sweep relies on it.
    """
    started = time.monotonic()
    deadline = deadline or started + settings.WEBHOOK_TOTAL_TIMEOUT
    session = _session(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    remaining = max(0.001, deadline - started)
    try:
        response = session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=(min(settings.WEBHOOK_CONNECT_TIMEOUT, remaining), remaining),
            allow_redirects=False,
            stream=True,
        )
        with response:
            raw = _read_body(response, deadline)
            # Automations rarely name a charset; UTF-8 is a better guess than requests' ISO-8859-1.
            encoding = _charset(response.headers.get("Content-Type", "")) or "utf-8"
            try:
                text = raw.decode(encoding, errors="replace")
            except LookupError:
                text = raw.decode("utf-8", errors="replace")
    except requests.RequestException as exc:
        raise _classify(exc, int((time.monotonic() - started) * 1000)) from exc
    return WebhookResponse(response.status_code, text, int((time.monotonic() - started) * 1000))
