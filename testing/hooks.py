"""An automation for the browser tests: a webhook receiver on 127.0.0.1 that keeps each payload and
answers JSON from a function of it (its GET pages are where a redirect lands)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], dict[str, Any]]


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's handler: answers text with a length, logs nothing."""

    def _send(self, text: str, content_type: str, status: int = 200) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class JsonHook:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.payloads: list[dict[str, Any]] = []
        hook = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                hook.payloads.append(payload)
                self._send(json.dumps(hook.answer(payload)), "application/json")

            def do_GET(self) -> None:
                self._send("<!doctype html><title>Landed</title><p>Landed</p>", "text/html")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
