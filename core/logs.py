"""Structured logs (structlog): one line per click, delivery attempt, outcome and stored message.

`events` is the logger the verbs write to, with key-value context (event_id, button, company, HTTP
status, duration). With LOG_FORMAT=json every line, Django's, Celery's and gunicorn's included, is one
JSON object; otherwise lines read as `event key=value ...` for a person at a terminal.
"""

from __future__ import annotations

from typing import Any

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for the given format ("json" or "console"); also configures structlog."""
    if fmt not in ("json", "console"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {fmt!r}.")
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        # A line below the level costs one check, not the whole chain (the hot path logs every message).
        processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "celery": {"level": level, "propagate": True},
            # Celery's "Task ... received" and "... succeeded" for every delivery: the delivery's own lines
            # say what happened ("succeeded" was printed for a refused webhook too), at a third of the cost.
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
        },
    }


events = structlog.stdlib.get_logger("oneclick.events")
