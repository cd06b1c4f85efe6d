"""Open panels on one web process: how many live streams it holds, what each costs, and whether everything
else still answers while they are open.

    .venv/bin/python bench/open_streams.py [--levels 500,1000,2000] [--workers 1] [--rounds 10]

Runs the production stack of the fault tests (testing/stack.py: gunicorn with uvicorn workers,
DATABASE_POOL_MAX 10 per worker, the delivery worker, the housekeeping worker and beat, on a PostgreSQL
cluster and a Redis server of its own). An async client in this process opens the streams (one signed-in
user, all on one deal, as one team's open panels) and reads their events. First, with no stream open
(the baseline, same run), then at each level of open streams, it measures:
- each request beside the panels: /healthz (200), sign-in (200), the panel API (200), a click (202) and
  its custom message (201), `--rounds` times each, a second apart: statuses, median and slowest answer;
- the web process's resident memory, open file descriptors and Redis's connected clients, and from them
  the cost of one open stream;
- a custom message posted to the deal: how many open streams received it, and after how long (from the
  POST's answer to the event's arrival, p50/p95/max), and how long the panel API took when asked while
  the process was announcing it to every stream.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine
from testing import stack as harness

RECORD = "42"
PASSWORD = "pw-faults-123"


def web_workers(stack: harness.Stack) -> list[int]:
    """The uvicorn worker processes (gunicorn's children), not the arbiter."""
    return sorted(stack.pids("web") - {stack.procs["web"].pid})


def process_figures(pids: list[int]) -> tuple[float, int]:
    """Resident memory (MB) and open file descriptors of these processes, summed."""
    fds = sum(len(list(Path(f"/proc/{pid}/fd").iterdir())) for pid in pids)
    return sum(map(harness.rss_kb, pids)) / 1024, fds


def redis_clients(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("clients")["connected_clients"])


def requests_beside(stack: harness.Stack, company: harness.Company, rounds: int) -> dict[str, list[harness.Answer]]:
    """Each request once a round; a pause after each round lets its messages' fan-out finish, so these
    are the figures of a process holding open streams, not of one busy announcing (fan_out has those)."""
    answers: dict[str, list[harness.Answer]] = {name: [] for name in
                                                 ("healthz", "sign-in", "panel", "click", "custom message")}
    for _ in range(rounds):
        answers["healthz"].append(harness.call("GET", f"{stack.base}/healthz"))
        answers["sign-in"].append(harness.call("POST", f"{stack.base}/api/auth/token/",
                                               {"username": "alice", "password": PASSWORD}))
        answers["panel"].append(harness.call("GET", f"{stack.base}/api/panel/deal/{RECORD}/", token=company.token))
        click = harness.click(stack, company, record=RECORD)
        answers["click"].append(click)
        event_id = click.body.get("event_id") if isinstance(click.body, dict) else None
        answers["custom message"].append(harness.call("POST", f"{stack.base}/api/trigger-message",
                                                      {"event_id": event_id, "message": "Step done"}))
        time.sleep(1)
    return answers


def show_requests(label: str, answers: dict[str, list[harness.Answer]]) -> None:
    print(f"  requests beside them ({label}):")
    for name, got in answers.items():
        statuses = Counter(answer.status for answer in got)
        ms = [answer.seconds * 1000 for answer in got]
        print(f"    {name:15s} {dict(statuses)!s:12s} median {statistics.median(ms):6.1f} ms,"
              f" slowest {max(ms):6.1f} ms")


async def fan_out(stack: harness.Stack, company: harness.Company, streams: list[harness.LiveStream]) -> None:
    """A custom message on the deal: who received it, and how long after the POST's answer."""
    click = await asyncio.to_thread(harness.click, stack, company, RECORD)
    if click.status != 202:
        print(f"  a custom message: not sent, the click answered {click.status} {click.body}")
        return
    # The click's own HTTP-response message arrives first: wait until it has, then post the custom one.
    await asyncio.sleep(2)
    seen_before = [len(stream.logs()) for stream in streams]
    answer = await asyncio.to_thread(harness.call, "POST", f"{stack.base}/api/trigger-message",
                                     {"event_id": click.body["event_id"], "message": "Invoice sent"})
    answered = time.monotonic()
    # A request that arrives while the process is announcing the message to every open stream.
    during = await asyncio.to_thread(harness.call, "GET", f"{stack.base}/api/panel/deal/{RECORD}/",
                                     None, company.token)
    deadline = answered + 10
    while time.monotonic() < deadline and not all(
        len(stream.logs()) > before for stream, before in zip(streams, seen_before, strict=True)
    ):
        await asyncio.sleep(0.05)
    delays = [(stream.logs()[before][0] - answered) * 1000
              for stream, before in zip(streams, seen_before, strict=True) if len(stream.logs()) > before]
    if not delays:
        print(f"  a custom message ({answer.status}): no open stream received it")
        return
    cuts = statistics.quantiles(delays, n=100) if len(delays) > 1 else [delays[0]] * 99
    print(f"  a custom message ({answer.status}) reached {len(delays)} of {len(streams)} open streams: "
          f"p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms, max {max(delays):.0f} ms after the POST's answer;"
          f" the panel API asked meanwhile: {during.status} in {during.seconds * 1000:.0f} ms")


async def run(args: argparse.Namespace, stack: harness.Stack, company: harness.Company, redis_url: str) -> None:
    cookie = harness.session_cookie(stack, "alice", PASSWORD)
    pids = web_workers(stack)
    print(f"Web: {len(pids)} uvicorn worker process(es), DATABASE_POOL_MAX {args.pool_max} each")
    await asyncio.sleep(2)  # start-up settled
    base_mb, base_fds = process_figures(pids)
    base_clients = redis_clients(redis_url)
    print(f"\nNo stream open (baseline): web {base_mb:.1f} MB resident, {base_fds} file descriptors;"
          f" Redis: {base_clients} clients")
    show_requests("baseline", await asyncio.to_thread(requests_beside, stack, company, args.rounds))

    streams: list[harness.LiveStream] = []
    try:
        for level in args.levels:
            started = time.monotonic()
            while len(streams) < level:
                batch = [await harness.open_stream(stack.port, f"/api/stream/deal/{RECORD}/", cookie)
                         for _ in range(min(100, level - len(streams)))]
                await asyncio.wait_for(asyncio.gather(*(stream.ready.wait() for stream in batch)), 60)
                streams += batch
            opened = time.monotonic() - started
            await asyncio.sleep(2)
            statuses = Counter(stream.status for stream in streams)
            mb, fds = process_figures(pids)
            clients = redis_clients(redis_url)
            print(f"\n{level} streams open, {level / len(pids):g} per web process (opened in {opened:.1f} s):"
                  f" {dict(statuses)}")
            print(f"  web {mb:.1f} MB resident (+{mb - base_mb:.1f} MB: {(mb - base_mb) * 1024 / level:.1f} KB"
                  f" per stream), {fds} file descriptors (+{fds - base_fds}: {(fds - base_fds) / level:.2f} per"
                  f" stream); Redis: {clients} clients (+{clients - base_clients})")
            show_requests(f"{level} open", await asyncio.to_thread(requests_beside, stack, company, args.rounds))
            await fan_out(stack, company, streams)
    finally:
        await harness.close_streams(streams)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="500,1000,2000", help="open streams per web process, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--pool-max", type=int, default=10, help="DATABASE_POOL_MAX per process")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    args.levels = [int(level) * args.workers for level in args.levels.split(",")]
    print(f"Machine: {machine()}")
    print("The client (this process), the web, PostgreSQL and Redis share the machine.")
    with harness.services() as (folder, postgres, redis), harness.hooks_server() as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url, web_workers=args.workers,
                              extra_env={"DATABASE_POOL_MAX": str(args.pool_max), "LOGIN_RATE": "100000/minute"})
        try:
            stack.start()
            company = harness.set_up_company(stack, hooks.url)
            asyncio.run(run(args, stack, company, redis.url))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
