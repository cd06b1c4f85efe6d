"""Open panels never starve the rest of the service (README, "Open panels").

Every open panel keeps a live stream (GET /api/stream/...) for minutes. On the production stack (gunicorn
with 2 uvicorn workers, each with a pool of DATABASE_POOL_MAX PostgreSQL connections), three times as many
streams as there are pooled connections stay open while clicks, custom messages, the panel API, sign-in
and /healthz answer as usual, and the messages of those clicks reach every open stream of their record.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from testing import stack as harness

pytestmark = [pytest.mark.e2e]
WEB_WORKERS = 2
POOL_MAX = 10  # the production default (DATABASE_POOL_MAX)
STREAMS = 3 * WEB_WORKERS * POOL_MAX
POOL_WAIT = 2.0  # DATABASE_POOL_TIMEOUT: a request that found the pool empty gave up (503) after this long
RECORDS = ("42", "43")

reason = harness.have_services()
if reason:
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=f"the production stack needs {reason}"))


@dataclass
class Env:
    stack: harness.Stack
    company: harness.Company
    cookie: str


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with harness.services() as (folder, postgres, redis), harness.hooks_server() as hooks:
        stack = harness.Stack(folder, postgres.url, redis.url, web_workers=WEB_WORKERS,
                              extra_env={"DATABASE_POOL_MAX": str(POOL_MAX), "LOGIN_RATE": "1000/minute"})
        try:
            stack.start()
            company = harness.set_up_company(stack, hooks.url)
            yield Env(stack, company, harness.session_cookie(stack, "alice", "pw-faults-123"))
        finally:
            stack.stop()


def everything_else(env: Env, record: str) -> dict[str, harness.Answer]:
    """One of each request a team makes beside its open panels; the click's custom message included."""
    base, token = env.stack.base, env.company.token
    answers = {"click": harness.click(env.stack, env.company, record=record)}
    event_id = answers["click"].body.get("event_id") if isinstance(answers["click"].body, dict) else None
    answers["custom message"] = harness.call("POST", f"{base}/api/trigger-message",
                                             {"event_id": event_id, "message": f"Invoice for deal {record} sent"})
    answers["panel"] = harness.call("GET", f"{base}/api/panel/deal/{record}/", token=token)
    answers["sign-in"] = harness.call("POST", f"{base}/api/auth/token/",
                                      {"username": "alice", "password": "pw-faults-123"})
    answers["healthz"] = harness.call("GET", f"{base}/healthz")
    return answers


EXPECTED = {"click": 202, "custom message": 201, "panel": 200, "sign-in": 200, "healthz": 200}


def test_three_streams_per_pooled_connection_starve_nothing(env: Env) -> None:
    async def scenario() -> tuple[list[harness.LiveStream], list[dict[str, harness.Answer]]]:
        streams = [await harness.open_stream(env.stack.port, f"/api/stream/deal/{RECORDS[n % 2]}/", env.cookie)
                   for n in range(STREAMS)]
        try:
            await asyncio.wait_for(asyncio.gather(*(stream.ready.wait() for stream in streams)), 30)
            rounds = []
            for n in range(4):  # the streams stay open throughout
                rounds.append(await asyncio.to_thread(everything_else, env, RECORDS[n % 2]))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(
                any(data.get("mine") for _, data in stream.logs()) for stream in streams
            ):
                await asyncio.sleep(0.1)
            return streams, rounds
        finally:
            await harness.close_streams(streams)

    streams, rounds = asyncio.run(scenario())
    assert [stream.status for stream in streams] == [200] * STREAMS  # before the fix: 20 x 200, then 503s
    for answers in rounds:
        assert {name: answer.status for name, answer in answers.items()} == EXPECTED, {
            name: (answer.status, answer.body) for name, answer in answers.items()}
        # Before the fix each of them waited out the pool (POOL_WAIT) and answered 503.
        slow = {name: round(answer.seconds, 2) for name, answer in answers.items() if answer.seconds >= POOL_WAIT}
        assert not slow, slow
    # The messages of those clicks reached every open stream of their record.
    missed = [n for n, stream in enumerate(streams) if not any(data.get("mine") for _, data in stream.logs())]
    assert not missed, f"{len(missed)} of {STREAMS} open streams received no message"
    # The service is whole once they close: the pool has every connection back.
    assert harness.call("GET", f"{env.stack.base}/healthz").status == 200
