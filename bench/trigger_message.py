"""Benchmark: POST /api/trigger-message under 64 concurrent clients, against a bare-insert baseline.

    .venv/bin/python bench/trigger_message.py [--seconds 15] [--rounds 2] [--workers 4]

Runs the app under gunicorn (uvicorn workers, as in production) on PostgreSQL with Redis for the
throttle cache, drives it with wrk (64 connections), and measures accepted messages/s and p50/p99
latency. Each connection plays an automation sending the progress messages of its own clicks: the
posts in flight at once go to different events, ten to each (trigger_message.lua). Fifty posts racing
for one event are the race test's business (messaging/tests/test_trigger_message_race.py).
The baseline, in the same run and on the same stack, is a bare Django view that inserts one row per
request (bench/views.py). Goal: >= 0.8 of the baseline's throughput and p99 < 50 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, insert_open_events, machine, run_wrk, scratch_database, server

SCRIPT = Path(__file__).with_name("trigger_message.lua")
EVENTS = 600_000


def seed(database_url: str) -> list[str]:
    """One company, user and button with messaging, and many click events with open windows."""
    os.environ.update(bench_env(database_url))
    import django

    django.setup()
    from django.db import connection

    from accounts.actions import create_member
    from buttons.models import Button

    member = create_member("bench", "bench-password", "1", company_name="Bench", is_admin=True)
    button = Button.objects.create(company=member.company, label="Bench", url="https://hooks.example.com/x",
                                   resource="deal", messaging_enabled=True)
    with connection.cursor() as cursor:
        insert_open_events(cursor, button.pk, member.company_id, member.user_id, EVENTS, "1 day")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT id FROM buttons_clickevent ORDER BY random()")
        return [str(row[0]) for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--stack", choices=("asgi", "wsgi"), default="asgi",
                        help="asgi: gunicorn + uvicorn workers (production); wsgi: gunicorn gthread workers")
    args = parser.parse_args()

    print(f"Machine: {machine()}")
    with scratch_database("oneclick_bench_trigger") as url, tempfile.NamedTemporaryFile("w") as ids_file:
        ids = seed(url)
        ids_file.write("\n".join(ids))
        ids_file.flush()
        env = {"EVENT_IDS_FILE": ids_file.name}
        results: dict[str, list[dict[str, float]]] = {"trigger-message": [], "baseline insert": []}
        stack = {"worker_class": "uvicorn_worker.UvicornWorker", "app": "oneclick.asgi:application"}
        if args.stack == "wsgi":
            stack = {"worker_class": "gthread", "app": "oneclick.wsgi:application"}
        with server(url, workers=args.workers, **stack) as base:
            paths = {"trigger-message": "/api/trigger-message", "baseline insert": "/bench/insert"}
            runs = 0

            def measure(path: str, seconds: int) -> dict[str, float]:
                # Every run posts to events no earlier run touched (each takes 10 messages at most).
                nonlocal runs
                runs += 1
                return run_wrk(base + path, SCRIPT, seconds, args.connections,
                               env={**env, "RUN_OFFSET": str(runs * 40_000)})

            for path in paths.values():  # warm up connections and caches
                measure(path, 3)
            for _ in range(args.rounds):
                for name, path in paths.items():
                    results[name].append(measure(path, args.seconds))

    print(f"gunicorn {stack['app']} -k {stack['worker_class']} -w {args.workers}; wrk -t2 -c{args.connections}, "
          f"{args.rounds} rounds x {args.seconds} s per endpoint, interleaved")
    summary = {}
    for name, runs in results.items():
        summary[name] = {key: statistics.mean(run[key] for run in runs) for key in runs[0]}
        s = summary[name]
        print(f"  {name:16s} {s['created_per_s']:8.0f} accepted/s   p50 {s['p50_ms']:6.1f} ms   "
              f"p99 {s['p99_ms']:6.1f} ms   non-201 {s['other']:.0f}   socket errors {s['errors']:.0f}")
    ratio = summary["trigger-message"]["created_per_s"] / summary["baseline insert"]["created_per_s"]
    p99 = summary["trigger-message"]["p99_ms"]
    print(f"  throughput ratio (trigger-message / baseline): {ratio:.2f}  (goal >= 0.80)")
    print(f"  trigger-message p99: {p99:.1f} ms  (goal < 50 ms)")


if __name__ == "__main__":
    main()
