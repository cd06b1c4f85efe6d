"""ASGI entry point: production runs gunicorn with uvicorn workers, so live updates can stream.

Sync views run with one thread hop per request (oneclick.handlers); the async live stream runs on
Django's own ASGI handler.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

from oneclick.handlers import get_application  # needs the settings module set above

application = get_application()
