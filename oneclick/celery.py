"""The Celery app: `celery -A oneclick worker` / `celery -A oneclick beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

app = Celery("oneclick")
# Every CELERY_* Django setting configures Celery (broker, beat schedule, limits).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
