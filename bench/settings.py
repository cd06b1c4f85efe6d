"""Settings for benchmarks: the production settings plus a baseline view (never deployed)."""

from oneclick.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Only errors, so a failing request shows its traceback in the benchmark's output.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
}
