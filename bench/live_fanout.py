"""Live updates at scale: thousands of open panels on one web process, one Redis connection for all.

    .venv/bin/python bench/live_fanout.py [--levels 1000,2500,5000] [--messages 20]

Runs the production stack (testing/stack.py: gunicorn with one uvicorn worker, the delivery worker,
housekeeping and beat, on a PostgreSQL cluster and a Redis server of its own). An async client in this
process holds the streams on raw connections (one signed-in user): 100 on a "hot" deal, 1 on a "lone"
deal, the rest 10 to a deal on other deals. At each level it prints:
- the web process's Redis connections (its sockets to Redis's port), its resident memory and the cost
  of one open stream against the same process with no stream open;
- for custom messages posted to the hot and the lone deal (one at a time, `--messages` each), the time
  from sending the POST to the event's arrival at every open page of that deal: p50/p95/p99;
- the baseline, same posts, same run: the time from sending the POST to the message's arrival at a bare
  Redis subscriber on the deal's channel in this process (what the web's store-and-publish costs, with
  no fan-out at all).
Goals (DESIGN "Live updates at scale", 2 cores, everything on one machine): 5,000 streams on one web
process, at most 3 Redis connections from it, at most 40 KB per stream, every open page p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine
from testing import stack as harness

PASSWORD = "pw-faults-123"
HOT, LONE = "9001", "9002"


def web_pid(stack: harness.Stack) -> int:
    (pid,) = sorted(stack.pids("web") - {stack.procs["web"].pid})  # the one uvicorn worker
    return pid


def redis_connections(pid: int, redis_port: int, redis_url: str) -> list[str]:
    """The process's TCP connections to Redis's port (its sockets' inodes in /proc/net/tcp), each named
    by what Redis says it last did (CLIENT LIST: its name, or its last command)."""
    import redis

    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == redis_port and fields[3] == "01":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    clients = redis.Redis.from_url(redis_url).client_list()
    return sorted(c.get("name") or c.get("cmd", "?") for c in clients if int(c["addr"].rsplit(":", 1)[1]) in ports)


def named(connections: list[str]) -> str:
    return f"{len(connections)} ({', '.join(f'{n} {name}' for name, n in sorted(Counter(connections).items()))})"


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
    return f"p50 {cuts[49]:6.1f} ms, p95 {cuts[94]:6.1f} ms, p99 {cuts[98]:6.1f} ms ({len(values)} samples)"


async def post(stack: harness.Stack, event_id: str, text: str) -> tuple[float, int]:
    sent = time.monotonic()
    answer = await asyncio.to_thread(harness.call, "POST", f"{stack.base}/api/trigger-message",
                                     {"event_id": event_id, "message": text})
    return sent, answer.status


async def measure(stack: harness.Stack, company: harness.Company, record: str, pages: list[harness.LiveStream],
                  bare: list[tuple[float, dict]], count: int) -> tuple[list[float], list[float], int]:
    """Post `count` custom messages to the record (a new click every 10); the delays to every page and
    to the bare subscriber, in ms."""
    delays: list[float] = []
    floor: list[float] = []
    failed = 0
    event_id = ""
    for n in range(count):
        if n % 10 == 0:
            click = await asyncio.to_thread(harness.click, stack, company, record)
            event_id = click.body["event_id"]
            await asyncio.sleep(1.5)  # its HTTP-response message arrives first, then the posts
        before = [len(page.logs()) for page in pages]
        bare_before = len(bare)
        text = f"Step {n} done"
        sent, status = await post(stack, event_id, text)
        if status != 201:
            failed += 1
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            len(bare) > bare_before and all(len(page.logs()) > seen for page, seen in zip(pages, before, strict=True))
        ):  # (a page the message never reaches holds this loop 10 s and shows as missing samples)
            await asyncio.sleep(0.01)
        for page, seen in zip(pages, before, strict=True):
            # The post's own event: the one carrying its text (an older server's events carried only the
            # message's id: then the first new message event, as the posts go one at a time).
            fresh = [(at, data) for at, data in page.logs()[seen:] if "message_id" in data]
            ours = [at for at, data in fresh if data.get("message", {}).get("content") == text] or \
                [at for at, data in fresh if "message" not in data][:1]
            delays += [(at - sent) * 1000 for at in ours]
        floor += [(at - sent) * 1000 for at, data in bare[bare_before:] if data.get("content") == text] or \
            [(at - sent) * 1000 for at, _ in bare[bare_before:bare_before + 1]]
        await asyncio.sleep(0.2)
    return delays, floor, failed


async def bare_subscriber(redis_url: str, channels: list[str], into: list[tuple[float, dict]]) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(*channels)
    try:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message and message.get("type") == "message":
                data = json.loads(message["data"])
                into.append((time.monotonic(), data.get("message") or {}))
    finally:
        await pubsub.aclose()
        await client.aclose()


async def run(args: argparse.Namespace, stack: harness.Stack, company: harness.Company, redis: harness.Redis,
              company_pk: int) -> None:
    cookie = harness.session_cookie(stack, "alice", PASSWORD)
    pid = web_pid(stack)
    await asyncio.sleep(2)
    base_kb = harness.rss_kb(pid)
    print(f"No stream open (baseline): web process {base_kb / 1024:.1f} MB resident, Redis connections: "
          f"{named(redis_connections(pid, redis.port, redis.url))}")
    bare: list[tuple[float, dict]] = []
    channels = [f"oneclick:log:{company_pk}:deal:{HOT}", f"oneclick:log:{company_pk}:deal:{LONE}"]
    bare_task = asyncio.create_task(bare_subscriber(redis.url, channels, bare))
    streams: dict[str, list[harness.LiveStream]] = {HOT: [], LONE: []}
    others: list[harness.LiveStream] = []
    try:
        for level in args.levels:
            started = time.monotonic()
            wanted = {HOT: 100, LONE: 1}
            while len(streams[HOT]) + len(streams[LONE]) + len(others) < level:
                batch: list[harness.LiveStream] = []
                for _ in range(min(100, level - len(streams[HOT]) - len(streams[LONE]) - len(others))):
                    record = next((r for r, n in wanted.items() if len(streams[r]) < n), None)
                    if record is None:
                        record = f"{10000 + len(others) // 10}"
                    stream = await harness.open_stream(stack.port, f"/api/stream/deal/{record}/", cookie)
                    (streams[record] if record in streams else others).append(stream)
                    batch.append(stream)
                await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in batch)), 120)
            everyone = streams[HOT] + streams[LONE] + others
            refused = sum(1 for s in everyone if s.status != 200)
            opened = time.monotonic() - started
            await asyncio.sleep(3)
            kb = harness.rss_kb(pid)
            connections = redis_connections(pid, redis.port, redis.url)
            print(f"\n{level} streams open on one web process (opened in {opened:.1f} s, {refused} refused):")
            print(f"  Redis connections from the web process: {named(connections)} (goal: at most 3)")
            print(f"  web process {kb / 1024:.1f} MB resident: +{(kb - base_kb) / level:.1f} KB per open stream"
                  f" (goal: at most 40 KB)")
            for record, label in ((HOT, "100 open pages"), (LONE, "1 open page")):
                delays, floor, failed = await measure(stack, company, record, streams[record], bare, args.messages)
                print(f"  a deal with {label}: post -> event at every page: {percentiles(delays)}"
                      f"{f'; {failed} posts failed' if failed else ''}")
                print(f"    baseline, post -> a bare Redis subscriber:      {percentiles(floor)}")
            after = redis_connections(pid, redis.port, redis.url)
            print(f"  Redis connections after the posts and their clicks: {named(after)}")
    finally:
        bare_task.cancel()
        await asyncio.gather(bare_task, return_exceptions=True)
        await harness.close_streams(streams[HOT] + streams[LONE] + others)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1000,2500,5000", help="open streams on the web process")
    parser.add_argument("--messages", type=int, default=20, help="custom messages per deal and level")
    args = parser.parse_args()
    args.levels = [int(level) for level in args.levels.split(",")]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this client's sockets, and the web's (inherited)
    print(f"Machine: {machine()}")
    print("The client (this process), the web, PostgreSQL and Redis share the machine.")
    with harness.services() as (folder, postgres, redis), harness.hooks_server() as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url, web_workers=1,
                              extra_env={"LOGIN_RATE": "100000/minute"})
        try:
            stack.start()
            company = harness.set_up_company(stack, hooks.url)
            company_pk = int(stack.manage("shell", "--no-imports", "-c", "from accounts.models import Company; "
                                          "print(Company.objects.get(external_id='737569').pk)"))
            asyncio.run(run(args, stack, company, redis, company_pk))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
