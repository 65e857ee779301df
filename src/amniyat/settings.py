"""Django settings for Amniyat, read from the environment.

Everything that differs between a laptop demo and a production deployment comes from
environment variables: ``DATABASE_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``AMNIYAT_ENV``.
With ``AMNIYAT_ENV=production`` the settings refuse to start without a real secret key and
switch on the transport-security settings that ``manage.py check --deploy`` looks for.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(os.environ.get("AMNIYAT_HOME", Path.cwd())).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


AMNIYAT_ENV = os.environ.get("AMNIYAT_ENV", "development")
PRODUCTION = AMNIYAT_ENV == "production"

_INSECURE_KEY = "amniyat-development-key-not-for-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _INSECURE_KEY)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _INSECURE_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production."
    )

DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_htmx",
    "django_tasks",
    "djmoney",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "amniyat.core",
    "amniyat.audit",
    "amniyat.accounts",
    "amniyat.places",
    "amniyat.communities",
    "amniyat.fieldwork",
    "amniyat.analysis",
    "amniyat.findings",
    "amniyat.drivers",
    "amniyat.reports",
    "amniyat.plans",
    "amniyat.downloads",
    "amniyat.api",
    "amniyat.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, already compressed, before anything below runs.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are compressed last, once every middleware below has read or written the body.
    # Django pads each compressed response with up to 100 random bytes against BREACH
    # (docs/security.md).
    "amniyat.core.middleware.CompressionMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "amniyat.core.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "amniyat.core.middleware.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's, which reads a verified person's device only if something asks for it.
    "amniyat.accounts.middleware.SecondFactorMiddleware",
    "amniyat.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "amniyat.core.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "amniyat.urls"
# Django's renderer, drawing <select> and checkbox lists without a template per option.
FORM_RENDERER = "amniyat.core.forms.FormRenderer"
WSGI_APPLICATION = "amniyat.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "amniyat.core.context_processors.amniyat",
                "amniyat.demo.context_processors.demo_accounts",
            ],
            # The filters that write content and generated text in the reader's language
            # (``tr``, ``local_list``, ``quoted`` …), in every template without a load tag.
            "builtins": ["amniyat.accounts.templatetags.amniyat_text"],
        },
    },
]

# Each web worker keeps its database connection between requests: opening one to
# PostgreSQL took 8-16 ms on a busy two-core machine (a new server process each time), more
# than a whole page's queries. It is checked before each request's first query (a "SELECT 1",
# 0.07 ms), so a connection the database dropped (a restart, a failover) is replaced instead
# of failing the request; it is renewed every ``DATABASE_CONN_MAX_AGE`` seconds (10 minutes),
# so no server process grows for days. Behind PgBouncer in transaction mode,
# DATABASE_DISABLE_SERVER_SIDE_CURSORS=1 (a cursor cannot outlive the transaction there).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'amniyat.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
        disable_server_side_cursors=env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a task worker writes. Pages of 16 KB rather than
    # 4 KB hold several submissions each (about 1.5 KB of answers): a large import stores
    # about a third faster. The page size takes effect only when the database file is
    # created, before WAL is switched on; docs/deploy.md tells how to convert an older one.
    # A write-ahead log grown by a large import is cut back to 64 MB once checkpointed.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA journal_size_limit=67108864;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Reads the signed-in user of each request with their memberships and second factor in
    # one query (accounts/backends.py); it checks no password.
    "amniyat.accounts.backends.SignedInUserBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Languages: the interface speaks the programme's four languages.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ru", _("Russian")),
    ("tg", _("Tajik")),
    ("uz", _("Uzbek")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Dushanbe"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "amniyat_language"

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
NODE_MODULES = Path(os.environ.get("AMNIYAT_NODE_MODULES", BASE_DIR / "node_modules"))
# Front-end packages come from npm at set-up and are served by the app itself.
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# What pages count again and again over large tables (a programme's members by group and
# sex, a form's submissions beyond a few thousand), kept in files that every web process of
# the machine reads: counted by one worker, served by all, where a per-process memory had
# each worker pay for the same count (half a second for a million submissions on
# PostgreSQL). Only numbers and pseudonymous codes are kept, each under what it was counted
# from (a revision, or the statement with the reader's scope); nothing personal, no free
# text, nothing translated.
KEPT_DIR = Path(os.environ.get("AMNIYAT_CACHE_DIR", BASE_DIR / "var" / "cache" / "kept"))
# Money is a Decimal with its currency (django-money), in the currencies the programmes spend
# and report in: Tajik somoni, Uzbek soʻm, US dollars.
CURRENCIES = ("TJS", "UZS", "USD")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(KEPT_DIR),
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}
# Static files as a person on a phone receives them: collected into STATIC_ROOT
# (`amniyat collectstatic`) under names that carry a hash of their content, each with a gzip
# and a brotli copy, and served by WhiteNoise in the smallest encoding the browser takes with
# "Cache-Control: max-age=315360000, public, immutable": a release that changes a file changes
# its name, so no file is fetched twice. Production serves them so, and so does any server
# started with AMNIYAT_COLLECTED_STATIC=1 (`make demo`); the page walk
# (tests/browser/test_page_walk.py) weighs pages with these settings. The test suite and
# Django's development server, which collect nothing, serve the source files as they are.
COLLECTED_STATIC = PRODUCTION or env_bool("AMNIYAT_COLLECTED_STATIC", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if COLLECTED_STATIC
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not COLLECTED_STATIC
# Where nothing is collected, each file is looked up when asked for, instead of every file
# being indexed whenever a handler starts (the test suite starts one per client).
WHITENOISE_AUTOREFRESH = not COLLECTED_STATIC
# Source maps and TypeScript declarations come with the npm packages, but no page loads them
# (only a browser's developer tools fetch a map): they are served as they are, which spares
# collectstatic half of its compressing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map", "ts"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# How far running imports into SQLite have got: small files the worker writes and the web pages
# read (see fieldwork.imports.services._ProgressNote), so both must see this folder. On
# PostgreSQL the progress is saved in the job's row instead.
IMPORT_PROGRESS_DIR = Path(os.environ.get("AMNIYAT_PROGRESS_DIR", BASE_DIR / "var" / "progress"))
MEDIA_URL = "/media/"

# Two-factor login: required for leads and analysts unless a demo switches it off.
AMNIYAT_REQUIRE_2FA = env_bool("AMNIYAT_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = "Amniyat"

# Personal data (group members' names) is encrypted at rest with these keys: the first one
# encrypts, all decrypt, so keys can be rotated. Production refuses to start without them; a
# development machine without them uses a key derived from SECRET_KEY (core/fields.py).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
if PRODUCTION and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production.")

# Failed logins are throttled per user name (from any address) and, separately, per address
# (on any user names), with a higher limit for an address, which an office may share
# (accounts/throttle.py). Both lift after the cool-off.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AMNIYAT_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AMNIYAT_ADDRESS_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "amniyat.accounts.throttle.LoginThrottle"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind a reverse proxy, the client's address is the last hop the proxy appended to
# X-Forwarded-For; both the audit log and the login throttle use it.
AMNIYAT_PROXY_COUNT = int(os.environ.get("AMNIYAT_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "amniyat.audit.services.client_address"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "amniyat.accounts.authentication.PersonalTokenAuthentication",
        "amniyat.accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Cursor pages (api/pagination.py): each list names its order, one an index reads.
    "DEFAULT_PAGINATION_CLASS": "amniyat.api.pagination.KeysetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "amniyat.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Amniyat API",
    "DESCRIPTION": "Programmes, places, community groups and their members.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Tags (the reference page's sections, /api-reference/) are the resource after /api/v1/.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from files this server serves, so markup
# that slips into a page cannot run; no inline script, no eval (charts and maps are drawn on
# the server). Inline styles stay allowed: templates draw bars with style="width: …%" from the
# data, the server's SVG charts carry their own, and htmx adds inline styles; a style cannot
# run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        # data: for the QR codes drawn on the server (core/qrcodes.py: two-factor set-up,
        # device sign-in), which are images and cannot run.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Upload limits, in bytes (docs/deploy.md): an XLSForm and what its zip may unpack to; a file
# of submissions and what it may unpack to; a REFI-QDA project and what it may unpack to; how
# many files a zip may hold. Read where they are used (fieldwork/conf.py,
# fieldwork/imports/limits.py, drivers/coding/qdpx.py), so tests can override them.
_MIB = 1024 * 1024
AMNIYAT_MAX_UPLOAD_BYTES = int(os.environ.get("AMNIYAT_MAX_UPLOAD_BYTES", 50 * _MIB))
AMNIYAT_MAX_UNPACKED_BYTES = int(os.environ.get("AMNIYAT_MAX_UNPACKED_BYTES", 50 * _MIB))
AMNIYAT_MAX_IMPORT_BYTES = int(os.environ.get("AMNIYAT_MAX_IMPORT_BYTES", 2048 * _MIB))
AMNIYAT_MAX_IMPORT_UNPACKED_BYTES = int(
    os.environ.get("AMNIYAT_MAX_IMPORT_UNPACKED_BYTES", 4096 * _MIB)
)
AMNIYAT_MAX_QDPX_BYTES = int(os.environ.get("AMNIYAT_MAX_QDPX_BYTES", 200 * _MIB))
AMNIYAT_MAX_QDPX_UNPACKED_BYTES = int(os.environ.get("AMNIYAT_MAX_QDPX_UNPACKED_BYTES", 500 * _MIB))
AMNIYAT_MAX_ZIP_MEMBERS = int(os.environ.get("AMNIYAT_MAX_ZIP_MEMBERS", "2000"))
# The largest request body (a form with its file) a page or API call takes, answered 413
# before it is read (core/middleware.py). Django's own limits do not cover files. A route
# that takes larger files says so (core.http.upload_limit): the API's import, up to
# AMNIYAT_MAX_IMPORT_BYTES.
AMNIYAT_MAX_REQUEST_BYTES = int(os.environ.get("AMNIYAT_MAX_REQUEST_BYTES", 512 * _MIB))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# A demo server says so on every page and lists its accounts on the login page.
AMNIYAT_DEMO = env_bool("AMNIYAT_DEMO", default=False)

# E-mail (the action plans' reminders): Django's SMTP backend with EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS from the environment; outside production
# (the demo, a laptop) the console, which prints each message. AMNIYAT_SITE_URL is the address
# links in e-mails start with.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "amniyat@localhost")
AMNIYAT_SITE_URL = os.environ.get("AMNIYAT_SITE_URL", "http://127.0.0.1:8000")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "GroupKindEnum": "amniyat.communities.models.CommunityGroup.Kind",
    "OrganisationKindEnum": "amniyat.accounts.models.Organisation.Kind",
    "PlaceLevelEnum": "amniyat.places.models.Place.Level",
    # An import's status kept its name when reports and their files came with theirs.
    "StatusEnum": "amniyat.fieldwork.models.ImportJob.Status",
    # Content, reports included, is written in one of these.
    "ContentLanguageEnum": "amniyat.core.serializers.content_language_choices",
    "ReportKindEnum": "amniyat.reports.models.Report.Kind",
    "ReportStatusEnum": "amniyat.reports.models.Report.Status",
    "RenderingStatusEnum": "amniyat.reports.models.Rendering.Status",
    "RenderingFormatEnum": "amniyat.reports.models.Rendering.Format",
    "SectionKindEnum": "amniyat.reports.models.Section.Kind",
    "PlanStatusEnum": "amniyat.plans.models.ActionPlan.Status",
    "ActionStatusEnum": "amniyat.plans.models.Action.Status",
    "SideEnum": "amniyat.plans.models.Side",
    "ConsultationLevelEnum": "amniyat.plans.models.Consultation.Level",
}
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]
