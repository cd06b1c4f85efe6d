"""ASGI entry point: production runs gunicorn with uvicorn workers so live updates can stream.

Note on cost: under Django's ASGI handler every sync middleware hook and sync view hops to a thread,
about three times the CPU of a WSGI request (bench/trigger_message.py). Routing ordinary requests to the
WSGI app through a2wsgi inside this process was measured 3x faster, but it lost request bodies under
load (empty bodies -> 400/500), so it is not used. A deployment that needs the extra throughput can run
`gunicorn oneclick.wsgi` (gthread workers) for everything and send only /api/stream/ to this app.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
application = get_asgi_application()
