"""Outside the local mode, a missing or malformed service URL stops every process at start with a
sentence naming the variable (no silent SQLite, no KeyError)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testing import stack as harness

pytestmark = pytest.mark.e2e
CASES = [
    ("DATABASE_URL", None, "DATABASE_URL is not set"),
    ("DATABASE_URL", "garbage", "DATABASE_URL is not a valid URL"),
    ("DATABASE_URL", "postgres://u@h:99999/db", "DATABASE_URL is not a valid URL"),
    ("CELERY_BROKER_URL", None, "CELERY_BROKER_URL is not set"),
    ("CELERY_BROKER_URL", "localhost:6379", "CELERY_BROKER_URL is not a valid URL"),
]


def start(command: list[str], variable: str, value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_", "DJANGO_", "ONECLICK_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "oneclick.settings", "DJANGO_SECRET_KEY": "x" * 40,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/oneclick", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    if value is None:
        env.pop(variable)
    else:
        env[variable] = value
    return subprocess.run(command, cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("variable", "value", "sentence"), CASES)
def test_a_missing_or_malformed_service_url_is_refused_with_a_sentence(variable: str, value: str | None,
                                                                        sentence: str) -> None:
    done = start([str(harness.VENV_BIN / "python"), "manage.py", "check"], variable, value)
    assert done.returncode != 0 and sentence in done.stderr


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_every_process_refuses_to_start_without_its_database(tmp_path: Path, process: str) -> None:
    command = {
        "web": [str(harness.VENV_BIN / "gunicorn"), "oneclick.asgi:application", "-k", "uvicorn_worker.UvicornWorker",
                "-b", f"127.0.0.1:{harness.free_port()}"],
        "worker": [str(harness.VENV_BIN / "celery"), "-A", "oneclick", "worker", "-Q", "nothing"],
        "beat": [str(harness.VENV_BIN / "celery"), "-A", "oneclick", "beat", "-s", str(tmp_path / "beat")],
    }[process]
    done = start(command, "DATABASE_URL", None)
    assert done.returncode != 0 and "DATABASE_URL is not set" in done.stdout + done.stderr
