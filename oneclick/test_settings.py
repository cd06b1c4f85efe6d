"""Settings for the test suite: PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL are set
(CI sets them), SQLite and an in-memory cache otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-for-production-use")
# A fixed Fernet key, for tests only (secrets at rest: core.crypto).
os.environ.setdefault("ENCRYPTION_KEYS", "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=")
# Receivers in tests listen on 127.0.0.1; the SSRF tests turn the guard back on explicitly.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("DJANGO_DEBUG", "false")
# Without service URLs the suite runs on SQLite and the filesystem broker (the production settings
# refuse to start without them).
os.environ.setdefault("DATABASE_URL", "sqlite:///" + os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "var", "oneclick.sqlite3"))
os.environ.setdefault("CELERY_BROKER_URL", "filesystem://")

from oneclick.settings import *  # noqa: F403
from oneclick.settings import CACHES, INSTALLED_APPS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks inline; the end-to-end tests start a real worker on the real broker.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
CELERY_TASK_EAGER_PROPAGATES = True
CACHES["default"]["KEY_PREFIX"] = f"oneclick-test-{os.getpid()}"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# TEST_DB_NAME lets several test runs share a machine without sharing a database.
_test_db = env.str("TEST_DB_NAME", default="test_oneclick")  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so the end-to-end tests' Celery worker can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"{_test_db}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_db}  # noqa: F405
STATIC_ROOT = None  # tests never collect static files; whitenoise serves them from the finders
WHITENOISE_USE_FINDERS = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# The demo's own tests (its automation, seed_demo) need its app; its pages stay unmounted, as in production.
if "demo" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
