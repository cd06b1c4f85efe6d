"""One Redis pub/sub connection per web process, shared by every open live stream of that process.

A stream used to open a pub/sub connection of its own: 20,000 open panels meant 20,000 Redis clients
(Redis refuses past `maxclients`) and a socket and a reader task each in the web process. Here a
process's streams listen through one Hub: a channel is subscribed while at least one stream needs it and
unsubscribed when the last leaves; one reader task takes each message off the connection, decodes it
once and hands it to the streams of its channel.

- Each stream has a bounded inbox (INBOX_MAX events). A stream whose client cannot keep up (its socket
  full, its inbox full) is dropped: its response ends, and the browser reconnects and catches up through
  the API, rather than the process buffering for it without bound or the others waiting for it.
- When the connection fails (a Redis restart, a silent network noticed by the keepalives), the reader
  reconnects with a short backoff and subscribes every channel still needed, well within 5 s of Redis
  answering again; each stream is then told RESUMED, so its page fetches what it may have missed.

broadcaster (encode/broadcaster 0.3.1) does the one-connection part, but its per-subscriber queues are
unbounded and its reader task ends for good on a connection error (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from django.conf import settings

from messaging import live

logger = logging.getLogger(__name__)

INBOX_MAX = 200  # events waiting for one stream's client; past this it is dropped and reconnects
RECONNECT_SECONDS = (0.1, 0.25, 0.5, 1.0)  # backoff between attempts, the last repeated
SUBSCRIBE_TIMEOUT = 5.0
RESUMED = "resumed"  # told to every stream after a reconnection
PING = "ping"  # told to every stream every PING_SECONDS: it keeps proxies from closing an idle stream
PING_SECONDS = 15
CLIENT_NAME = "oneclick-live"  # CLIENT LIST shows the hub's connection by this name


class Unavailable(Exception):
    """Redis cannot be reached: the page falls back to polling."""


class Listener:
    """One open stream's inbox: what the hub received on its channels, in order."""

    __slots__ = ("channels", "dropped", "inbox", "wake")

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self.inbox: deque[Any] = deque()
        self.wake = asyncio.Event()
        self.dropped = False

    def put(self, item: Any) -> None:
        if self.dropped:
            return
        if len(self.inbox) >= INBOX_MAX:
            self.dropped = True  # it cannot keep up: it ends, its page reconnects and catches up
            self.inbox.clear()
        else:
            self.inbox.append(item)
        self.wake.set()

    async def next(self) -> Any:
        """The next item (a message's data, RESUMED or PING). Raises Dropped once dropped.

        No timeout of its own: the hub's one ticker pings every listener, so an idle stream costs no
        timer and no task beside its own."""
        while not self.inbox and not self.dropped:
            self.wake.clear()
            await self.wake.wait()
        if self.dropped:
            raise Dropped
        return self.inbox.popleft()


class Dropped(Exception):
    """The stream fell INBOX_MAX events behind."""


class Hub:
    def __init__(self, url: str, client_name: str = CLIENT_NAME) -> None:
        self.url = url
        self.client_name = client_name
        self.listeners: dict[str, set[Listener]] = {}
        self._pubsub: Any = None
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._subscribed: dict[str, asyncio.Future[None]] = {}  # channel -> its SUBSCRIBE answered
        self._connected = asyncio.Event()
        self._wanted = asyncio.Event()  # some stream listens: the reader has something to read
        self._lock = asyncio.Lock()  # one (re)connection at a time
        self.reconnections = 0

    # --- Streams come and go ----------------------------------------------------------------------

    @asynccontextmanager
    async def listening(self, channels: Iterable[str]) -> AsyncIterator[Listener]:
        """A listener on the channels for as long as the block runs. Raises Unavailable at entry when
        Redis cannot be reached (the page then polls)."""
        listener = Listener(tuple(channels))
        fresh = [channel for channel in listener.channels if channel not in self.listeners]
        for channel in listener.channels:
            self.listeners.setdefault(channel, set()).add(listener)
        self._wanted.set()
        try:
            await self._subscribe(fresh, listener.channels)
            yield listener
        finally:
            gone = []
            for channel in listener.channels:
                others = self.listeners.get(channel)
                if others is not None:
                    others.discard(listener)
                    if not others:
                        del self.listeners[channel]
                        gone.append(channel)
            if gone:
                await self._unsubscribe(gone)

    async def _subscribe(self, fresh: list[str], wanted: tuple[str, ...]) -> None:
        try:
            await asyncio.wait_for(self._ensure_connected(), SUBSCRIBE_TIMEOUT)
            # A (re)connection may have subscribed them already, with everything its streams need.
            unsent = [channel for channel in fresh if channel not in self._subscribed]
            if unsent:
                for channel in unsent:
                    self._subscribed[channel] = asyncio.get_running_loop().create_future()
                await self._pubsub.subscribe(*unsent)
            # Ready only once Redis has answered SUBSCRIBE: a message published after the page is told
            # "ready" must reach it.
            waits = [self._subscribed[c] for c in wanted if c in self._subscribed]
            if waits:
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*waits)), SUBSCRIBE_TIMEOUT)
        except (TimeoutError, OSError, ConnectionError) as exc:
            raise Unavailable(str(exc)) from exc
        except Exception as exc:
            if _is_redis_error(exc):
                raise Unavailable(str(exc)) from exc
            raise

    async def _unsubscribe(self, channels: list[str]) -> None:
        for channel in channels:
            self._subscribed.pop(channel, None)
        if self._pubsub is None or not self._connected.is_set():
            return  # gone with the connection; a reconnection subscribes only what is still needed
        try:
            await self._pubsub.unsubscribe(*channels)
        except Exception:  # noqa: BLE001 - the reader notices a broken connection and reconnects
            logger.debug("Could not unsubscribe %s", channels, exc_info=True)

    # --- The one connection -----------------------------------------------------------------------

    async def _ensure_connected(self) -> None:
        if self._connected.is_set():
            return
        async with self._lock:
            if self._connected.is_set():
                return
            await self._connect()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="live-hub-reader")
            if self._ticker is None or self._ticker.done():
                self._ticker = asyncio.create_task(self._tick(), name="live-hub-ticker")

    async def _connect(self) -> None:
        import redis.asyncio

        await self._close()
        # No read timeout (the connection waits for minutes between messages): the keepalives tell a
        # silent Redis (settings.REDIS_KEEPALIVE).
        self._client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=2, client_name=self.client_name,
                                                   **settings.REDIS_KEEPALIVE)
        self._pubsub = self._client.pubsub()
        self._subscribed = {channel: asyncio.get_running_loop().create_future() for channel in self.listeners}
        if self.listeners:
            await self._pubsub.subscribe(*self.listeners)
        else:
            await self._pubsub.connect()
        self._connected.set()

    async def _close(self) -> None:
        self._connected.clear()
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        for closing in (pubsub, client):
            if closing is not None:
                try:
                    await closing.aclose()
                except Exception:  # noqa: BLE001 - it is broken already
                    logger.debug("Closing the hub's Redis connection failed", exc_info=True)

    async def _read(self) -> None:
        """Take messages off the connection and hand them to the streams; reconnect when it fails."""
        while True:
            try:
                if not self._connected.is_set():
                    await self._reconnect()
                if not self._pubsub.subscribed:
                    # Nothing to read (redis-py reads only once subscribed): sleep until a stream comes,
                    # then give its SUBSCRIBE a moment to be sent.
                    if not self.listeners:
                        self._wanted.clear()
                        await self._wanted.wait()
                    await asyncio.sleep(0.01)
                    continue
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a broken connection: reconnect, resubscribe
                logger.warning("Live updates: Redis connection lost (%s); reconnecting", exc)
                await self._close()
                continue
            if message is not None:
                self._dispatch(message)

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            async with self._lock:
                try:
                    if not self._connected.is_set():  # a new stream may have reconnected meanwhile
                        await self._connect()
                    break
                except Exception:  # noqa: BLE001 - Redis still away: try again shortly
                    await self._close()
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1
        self.reconnections += 1
        logger.warning("Live updates: reconnected to Redis; %d channels subscribed again", len(self.listeners))
        for listeners in list(self.listeners.values()):
            for listener in list(listeners):
                listener.put(RESUMED)  # a listener on two channels hears it twice: harmless, it refetches

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(PING_SECONDS)
            for listener in {one for listeners in self.listeners.values() for one in listeners}:
                listener.put(PING)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "subscribe":
            waiting = self._subscribed.get(channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
            return
        if kind != "message":
            return
        listeners = self.listeners.get(channel)
        if not listeners:
            return
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        for listener in listeners:
            listener.put(data)

    async def close(self) -> None:
        for task in (self._reader, self._ticker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._reader = self._ticker = None
        await self._close()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _is_redis_error(exc: BaseException) -> bool:
    import redis

    return isinstance(exc, redis.RedisError)


_hub: Hub | None = None
_hub_loop: asyncio.AbstractEventLoop | None = None


def hub() -> Hub:
    """The process's hub, on its event loop (a process serves from one loop; tests run several, one
    after another, and each gets a hub of its own)."""
    global _hub, _hub_loop
    loop = asyncio.get_running_loop()
    if _hub is None or _hub_loop is not loop or _hub.url != live.redis_url():
        _hub, _hub_loop = Hub(live.redis_url() or ""), loop
    return _hub
