"""ASGI entry point: production runs gunicorn with uvicorn workers, so live updates can stream.

Sync views run with one thread hop per request (oneclick.handlers); the async live stream runs on
Django's own ASGI handler.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

from django.urls import get_resolver

from oneclick.handlers import get_application  # needs the settings module set above

application = get_application()

# What start-up made lives as long as the process: frozen, it is left out of every later collection,
# and a full collection walks only what requests made since. The views are imported first (through the
# URLconf), or they would come on the first request and stay in the collected generations.
# bench/click_to_webhook.py --scenario neighbours: a web process's full collections paused it 68 and
# 108 ms without, 3.0 and 2.6 ms with (docs/decisions.md).
get_resolver().url_patterns  # noqa: B018 - imports every view
gc.freeze()
