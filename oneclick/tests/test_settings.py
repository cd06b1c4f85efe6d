"""Start-up configuration: production refuses to start without a secret; local mode needs nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "ONECLICK_LOCAL", "DJANGO_DEBUG",
                                                             "WEBHOOK_ALLOW_PRIVATE_NETWORKS"}}
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
         "'oneclick.settings'); django.setup(); from django.conf import settings; "
         "print(settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "oneclick.settings", **env},
        capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_check()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_safe() -> None:
    result = run_check(DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]  # no debug, no private-network webhooks


def test_local_mode_needs_nothing() -> None:
    result = run_check(ONECLICK_LOCAL="true")
    assert result.returncode == 0, result.stderr
    # Private-network webhooks for the demo automation, and no debug pages unless asked for.
    assert result.stdout.split() == ["False", "True"]


def test_debug_pages_only_when_asked_for() -> None:
    result = run_check(ONECLICK_LOCAL="true", DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_bad_boolean_fails_at_start_up() -> None:
    result = run_check(DJANGO_SECRET_KEY="x" * 50, WEBHOOK_ALLOW_PRIVATE_NETWORKS="yes please")
    assert result.returncode != 0


def test_bad_collector_thresholds_stop_the_start_with_a_sentence() -> None:
    for value in ("fast", "0,10,10", "1,2,3,4"):
        result = run_check(ONECLICK_LOCAL="true", WORKER_GC_THRESHOLDS=value)
        assert result.returncode != 0, value
        assert "WORKER_GC_THRESHOLDS must be one to three positive whole numbers" in result.stderr


def test_a_worker_freezes_start_up_and_collects_less_often() -> None:
    # The worker_ready handler, run as Celery runs it once the worker is up.
    script = ("import gc, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'oneclick.settings'); "
              "import django; django.setup(); from celery.signals import worker_ready; import oneclick.celery; "
              "worker_ready.send(sender=None); print(gc.get_threshold(), gc.get_freeze_count() > 10000)")
    clean = {k: v for k, v in os.environ.items() if k != "WORKER_GC_THRESHOLDS"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**clean, "ONECLICK_LOCAL": "true", "DJANGO_SETTINGS_MODULE": "oneclick.settings"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "(50000, 50, 50) True"


def test_the_local_modes_404_is_the_products_own_page(tmp_path: Path) -> None:
    # Not Django's yellow page listing every URL pattern: what a visitor of a deployed OneClick sees.
    script = ("import django, os; django.setup(); from django.test import Client; "
              "r = Client(raise_request_exception=False, SERVER_NAME='localhost').get('/no/such/page/'); "
              "html = r.content.decode(); print(r.status_code, 'panel.css' in html, 'URLconf' in html)")
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DJANGO_DEBUG"}}
    env = {**clean, "ONECLICK_LOCAL": "true", "DJANGO_SETTINGS_MODULE": "oneclick.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["404", "True", "False"]


def test_production_refuses_to_start_without_encryption_keys() -> None:
    result = run_check(DJANGO_SECRET_KEY="x" * 50, ENCRYPTION_KEYS="")
    assert result.returncode != 0 and "ENCRYPTION_KEYS is not set" in result.stderr
    result = run_check(DJANGO_SECRET_KEY="x" * 50, ENCRYPTION_KEYS="not-a-fernet-key")
    assert result.returncode != 0 and "ENCRYPTION_KEYS must hold one or more Fernet keys" in result.stderr


def test_a_second_key_still_decrypts_what_the_first_one_did(settings: object) -> None:
    from cryptography.fernet import Fernet

    from core import crypto

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]  # type: ignore[attr-defined]
    stored = crypto.encrypt("api-token-123")
    assert "api-token-123" not in stored
    settings.ENCRYPTION_KEYS = [new, old]  # type: ignore[attr-defined]  # rotated: the new key first
    assert crypto.decrypt(stored) == "api-token-123"
    settings.ENCRYPTION_KEYS = [new]  # type: ignore[attr-defined]  # the old key dropped too early
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(stored)
