"""Click (202) to webhook arrival on the production stack: steady, burst and noisy neighbours.

    .venv/bin/python bench/click_to_webhook.py [--scenario steady|fields|burst|drain|neighbours|all] [--seconds 20]
        [--steady-rate 32] [--receiver process|thread] [--web-nice 10] [--profile FILE]

The stack of the fault tests (testing/stack.py: gunicorn with 2 uvicorn workers at a lower CPU
priority than the delivery worker, as deployed (`--web-nice 0` for equal shares), one delivery
worker process with -P gevent -c 2000, a housekeeping worker, beat, a PostgreSQL and a Redis of its own)
against a receiver on 127.0.0.1 that notes when each click's webhook arrives and answers after a delay.
- steady: 32 users clicking continuously, the receiver answers at once: clicks/s and click -> webhook
  p50/p99, press (the click sent) -> webhook and -> 202, each process's CPU per click. Baseline (same
  run): a plain requests.Session loop posting the same payloads to the same receiver from 32 threads,
  its request time p50/p99. Goal: p50 < 20 ms, p99 < 100 ms.
- fields: steady twice in the same run, first on a button without fields (the baseline), then on a
  button with 5 inputs and 3 record fields (their values from a signed embed's credential, as the
  panel holds it): click -> webhook p99 of each and their ratio (goal: within 1.5x).
- burst: 2,000 clicks in 20 s to an automation that answers after 10 s: click -> webhook p99 (goal
  < 250 ms), answers recorded as messages, the delivery worker's peak memory (goal < 400 MB) and the
  most deliveries in flight at once.
- drain: the delivery process's own capacity: with the worker stopped, 2,000 clicks are queued; then
  the worker starts and the bench times first to last arrival (deliveries/s) and the worker's CPU per
  delivery (`--profile FILE`: py-spy's folded stacks of the worker meanwhile). Baseline (same run):
  the requests.Session loop from 32 threads straight to the receiver.
- neighbours: company A floods a 30 s automation with 1,000 clicks while company B clicks 5 times a
  second to an instant one: B's click -> webhook p99, against B alone earlier in the same run (goal:
  within 2x). B clicks for as long as A's deliveries are in flight (A's clicks over `--seconds`, then
  their answers 30 s later, which the worker records while B clicks), and alone for as long.

The receiver runs in a process of its own (bench/receiver.py, one event loop), so the moment a webhook
arrives is not noted late by the bench's own threads; `--receiver thread` uses the fault tests'
thread-per-connection receiver inside the bench process instead (the figures before 2026-12-01).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, VENV_BIN, free_port, machine, paced
from testing import stack as harness


class Receiver:
    """What the scenarios ask of the receiver, in either process."""

    url: str

    def arrivals(self) -> dict[str, float]:
        raise NotImplementedError

    def set_delay(self, path: str, seconds: float) -> None:
        raise NotImplementedError

    def peak_in_flight(self) -> int:
        raise NotImplementedError


class ThreadReceiver(Receiver):
    def __init__(self, hooks: Receiver) -> None:
        self.hooks, self.url = hooks, hooks.url

    def arrivals(self) -> dict[str, float]:
        with self.hooks.lock:
            return dict(self.hooks.arrived)

    def set_delay(self, path: str, seconds: float) -> None:
        self.hooks.delays[path] = seconds

    def peak_in_flight(self) -> int:
        return self.hooks.peak_in_flight


class ProcessReceiver(Receiver):
    def __init__(self, base: str) -> None:
        self.base, self.url = base, f"{base}/hook"

    def _state(self) -> dict:
        return requests.get(f"{self.base}/_arrivals", timeout=30).json()

    def arrivals(self) -> dict[str, float]:
        return self._state()["arrived"]

    def set_delay(self, path: str, seconds: float) -> None:
        requests.put(f"{self.base}/_delays", json={path: seconds}, timeout=5).raise_for_status()

    def peak_in_flight(self) -> int:
        return self._state()["peak_in_flight"]


@contextmanager
def receiver(kind: str) -> Iterator[Receiver]:
    if kind == "thread":
        with harness.hooks_server() as hooks:
            yield ThreadReceiver(hooks)
        return
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "uvicorn"), "bench.receiver:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--backlog", "4096"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/_arrivals", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("The receiver did not start") from None
                time.sleep(0.1)
        yield ProcessReceiver(base)
    finally:
        proc.terminate()
        proc.wait(10)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Clicker:
    """Clicks and the time each was answered 202 (the moment the click was accepted). Each clicking
    thread keeps its connection open, as a browser does (a new connection per click costs the web
    server and this process a TCP handshake each)."""

    def __init__(self, stack: harness.Stack, company: harness.Company, *, button: str | None = None,
                 authorization: str | None = None, fields: dict | None = None, record: str | None = None) -> None:
        self.stack, self.company = stack, company
        self.authorization = authorization or f"Token {company.token}"
        self.fields, self.record = fields, record
        self.accepted: dict[str, float] = {}
        self.pressed: dict[str, float] = {}  # when each accepted click was sent: what its user waited from
        self.statuses: dict[int | str, int] = {}
        self.failures: dict[str, str] = {}
        self.lock = threading.Lock()
        self.local = threading.local()
        self.url = f"{stack.base}/api/buttons/{button or company.button}/click"

    def click(self, record: str = "42") -> None:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.headers["Authorization"] = self.authorization
        pressed = time.time()
        try:
            answer = session.post(self.url, json={"resource": "deal", "view": "details",
                                                  "selectedIds": self.record or record, "fields": self.fields},
                                  timeout=30)
            status, event_id = answer.status_code, answer.json().get("event_id") if answer.status_code == 202 else None
        except (requests.RequestException, ValueError) as exc:  # counted by what went wrong
            status, event_id = exc.__class__.__name__, None
            with self.lock:
                self.failures.setdefault(status, repr(exc)[:300])  # the first of each kind, printed
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if event_id:
                self.accepted[event_id], self.pressed[event_id] = time.time(), pressed

    def latencies_ms(self, hooks: Receiver) -> list[float]:
        # Arrival minus acceptance: the 202 is sent a moment after the commit, so a webhook can beat it.
        arrived = hooks.arrivals()
        return [max(0.0, arrived[e] - t) * 1000 for e, t in self.accepted.items() if e in arrived]

    def from_press_ms(self, hooks: Receiver) -> list[float]:
        """Arrival minus the moment the click was sent: the 202's own time included, what a user waits."""
        arrived = hooks.arrivals()
        return [(arrived[e] - t) * 1000 for e, t in self.pressed.items() if e in arrived]


def wait_arrivals(hooks: Receiver, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = hooks.arrivals()
        if all(e in arrived for e in ids):
            return
        time.sleep(0.5)


def steady(stack: harness.Stack, hooks: Receiver, company: harness.Company, seconds: float,
           rate: float = 0.0, clicker: Clicker | None = None, label: str = "") -> list[float]:
    """32 users clicking back to back (rate 0: as fast as the server answers), or together `rate` clicks
    a second on a fixed schedule (an open loop: 32 users clicking once a second is rate 32)."""
    clicker = clicker or Clicker(stack, company)
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    def user(n: int) -> None:
        while time.monotonic() < stop:
            clicker.click(record=str(n))

    worker_cpu, web_cpu = cpu_seconds(stack.procs["worker"].pid), group_cpu_seconds(stack, "web")
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        if rate:
            paced(rate, int(rate * seconds), lambda: clicker.click(record=str(next(counter) % 32)), pool)
        else:
            list(pool.map(user, range(32)))
    elapsed = time.monotonic() - started
    worker_cpu = cpu_seconds(stack.procs["worker"].pid) - worker_cpu
    web_cpu = group_cpu_seconds(stack, "web") - web_cpu
    wait_arrivals(hooks, list(clicker.accepted), 30)
    lat = clicker.latencies_ms(hooks)
    arrived = hooks.arrivals()
    early = sum(1 for e, t in clicker.accepted.items() if e in arrived and arrived[e] < t)
    pressed = clicker.from_press_ms(hooks)
    answered = [(clicker.accepted[e] - t) * 1000 for e, t in clicker.pressed.items()]

    base = direct_baseline(hooks, company, seconds / 2)
    pace = f"paced at {rate:g} clicks/s" if rate else "back to back"
    print(f"steady{label} ({pace}): {len(clicker.accepted) / elapsed:.0f} clicks/s accepted ({clicker.statuses});"
          f" click -> webhook p50 {quantile(lat, 0.5):.1f} ms, p99 {quantile(lat, 0.99):.1f} ms"
          f" (goal p50 < 20, p99 < 100); {early} webhooks arrived before their click's 202 did (counted 0)")
    for kind, example in clicker.failures.items():
        print(f"  a failed click ({kind}): {example}")
    print(f"  press (the click sent) -> webhook p50 {quantile(pressed, 0.5):.1f} ms,"
          f" p99 {quantile(pressed, 0.99):.1f} ms; press -> 202 p50 {quantile(answered, 0.5):.1f} ms,"
          f" p99 {quantile(answered, 0.99):.1f} ms")
    print(f"  CPU while clicking: the delivery worker {worker_cpu / elapsed:.0%} of a core"
          f" ({worker_cpu / max(1, len(clicker.accepted)) * 1000:.1f} ms a click), the web processes"
          f" {web_cpu / elapsed:.0%} ({web_cpu / max(1, len(clicker.accepted)) * 1000:.1f} ms a click)")
    print(f"  baseline, a requests.Session loop straight to the receiver (32 threads): p50 "
          f"{quantile(base, 0.5):.1f} ms, p99 {quantile(base, 0.99):.1f} ms")
    return lat


ASKED_FIELDS = [
    {"label": "Deal", "kind": "record", "source": "title"}, {"label": "Value", "kind": "record", "source": "value"},
    {"label": "Stage", "kind": "record", "source": "stage_id"}, {"label": "Valid until", "type": "date"},
    {"label": "Amount", "type": "number", "required": True}, {"label": "Send to", "type": "email"},
    {"label": "Currency", "type": "select", "options": ["EUR", "USD"]}, {"label": "Note", "type": "textarea"},
]
ASKED_INPUTS = {"valid_until": "2026-02-28", "amount": "18400.50", "send_to": "ap@globex.example",
                "currency": "EUR", "note": "Thanks for the order."}


def fields(stack: harness.Stack, hooks: Receiver, seconds: float, rate: float) -> None:
    """A button with 5 inputs and 3 record fields (their values from a signed embed's credential) against
    a button without fields, same run, same load: click -> webhook p99 (goal: within 1.5x)."""
    company = harness.set_up_company(stack, hooks.url, company="400001", username="asks")
    plain = steady(stack, hooks, company, seconds, rate, label=", a button without fields (the baseline)")
    made = harness.call("POST", f"{stack.base}/api/buttons/", {
        "label": "Send quote", "kind": "webhook", "url": hooks.url, "resource": "deal", "view": "details",
        "messaging_enabled": True, "fields": ASKED_FIELDS}, token=company.token)
    if made.status != 201:
        raise RuntimeError(f"could not create the asking button: {made.status} {made.body}")
    access = stack.manage("shell", "--no-imports", "-c", (
        "from accounts.models import Member; from accounts.access import RecordClaims, issue_access; "
        "m = Member.objects.get(company__external_id='400001'); "
        "print(issue_access(m, ('deal', '42'), RecordClaims({'title': '120 licences for Globex', 'value': 18400, "
        "'stage_id': 3}, signed=True))[0])")).strip().splitlines()[-1]
    clicker = Clicker(stack, company, button=made.body["identifier"], authorization=f"Bearer {access}",
                      fields=ASKED_INPUTS, record="42")
    asked = steady(stack, hooks, company, seconds, rate, clicker,
                   label=", a button with 5 inputs and 3 record fields")
    ratio = quantile(asked, 0.99) / max(0.001, quantile(plain, 0.99))
    print(f"fields: click -> webhook p99 {quantile(asked, 0.99):.1f} ms with fields vs "
          f"{quantile(plain, 0.99):.1f} ms without: {ratio:.2f}x (goal: within 1.5x); p50 "
          f"{quantile(asked, 0.5):.1f} vs {quantile(plain, 0.5):.1f} ms")


def burst(stack: harness.Stack, hooks: Receiver, company: harness.Company, clicks: int, seconds: float,
          answer_after: float) -> None:
    hooks.set_delay("/burst", answer_after)
    clicker = Clicker(stack, company)
    peak_mb = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_mb
        while not done.wait(0.5):
            peak_mb = max(peak_mb, stack.rss_mb("worker"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(64) as pool:
        paced(clicks / seconds, clicks, clicker.click, pool)
    wait_arrivals(hooks, list(clicker.accepted), 60)
    time.sleep(answer_after + 3)
    done.set()
    lat = clicker.latencies_ms(hooks)
    states: dict[str, int] = {}
    for event_id in list(clicker.accepted)[:: max(1, len(clicker.accepted) // 200)]:  # a sample of 200
        body = harness.event(stack, company, event_id).body
        key = f"{body['delivery']} with {len(body['messages'])} message(s)"
        states[key] = states.get(key, 0) + 1
    print(f"burst: {clicks} clicks in {seconds:g} s to a {answer_after:g} s automation ({clicker.statuses}):"
          f" click -> webhook p50 {quantile(lat, 0.5):.1f} ms, p99 {quantile(lat, 0.99):.1f} ms (goal < 250),"
          f" {len(lat)} arrived; sampled events: {states}")
    print(f"  delivery worker peak memory {peak_mb:.0f} MB (goal < 400); most deliveries in flight at once:"
          f" {hooks.peak_in_flight()}")
    explain_slowest(stack, hooks, clicker)


def explain_slowest(stack: harness.Stack, hooks: Receiver, clicker: Clicker) -> None:
    """Where the slowest 2% of clicks spent their time: waiting to be claimed by the worker (the queue,
    the worker's scheduling), or between the claim and the webhook's arrival (sending it)."""
    import psycopg

    arrived = hooks.arrivals()
    lat = sorted(((arrived[e] - t, e) for e, t in clicker.accepted.items() if e in arrived), reverse=True)
    slowest = [e for _, e in lat[: max(1, len(lat) // 50)]]
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT id::text, extract(epoch from created_at), extract(epoch from claimed_at)"
                            " FROM buttons_clickevent WHERE id::text = ANY(%s)", [slowest]).fetchall()
    to_claim = sorted(float(c) - float(a) for _, a, c in rows if c is not None)
    to_arrive = sorted(arrived[e] - float(c) for e, _, c in rows if c is not None)
    print(f"  slowest {len(slowest)}: click -> claim p50 {quantile(to_claim, 0.5) * 1000:.0f} ms,"
          f" claim -> arrival p50 {quantile(to_arrive, 0.5) * 1000:.0f} ms")


def direct_baseline(hooks: Receiver, company: harness.Company, seconds: float) -> list[float]:
    """Request times of a plain requests.Session loop from 32 threads posting a click's payload."""
    body = json.dumps({"identifier": company.button, "resource": "deal", "view": "details", "userId": "1",
                       "companyId": "737569", "selectedIds": "42", "fields": None,
                       "event_id": "00000000-0000-4000-8000-000000000000"}).encode()
    times: list[float] = []
    stop = time.monotonic() + seconds

    def direct(_: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            t = time.monotonic()
            session.post(hooks.url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
            times.append((time.monotonic() - t) * 1000)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(direct, range(32)))
    return times


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(stack: harness.Stack, name: str) -> float:
    return sum(cpu_seconds(pid) for pid in stack.pids(name))


def drain(stack: harness.Stack, hooks: Receiver, company: harness.Company, clicks: int,
          profile: str = "") -> None:
    stack.kill("worker", signal.SIGTERM)
    clicker = Clicker(stack, company)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda n: clicker.click(record=str(n % 50)), range(clicks)))
    stack.start_worker()
    before = cpu_seconds(stack.procs["worker"].pid)
    # py-spy samples the worker while it drains (its folded stacks, for a flame graph or a grep).
    spy = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--format", "raw", "--nonblocking", "-r", "200",
                            "-o", profile, "-p", str(stack.procs["worker"].pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if profile else None
    wait_arrivals(hooks, list(clicker.accepted), 60)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    used = cpu_seconds(stack.procs["worker"].pid) - before
    arrived = hooks.arrivals()
    arrivals = sorted(arrived[e] for e in clicker.accepted if e in arrived)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
    base = direct_baseline(hooks, company, 10)
    print(f"drain: {len(arrivals)} of {clicks} queued clicks delivered by one process in {span:.1f} s:"
          f" {len(arrivals) / span:.0f} deliveries/s, {used / max(1, len(arrivals)) * 1000:.1f} ms of its CPU each")
    print(f"  baseline, a requests.Session loop straight to the receiver (32 threads): {len(base) / 10:.0f} requests/s")


def neighbours(stack: harness.Stack, hooks: Receiver, seconds: float) -> None:
    hooks.set_delay("/slow", 30.0)
    a = harness.set_up_company(stack, hooks.url.replace("/hook", "/slow"), company="100001", username="acme")
    b = harness.set_up_company(stack, hooks.url.replace("/hook", "/fast"), company="100002", username="bravo")
    # While A's deliveries are in flight: its clicks come in over `seconds`, its answers 30 s later.
    span = seconds + 30.0
    alone = Clicker(stack, b)
    with ThreadPoolExecutor(16) as pool:
        paced(5, int(5 * span), alone.click, pool)
    wait_arrivals(hooks, list(alone.accepted), 30)
    flooded = Clicker(stack, b)
    flood = Clicker(stack, a)
    with ThreadPoolExecutor(64) as pool:
        flooding = threading.Thread(target=paced, args=(1000 / seconds, 1000, flood.click, pool))
        flooding.start()
        paced(5, int(5 * span), flooded.click, pool)
        flooding.join()
    wait_arrivals(hooks, list(flooded.accepted), 30)
    before, during = alone.latencies_ms(hooks), flooded.latencies_ms(hooks)
    ratio = quantile(during, 0.99) / max(quantile(before, 0.99), 0.001)
    print(f"neighbours: B alone p99 {quantile(before, 0.99):.1f} ms (p50 {quantile(before, 0.5):.1f},"
          f" max {max(before):.1f}); while A floods a 30 s automation with 1,000 clicks: B p99"
          f" {quantile(during, 0.99):.1f} ms (p50 {quantile(during, 0.5):.1f}, max {max(during):.1f}),"
          f" {len(during)} of {len(flooded.accepted)} arrived;"
          f" ratio {ratio:.2f} (goal <= 2); A: {flood.statuses}")
    explain_slowest(stack, hooks, flooded)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="all",
                        choices=["steady", "fields", "burst", "drain", "neighbours", "all"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--receiver", default="process", choices=["process", "thread"])
    parser.add_argument("--web-nice", type=int, default=harness.WEB_NICE,
                        help="the web processes' niceness (default as deployed: deliveries before new clicks"
                             " when the CPU is short; 0 gives every process an equal share)")
    parser.add_argument("--profile", default="",
                        help="drain: write py-spy's folded stacks of the delivery worker to this file")
    parser.add_argument("--steady-rate", type=float, default=0.0,
                        help="clicks a second for the steady scenario (default: 32 users back to back)")
    args = parser.parse_args()
    print(f"Machine: {machine()}; receiver: {args.receiver}")
    with harness.services() as (folder, postgres, redis), receiver(args.receiver) as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url, web_nice=args.web_nice,
                              extra_env={"DATABASE_POOL_MAX": "20"})
        stack.start()
        print(f"  the web processes run at nice {stack.web_nice}, the delivery worker at 0")
        try:
            if args.scenario in ("steady", "all"):
                steady(stack, hooks, harness.set_up_company(stack, hooks.url), args.seconds, args.steady_rate)
            if args.scenario in ("fields", "all"):
                fields(stack, hooks, args.seconds, args.steady_rate)
            if args.scenario in ("burst", "all"):
                company = harness.set_up_company(stack, hooks.url.replace("/hook", "/burst"), company="200001",
                                                 username="burst")
                burst(stack, hooks, company, 2000, args.seconds, 10.0)
            if args.scenario in ("drain", "all"):
                drain(stack, hooks, harness.set_up_company(stack, hooks.url.replace("/hook", "/drain"),
                                                           company="300001", username="drain"), 2000, args.profile)
            if args.scenario in ("neighbours", "all"):
                neighbours(stack, hooks, args.seconds)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
