"""Shared fixtures: three users (company admin, teammate, outsider), buttons, and a real HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from accounts.actions import create_member
from accounts.models import Member
from buttons.models import Button
from core.throttling import forget_local_budgets
from crm.models import PipedriveConnection
from testing.browser import orm_beside_playwright
from testing.pipedrive import FakePipedrive


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()  # throttle counters must not leak between tests
    forget_local_budgets()
    yield


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a browser test module (marked `browser`): the ORM beside Playwright's loop, and every connection
    handed back at the module's end, or the test database cannot be dropped."""
    if request.node.get_closest_marker("browser") is None:
        yield
        return
    with orm_beside_playwright():
        yield
    connections.close_all()


@pytest.fixture
def admin_member(db: None) -> Member:
    return create_member("alice", "pw-alice-123", "737569", company_name="Acme", user_external_id="1108047",
                         is_admin=True)


@pytest.fixture
def teammate(admin_member: Member) -> Member:
    return create_member("bob", "pw-bob-123", "737569", user_external_id="1108048")


@pytest.fixture
def outsider(db: None) -> Member:
    return create_member("mallory", "pw-mallory-123", "999001", company_name="Other Inc",
                         user_external_id="555", is_admin=True)


def api_client(member: Member | None) -> APIClient:
    client = APIClient()
    if member is not None:
        client.force_authenticate(member.user)
    return client


@pytest.fixture
def make_button(admin_member: Member) -> Callable[..., Button]:
    def make(**overrides: Any) -> Button:
        values: dict[str, Any] = {
            "company": admin_member.company,
            "label": "Create invoice",
            "kind": "webhook",
            "url": "http://hooks.example.test/invoice",
            "resource": "deal",
            "view": "details",
            "messaging_enabled": True,
        }
        values.update(overrides)
        return Button.objects.create(**values)

    return make


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records each request and answers from a script."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    delay: float = 0.0
    received: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, body: str | bytes | dict, content_type: str | None = None) -> None:
        if isinstance(body, dict):
            body, content_type = json.dumps(body), content_type or "application/json"
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type or "text/plain; charset=utf-8"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["r"]
            length = int(self.headers.get("Content-Length") or 0)
            rec.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": self.rfile.read(length)}
            )
            rec.received.set()
            if rec.delay:
                threading.Event().wait(rec.delay)
            try:
                self.send_response(rec.status)
                self.send_header("Content-Type", rec.content_type)
                self.send_header("Content-Length", str(len(rec.body)))
                self.end_headers()
                self.wfile.write(rec.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()


def database_url_for_subprocess() -> str:
    """The URL of the database the tests use right now (the test database), for child processes."""
    from django.db import connection

    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture(scope="module")
def celery_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A real `celery -A oneclick worker` on the real broker, consuming a queue of its own."""
    import os
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from oneclick.celery import app
    from testing.browser import stop_process

    queue = f"test-{uuid.uuid4().hex[:12]}"
    with django_db_blocker.unblock():
        db_url = database_url_for_subprocess()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oneclick.test_settings", "DATABASE_URL": db_url,
           "CELERY_TASK_ALWAYS_EAGER": "false"}
    celery = Path(sys.executable).with_name("celery")
    log_path = Path(__file__).parent / "var" / f"{queue}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(celery), "-A", "oneclick", "worker", "-Q", queue, "--pool=threads", "--concurrency=4", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parent,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"The Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    # Every task, housekeeping's too, goes to this worker's own queue.
    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes)
    app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes = False, queue, {}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    try:
        yield queue
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.task_routes = previous
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()
        stop_process(proc, log, log_path, timeout=20)


@pytest.fixture
def superuser(db: None) -> Any:
    """An operator: a Django superuser who belongs to no company and sees every company in the admin."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.test", "pw-root-123")


# --- A fake Pipedrive with the company's connection (crm.records reads it) ------------------------


@pytest.fixture
def pipedrive(settings: Any) -> Iterator[FakePipedrive]:
    fake = FakePipedrive()
    settings.PIPEDRIVE_OAUTH_URL = fake.url
    settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET = "client", "client-secret"
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def connected(admin_member: Member, pipedrive: FakePipedrive) -> Iterator[PipedriveConnection]:
    connection = PipedriveConnection(company=admin_member.company, api_domain=pipedrive.url,
                                     user_external_id=admin_member.external_id)
    connection.keep({"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 3599})
    connection.save()
    forget(admin_member)
    forget(admin_member, "77")
    yield connection
    forget(admin_member)
    forget(admin_member, "77")


def forget(member: Member, deal: str = "42") -> None:
    """Drop the cached answer of one deal (never the whole cache: in CI it is the broker's Redis)."""
    cache.delete(f"crm:record:{member.company_id}:deal:{deal}")
