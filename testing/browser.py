"""A real ASGI server process (uvicorn on oneclick.asgi) and Debian's Chromium through Playwright.

Used by the browser tests, bench/live_latency.py and docs/screenshots/take.py. pytest-django's
live_server is a threaded WSGI server and cannot serve the async event stream, so the app runs in its
own process, pointed at the database the caller names; Celery tasks run eagerly inside it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_chromium() -> None:
    """At the top of a browser test module: skip it where Debian's Chromium is missing (REQUIRE_BROWSER=1,
    as CI sets it, makes that an error instead: a skipped browser suite must not pass for a green one)."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
    import pytest

    pytest.skip(f"No Chromium at {CHROMIUM}: install Debian's chromium package to run browser tests",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(database_url: str, *, broker_url: str | None = None, settings: str = "oneclick.test_settings",
               extra_env: dict[str, str] | None = None, wsgi: bool = False, port: int | None = None) -> Iterator[str]:
    """Serve the app on 127.0.0.1 (on `port`, or a free one) until the block ends; yields its base URL.
    With `wsgi`, Django's development server (runserver) serves it instead of uvicorn."""
    port = port or free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "DATABASE_URL": database_url,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "browser-tests-only-secret-key-1234567890"),
        "ENCRYPTION_KEYS": os.environ.get("ENCRYPTION_KEYS", "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU="),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if broker_url is not None:
        env["CELERY_BROKER_URL"] = broker_url
    else:
        env.pop("CELERY_BROKER_URL", None)
    log_path = ROOT / "var" / f"uvicorn-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("w")
    uvicorn = Path(sys.executable).with_name("uvicorn")
    command = (
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"] if wsgi else
        [str(uvicorn), "oneclick.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--timeout-graceful-shutdown", "2"]
    )
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login/", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The app server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        stop_process(proc, log, log_path, timeout=10)


@contextmanager
def orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test's thread; the ORM calls the tests
    make beside it are still plain synchronous calls, so Django's async-safety guard is lifted meanwhile."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def close_orm_connections_beside_playwright() -> None:
    """While Playwright's sync API runs, its event loop counts as running in the test's thread, so Django
    keeps the connections opened by the test's ORM calls in a per-context store, which a close_all made
    after the loop stopped does not see: one stayed open and kept the test database from being dropped.
    They are closed here, before the browser (and its loop) stops."""
    if "django" not in sys.modules:
        return
    from django.apps import apps

    if not apps.ready:  # a script that drives the browser without Django set up
        return
    from django.db import connections

    connections.close_all()


@contextmanager
def app_on_test_database(django_db_blocker: Any, extra_env: dict[str, str] | None = None,
                         port: int | None = None) -> Iterator[str]:
    """The app served on the test database, streaming live updates when Redis is set (CI), else polling."""
    from conftest import database_url_for_subprocess

    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    with app_server(database_url, broker_url=os.environ.get("CELERY_BROKER_URL"), extra_env=extra_env,
                    port=port) as base:
        yield base


def stop_process(proc: subprocess.Popen, log: Any, log_path: Path, timeout: float) -> None:
    """Stop a helper process (killed if it does not stop in time) and remove its log."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    log_path.unlink(missing_ok=True)


@contextmanager
def chromium_with_popup_blocker(profile: Path) -> Iterator[Any]:
    """A browser context as a person has it: Chromium's popup blocker on (Playwright launches with
    --disable-popup-blocking; a persistent profile without that flag keeps the default preferences)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-popup-blocking"])
        try:
            yield context
        finally:
            close_orm_connections_beside_playwright()
            context.close()


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on Debian's Chromium (Playwright cannot download its own here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            close_orm_connections_beside_playwright()
            browser.close()


def answer_late(page: Any, path_part: str, ms: int = 1500) -> None:
    """The page's fetches whose URL holds path_part answer `ms` late: a request sent before something
    else happened lands after it, as it can on a slow network."""
    page.add_init_script("""
    const realFetch = window.fetch;
    window.fetch = async function (input, init) {
      const response = await realFetch(input, init);
      const url = typeof input === "string" ? input : input.url;
      if (url.includes(PATH_PART)) await new Promise(function (done) { setTimeout(done, DELAY); });
      return response;
    };
    """.replace("PATH_PART", json.dumps(path_part)).replace("DELAY", str(int(ms))))


def log_in(page: object, base: str, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login/?next={quote(next_path)}")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}{next_path}")
