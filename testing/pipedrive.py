"""A fake Pipedrive on 127.0.0.1 for the tests: OAuth refresh and the API the CRM adapter reads."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

DEAL = {"id": 42, "title": "120 licences for Globex", "value": 18400, "stage_id": 3, "pipeline_id": 1}
PIPELINES = [{"id": 1, "name": "Sales", "active": True}, {"id": 2, "name": "Partners", "active": True}]
STAGES = [{"id": 1, "name": "Qualified", "pipeline_id": 1, "order_nr": 1},
          {"id": 3, "name": "Proposal made", "pipeline_id": 1, "order_nr": 3},
          {"id": 2, "name": "Contact made", "pipeline_id": 1, "order_nr": 2},
          {"id": 4, "name": "Negotiations started", "pipeline_id": 1, "order_nr": 4},
          {"id": 5, "name": "Introduced", "pipeline_id": 2, "order_nr": 1}]


class FakePipedrive:
    """OAuth refresh, GET /api/v1/deals/<id>, /pipelines and /stages, as Pipedrive answers them; `deals`
    may be changed while it runs (a deal moved to another stage)."""

    def __init__(self) -> None:
        self.deals = {"42": dict(DEAL)}
        self.valid_tokens = {"access-1"}
        self.refreshes: list[str] = []
        self.reads = 0
        self.refuse_refresh = False
        self.throttle: list[str] = []  # Retry-After values of the next answers
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake.refreshes.append(form)
                if fake.refuse_refresh or "grant_type=refresh_token" not in form:
                    self._send(400, {"success": False, "error": "invalid_grant"})
                    return
                token = f"access-{len(fake.refreshes) + 1}"
                fake.valid_tokens = {token}
                self._send(200, {"access_token": token, "refresh_token": f"refresh-{len(fake.refreshes) + 1}",
                                 "expires_in": 3599, "api_domain": fake.url})

            def do_GET(self) -> None:
                fake.reads += 1
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.throttle:
                    self._send(429, {"success": False}, {"Retry-After": fake.throttle.pop(0)})
                    return
                if self.headers.get("Authorization", "").removeprefix("Bearer ") not in fake.valid_tokens:
                    self._send(401, {"success": False, "error": "unauthorized"})
                    return
                path, _, query = self.path.partition("?")
                deal = fake.deals.get(path.removeprefix("/api/v1/deals/"))
                if deal is not None:
                    self._send(200, {"success": True, "data": deal})
                elif path == "/api/v1/pipelines":
                    self._send(200, {"success": True, "data": PIPELINES})
                elif path == "/api/v1/stages":  # two a page, as a long list comes in pages
                    start = int(parse_qs(query).get("start", ["0"])[0])
                    more = start + 2 < len(STAGES)
                    self._send(200, {"success": True, "data": STAGES[start:start + 2], "additional_data": {
                        "pagination": {"start": start, "limit": 2, "more_items_in_collection": more,
                                       **({"next_start": start + 2} if more else {})}}})
                else:
                    self._send(404, {"success": False, "error": "Deal not found"})

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (the slow case)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
