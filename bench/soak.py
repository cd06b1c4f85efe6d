"""Soak: the production stack under steady clicks and custom messages for minutes; nothing may drift.

    .venv/bin/python bench/soak.py [--minutes 3] [--clicks 12] [--messages 8]

Runs what the fault tests run (testing/stack.py: gunicorn with 2 uvicorn workers, a threaded
delivery worker, a housekeeping worker and beat, on a PostgreSQL cluster and a Redis server of its own)
against a webhook receiver on 127.0.0.1 that answers at once, and offers clicks and custom messages at
fixed rates (open loop: the load does not slow down when the server does). It prints
- answers by status (goal: no 5xx at all) and click latency p50/p99;
- deliveries: every accepted click's webhook arrived exactly once and was recorded as delivered;
- each process's resident memory at the end of the first minute (the baseline, same run) and its
  growth after it (goal: flat, within noise).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, paced
from testing import stack as harness

PROCESSES = ("web", "worker", "housekeeping", "beat")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clicks", type=float, default=12.0, help="clicks per second")
    parser.add_argument("--messages", type=float, default=8.0, help="custom messages per second")
    args = parser.parse_args()
    seconds = args.minutes * 60
    print(f"Machine: {machine()}")
    print(f"Soak: {args.minutes:g} min, {args.clicks:g} clicks/s and {args.messages:g} custom messages/s")

    with harness.services() as (folder, postgres, redis), harness.hooks_server() as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url)
        stack.start()
        try:
            company = harness.set_up_company(stack, hooks.url)
            lock = threading.Lock()
            statuses: Counter[str] = Counter()
            click_ms: list[float] = []
            accepted: list[str] = []
            open_events: list[str] = []

            def click() -> None:
                answer = harness.click(stack, company, record=str(len(accepted) % 500), timeout=15)
                with lock:
                    statuses[f"click {answer.status}"] += 1
                    click_ms.append(answer.seconds * 1000)
                    if answer.status == 202:
                        accepted.append(answer.body["event_id"])
                        open_events.append(answer.body["event_id"])
                        del open_events[:-50]  # the latest clicks: their windows are open

            def message() -> None:
                with lock:
                    event_id = open_events[int(time.monotonic() * 1000) % len(open_events)] if open_events else None
                if event_id is None:
                    return
                answer = harness.call("POST", f"{stack.base}/api/trigger-message",
                                      {"event_id": event_id, "message": "Step <b>done</b>", "message_type": "info"})
                with lock:
                    statuses[f"message {answer.status}"] += 1

            memory: dict[str, list[tuple[float, float]]] = {name: [] for name in PROCESSES}
            stop = threading.Event()

            def sample() -> None:
                started = time.monotonic()
                while not stop.wait(5):
                    for name in PROCESSES:
                        memory[name].append((time.monotonic() - started, stack.rss_mb(name)))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            with ThreadPoolExecutor(64) as pool:
                threads = [threading.Thread(target=paced, args=(rate, int(rate * seconds), work, pool))
                           for rate, work in ((args.clicks, click), (args.messages, message))]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            stop.set()
            sampler.join()

            # Every accepted click ends: delivered exactly once (or the run failed).
            deadline = time.monotonic() + 60
            pending = set(accepted)
            ended: Counter[str] = Counter()
            while pending and time.monotonic() < deadline:
                for event_id in list(pending):
                    body = harness.event(stack, company, event_id).body
                    if isinstance(body, dict) and body.get("delivery") != "pending":
                        ended[body["delivery"]] += 1
                        pending.discard(event_id)
                time.sleep(0.5)
            twice = sum(1 for event_id in accepted if hooks.count(event_id) > 1)
            missing = sum(1 for event_id in accepted if hooks.count(event_id) == 0)
        finally:
            stack.stop()

    fivexx = sum(count for key, count in statuses.items() if key.split()[1].startswith("5"))
    print("\nAnswers:", ", ".join(f"{key}: {count}" for key, count in sorted(statuses.items())))
    print(f"  5xx: {fivexx} (goal 0)")
    quantiles = statistics.quantiles(click_ms, n=100)
    print(f"  click answered in p50 {quantiles[49]:.1f} ms, p99 {quantiles[98]:.1f} ms")
    print(f"Deliveries: {len(accepted)} accepted; delivered {ended['delivered']}, failed {ended['failed']},"
          f" still pending {len(pending)}; webhooks arrived twice: {twice}, never: {missing} (goal: all once)")
    print("Memory (resident, MB): at 1 min (baseline) -> at the end, and the most after 1 min")
    for name, samples in memory.items():
        later = [mb for at, mb in samples if at >= 60]
        if not later:
            continue
        base, end, peak = later[0], later[-1], max(later)
        print(f"  {name:13s} {base:7.1f} -> {end:7.1f}  (max {peak:.1f}, growth {100 * (end - base) / base:+.1f} %)")


if __name__ == "__main__":
    main()
