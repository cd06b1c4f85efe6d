"""ASGI entry point: production runs gunicorn with uvicorn workers so live updates can stream.

Only the streaming endpoints need asynchronous Django. Everything else is plain synchronous Django,
and under Django's ASGI handler each sync middleware hook and the view hop between threads
(sync_to_async), which costs about three times the CPU of a WSGI request (bench/trigger_message.py
measured 237 vs 774 inserts/s on 2 cores). So ordinary requests go to the WSGI application, run in a
thread pool by a2wsgi, and only /api/stream/ takes the async path.
"""

import os

from a2wsgi import WSGIMiddleware
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

STREAMING_PREFIX = "/api/stream/"

django_asgi = get_asgi_application()
# Threads per process; the database pool (DATABASE_POOL_MAX, default 10) must cover them.
django_wsgi = WSGIMiddleware(get_wsgi_application(), workers=int(os.environ.get("WEB_THREADS", "8")))


async def application(scope: dict, receive: object, send: object) -> None:
    if scope["type"] == "http" and not scope["path"].startswith(STREAMING_PREFIX):
        await django_wsgi(scope, receive, send)
    else:
        await django_asgi(scope, receive, send)
