"""The benchmarks' webhook receiver, in a process of its own: an ASGI app on uvicorn (one event loop).

A receiver inside the bench process (a thread per connection) shares the bench's interpreter lock
with the clicking threads and, during a burst, with a thousand threads waiting to answer: the moment
a webhook arrives is then noted late, by the bench itself. Here a waiting answer is a sleeping
coroutine, and each arrival is stamped the moment its body is read.

    POST <any path>        a webhook: noted by event_id, answered after the path's delay
    PUT /_delays           {"<path>": seconds, ...} sets the delays
    GET /_arrivals         {"arrived": {event_id: unix time}, "seen": {event_id: count}, "peak_in_flight": n}
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

arrived: dict[str, float] = {}
seen: dict[str, int] = {}
delays: dict[str, float] = {}
state = {"in_flight": 0, "peak_in_flight": 0}


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, data: object) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path, method = scope["path"], scope["method"]
    body = await _body(receive)
    if method == "GET" and path == "/_arrivals":
        await _send_json(send, 200, {"arrived": arrived, "seen": seen, "peak_in_flight": state["peak_in_flight"]})
        return
    if method == "PUT" and path == "/_delays":
        delays.update({str(k): float(v) for k, v in json.loads(body).items()})
        await _send_json(send, 200, delays)
        return
    now = time.time()
    try:
        event_id = str(json.loads(body).get("event_id", ""))
    except (ValueError, AttributeError):
        event_id = ""
    seen[event_id] = seen.get(event_id, 0) + 1
    arrived.setdefault(event_id, now)
    state["in_flight"] += 1
    state["peak_in_flight"] = max(state["peak_in_flight"], state["in_flight"])
    try:
        if delays.get(path):
            await asyncio.sleep(delays[path])
    finally:
        state["in_flight"] -= 1
    await _send_json(send, 200, {"message_type": "success", "message": f"Received {event_id}"})
