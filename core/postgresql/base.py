"""Django's PostgreSQL backend with a pool that survives a server restart (ENGINE "core.postgresql").

psycopg's pool checks a connection before handing it out and discards one that fails, but then waits
about a second before trying the next one (its guard against a busy loop), and two dead connections
in a row cost a request its whole pool timeout. One dead connection almost always means a server
restart killed them all, so the first failure sweeps every idle connection at once: the pool drops
the dead ones and starts their replacements, and the waiting request gets a fresh one.
"""

from __future__ import annotations

import logging
import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


def _has_news(conn: Any) -> bool:
    """Whether anything arrived on an idle connection (nothing should, unless the server left).

    poll(), not select(): a delivery worker holds thousands of sockets, and select() refuses any
    descriptor above 1023.
    """
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed already
        return True


def check_connection(conn: Any) -> None:
    if not conn.closed and not _has_news(conn):
        return
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        # The pool sets _pool on a connection it hands out, before this check runs.
        pool = getattr(conn, "_pool", None)
        if pool is not None:
            logger.warning("A pooled database connection was dead; checking the others too.")
            pool.check()
        raise


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool | None:
        pool = super().pool
        # Django builds the pool with psycopg's own check (CONN_HEALTH_CHECKS) and no way to pass
        # another; the pool reads its check from this attribute at each checkout.
        if pool is not None and pool._check is not check_connection:
            pool._check = check_connection
        return pool
