"""An ASGI handler that serves sync views with one thread hop per request.

Django's own ASGIHandler runs a sync view by hopping to a thread for every hook of every sync
middleware (MiddlewareMixin.__acall__) and for the view, inside a per-request thread executor, which
costs about three times the CPU of the same request under WSGI (bench/trigger_message.py). Every view
of this project is sync except the live stream, so this handler:

- reads the body in the event loop (Django's read_body, the whole body before the view runs);
- runs a sync view's whole request in one worker thread, through the sync middleware chain, exactly
  as the WSGI handler does: request_started, get_response, then response.close() (request_finished),
  so DB connections are opened and handed back to the pool in that one thread;
- hands async views (none in this project today) to Django's ASGIHandler unchanged.

Sync streaming responses (WhiteNoise's static files) are read to the end in the worker thread, which is
what Django's ASGIHandler does too (it consumes a sync iterator with sync_to_async(list)). An async
stream (the live stream, messaging.stream) outlives its view by minutes: the worker thread hands its
database connection back to the pool before the stream starts, and the stream is sent from the event
loop, holding no thread, until it ends or the client goes away.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections
from django.http import FileResponse, HttpResponseBase
from django.urls import Resolver404, resolve, set_script_prefix


@functools.lru_cache(maxsize=4096)
def _is_async_view(path_info: str) -> bool:
    try:
        match = resolve(path_info)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


def _path_info(scope: dict[str, Any]) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class OneHopASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        super().__init__()  # the async middleware chain, for async views
        self.sync_handler = BaseHandler()
        self.sync_handler.load_middleware(is_async=False)
        # Sync views block on the database: no more threads than the process's connection pool.
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django-sync")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _is_async_view(_path_info(scope)):
            await super().__call__(scope, receive, send)
            return
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        # The worker thread keeps its own context from one request to the next, as a WSGI server's threads
        # do, so per-thread objects (the cache clients and their connection pools) are reused.
        loop = asyncio.get_running_loop()
        response, body = await loop.run_in_executor(self.executor, self._respond, scope, body_file)
        if body is None:  # a sync view returned an async stream
            await self._stream(response, receive, send)
            return
        await self._send(response, body, send)

    async def _stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send an async stream until it ends or the client disconnects, then close it.

        uvicorn's send() ignores a client that has gone, so the disconnect is listened for, as Django's
        own handler does: otherwise a closed panel's stream (and its Redis subscription) would live on
        until its end.
        """
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait((sending, listening), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sending, listening):
                task.cancel()
            results = await asyncio.gather(sending, listening, return_exceptions=True)
            await sync_to_async(response.close, thread_sensitive=False)()
        failed = results[0]
        if isinstance(failed, Exception):  # not a cancellation (a BaseException): the stream broke
            raise failed

    def _respond(self, scope: dict[str, Any], body_file: Any) -> tuple[HttpResponseBase, bytes | None]:
        """The whole request in this worker thread, as under WSGI; returns the response and its body."""
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.sync_handler.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
            if response.streaming:
                if response.is_async:
                    # The stream runs for minutes on the event loop: this thread's connection goes back
                    # to the pool now, not when the stream ends (request_finished does the same).
                    close_old_connections()
                    return response, None
                body = b"".join(response.streaming_content)
            else:
                body = response.content
            response.close()  # request_finished: this thread's DB connection goes back to the pool
            return response, body
        except BaseException:
            # Something failed outside the middleware chain (which turns errors into responses): the
            # server answers 500, and this thread must not keep its connection out of the pool.
            signals.request_finished.send(sender=self.__class__)
            raise
        finally:
            body_file.close()

    async def _send(self, response: HttpResponseBase, body: bytes, send: Any) -> None:
        headers = [
            (name.encode("ascii"), value.encode("latin1")) for name, value in response.items()
        ]
        headers += [
            (b"Set-Cookie", cookie.output(header="").encode("ascii").strip()) for cookie in response.cookies.values()
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def get_application() -> OneHopASGIHandler:
    import django

    django.setup(set_prefix=False)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        from oneclick.celery import app as celery_app

        # The web only publishes tasks: one Redis connection for that, not kombu's two (oneclick.brokers).
        celery_app.conf.broker_transport = "oneclick.brokers:ProducerTransport"
    if not (settings.DEBUG or settings.LOCAL_MODE) and not settings.STATIC_COLLECTED:
        logging.getLogger(__name__).warning(
            "Static files are not collected: serving them from their source folders, unhashed and uncompressed."
            " Run `python manage.py collectstatic` before starting the server."
        )
    return OneHopASGIHandler(threads=settings.ASGI_THREADS)
