"""Settings for benchmarks: the production settings plus a baseline view (never deployed)."""

from oneclick.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "ERROR"}}
