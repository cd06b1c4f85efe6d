"""ASGI entry point: production runs gunicorn with uvicorn workers so live updates can stream."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
application = get_asgi_application()
