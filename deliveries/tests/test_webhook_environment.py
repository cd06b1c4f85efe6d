"""A webhook goes straight to its button's URL whatever the worker's environment says: no proxy from
HTTP(S)_PROXY (the guard pins the receiver's own vetted address) and never a password from ~/.netrc."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deliveries import webhooks
from testing.stack import free_port


@contextmanager
def echo_server() -> Iterator[str]:
    """Answers every POST with the request's Authorization header (or null)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fresh_sessions() -> Iterator[None]:
    webhooks._sessions.clear()  # a session is made once per process: these tests change its environment
    yield
    webhooks._sessions.clear()


@pytest.mark.usefixtures("fresh_sessions")
def test_a_proxy_in_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, nothing_listens)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with echo_server() as url:
        answer = webhooks.post_json(url, b"{}", {})
    assert answer.status == 200  # through the proxy, the connection would have been refused


@pytest.mark.usefixtures("fresh_sessions")
def test_a_netrc_password_never_reaches_a_webhook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login operator password s3cret-of-the-server\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with echo_server() as url:
        answer = webhooks.post_json(url, b"{}", {})
    assert json.loads(answer.body) == {"authorization": None}
