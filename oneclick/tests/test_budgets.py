"""Address budgets hold under concurrency on the production stack: requests arriving together from one
address, spread over two web processes, are granted exactly the rate (README, "Security")."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing import stack as harness

pytestmark = [pytest.mark.e2e]
BUDGET = 10
AT_ONCE = 32

reason = harness.have_services()
if reason:
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=f"the production stack needs {reason}"))


@pytest.fixture(scope="module")
def stack() -> Iterator[harness.Stack]:
    with harness.services() as (folder, postgres, redis):
        stack = harness.Stack(folder, postgres.url, redis.url, web_workers=2, extra_env={
            "TRIGGER_MESSAGE_MISS_RATE": f"{BUDGET}/minute", "LOGIN_RATE": f"{BUDGET}/minute"})
        try:
            stack.manage("migrate", "--noinput", "-v", "0")
            stack.start_web()
            stack.manage("createmember", "alice", "--password", "pw-budgets-123", "--company", "737569")
            yield stack
        finally:
            stack.stop()


def all_at_once(call: object) -> Counter[int]:
    """AT_ONCE requests released together, inside one window of the budget (never across a minute)."""
    while time.time() % 60 > 45:  # the window is the clock minute: start well inside one
        time.sleep(0.5)
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return Counter(answer.status for answer in pool.map(lambda _: call(), range(AT_ONCE)))  # type: ignore[operator]


def test_concurrent_misses_get_exactly_the_budget(stack: harness.Stack) -> None:
    statuses = all_at_once(lambda: harness.call("POST", f"{stack.base}/api/trigger-message",
                                                {"event_id": str(uuid.uuid4()), "message": "a guess"}))
    assert statuses == {400: BUDGET, 429: AT_ONCE - BUDGET}  # before: 32 x 400 at 16 at a time


def test_concurrent_sign_ins_get_exactly_the_budget(stack: harness.Stack) -> None:
    statuses = all_at_once(lambda: harness.call("POST", f"{stack.base}/api/auth/token/",
                                                {"username": "alice", "password": "not her password"}))
    assert statuses == {400: BUDGET, 429: AT_ONCE - BUDGET}  # before: 13 answered before the 429s
