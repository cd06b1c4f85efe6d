"""Shared plumbing for the benchmarks: a scratch PostgreSQL database, a server process, wrk."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def machine() -> str:
    """What the figures were measured on: cores, CPU model, memory, Python."""
    cpu, mem_kb = "unknown CPU", 0
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
        mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")), 0)
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GB RAM, "
            f"{platform.python_implementation()} {platform.python_version()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(name: str) -> str:
    """A fresh, migrated PostgreSQL database (dropped first if a run left it behind); returns its URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run([str(VENV_BIN / "python"), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=bench_env(url),
                   check=True)
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database; dropped afterwards."""
    url = create_database(name)
    try:
        yield url
    finally:
        drop_database(name)


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": "bench-only-secret-key",
        "ENCRYPTION_KEYS": "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=",  # benchmarks only
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "TRIGGER_MESSAGE_MISS_RATE": "100000000/minute",
        "LOG_LEVEL": "ERROR",
        **extra,
    }


@contextmanager
def server(database_url: str, workers: int = 4, worker_class: str = "uvicorn_worker.UvicornWorker",
           app: str = "oneclick.asgi:application") -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), app, "-k", worker_class, "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "--backlog", "2048", *(["--threads", "4"] if worker_class == "gthread" else [])],
        cwd=ROOT, env=bench_env(database_url), start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/schema/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.3)
    try:
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def insert_open_events(cursor: object, button_id: int, company_id: int, user_id: int, count: int,
                       open_for: str) -> list[str]:
    """Bulk-insert `count` delivered click events whose windows stay open for `open_for` (a PostgreSQL
    interval: benchmarks outlive a real 45 s window); return their ids."""
    cursor.execute(
        """
        INSERT INTO buttons_clickevent (id, button_id, company_id, user_id, resource, view, object_id,
            selected_ids, fields, payload, created_at, window_ends_at, custom_message_count, delivery,
            attempts, error, is_test)
        SELECT gen_random_uuid(), %s, %s, %s, 'deal', 'details', (g %% 5000)::text, '[]', NULL, '{}',
            now(), now() + %s::interval, 0, 'delivered', 1, '', false
        FROM generate_series(1, %s) AS g
        RETURNING id
        """,
        [button_id, company_id, user_id, open_for, count],
    )
    return [str(row[0]) for row in cursor.fetchall()]


def paced(rate: float, count: int, work: Callable[[], object], pool: Executor) -> None:
    """Submit `work` `count` times, `rate` a second, on a fixed schedule (an open loop: the load does not
    slow down when the server does)."""
    started = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        pool.submit(work)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("This benchmark drives the server with wrk: apt-get install -y wrk")
    return wrk


def run_wrk(url: str, script: Path, seconds: int, connections: int = 64, threads: int = 2,
            env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
         url],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("FIRST_ERROR"):
            print(f"    ({url.rsplit('/', 1)[-1]}: first non-201 answer: {line[12:]})")
    match = re.search(r"RESULT (.*)", out)
    if not match:
        raise RuntimeError(out)
    fields = dict(item.split("=") for item in match.group(1).split())
    duration = int(fields["duration_us"]) / 1e6
    return {
        "created_per_s": int(fields["created"]) / duration,
        "other": int(fields["other"]),
        "errors": int(fields["errors"]),
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p90_ms": int(fields["p90_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
    }
