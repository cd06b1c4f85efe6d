"""Where a webhook may go: the save-time check of a button's URL (the SSRF guard's first half).

The send-time half is requests-hardened's pinned session (deliveries.webhooks), which resolves again on
every send, because DNS answers change; this rule is the same and stricter, so the two never disagree.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

logger = logging.getLogger(__name__)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The save-time rule, the send-time guard's (requests-hardened: private, multicast and its extra
    ranges, such as 6to4's 2002::/16 that wraps any IPv4 address) and stricter, so the two never disagree."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in EXTRA_BLOCKED_NET_RANGES if net.version == ip.version):
        return False
    return ip.is_global and not (ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_link_local)


def check_destination(url: str, *, resolve: bool = True) -> None:
    """Refuse a URL a button may not point at, with a sentence for the admin. Checked on save and
    again (by the pinned session) on every send, because DNS answers change."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationError("The URL must start with http:// or https://.")
    host = parts.hostname
    if not host:
        raise ValidationError("The URL has no host name.")
    if parts.username or parts.password:
        raise ValidationError("The URL must not contain a user name or password.")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValidationError("The URL's port must be a number from 1 to 65535.") from None
    if parts.port == 0:
        raise ValidationError("The URL's port must be a number from 1 to 65535.")
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    elif host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal")):
        raise ValidationError("The URL points at a private network host, which is not allowed.")
    elif not resolve:
        return
    else:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            # Not resolvable now; the send-time guard checks again, so a DNS hiccup does not block a save.
            return
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not _is_public(address):
            if literal is not None:
                raise ValidationError(
                    f"The URL points at a private or reserved address ({address}), which is not allowed."
                )
            # What a name resolves to stays in the server's log: shown, it would map the operator's
            # internal DNS for any tenant admin who types names in.
            logger.info("Refused webhook URL host %s: it resolves to %s", host, address)
            raise ValidationError("The URL resolves to a private or reserved address, which is not allowed.")
