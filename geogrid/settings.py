"""GeoGrid settings: one module, driven by environment variables (see README, "Configuration")."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from geogrid.core.logs import django_logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "") -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


Number = TypeVar("Number", int, float)


def _env_number(name: str, default: Number, kind: type[Number], wording: str) -> Number:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {wording}, not {value!r}") from exc


def envint(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def envfloat(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


# Off unless asked for: `make dev` and the test settings (tests/settings.py) turn it on; a
# production server never shows a traceback page or serves files without whitenoise.
DEBUG = envbool("GEOGRID_DEBUG", "0")


def secret_key() -> str:
    """GEOGRID_SECRET_KEY, else the contents of GEOGRID_SECRET_KEY_FILE (the Makefile makes
    var/secret-key once, mode 0600), else — with debug on only — a fixed development key."""
    key = os.environ.get("GEOGRID_SECRET_KEY", "").strip()
    key_file = os.environ.get("GEOGRID_SECRET_KEY_FILE", "").strip()
    if not key and key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"GEOGRID_SECRET_KEY_FILE={key_file} cannot be read: {exc.strerror}"
            ) from exc
    if key:
        return key
    if DEBUG:
        return "dev-only-insecure-key-change-me"
    raise ImproperlyConfigured(
        "Set GEOGRID_SECRET_KEY (or GEOGRID_SECRET_KEY_FILE) when GEOGRID_DEBUG is off"
    )


SECRET_KEY = secret_key()
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("GEOGRID_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if host.strip()
]

# --- Transport security -------------------------------------------------------------------------
# Production runs behind a TLS-terminating web server (README, "Security and privacy"), so with
# debug off every cookie is Secure, plain HTTP is redirected, and browsers are told to use HTTPS
# only (HSTS). GEOGRID_HTTPS=0 turns all of it off for a closed test network without TLS.
GEOGRID_HTTPS = envbool("GEOGRID_HTTPS", "0" if DEBUG else "1")
SECURE_SSL_REDIRECT = GEOGRID_HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = GEOGRID_HTTPS
SECURE_HSTS_SECONDS = envint("GEOGRID_HSTS_SECONDS", 31_536_000 if GEOGRID_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("GEOGRID_HSTS_INCLUDE_SUBDOMAINS", "1")
SECURE_HSTS_PRELOAD = envbool("GEOGRID_HSTS_PRELOAD", "1")
# The web server in front terminates TLS and says so in X-Forwarded-Proto (it must overwrite
# what a client sends: the README's nginx example does); without it SSL redirects would loop.
if envbool("GEOGRID_BEHIND_TLS_PROXY", "1" if GEOGRID_HTTPS else "0"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and systemd probe over plain HTTP on the server's own address.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("GEOGRID_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.forms",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework_gis",
    "drf_spectacular",
    "leaflet",
    "geogrid.core",
    "geogrid.accounts",
    "geogrid.reference",
    "geogrid.grids",
    "geogrid.patrols",
    "geogrid.components",
    "geogrid.cases",
    "geogrid.tiles",
    "geogrid.command_center",
]

MIDDLEWARE = [
    # First: every later middleware's log lines (and the request line) carry the request id.
    "geogrid.core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files before everything else: no session, locale or CSP work for a stylesheet.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip for JSON and vector tiles only (never HTML, which carries CSRF tokens: BREACH).
    "geogrid.core.middleware.CompressDataMiddleware",
    "geogrid.core.middleware.BodySizeLimitMiddleware",
    "geogrid.core.csp.GeoGridCSPMiddleware",
    # /healthz and /readyz, before CommonMiddleware validates the Host header (geogrid/core/health.py).
    "geogrid.core.health.ProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "geogrid.accounts.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "geogrid.core.replica.PinToPrimaryMiddleware",
    "geogrid.core.middleware.DatabaseFailureMiddleware",
]

# Content-Security-Policy (django-csp) on every response: scripts and styles only from our own
# static files — no inline <script>, no style="" attributes, no eval — so text that slips into
# markup cannot run. img-src also gets the basemap's tile origins at request time
# (geogrid/core/csp.py). Page data travels in json_script blocks read by static scripts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# Form widgets render through TEMPLATES, so templates/leaflet/ (django-leaflet's map widget without
# its inline scripts) takes precedence over the package's own templates.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

ROOT_URLCONF = "geogrid.urls"
WSGI_APPLICATION = "geogrid.wsgi.application"

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
                "django.template.context_processors.i18n",
                "geogrid.core.basemap.basemap_context",
                "geogrid.accounts.navigation.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# DATABASE_URL (postgis://user:pass@host:port/name) points at any PostGIS; without it, the
# embedded project-local cluster that `make db` starts (geogrid/core/devdb.py).
GEOGRID_DB_PORT = envint("GEOGRID_DB_PORT", 54329)
DATABASE_URL = os.environ.get("DATABASE_URL") or (
    f"postgis://geogrid@127.0.0.1:{GEOGRID_DB_PORT}/geogrid"
)
# A server that does not answer fails a request within GEOGRID_DB_CONNECT_TIMEOUT seconds (503,
# docs/operations.md "Database faults"), well inside gunicorn's worker timeout.
GEOGRID_DB_CONNECT_TIMEOUT = envint("GEOGRID_DB_CONNECT_TIMEOUT", 3)

# statement_timeout: a web request's query is cancelled by PostgreSQL after
# GEOGRID_STATEMENT_TIMEOUT_S (below gunicorn's worker timeout, so the request ends with a 503
# instead of a killed worker); management commands (imports, migrations, flag_overdue) get
# GEOGRID_COMMAND_STATEMENT_TIMEOUT_S, by default none. 0 means no limit. A web process is one
# whose settings are loaded by geogrid/wsgi.py or asgi.py (gunicorn imports them first).
GEOGRID_WEB_PROCESS = "geogrid.wsgi" in sys.modules or "geogrid.asgi" in sys.modules
GEOGRID_STATEMENT_TIMEOUT_S = envint(
    "GEOGRID_STATEMENT_TIMEOUT_S" if GEOGRID_WEB_PROCESS else "GEOGRID_COMMAND_STATEMENT_TIMEOUT_S",
    30 if GEOGRID_WEB_PROCESS else 0,
)
if GEOGRID_STATEMENT_TIMEOUT_S < 0:
    raise ImproperlyConfigured("A statement timeout must be 0 (none) or a number of seconds.")


def database(url: str) -> dict:
    params = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    params["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    options = params.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", GEOGRID_DB_CONNECT_TIMEOUT)
    if GEOGRID_STATEMENT_TIMEOUT_S:
        options["options"] = (
            options.get("options", "") + " -c statement_timeout="
            f"{GEOGRID_STATEMENT_TIMEOUT_S * 1000}"
        ).strip()
    # Django turns psycopg's prepared statements off (for transaction-mode poolers), and
    # psycopg then ignores even an explicit prepare=True. The hot paths (grids.locate) prepare
    # on purpose, so allow it; Django's own queries use client-side binding and are never
    # prepared either way. Behind a transaction-mode pgbouncer set GEOGRID_DB_PREPARE=0.
    if envbool("GEOGRID_DB_PREPARE", "1"):
        options["prepare_threshold"] = 1_000_000
    return params


# CONN_HEALTH_CHECKS: a kept connection (CONN_MAX_AGE) that the server dropped meanwhile (a
# restart) is found and replaced before the request's first query instead of failing it.
DATABASES = {"default": database(DATABASE_URL)}
# A streaming read replica (docs/operations.md, "Read replica and the scale-out path"): the
# views that opt in (geogrid/core/replica.py) read there. Tests treat it as a mirror of the
# default database, so no second test database is created; migrations never run on it.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {**database(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["geogrid.core.replica.ReplicaRouter"]
# After a successful write request the client reads from the primary for this many seconds.
GEOGRID_REPLICA_PIN_SECONDS = envint("GEOGRID_REPLICA_PIN_SECONDS", 10)
# After a failed connection to the replica, read from the primary this long before trying again.
GEOGRID_REPLICA_RETRY_SECONDS = envint("GEOGRID_REPLICA_RETRY_SECONDS", 30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Django's four validators (similar to the username/name/e-mail, at least 12 characters as
# 等保 practice asks, not a common password, not all digits). They apply where a password is
# chosen (admin forms, changepassword, createsuperuser), not to passwords set by code.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("GEOGRID_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Languages: Chinese by default, English available ---------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "geogrid" / "locale"]
TIME_ZONE = os.environ.get("GEOGRID_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("GEOGRID_STATIC_ROOT", "") or BASE_DIR / "var" / "staticfiles")
# With debug off, whitenoise serves STATIC_ROOT as `collectstatic` leaves it (make serve runs
# it): every name carries a hash of its content (app.3f2a….js), so it is cached for a year and a
# new version is a new name; each file also exists gzipped. With debug on (make dev, the tests)
# the files are served as they are in static/, no collectstatic needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "media/"
# Uploaded photos are never a public folder: /media/ is a view that finds the object a file
# belongs to and applies its access rule (geogrid/core/privacy.py). After the check it answers
# with the bytes (none), or lets the web server in front send them: nginx (X-Accel-Redirect to
# GEOGRID_MEDIA_ACCEL_PREFIX + path, an `internal` location) or apache (X-Sendfile, mod_xsendfile).
GEOGRID_MEDIA_ACCEL = os.environ.get("GEOGRID_MEDIA_ACCEL", "none").strip().lower()
if GEOGRID_MEDIA_ACCEL not in ("none", "nginx", "apache"):
    raise ImproperlyConfigured(
        f"GEOGRID_MEDIA_ACCEL must be none, nginx or apache, not {GEOGRID_MEDIA_ACCEL!r}."
    )
GEOGRID_MEDIA_ACCEL_PREFIX = (
    "/" + os.environ.get("GEOGRID_MEDIA_ACCEL_PREFIX", "/protected-media/").strip("/") + "/"
)

# The privacy model (README "Privacy model"): reports that came in through these channels are
# public (Open311 readers see them with their point and photo); the others (inspector, hotline,
# video, api) are internal: the public sees them without description, address and photos, and
# their position omitted or coarsened to a square of GEOGRID_PRIVATE_CASE_COARSEN_M metres.
GEOGRID_PUBLIC_CASE_CHANNELS = frozenset(
    c.strip()
    for c in os.environ.get("GEOGRID_PUBLIC_CASE_CHANNELS", "open311,citizen").split(",")
    if c.strip()
)
GEOGRID_PRIVATE_CASE_POSITION = (
    os.environ.get("GEOGRID_PRIVATE_CASE_POSITION", "omit").strip().lower()
)
if GEOGRID_PRIVATE_CASE_POSITION not in ("omit", "coarsen"):
    raise ImproperlyConfigured(
        f"GEOGRID_PRIVATE_CASE_POSITION must be omit or coarsen, not "
        f"{GEOGRID_PRIVATE_CASE_POSITION!r}."
    )
GEOGRID_PRIVATE_CASE_COARSEN_M = envfloat("GEOGRID_PRIVATE_CASE_COARSEN_M", 500.0)

# Files sent through the web (photos, uploads) are refused beyond this size with a message;
# files imported on the command line (import_grids, import_components) beyond the second.
GEOGRID_MAX_UPLOAD_MB = envint("GEOGRID_MAX_UPLOAD_MB", 50)
GEOGRID_MAX_IMPORT_MB = envint("GEOGRID_MAX_IMPORT_MB", 2048)
# Photos (component cards, case reports): JPEG/PNG/WebP up to this size (geogrid/core/photos.py).
GEOGRID_MAX_PHOTO_MB = envint("GEOGRID_MAX_PHOTO_MB", 10)
# Limits before work (geogrid/core/middleware.py): a body over GEOGRID_MAX_UPLOAD_MB is a 413
# before it is parsed; non-file form data over 10 MB, more than 100 fields or more than
# GEOGRID_MAX_UPLOAD_FILES files are refused while parsing; files over 2.5 MB go to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("GEOGRID_MAX_FORM_MB", 10) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("GEOGRID_MAX_FORM_FIELDS", 100)
# Photos per report (cases API, Open311 media), counted before any is decoded.
GEOGRID_MAX_PHOTOS = envint("GEOGRID_MAX_PHOTOS", 6)
DATA_UPLOAD_MAX_NUMBER_FILES = envint("GEOGRID_MAX_UPLOAD_FILES", 20)
# Open311: a POST repeating one from the same key (service, point, description) within this many
# seconds answers with the first request's id instead of making a second case.
GEOGRID_OPEN311_REPEAT_WINDOW_S = envint("GEOGRID_OPEN311_REPEAT_WINDOW_S", 600)

# --- GIS ---------------------------------------------------------------------------------------
# The SRIDs themselves live in geogrid/core/srid.py; only the metric CRS is configurable, because
# it depends on the city's longitude (CGCS2000 3-degree Gauss-Krüger zone; Beijing -> 4548).
GEOGRID_METRIC_SRID = envint("GEOGRID_METRIC_SRID", 4548)
# The city's extent, "west,south,east,north" in degrees: reference layers (roads, water,
# buildings… docs/architecture.md §12) are clipped to it on import unless the import names
# another area (--clip) or none (--no-clip). Empty: no clipping. The default is the demo city,
# Beijing Dongcheng, with about 5 km around it.
GEOGRID_CITY_BBOX: tuple[float, float, float, float] | None = None
_city_bbox = os.environ.get("GEOGRID_CITY_BBOX", "116.32,39.81,116.51,40.02").strip()
if _city_bbox:
    try:
        _west, _south, _east, _north = (float(v) for v in _city_bbox.split(","))
    except ValueError:
        raise ImproperlyConfigured(
            f"GEOGRID_CITY_BBOX must be four numbers west,south,east,north, not {_city_bbox!r}"
        ) from None
    if not (-180 <= _west < _east <= 180 and -90 <= _south < _north <= 90):
        raise ImproperlyConfigured(
            "GEOGRID_CITY_BBOX must be west,south,east,north in degrees with west < east and "
            f"south < north, not {_city_bbox!r}"
        )
    GEOGRID_CITY_BBOX = (_west, _south, _east, _north)
# Unit-grid codes: 15 digits (3-digit sequence, DB11/T 2157-2023, GB/T 47678.3) or 14 (CJ/T 213).
GEOGRID_UNIT_GRID_CODE_LENGTH = envint("GEOGRID_UNIT_GRID_CODE_LENGTH", 15)
if GEOGRID_UNIT_GRID_CODE_LENGTH not in (14, 15):
    raise ImproperlyConfigured("GEOGRID_UNIT_GRID_CODE_LENGTH must be 14 or 15")
# Component codes: "gbt47678" (GB/T 47678.5-2026, 17 digits) or "cjt214" (CJ/T 214-2007 /
# GB/T 30428.2-2013, 16 digits). Both taxonomies are loaded; only the active one codes new parts.
GEOGRID_COMPONENT_SCHEME = os.environ.get("GEOGRID_COMPONENT_SCHEME", "gbt47678")
if GEOGRID_COMPONENT_SCHEME not in ("gbt47678", "cjt214"):
    raise ImproperlyConfigured("GEOGRID_COMPONENT_SCHEME must be gbt47678 or cjt214")
# --- Cases ---
# Working hours for deadlines in working time (工作时/工作日); holidays and make-up working days
# are data (cases.CalendarDay, loaded from gis_data/calendar/ by load_calendar).
GEOGRID_WORK_HOURS = os.environ.get("GEOGRID_WORK_HOURS", "08:30-12:00,13:30-18:00")
# Area class (A 核心区 / B 一般区 / C 边缘区) of grids whose attrs do not say (grid attrs "area_class").
GEOGRID_DEFAULT_AREA_CLASS = os.environ.get("GEOGRID_DEFAULT_AREA_CLASS", "B")
if GEOGRID_DEFAULT_AREA_CLASS not in ("A", "B", "C"):
    raise ImproperlyConfigured("GEOGRID_DEFAULT_AREA_CLASS must be A, B or C")
# Possible duplicates at intake: same category, open, within this radius and time window.
GEOGRID_DUPLICATE_RADIUS_M = envfloat("GEOGRID_DUPLICATE_RADIUS_M", 50.0)
GEOGRID_DUPLICATE_WINDOW_HOURS = envfloat("GEOGRID_DUPLICATE_WINDOW_HOURS", 72.0)
# Reports `load_demo` generates over the past year after its 240 service-made cases, so the
# command center shows trends (cases/history.py); 0 turns the generated history off.
GEOGRID_DEMO_HISTORY_REPORTS = envint("GEOGRID_DEMO_HISTORY_REPORTS", 50_000)
if not 0 <= GEOGRID_DEMO_HISTORY_REPORTS <= 200_000:
    # The plan is held in memory (about 7 events a report) before it is written.
    raise ImproperlyConfigured("GEOGRID_DEMO_HISTORY_REPORTS must be between 0 and 200000")
# The longest since/until period the command-center APIs and the case tile layers answer for
# (a longer one is a 400): two years, so a year can be compared with the one before it.
GEOGRID_MAX_PERIOD_DAYS = envint("GEOGRID_MAX_PERIOD_DAYS", 731)
# The command center's aggregates (grid counts, indicators, hot grids) are kept this many
# seconds per process and query: every open dashboard refreshing the same cards costs one query
# per worker and window instead of one each (docs/operations.md). 0 turns it off.
GEOGRID_DASHBOARD_CACHE_S = envint("GEOGRID_DASHBOARD_CACHE_S", 30)
CACHES = {
    # Per process, in memory: only the dashboard answers above use it.
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "geogrid",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}
# Vector tiles: the deepest zoom served, and the most features one tile carries.
GEOGRID_TILE_MAX_ZOOM = envint("GEOGRID_TILE_MAX_ZOOM", 22)
GEOGRID_TILE_MAX_FEATURES = envint("GEOGRID_TILE_MAX_FEATURES", 20_000)
# seed_tiles renders the grids layer up to this zoom ahead of time (geogrid.tiles.seeding):
# ~5,000 tiles for a city of 16,000 unit grids at 14; deeper tiles are small and cheap.
GEOGRID_TILE_SEED_MAX_ZOOM = envint("GEOGRID_TILE_SEED_MAX_ZOOM", 14)
# What Open311 discovery says about who runs this server and how to get an api_key.
GEOGRID_OPEN311_CONTACT = os.environ.get(
    "GEOGRID_OPEN311_CONTACT", "Contact the city management command center that runs this server."
)
GEOGRID_OPEN311_KEY_SERVICE = os.environ.get(
    "GEOGRID_OPEN311_KEY_SERVICE",
    "Reading needs no key. To post requests, ask the operator of this server for an api_key "
    "(issued with manage.py create_open311_key) and send it in the POST body or an X-Api-Key "
    "header, never in the URL.",
)
# A report naming a component must be at most this far from it.
GEOGRID_COMPONENT_MAX_DISTANCE_M = envfloat("GEOGRID_COMPONENT_MAX_DISTANCE_M", 50.0)
# Overlaps, gaps and escapes thinner than this (metres) are drawing noise, not topology errors.
GEOGRID_TOPOLOGY_TOLERANCE_M = envfloat("GEOGRID_TOPOLOGY_TOLERANCE_M", 0.5)
# Division along features (docs/domain.md §2.7): how far (as a share of the target) a grid's
# load may differ from the target before blocks are merged or cut; and how many months of
# reports count as workload.
GEOGRID_DIVISION_TOLERANCE = envfloat("GEOGRID_DIVISION_TOLERANCE", 0.25)
GEOGRID_DIVISION_REPORT_MONTHS = envint("GEOGRID_DIVISION_REPORT_MONTHS", 12)
# Where a grid boundary follows a road: its centreline (the road is shared by the grids either
# side) or its kerbs (each stretch of road belongs wholly to one grid).
GEOGRID_DIVISION_BOUNDARY = (
    os.environ.get("GEOGRID_DIVISION_BOUNDARY", "centreline").strip().lower()
)
if GEOGRID_DIVISION_BOUNDARY not in ("centreline", "kerb"):
    raise ImproperlyConfigured(
        f"GEOGRID_DIVISION_BOUNDARY must be 'centreline' or 'kerb', not {GEOGRID_DIVISION_BOUNDARY!r}."
    )
# Weights of component major classes as workload, "major:weight,…" (e.g. "01:1,02:2"); others 1.
GEOGRID_DIVISION_COMPONENT_WEIGHTS = {
    major.strip(): float(weight)
    for major, _, weight in (
        item.partition(":")
        for item in os.environ.get("GEOGRID_DIVISION_COMPONENT_WEIGHTS", "").split(",")
        if item.strip()
    )
}

# Patrols (docs/domain.md §8). Cleaning: a point farther from the last accepted one than this
# speed allows is a GPS jump; a fix whose reported accuracy is worse than this is dropped.
GEOGRID_PATROL_MAX_SPEED_KMH = envfloat("GEOGRID_PATROL_MAX_SPEED_KMH", 25.0)
GEOGRID_PATROL_MAX_ACCURACY_M = envfloat("GEOGRID_PATROL_MAX_ACCURACY_M", 50.0)
# A silence longer than this splits a track (the line has a gap) and ends a visit to a grid.
GEOGRID_PATROL_GAP_S = envint("GEOGRID_PATROL_GAP_S", 300)
GEOGRID_PATROL_BATCH_MAX_POINTS = envint("GEOGRID_PATROL_BATCH_MAX_POINTS", 500)
# The field app keeps a GPS fix at most this often and sends the kept fixes this often.
GEOGRID_PATROL_FIX_EVERY_S = envint("GEOGRID_PATROL_FIX_EVERY_S", 5)
# load_demo: days of generated patrol history (working days only); 0 for none.
GEOGRID_DEMO_PATROL_DAYS = envint("GEOGRID_DEMO_PATROL_DAYS", 365)
GEOGRID_PATROL_SEND_EVERY_S = envint("GEOGRID_PATROL_SEND_EVERY_S", 10)
# Points older than this are refused from the phone (an offline queue waits hours, not weeks);
# imported files may be of any age.
GEOGRID_PATROL_MAX_POINT_AGE_DAYS = envint("GEOGRID_PATROL_MAX_POINT_AGE_DAYS", 7)
# A phone's clock may run this far ahead of the server's before its times count as future.
GEOGRID_PATROL_CLOCK_SKEW_S = envint("GEOGRID_PATROL_CLOCK_SKEW_S", 120)
GEOGRID_TRACK_FILE_MAX_MB = envint("GEOGRID_TRACK_FILE_MAX_MB", 20)
# Coverage without a road layer: the share of a grid's area within this distance of a track.
GEOGRID_COVERAGE_DISTANCE_M = envfloat("GEOGRID_COVERAGE_DISTANCE_M", 30.0)
# Path checks: a report or street-side component change is flagged when it lies farther than
# this from the inspector's track at its time, or when no track point lies within the window.
GEOGRID_PATH_CHECK_DISTANCE_M = envfloat("GEOGRID_PATH_CHECK_DISTANCE_M", 100.0)
GEOGRID_PATH_CHECK_WINDOW_S = envint("GEOGRID_PATH_CHECK_WINDOW_S", 300)
# Anonymous clients may read public grid data (GeoJSON, locate, code explanations).
GEOGRID_PUBLIC_READ_API = envbool("GEOGRID_PUBLIC_READ_API", "1")
GEOGRID_API_PAGE_SIZE = envint("GEOGRID_API_PAGE_SIZE", 100)
GEOGRID_API_MAX_PAGE_SIZE = envint("GEOGRID_API_MAX_PAGE_SIZE", 1000)
# The basemap (geogrid/core/basemap.py): local (GeoGrid's own vector tiles of the reference
# layers, works without internet), osm (OpenStreetMap), tianditu (天地图, needs
# GEOGRID_TIANDITU_KEY), custom (GEOGRID_BASEMAP_URL, an XYZ template) or none. Pages still work
# (plain background) when it cannot be reached. Unset: custom when GEOGRID_BASEMAP_URL is set,
# tianditu when GEOGRID_TIANDITU_KEY is, else local — no internet basemap is configured.
GEOGRID_BASEMAP_URL = os.environ.get("GEOGRID_BASEMAP_URL", "")
GEOGRID_BASEMAP_ATTRIBUTION = os.environ.get("GEOGRID_BASEMAP_ATTRIBUTION", "")
GEOGRID_TIANDITU_KEY = os.environ.get("GEOGRID_TIANDITU_KEY", "")
GEOGRID_BASEMAP = (
    os.environ.get(
        "GEOGRID_BASEMAP",
        "custom" if GEOGRID_BASEMAP_URL else "tianditu" if GEOGRID_TIANDITU_KEY else "local",
    )
    .strip()
    .lower()
)

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (39.91, 116.41),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    # The admin's geometry maps get no tile layer from django-leaflet: static/js/core/basemap.js
    # gives them the pages' basemap (GEOGRID_BASEMAP, the offline one by default) on their
    # map:init, read per request from templates/admin/base_site.html.
    "TILES": [],
    "RESET_VIEW": False,
    # Every page's Leaflet ({% leaflet_js %}) comes with the basemap's script
    # (static/js/core/basemap.js) and the vendored VectorGrid it draws the offline basemap with.
    "PLUGINS": {
        "geogrid-basemap": {
            "js": [
                "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js",
                "js/core/basemap.js",
            ],
            "auto-include": True,
        }
    },
}

# --- Log-in and credentials (README "Log-in and credentials") -----------------------------------
# Failed log-ins (page, admin, API token, two-factor code) allowed per account and per client
# address within the window; past that, 429 with Retry-After until the window ends.
GEOGRID_LOGIN_FAILURES_PER_ACCOUNT = envint("GEOGRID_LOGIN_FAILURES_PER_ACCOUNT", 5)
GEOGRID_LOGIN_FAILURES_PER_ADDRESS = envint("GEOGRID_LOGIN_FAILURES_PER_ADDRESS", 20)
GEOGRID_LOGIN_LOCKOUT_MINUTES = envint("GEOGRID_LOGIN_LOCKOUT_MINUTES", 15)
# Open311 POSTs accepted per api_key and per client address in a minute.
GEOGRID_OPEN311_POSTS_PER_MINUTE = envint("GEOGRID_OPEN311_POSTS_PER_MINUTE", 30)
# Behind a reverse proxy, the META key of the header it sets to the client's address (e.g.
# HTTP_X_REAL_IP); empty = REMOTE_ADDR. Never a header the client itself can set.
GEOGRID_CLIENT_IP_HEADER = os.environ.get("GEOGRID_CLIENT_IP_HEADER", "")
# API tokens (django-rest-knox: only a hash is stored) expire after this many hours.
GEOGRID_API_TOKEN_TTL_HOURS = envfloat("GEOGRID_API_TOKEN_TTL_HOURS", 12.0)
# Admins and planners must log in with a TOTP code and are sent to enrolment until they have one.
GEOGRID_REQUIRE_2FA = envbool("GEOGRID_REQUIRE_2FA", "0")
# The issuer shown in authenticator apps next to the account name.
OTP_TOTP_ISSUER = os.environ.get("GEOGRID_2FA_ISSUER", "GeoGrid")
# The admin lists TOTP devices (to delete a lost one) but never shows their secret or QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "geogrid.accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["geogrid.core.permissions.PublicReadOrAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "geogrid.core.schema.GeoGridAutoSchema",
    "EXCEPTION_HANDLER": "geogrid.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies must be objects (geogrid/core/api.py).
    "DEFAULT_PARSER_CLASSES": [
        "geogrid.core.api.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=GEOGRID_API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GeoGrid API",
    "DESCRIPTION": "Grids, point-in-grid lookup and code explanations for urban grid management.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# GDAL < 3.9 cannot forbid file/network access while parsing spatial-reference strings
# (gis.W001). GeoGrid never passes user input to SpatialReference: CRS parameters are parsed
# by geogrid.core.crs into integer EPSG codes first.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Logs (geogrid/core/logs.py, docs/operations.md "Health checks and logs"): one JSON object per line
# on stderr, each with the request id; GEOGRID_LOG_FORMAT=text for plain lines. GeoGrid's own
# loggers (request lines, service events) log at INFO, everything else at GEOGRID_LOG_LEVEL.
try:
    LOGGING = django_logging_config()
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
