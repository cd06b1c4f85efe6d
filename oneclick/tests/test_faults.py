"""The production stack through database, broker and worker faults (README: "What users see when something
fails", "Health and logs").

Real processes (gunicorn with uvicorn workers, a threaded delivery worker, a housekeeping worker, beat)
run against a PostgreSQL cluster and a Redis server of this module's own, which the tests stop, restart,
pause and kill by process id. The promise under test: a click answered 202 is delivered exactly once or
reported to its clicker as not delivered, and every request is answered within 3 s, never with a 500.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from testing import stack as harness

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
ANSWERED_WITHIN = 3.0

reason = harness.have_services()
if reason:
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=f"fault tests need {reason}"))


@dataclass
class Env:
    stack: harness.Stack
    postgres: harness.Postgres
    redis: harness.Redis
    hooks: harness.Hooks
    company: harness.Company


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    keep = bool(os.environ.get("FAULTS_KEEP"))  # keep the logs of a failed run in /tmp/oneclick-faults-*
    with harness.services(keep=keep) as (folder, postgres, redis), harness.hooks_server() as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url)
        try:
            stack.start()
            yield Env(stack, postgres, redis, hooks, harness.set_up_company(stack, hooks.url))
        finally:
            stack.stop()


@dataclass
class Load:
    """Clicks from several threads until stopped; every answer kept (status, seconds, body, headers)."""

    env: Env
    answers: list[harness.Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, threads: int = 4, pause: float = 0.05) -> Iterator[None]:
        def clicker(n: int) -> None:
            while not self.stop.is_set():
                self.answers.append(harness.click(self.env.stack, self.env.company, record=str(n), timeout=15))
                time.sleep(pause)

        with ThreadPoolExecutor(threads) as pool:
            for n in range(threads):
                pool.submit(clicker, n)
            try:
                yield
            finally:
                self.stop.set()

    def accepted(self) -> list[str]:
        return [a.body["event_id"] for a in self.answers if a.status == 202]


def settle(env: Env, event_ids: list[str], timeout: float = 30) -> dict[str, dict]:
    """Each event once it is no longer pending (via the clicker's own API)."""
    ended: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(event_ids):
        for event_id in event_ids:
            if event_id not in ended:
                body = harness.event(env.stack, env.company, event_id).body
                if isinstance(body, dict) and body.get("delivery") in ("delivered", "failed"):
                    ended[event_id] = body
        assert time.monotonic() < deadline, f"still pending: {sorted(set(event_ids) - set(ended))}"
        time.sleep(0.2)
    return ended


def assert_delivered_once_or_reported(env: Env, event_ids: list[str]) -> dict[str, int]:
    outcomes = {"delivered": 0, "failed": 0}
    for event_id, body in settle(env, event_ids).items():
        seen = env.hooks.count(event_id)
        if body["delivery"] == "delivered":
            assert seen == 1, f"{event_id} was delivered {seen} times"
        else:
            # Not delivered: its clicker reads why, and the automation never got it twice.
            assert seen <= 1 and any(m["message_type"] == "error" for m in body["messages"]), body
        outcomes[body["delivery"]] += 1
    return outcomes


def header(answer: harness.Answer, name: str) -> str | None:
    return {key.lower(): value for key, value in answer.headers.items()}.get(name.lower())


def assert_clean_failure(answer: harness.Answer) -> None:
    """A 503 is JSON with a sentence and Retry-After, and came fast; nothing else may fail."""
    assert answer.status in (200, 201, 202, 400, 503), (answer.status, answer.body)
    assert answer.seconds < ANSWERED_WITHIN, f"answered {answer.status} after {answer.seconds:.1f} s"
    if answer.status == 503:
        assert isinstance(answer.body, dict) and answer.body["detail"].endswith("."), answer.body
        assert header(answer, "Retry-After")


def healthz(env: Env) -> harness.Answer:
    answer = harness.call("GET", f"{env.stack.base}/healthz")
    assert answer.seconds < ANSWERED_WITHIN
    return answer


def test_healthz_answers_ok_when_both_services_answer(env: Env) -> None:
    answer = healthz(env)
    assert (answer.status, answer.body) == (200, {"database": "ok", "broker": "ok"})


def test_pages_render_in_production_before_collectstatic(env: Env) -> None:
    # DEBUG off and no collected static files (this checkout has none): served from their folders.
    assert not (harness.ROOT / "staticfiles" / "staticfiles.json").exists()
    page = harness.call("GET", f"{env.stack.base}/login/")
    assert page.status == 200 and "/static/panel.css" in page.body
    assert harness.call("GET", f"{env.stack.base}/static/panel.css").status == 200


def test_a_burst_to_a_slow_automation_leaves_every_webhook_inside_its_window(env: Env) -> None:
    """200 clicks to an automation that answers after 3 s: a delivery waiting on its answer costs a
    greenlet, not a thread, so none waits for a free slot (a 32-thread worker took 17 s for the last)."""
    env.hooks.delays["/hook"] = 3.0
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: (time.time(), harness.click(env.stack, env.company, record=f"b{n}")),
                                    range(200)))
        accepted = {a.body["event_id"]: at for at, a in answers if a.status == 202}
        assert len(accepted) == 200
        outcomes = assert_delivered_once_or_reported(env, list(accepted))
    finally:
        env.hooks.delays.pop("/hook")
    assert outcomes == {"delivered": 200, "failed": 0}
    late = [env.hooks.arrived[e] - at for e, at in accepted.items() if env.hooks.arrived[e] - at > 5]
    assert late == [], f"{len(late)} webhooks left more than 5 s after their click"


def test_a_postgres_restart_with_warm_pools_loses_no_click(env: Env) -> None:
    load = Load(env)
    for _ in load.run(threads=4):
        time.sleep(3)  # every process's pool is warm: clicks, claims, answers recorded
        env.postgres.stop()
        time.sleep(2)
        env.postgres.start()
        time.sleep(4)
    assert load.answers and all(a.status in (202, 503) for a in load.answers), {a.status for a in load.answers}
    for answer in load.answers:
        assert_clean_failure(answer)
    after = [a for a in load.answers[-8:]]
    assert all(a.status == 202 for a in after), "clicks did not recover after the restart"
    outcomes = assert_delivered_once_or_reported(env, load.accepted())
    assert outcomes["failed"] == 0, outcomes


def test_postgres_down_for_ten_seconds_under_load(env: Env) -> None:
    load = Load(env)
    for _ in load.run(threads=4):
        time.sleep(2)
        env.postgres.stop()
        stopped = time.monotonic()
        while time.monotonic() - stopped < 10:
            down = healthz(env)
            assert down.status == 503 and down.body["database"] != "ok" and down.body["broker"] == "ok"
            api = harness.call("GET", f"{env.stack.base}/api/panel/deal/42/", token=env.company.token)
            assert_clean_failure(api)
            assert api.status == 503 and api.body["detail"].startswith("The database is unavailable")
            page = harness.call("GET", f"{env.stack.base}/admin/login/?next=/admin/")
            assert page.status in (200, 503) and page.seconds < ANSWERED_WITHIN
            time.sleep(1)
        env.postgres.start()
        back = time.monotonic()
        while harness.click(env.stack, env.company, record="back").status != 202:
            assert time.monotonic() - back < ANSWERED_WITHIN, "no recovery within 3 s of the database's return"
            time.sleep(0.1)
        time.sleep(2)
    statuses = {a.status for a in load.answers}
    assert 503 in statuses and 202 in statuses, statuses
    for answer in load.answers:
        assert_clean_failure(answer)
    assert_delivered_once_or_reported(env, load.accepted())
    assert healthz(env).status == 200


def test_redis_down_then_paused(env: Env) -> None:
    # A click whose window is open, for the automation's custom messages while Redis is away.
    open_event = harness.click(env.stack, env.company, record="redis").body["event_id"]
    settle(env, [open_event])
    env.redis.stop()
    try:
        answers = [harness.click(env.stack, env.company, record="redis-down") for _ in range(3)]
        for answer in answers:
            assert_clean_failure(answer)
            assert answer.status == 503
        health = healthz(env)
        assert health.status == 503 and health.body["database"] == "ok" and health.body["broker"] != "ok"
        # What needs no queue keeps working: custom messages, misses answered, signing in.
        posted = harness.call("POST", f"{env.stack.base}/api/trigger-message",
                        {"event_id": open_event, "message": "Still here", "message_type": "success"})
        assert posted.status == 201 and posted.seconds < ANSWERED_WITHIN
        miss = harness.call("POST", f"{env.stack.base}/api/trigger-message", {"event_id": "nope", "message": "x"})
        assert miss.status == 400 and miss.seconds < ANSWERED_WITHIN
        token = harness.call("POST", f"{env.stack.base}/api/auth/token/",
                       {"username": "alice", "password": "pw-faults-123"})
        assert token.status == 200 and token.seconds < ANSWERED_WITHIN
    finally:
        env.redis.start()
    time.sleep(1)
    again = [harness.click(env.stack, env.company, record="redis-back") for _ in range(3)]
    assert [a.status for a in again] == [202, 202, 202]
    assert assert_delivered_once_or_reported(env, [a.body["event_id"] for a in again])["delivered"] == 3

    env.redis.pause()
    try:
        started = time.monotonic()
        paused = [harness.click(env.stack, env.company, record="redis-paused"),
                  harness.call("POST", f"{env.stack.base}/api/trigger-message", {"event_id": "nope", "message": "x"}),
                  harness.call("POST", f"{env.stack.base}/api/auth/token/",
                         {"username": "alice", "password": "pw-faults-123"}),
                  healthz(env)]
        for answer in paused:
            assert answer.status in (200, 400, 503) and answer.seconds < ANSWERED_WITHIN, (answer.status,
                                                                                            answer.seconds)
        assert paused[1].status == 400 and paused[2].status == 200 and paused[3].status == 503
        assert time.monotonic() - started < 4 * ANSWERED_WITHIN
    finally:
        env.redis.resume()
    time.sleep(1)
    resumed = harness.click(env.stack, env.company, record="redis-resumed")
    assert resumed.status == 202
    assert assert_delivered_once_or_reported(env, [resumed.body["event_id"]])["delivered"] == 1


SILENT_ANSWERED_WITHIN = 5.0  # a silent server is declared dead after DEAD_PEER_SECONDS (2.5 s)


def test_postgres_and_redis_silent_for_ten_seconds_under_load(env: Env) -> None:
    """A partition: both servers stop answering without closing a connection (packets held, not refused).
    Every request is answered within 5 s, nothing accepted is lost, and service returns with no restart."""
    processes = {name: env.stack.pids(name) for name in env.stack.procs}
    load = Load(env)
    during: list[harness.Answer] = []
    for _ in load.run(threads=4):
        time.sleep(2)
        try:
            with harness.partitioned(env.postgres.port, env.redis.port):
                started = time.monotonic()
                while time.monotonic() - started < 10:
                    during.append(harness.call("GET", f"{env.stack.base}/healthz", timeout=30))
                    during.append(harness.call("GET", f"{env.stack.base}/api/panel/deal/42/", token=env.company.token,
                                               timeout=30))
                    time.sleep(0.5)
        except harness.PartitionUnavailable as exc:
            pytest.fail(f"the partition could not be made, so nothing was tested: {exc}")
        back = time.monotonic()
        while harness.click(env.stack, env.company, record="healed").status != 202:
            assert time.monotonic() - back < 15, "no recovery within 15 s of the partition's end"
            time.sleep(0.2)
        time.sleep(2)
    assert any(a.status == 503 for a in during), [a.status for a in during]
    for answer in [*during, *load.answers]:
        assert answer.status in (200, 202, 503), (answer.status, answer.body)
        assert answer.seconds < SILENT_ANSWERED_WITHIN, f"answered {answer.status} after {answer.seconds:.1f} s"
        if answer.status == 503:
            assert isinstance(answer.body, dict) and header(answer, "Retry-After"), answer.body
    statuses = {a.status for a in load.answers}
    assert 503 in statuses and 202 in statuses, statuses
    assert_delivered_once_or_reported(env, load.accepted())
    assert healthz(env).status == 200
    assert {name: env.stack.pids(name) for name in env.stack.procs} == processes  # recovered, no restart


def test_a_worker_killed_mid_delivery_sends_nothing_twice_and_its_clicker_hears_within_a_minute(
    env: Env,
) -> None:
    env.hooks.delay = 30  # a slow automation: the worker waits on its answer
    try:
        clicked = time.monotonic()
        event_id = harness.click(env.stack, env.company, record="killed").body["event_id"]
        deadline = time.monotonic() + 10
        while env.hooks.count(event_id) == 0:
            assert time.monotonic() < deadline, "the webhook never left"
            time.sleep(0.05)
        env.stack.kill("worker", signal.SIGKILL)
        env.stack.start_worker()
        body = settle(env, [event_id], timeout=70)[event_id]
        heard = time.monotonic() - clicked
    finally:
        env.hooks.delay = 0
    assert body["delivery"] == "failed" and heard < 60, (body, heard)
    assert [m["message_type"] for m in body["messages"]] == ["error"]
    assert "interrupted" in body["messages"][0]["content"]
    assert env.hooks.count(event_id) == 1


def test_clicks_stuck_behind_a_dead_delivery_worker_end_by_their_window_and_never_leave_late(env: Env) -> None:
    """The sweep runs on its own queue and worker, so it ends clicks on time while deliveries are stuck."""
    env.stack.kill("worker", signal.SIGKILL)
    try:
        clicked = time.monotonic()
        event_ids = [harness.click(env.stack, env.company, record=f"stuck{n}").body["event_id"] for n in range(5)]
        ended = settle(env, event_ids, timeout=60)
        heard = time.monotonic() - clicked
    finally:
        env.stack.start_worker()  # takes the five queued tasks, which find their clicks ended
    assert heard < 45 + 5 + 2, f"the clickers heard after {heard:.0f} s"
    for body in ended.values():
        assert body["delivery"] == "failed"
        assert [m["content"] for m in body["messages"]] == [
            "The automation was not called: OneClick was too busy. Press the button again."]
    time.sleep(3)
    assert [env.hooks.count(e) for e in event_ids] == [0] * 5


def test_each_click_delivery_and_message_is_one_json_log_line_with_its_event_id(env: Env) -> None:
    event_id = harness.click(env.stack, env.company, record="logs").body["event_id"]
    settle(env, [event_id])
    time.sleep(0.5)
    lines = []
    for name in ("web", "worker"):
        for line in env.stack.log_path(name).read_text().splitlines():
            if event_id in line and line.startswith("{"):
                lines.append(json.loads(line))
    names = [line["event"] for line in lines]
    assert {"click", "delivery_attempt", "delivery_delivered", "message_stored"} <= set(names), names
    delivered = next(line for line in lines if line["event"] == "delivery_delivered")
    assert delivered["http_status"] == 200 and "duration_ms" in delivered and delivered["button"] == env.company.button
