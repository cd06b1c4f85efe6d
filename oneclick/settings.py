"""Settings, read from the environment (see README "Configuration").

Two modes:
- production (the default): DEBUG off, DJANGO_SECRET_KEY required, DATABASE_URL and CELERY_BROKER_URL
  point at PostgreSQL and Redis.
- the embedded local mode (ONECLICK_LOCAL=true, set by ./run): SQLite, Celery's filesystem broker, a
  development secret, and webhooks to private networks allowed so the built-in demo automation works.
"""

import os
import socket
import warnings
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from core.crypto import KEYS_SENTENCE, parse_keys
from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment. A bad value ("yes please") fails at start-up rather than
    silently meaning False, as django-environ's env.bool would."""
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE_WORDS:
        return True
    if value.strip().lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


LOCAL_MODE: bool = env_bool("ONECLICK_LOCAL", default=False)

# Off in the local mode too: its 404 and 500 are the product's own pages, as a visitor of a deployed
# OneClick sees them; Django's debug page (every URL pattern, every setting) only when asked for.
DEBUG: bool = env_bool("DJANGO_DEBUG", False)
if LOCAL_MODE:
    SECRET_KEY: str = env.str("DJANGO_SECRET_KEY", default="local-mode-only-not-a-secret-3f9a1c")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, or run the embedded "
            "local mode with ONECLICK_LOCAL=true (./run does this)."
        )

# Secrets at rest (confidential webhook headers, a company's CRM tokens) are encrypted with these Fernet
# keys (core.crypto): the first encrypts, every one decrypts, so a key can be rotated. Required outside
# the local mode, which makes one in var/ on its first start.
if LOCAL_MODE and not env.str("ENCRYPTION_KEYS", default=""):
    _key_file = VAR_DIR / "encryption.key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        _key_file.parent.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(Fernet.generate_key().decode() + "\n")
        _key_file.chmod(0o600)
    ENCRYPTION_KEYS: list[str] = parse_keys(_key_file.read_text())
else:
    _keys = env.str("ENCRYPTION_KEYS", default="")
    if not _keys.strip():
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is not set. " + KEYS_SENTENCE + " Or run the embedded local mode with "
            "ONECLICK_LOCAL=true (./run does this).")
    ENCRYPTION_KEYS = parse_keys(_keys)

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if LOCAL_MODE or DEBUG else []
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Outbound webhooks may reach loopback/private addresses only when this is on: the embedded local
# mode (its demo automation runs on 127.0.0.1) and tests. Never in production.
WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", LOCAL_MODE)
# Where the local-mode demo automation posts its custom messages back to (this app itself).
DEMO_BASE_URL: str = env.str("DEMO_BASE_URL", default="http://127.0.0.1:8000")
MESSAGE_RETENTION_DAYS: int = env.int("MESSAGE_RETENTION_DAYS", default=30)
if MESSAGE_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("MESSAGE_RETENTION_DAYS must be at least 1.")

# The custom-message window and quota of the product guide.
EVENT_WINDOW_SECONDS = 45
MAX_CUSTOM_MESSAGES = 10
# Deliveries of one company in flight at once per delivery process (deliveries.shares): a flood of clicks to
# a slow automation leaves the other companies' clicks their slots. Three quarters of the delivery
# worker's --concurrency (2,000; 100 in ./run): one company's burst may use most of an idle worker
# (2,000 clicks in 20 s to a 10 s automation need 1,000 at once), and a quarter stays for the others.
DELIVERY_COMPANY_CAP: int = env.int("DELIVERY_COMPANY_CAP", default=75 if LOCAL_MODE else 1500)
if DELIVERY_COMPANY_CAP < 1:
    raise ImproperlyConfigured("DELIVERY_COMPANY_CAP must be at least 1.")
WEBHOOK_CONNECT_TIMEOUT = 5.0
WEBHOOK_TOTAL_TIMEOUT = 40.0
# Keep-alive connections the delivery worker keeps to automation hosts (deliveries.webhooks).
WEBHOOK_POOL_HOSTS: int = env.int("WEBHOOK_POOL_HOSTS", default=100)
WEBHOOK_POOL_PER_HOST: int = env.int("WEBHOOK_POOL_PER_HOST", default=500)
# The cycle collector's thresholds in Celery workers, after freezing start-up's objects (oneclick.celery).
try:
    WORKER_GC_THRESHOLDS: tuple[int, ...] = tuple(env.list("WORKER_GC_THRESHOLDS", cast=int, default=[50000, 50, 50]))
except ValueError:
    WORKER_GC_THRESHOLDS = ()
if not 1 <= len(WORKER_GC_THRESHOLDS) <= 3 or min(WORKER_GC_THRESHOLDS) < 1:
    raise ImproperlyConfigured("WORKER_GC_THRESHOLDS must be one to three positive whole numbers, e.g. 50000,50,50.")

# --- Embedding in the CRM (crm.tokens, crm.pipedrive) -------------------------------------
# The Pipedrive app's OAuth client (Developer Hub); the panel's JWT is signed with the client secret
# unless Pipedrive was given a separate JWT secret. PUBLIC_URL is this app as the internet sees it,
# for the OAuth redirect URI.
PIPEDRIVE_CLIENT_ID: str = env.str("PIPEDRIVE_CLIENT_ID", default="")
PIPEDRIVE_CLIENT_SECRET: str = env.str("PIPEDRIVE_CLIENT_SECRET", default="")
# In the local mode the demo CRM page plays Pipedrive, so it needs a key to sign its panel tokens.
PIPEDRIVE_JWT_SECRET: str = env.str(
    "PIPEDRIVE_JWT_SECRET",
    default=PIPEDRIVE_CLIENT_SECRET or ("local-mode-only-pipedrive-jwt-secret" if LOCAL_MODE else ""),
)
PIPEDRIVE_OAUTH_URL: str = env.str("PIPEDRIVE_OAUTH_URL", default="https://oauth.pipedrive.com").rstrip("/")
PUBLIC_URL: str = env.str("PUBLIC_URL", default=DEMO_BASE_URL if LOCAL_MODE else "").rstrip("/")
# Who may frame the Pipedrive panel (CSP frame-ancestors). The local mode adds its demo CRM page, which
# runs on http://localhost:<port> beside the app on 127.0.0.1 (another origin, as a real CRM is).
EMBED_FRAME_ANCESTORS: list[str] = env.list(
    "EMBED_FRAME_ANCESTORS",
    default=["https://*.pipedrive.com", "http://localhost:*"] if LOCAL_MODE else ["https://*.pipedrive.com"],
)
# The panel's bearer credential inside a frame (no cookies there): renewed before it ends.
EMBED_ACCESS_SECONDS: int = min(max(env.int("EMBED_ACCESS_SECONDS", default=600), 10), 900)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "csp",
    # The project's apps, lowest layer first: each imports only from those above it in this list (and
    # from core, the lib, which knows none of them); nothing imports oneclick (README, "How it works").
    "accounts",
    "buttons",
    "messaging",
    "deliveries",
    "crm",
]
if LOCAL_MODE:  # the demo automation, the demo CRM and seed_demo: never in a production process
    INSTALLED_APPS.append("demo")
# What `createmember --admin` grants: enough to manage buttons and read the logs, nothing else.
COMPANY_ADMIN_PERMISSIONS = (
    ("buttons", "view_button"),
    ("buttons", "add_button"),
    ("buttons", "change_button"),
    ("buttons", "delete_button"),
    ("buttons", "view_clickevent"),
    ("messaging", "view_message"),
)

MIDDLEWARE = [
    "core.errors.JSONErrorsMiddleware",
    "core.errors.ServiceUnavailableMiddleware",
    "core.errors.CharsetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "oneclick.urls"
WSGI_APPLICATION = "oneclick.wsgi.application"
ASGI_APPLICATION = "oneclick.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.themes.theme",
                "crm.context_processors.pipedrive_sign_in",
                "messaging.context_processors.retention",
            ],
        },
    },
]

# A server that stops answering without closing its connections (a partition, a failover that black-holes
# packets) is declared dead by the kernel after this long, on every PostgreSQL and Redis connection: data
# left unacknowledged this long ends the connection (TCP_USER_TIMEOUT), so a request gets its 503 within
# 5 s, and an idle connection is probed after 5 s of silence (keepalives: one small packet every 5 s, so
# thousands of idle subscriptions stay cheap), so the pools drop dead ones and reconnect on their own.
# Without them a request could wait for the kernel's retransmissions: minutes.
# 2.5 s: a request may first wait the pool's 2 s for a connection, then find its server silent; both
# together must stay inside the 5 s within which every request is answered (test_faults.py -k silent
# missed it by 0.04 s, once in three runs, with 3 s).
DEAD_PEER_SECONDS = env.float("DEAD_PEER_SECONDS", default=2.5)

# --- Database -------------------------------------------------------------------------------------
def _required_url(name: str, schemes: tuple[str, ...], example: str) -> str:
    """A service URL the production mode cannot run without: missing or malformed stops the process at
    start with a sentence naming the variable (instead of a silent SQLite or a KeyError later)."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it to a URL like {example}, or run the embedded local mode with "
            "ONECLICK_LOCAL=true (./run does this)."
        )
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes or not (rest.strip("/") or scheme == "filesystem"):
        raise ImproperlyConfigured(f"{name} is not a valid URL: it should look like {example}.")
    return value


if LOCAL_MODE:
    _database_url = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'oneclick.sqlite3'}")
else:
    _database_url = _required_url("DATABASE_URL", ("postgres", "postgresql", "pgsql", "sqlite"),
                                  "postgres://user:password@host:5432/oneclick")
try:
    DATABASES = {"default": env.db_url_config(_database_url)}
except ValueError as exc:  # a port out of range, a bad query string
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid URL: {exc}.") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web process and the Celery worker share one file: WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock at BEGIN (no lock upgrade deadlocks), the timeout waits it out.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    # Web requests run in a thread pool (oneclick.handlers) and Celery tasks in worker threads; a small
    # psycopg pool per process shares connections among them instead of one per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each pooled connection is checked before it is handed out (one empty round trip), so one that a
    # PostgreSQL restart killed is replaced instead of failing the first request after it; the
    # backend is Django's own with a check that sweeps the pool at the first dead connection.
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # A server that is down answers nothing: give up connecting quickly so requests get their 503 fast.
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
    # libpq's keepalives and user timeout: a silent server is dead after DEAD_PEER_SECONDS.
    options.update(keepalives=1, keepalives_idle=5, keepalives_interval=1, keepalives_count=3,
                   tcp_user_timeout=int(DEAD_PEER_SECONDS * 1000))
    options["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        # How long a request waits for a free connection before its 503 (README, "What users see when
        # something fails": within 3 s).
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=2.0),
        # psycopg's pool retries a failed connect with a doubling delay (1, 2, 4, 8 s ...), so after a
        # 10 s outage it could wait 8 s more; giving up after 2 s lets the next request start a fresh
        # attempt at once, and service is back as soon as the server is.
        "reconnect_timeout": 2.0,
    }
    # Django binds parameters client-side and never prepares; the hot path of /api/trigger-message asks
    # for a prepared statement (messaging.actions, add_custom_message), which psycopg only honours with a threshold set.
    # Behind a pooler that cannot keep prepared statements (PgBouncer < 1.21 in transaction mode), set
    # DATABASE_PREPARED_STATEMENTS=false.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        options["prepare_threshold"] = 5
# Threads per web process for sync views (oneclick.handlers): they wait on the database, so no more
# than its pool holds.
ASGI_THREADS = env.int("ASGI_THREADS", default=env.int("DATABASE_POOL_MAX", default=10))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------------------------------
if LOCAL_MODE:
    CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default="filesystem://")
else:
    CELERY_BROKER_URL = _required_url("CELERY_BROKER_URL", ("redis", "rediss", "filesystem"),
                                      "redis://host:6379/0")
# No Redis call may hold a request for long: a 503 within 3 s while Redis is down or stalled (README, "What
# users see when something fails").
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
# Linux's names; a system without one of them (macOS has no TCP_USER_TIMEOUT) goes without that option.
_KEEPALIVE_OPTIONS = {"TCP_KEEPIDLE": 5, "TCP_KEEPINTVL": 1, "TCP_KEEPCNT": 3,
                      "TCP_USER_TIMEOUT": int(DEAD_PEER_SECONDS * 1000)}
REDIS_KEEPALIVE = {
    "socket_keepalive": True,
    "socket_keepalive_options": {getattr(socket, name): value for name, value in _KEEPALIVE_OPTIONS.items()
                                 if hasattr(socket, name)},
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Web and worker exchange tasks through files in this folder (tests point it elsewhere).
    _queue_dir = Path(env.str("CELERY_FILESYSTEM_BROKER_DIR", default=str(VAR_DIR / "broker")))
    (_queue_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_queue_dir / "control"),  # broadcast exchanges (default: ./control)
        "store_processed": False,
        "polling_interval": 0.2,
    }
else:
    # A publish is retried once after a reconnect (a Redis restart leaves dead pooled connections), so
    # a click facing a paused Redis waits three of these: still inside its 3 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT / 2,
        "socket_timeout": REDIS_SOCKET_TIMEOUT / 2,
        **REDIS_KEEPALIVE,
        # kombu's Redis transport keeps each fetched task in an "unacked" hash, to hand it out again
        # an hour later if its worker died: two more Redis round trips per click in the worker's one
        # consumer loop, for a task that would come back long after its click's 45 s window (its
        # click is told by then; deliveries.delivery's sweep). Off, deliveries/s went from 131 to 161 on
        # one delivery process (docs/decisions.md).
        "ack_emulation": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None  # nobody reads task results
# Celery keeps a result backend per thread unless told it is thread-safe, and under the gevent pool each
# greenlet is a thread: every delivery built one only to store nothing, 5 % of the delivery process's CPU
# (py-spy of bench/click_to_webhook.py --scenario drain). Storing nothing is safe from any thread; a real
# backend, should one ever be set, is not declared so.
CELERY_RESULT_BACKEND_THREAD_SAFE = CELERY_RESULT_BACKEND is None
CELERY_TASK_IGNORE_RESULT = True
# A click must not hang on a dead broker: one quick retry, then the user hears of it (503) within 3 s.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER: bool = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Deliveries and housekeeping on queues of their own, each with its own worker: the stalled-delivery
# sweep must never wait behind a backlog of clicks, nor a click behind a retention batch.
CELERY_TASK_DEFAULT_QUEUE = "deliveries"
HOUSEKEEPING_QUEUE = "housekeeping"
CELERY_TASK_ROUTES = {
    "buttons.tasks.fail_stalled_deliveries": {"queue": HOUSEKEEPING_QUEUE},
    "messaging.tasks.purge_expired_messages": {"queue": HOUSEKEEPING_QUEUE},
    "messaging.tasks.delete_cleared_messages": {"queue": HOUSEKEEPING_QUEUE},
}
# How often the sweep ends clicks whose delivery will never finish (deliveries.delivery): a dead worker's
# clicker hears of it within a minute of the click, a lost task's by the end of its window.
STALLED_SWEEP_SECONDS = 5.0
CELERY_BEAT_SCHEDULE = {
    "purge-expired-messages": {
        "task": "messaging.tasks.purge_expired_messages",
        "schedule": env.float("RETENTION_INTERVAL_SECONDS", default=3600.0),
    },
    "fail-stalled-deliveries": {
        "task": "buttons.tasks.fail_stalled_deliveries",
        "schedule": STALLED_SWEEP_SECONDS,
        "options": {"expires": STALLED_SWEEP_SECONDS},  # a late sweep is replaced by the next one
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))

# --- Cache (throttling, live updates) --------------------------------------------------------------
_default_cache = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "locmemcache://"
CACHES = {"default": env.cache("CACHE_URL", default=_default_cache)}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Django's own Redis backend (older django-environ named the third-party one).
    CACHES["default"]["BACKEND"] = "django.core.cache.backends.redis.RedisCache"
    CACHES["default"]["OPTIONS"] = {
        "pool_class": "core.redispool.SharedConnectionPool",  # one pool per process, not per thread
        "client_name": "oneclick-shared",  # CLIENT LIST tells a process's Redis connections apart
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        **REDIS_KEEPALIVE,
    }

# --- Auth, sessions, security ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SECURE_COOKIES: bool = env_bool("DJANGO_SECURE_COOKIES", not (DEBUG or LOCAL_MODE))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"
BEHIND_TLS_PROXY: bool = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None

# No inline script anywhere: pages load static/panel.js; messages are sanitized and shown as HTML.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- REST framework --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous caller gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        # The embedded panel's credential (no cookies inside a CRM's frame); needs no CSRF token. Before
        # the session, so a Bearer request decides who it is even when a same-site cookie rides along (as
        # the live stream does), rather than failing the session's CSRF check.
        "accounts.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.bodies.JSONParser",
        "core.bodies.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Posts to /api/trigger-message for unknown or expired events, per client address: generous for
        # automations whose scenarios run late, far too slow to guess a uuid4 event id. Valid posts
        # are never counted (messaging.throttling).
        "trigger_message_miss": env.str("TRIGGER_MESSAGE_MISS_RATE", default="600/minute"),
        # Sign-in attempts (the login page, the admin's and /api/auth/token/) per client address.
        "login": env.str("LOGIN_RATE", default="10/minute"),
    },
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    # The throttle's client address: X-Forwarded-For is the caller's to write, so only the entries the
    # proxies in front appended are believed (none without a proxy, else the last one's).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=1 if BEHIND_TLS_PROXY else 0),
    "DEFAULT_PAGINATION_CLASS": "core.pagination.ResultsPagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OneClick messaging API",
    "DESCRIPTION": "Buttons on CRM records that fire webhooks, and the messages automations send back.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operation ids as "auth_token_create", not "api_auth_token_create", now that /pipedrive/session/
    # and /embed/session/ (the embedded panel's credential) are in the schema beside /api/.
    "SCHEMA_PATH_PREFIX": r"/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # A button's kind (webhook, link) and a field's kind (record, input) are two enums, each named.
    "ENUM_NAME_OVERRIDES": {"ButtonKindEnum": "buttons.models.KINDS", "FieldKindEnum": "buttons.fields.KINDS",
                            "FieldTypeEnum": "buttons.fields.TYPES"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "oneclick.schema.add_error_responses",
                            "oneclick.schema.canonical_paths"],
}

# --- I18N, static ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Datetimes with seconds: an event's window is 45 s, so minutes alone hide the order of what happened.
FORMAT_MODULE_PATH = ["oneclick.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Pipedrive's SDK comes from npm (package.json, package-lock.json; `npm ci`), never copied into the repo.
SDK_DIR = BASE_DIR / "node_modules" / "@pipedrive" / "app-extensions-sdk" / "dist"
STATICFILES_DIRS = [BASE_DIR / "static", *([("vendor/app-extensions-sdk", SDK_DIR)] if SDK_DIR.exists() else [])]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Hashed, compressed file names need `collectstatic` first. A production server started without it
# still serves its pages (the files from their source folders, unhashed) and says so in its log,
# rather than answering every page with a 500.
STATIC_COLLECTED = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
WHITENOISE_AUTOREFRESH = DEBUG or LOCAL_MODE  # the local mode serves an edited file without a restart
if not STATIC_COLLECTED:  # said once by oneclick.handlers instead of once per process by WhiteNoise
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

LOG_FORMAT: str = env.str("LOG_FORMAT", default="console").lower()
LOGGING = logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO").upper())
