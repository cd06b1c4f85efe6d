"""The pool's check: no round trip for a healthy idle connection, the real check once the server left."""

from __future__ import annotations

import os
import time
from unittest import mock

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from core.postgresql.base import check_connection

URL = os.environ.get("DATABASE_URL", "")  # its server; the maintenance database "postgres" is used
pytestmark = pytest.mark.skipif(not URL.startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)")


def connect() -> psycopg.Connection:
    return psycopg.connect(URL, dbname="postgres", autocommit=True)


def test_a_healthy_connection_is_handed_out_without_a_round_trip() -> None:
    with connect() as conn, \
            mock.patch.object(ConnectionPool, "check_connection") as real_check:
        conn.execute("SELECT 1")
        check_connection(conn)
        assert real_check.call_count == 0


def test_a_connection_the_server_closed_is_checked_and_refused() -> None:
    with connect() as conn, connect() as admin:
        pid = conn.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.2)  # the server's goodbye reaches the socket
        with pytest.raises(psycopg.OperationalError):
            check_connection(conn)
