"""Settings from the environment (12-factor).

Every value has an embedded default so `make demo` runs with SQLite and a filesystem
Celery broker and no external server. Production (`ANNOTATOR_ENV=production`) refuses
to start with the default secret key, with DEBUG on or without DATABASE_URL, and turns on
HTTPS: redirect, HSTS, secure cookies, and trust in the proxy's X-Forwarded-Proto.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ANNOTATOR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def parse_choices(name: str, text: str) -> list[tuple[str, str]]:
    """``label=source; label=source`` as (label, source) pairs; a bare ``source`` is its own
    label. Entries are separated by ``;`` or new lines; the first ``=`` ends the label."""
    choices = []
    for entry in text.replace("\n", ";").split(";"):
        if not entry.strip():
            continue
        label, sep, source = entry.partition("=")
        label, source = (label.strip(), source.strip()) if sep else (entry.strip(),) * 2
        if not label or not source:
            raise ImproperlyConfigured(
                f"{name}: {entry.strip()!r} needs a label and a model, as "
                "'label=/path/to/model' or 'label=hub/id' (entries separated by ';')."
            )
        choices.append((label, source))
    return choices


ENVIRONMENT = os.environ.get("ANNOTATOR_ENV", "local")
DEFAULT_SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", ENVIRONMENT != "production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

if ENVIRONMENT == "production":
    if SECRET_KEY == DEFAULT_SECRET_KEY:
        raise ImproperlyConfigured(
            "Set SECRET_KEY: production refuses the built-in development key."
        )
    if DEBUG:
        raise ImproperlyConfigured("Set DEBUG=0: production refuses to run with DEBUG on.")
    if not os.environ.get("DATABASE_URL"):
        raise ImproperlyConfigured(
            "Set DATABASE_URL (postgres://user:password@host:5432/name): production refuses "
            "to fall back to the embedded SQLite file."
        )
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    # The TLS proxy in front (nginx) says the request came over HTTPS; without it every
    # request would look like plain HTTP and be redirected forever.
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "axes",
    "labeling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"
ASGI_APPLICATION = "annotator.asgi.application"

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
            ],
        },
    },
]

# Connections are kept between requests for a minute: opening one to PostgreSQL costs a
# backend process each time, more than a whole next-task (bench/assignment.py).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# The dashboard's statistics and figures are computed once per change of the data and cached
# (labeling/selectors/dashboard_cache.py). CACHE_URL=redis://host:6379/1 shares that cache
# between all web workers (docker-compose sets it); without it each process keeps its own.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL:
    raise ImproperlyConfigured(
        f"CACHE_URL must be a redis:// or rediss:// URL (or unset for a per-process cache), "
        f"not {CACHE_URL!r}."
    )
if os.environ.get("TEST_DATABASE_NAME"):  # lets several test runs share one server
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: the next-task claim walks an index and stops at the first eligible job, but
    # its estimate (a LIMIT 1 over filters the planner cannot size) passes jit_above_cost,
    # and compiling took ~450 ms of a 1 ms statement (labeling/services/assignment.md).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media (sources and renditions) is private: it is never given a public URL and is
# served only through views that check who may see which modality.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Behind nginx: SENDFILE_HEADER=X-Accel-Redirect and an internal location at this prefix.
SENDFILE_HEADER = os.environ.get("SENDFILE_HEADER", "")
SENDFILE_URL_PREFIX = os.environ.get("SENDFILE_URL_PREFIX", "/protected-media/")
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 5000

# Password guessing is slowed and logged (django-axes): after AXES_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is locked out for the cool-off.
AUTHENTICATION_BACKENDS = [
    "annotator.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "annotator.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CHERMA annotator API",
    "DESCRIPTION": "Modality-masked emotion annotation, curation and export.",
    "VERSION": "0.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. Embedded default: a filesystem broker under var/ (no Redis needed), so long
# jobs stay off the request path even on a laptop. Production points these at Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Tasks acknowledge when they finish (acks_late); Redis hands an unacknowledged task to
    # another worker after this long, so it must outlast the longest export or training run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 48 * 3600))
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {  # the first pattern that matches wins
    "labeling.tasks.train_run_task": {"queue": "gpu"},
    "labeling.tasks.predict_task": {"queue": "gpu"},
    "labeling.tasks.export_*": {"queue": "export"},
    "labeling.tasks.*": {"queue": "cpu"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Import rules: media outside these bounds is reported as a bad row.
IMPORT_MIN_DURATION_SECONDS = float(os.environ.get("IMPORT_MIN_DURATION_SECONDS", "0.5"))
IMPORT_MAX_DURATION_SECONDS = float(os.environ.get("IMPORT_MAX_DURATION_SECONDS", "120"))
RENDITION_MAX_ATTEMPTS = int(os.environ.get("RENDITION_MAX_ATTEMPTS", "3"))
# A rendition "running" for longer than this was left by a worker that died: claim it again.
RENDITION_RUNNING_SECONDS = int(os.environ.get("RENDITION_RUNNING_SECONDS", "600"))

# Feature models the admin's export form offers per modality, besides the default
# (EXPORT_<ROLE>_MODEL, else the built-in one) and the demo's random models: local
# save_pretrained directories or hub ids, from EXPORT_TEXT_MODELS, EXPORT_AUDIO_MODELS and
# EXPORT_VISION_MODELS as "label=source; label=source".
EXPORT_FEATURE_MODELS = {
    role: parse_choices(
        f"EXPORT_{role.upper()}_MODELS", os.environ.get(f"EXPORT_{role.upper()}_MODELS", "")
    )
    for role in ("text", "audio", "vision")
}
# Where make_demo saves tiny random feature models; the export form offers them when present.
FEATURE_MODELS_DIR = Path(os.environ.get("FEATURE_MODELS_DIR", VAR_DIR / "feature-models"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
