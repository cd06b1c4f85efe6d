"""Deliveries from many threads to one host share pooled connections without mixing their answers."""

import json
import threading
import time

from deliveries import webhooks
from testing.stack import hooks_server


def test_each_thread_reads_its_own_answer_from_a_shared_connection_pool() -> None:
    failures: list[str] = []

    with hooks_server() as hooks:
        def deliver(thread: int) -> None:
            for n in range(40):
                if n % 10 == 0:
                    time.sleep(0.2)  # the threads fall out of step: connections go back and forth
                event_id = f"{thread}-{n}"
                try:
                    answer = webhooks.post_json(hooks.url, json.dumps({"event_id": event_id}).encode(), {})
                except webhooks.WebhookError as exc:
                    failures.append(f"{event_id}: {exc}")
                    continue
                if json.loads(answer.body)["message"] != f"Received {event_id}":
                    failures.append(f"{event_id} read {answer.body}")

        threads = [threading.Thread(target=deliver, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert len(hooks.seen) == 16 * 40


def test_many_deliveries_to_one_host_keep_their_connections(caplog: object) -> None:
    # Make's and Zapier's hosts take most webhooks: with requests' pool of 10 per host, each delivery
    # beyond ten opened a connection (a TLS handshake in production) and threw it away with a warning.
    webhooks._sessions.clear()
    with hooks_server() as hooks, caplog.at_level("WARNING", logger="urllib3"):  # type: ignore[attr-defined]
        hooks.delay = 0.3

        def wave() -> None:
            threads = [threading.Thread(target=webhooks.post_json, args=(hooks.url, b"{}", {})) for _ in range(40)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)

        wave()
        wave()
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []  # type: ignore[attr-defined]
    assert sum(hooks.seen.values()) == 80
