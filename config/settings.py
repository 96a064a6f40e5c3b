"""Settings for development and tests. Production: config.settings_production."""

import datetime
import os

from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env, local_database_url, local_owner_url, wheel_library

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else None)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# GDAL/GEOS: the ones bundled in the pyogrio and shapely wheels (GDAL 3.12, GEOS 3.14), so GeoDjango,
# pyogrio and shapely share one library each, and GDAL >= 3.9 lets Django block file/network access
# from spatial references in uploaded files (gis.W001). Override with GDAL_LIBRARY_PATH / GEOS_LIBRARY_PATH.
GDAL_LIBRARY_PATH = env("GDAL_LIBRARY_PATH", default=None) or wheel_library("pyogrio.libs", "libgdal*.so*")
GEOS_LIBRARY_PATH = env("GEOS_LIBRARY_PATH", default=None) or wheel_library("shapely.libs", "libgeos_c*.so*")
if GDAL_LIBRARY_PATH and "pyogrio.libs" in GDAL_LIBRARY_PATH:
    os.environ.setdefault("PROJ_DATA", str(os.path.join(GDAL_LIBRARY_PATH.split("pyogrio.libs")[0], "pyogrio", "proj_data")))
    os.environ.setdefault("GDAL_DATA", str(os.path.join(GDAL_LIBRARY_PATH.split("pyogrio.libs")[0], "pyogrio", "gdal_data")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "leaflet",
    "simple_history",
    "geo_assets",
    "projects",
    "layers",
    "importers",
    "maps",
    "verification",
    "lifecycle",
    "reports",
    "config.cache",  # the shared cache's table (config/cache)
    "bench",  # measurement only (bench/README.md): config/settings_production.py removes it
]

MIDDLEWARE = [
    "config.middleware.RequestLogMiddleware",  # request id, one log line per request (config/jsonlog.py)
    "config.middleware.HealthMiddleware",  # /healthz, /readyz (config/health.py): before hosts, HTTPS, sessions
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.DefaultLanguageMiddleware",
    "config.middleware.PrivateApiMiddleware",  # the API's answers are the caller's: private, Vary on who asks
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "geo_assets.auth.AuthenticationMiddleware",  # the user read with the session (one statement)
    # Before anything reads a request body (the NUL check, CSRF, DRF): refuse uploads on right and size unread.
    "geo_assets.uploads.UploadGuardMiddleware",
    "config.middleware.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "config.middleware.UnavailableMiddleware",  # database unreachable: 503, media disk full: 507 (Retry-After)
    # last: its process_exception runs first (a replica that stopped: the view again, on the primary)
    "config.middleware.ReplicaReadsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["geo_assets.templatetags.amounts"],  # {{ amount|wan }} on every page
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "config.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=local_database_url() if DEBUG else None)}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)


def owner_database(url: str) -> dict | None:
    """DATABASE_OWNER_URL as connection settings (None when unset). Two roles (README, "Database roles";
    geo_assets/dbroles.py): the application connects as DATABASE_URL's role, which owns nothing; `manage.py migrate`
    and the test harness connect as the schema's owner and grant the application's role its privileges. Unset, one
    role does both (a developer's own database)."""
    return env.db_url_config(url) if url else None


# Development without DATABASE_URL: the local cluster's two roles (scripts/localdb.sh).
DATABASE_OWNER = owner_database(env("DATABASE_OWNER_URL", default=(
    local_owner_url() if DEBUG and not os.environ.get("DATABASE_URL") else "")))
DATABASE_APP_ROLE = DATABASES["default"].get("USER", "")


# How the application reaches PostgreSQL (README, "Shared state and connection pooling"): "session" — directly, or through a pooler
# that gives a client one server connection for its whole session (pgbouncer pool_mode=session); "transaction" —
# through a pooler in transaction mode (pgbouncer pool_mode=transaction): a server connection per transaction, so
# nothing may outlive one: no server-side cursors (Django's .iterator() declares them WITH HOLD outside a
# transaction), no prepared statements unless DB_PREPARED_STATEMENTS=true says the pooler keeps them (pgbouncer
# >= 1.21 with max_prepared_statements). The code keeps no other session state: SET LOCAL, set_config(…, true),
# temporary tables ON COMMIT DROP and row locks only, no LISTEN or SET (but Django's SET TIME ZONE at connect, a
# parameter pgbouncer keeps per client); the one session advisory lock is the import worker's while it runs a job
# (importers/jobs.py), so the worker connects to PostgreSQL itself and refuses to start in transaction mode. Statement pooling cannot run it (every request is one
# transaction of many statements): refused.
DB_POOL_MODES = ("session", "transaction")


def db_pool_mode() -> str:
    mode = env("DB_POOL_MODE", default="session").strip().lower()
    if mode not in DB_POOL_MODES:
        from django.core.exceptions import ImproperlyConfigured

        # in English only: settings load before the translations can
        raise ImproperlyConfigured(
            f"DB_POOL_MODE={mode!r} is not supported: the register runs directly on PostgreSQL or behind a pooler in "
            "session mode (DB_POOL_MODE=session, the default) or transaction mode (DB_POOL_MODE=transaction); "
            "statement pooling breaks its transactions (every request is one transaction of several statements).")
    return mode


def with_prepared_statements(database: dict) -> dict:
    """Django's cursors bind parameters client-side and never prepare; geo_assets.dbrouting.prepared_cursor has
    PostgreSQL prepare the statements run on every request or report (the login, the nearby list, a village report's
    six), which psycopg does only when a threshold is set. Off with DB_PREPARED_STATEMENTS=false, and by default
    with DB_POOL_MODE=transaction (pgbouncer < 1.21 cannot keep them)."""
    if env.bool("DB_PREPARED_STATEMENTS", default=db_pool_mode() != "transaction"):
        database["OPTIONS"] = {"prepare_threshold": 1_000_000, **database.get("OPTIONS", {})}
    return database


def with_pool_mode(databases: dict) -> dict:
    """DB_POOL_MODE=transaction: no server-side cursors on any alias (Django's documented setting for poolers in
    transaction mode)."""
    if db_pool_mode() == "transaction":
        for database in databases.values():
            database["DISABLE_SERVER_SIDE_CURSORS"] = True
    return databases


with_prepared_statements(DATABASES["default"])

# Parallel test runs (e.g. two checkouts sharing one cluster) need distinct test databases.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_assets")}


def replica_databases(default: dict) -> dict:
    """DATABASE_REPLICA_URLS (comma-separated, streaming replicas of DATABASE_URL) as aliases replica1, replica2…
    with the primary's options, without request transactions; in tests a mirror of default (a standby is
    read-only: no test database of its own, it follows the primary's)."""
    options = {k: v for k, v in default.items() if k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "TIME_ZONE")}
    return {
        f"replica{number}": with_prepared_statements({**options, **env.db_url_config(url), "ATOMIC_REQUESTS": False,
                                                      "TEST": {"MIRROR": "default"}})
        for number, url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1)
    }


# Streaming replicas (docs/scaling.md): tile, API and report reads go there, everything else to the primary.
DATABASES.update(replica_databases(DATABASES["default"]))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]  # used when DATABASES defines them
DATABASE_ROUTERS = ["config.cache.backend.CacheRouter", "geo_assets.dbrouting.ReplicaRouter"]
# Routes (URL namespace, or namespace:name) whose GET/HEAD requests read from a replica.
DATABASE_REPLICA_ROUTES = ["layers", "reports", "verification:api-nearby"]
# A replica that stops answering: its reads go to the primary for this many seconds, then it is tried again.
DATABASE_REPLICA_RETRY_S = env.int("DATABASE_REPLICA_RETRY_S", default=10)

# The shared cache (config/cache): rate-limit counters (DRF's throttles, the tiles' and the pages' limits) and
# anything cached are the same for every worker and server. CACHE_URL: by default PostgreSQL's own cache table
# (dbcache://assets_cache, made by migrate), on a database alias of its own in autocommit (CACHE_DATABASE: the
# same database, outside the request's transaction); redis://host:port/db or redis:///path/to/socket?db=N: Redis
# (Django's RedisCache, the `redis` package); locmemcache://: per process (one worker only).
CACHE_TABLE = "assets_cache"  # config/cache/migrations/0001_cache_table.py
CACHE_DATABASE = "cache"


def shared_cache(databases: dict) -> dict:
    """CACHES from CACHE_URL; for the database cache, its alias added to `databases` (a copy of default's
    connection without the request transaction; in tests the same test database)."""
    cache = env.cache_url_config(env("CACHE_URL", default="") or f"dbcache://{CACHE_TABLE}")  # empty: the default
    if cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
        if cache["LOCATION"] != CACHE_TABLE:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(f"CACHE_URL: the database cache's table is {CACHE_TABLE} "
                                       f"(dbcache://{CACHE_TABLE}, made by manage.py migrate)")
        cache = {**cache, "BACKEND": "config.cache.backend.DatabaseCache",
                 # beyond this many rows the expired ones go, then a third of the others (live counters with them)
                 "OPTIONS": {"MAX_ENTRIES": env.int("CACHE_MAX_ENTRIES", default=5000), **cache.get("OPTIONS", {})}}
        default = databases["default"]
        databases[CACHE_DATABASE] = {**default, "OPTIONS": dict(default.get("OPTIONS", {})), "ATOMIC_REQUESTS": False,
                                     "TEST": {"MIRROR": "default"}}
    return {"default": cache}


CACHES = shared_cache(DATABASES)
with_pool_mode(DATABASES)
DB_POOL_MODE = db_pool_mode()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = ["geo_assets.auth.ScopedModelBackend"]
SESSION_ENGINE = "geo_assets.auth"  # database sessions, read by a statement compiled once

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

LOGIN_URL = "admin:login"

# The register's spatial reference: CGCS2000 geographic. Web maps get 3857 copies.
STORAGE_SRID = 4490
COUNTY_CODE = env("COUNTY_CODE", default="410324")

# Basemaps: "none", "osm", "tianditu" or "offline" (tiles under OFFLINE_TILES_DIR, served by the app).
BASEMAPS = env.list("BASEMAPS", default=["none", "offline", "osm", "tianditu"])
BASEMAP_DEFAULT = env("BASEMAP_DEFAULT", default="none")
TIANDITU_KEY = env("TIANDITU_KEY", default="")
OSM_TILE_URL = env("OSM_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
OFFLINE_TILES_DIR = env.path("OFFLINE_TILES_DIR", default=BASE_DIR / "var" / "tiles")
OFFLINE_MBTILES = env.path("OFFLINE_MBTILES", default=BASE_DIR / "var" / "tiles.mbtiles")  # used when present

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (33.92, 111.62),
    "DEFAULT_ZOOM": 10,
    "MIN_ZOOM": 5,
    "MAX_ZOOM": 19,
    "TILES": [],  # no basemap unless configured: works on an intranet with no internet
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["geo_assets.guards.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    # A map view fetches dozens of tiles a second while panning: generous, but bounded.
    # DRF's anon and user rates, counted per fixed window in one statement (geo_assets/guards.py, WindowCount)
    "DEFAULT_THROTTLE_CLASSES": ["geo_assets.guards.ApiAnonThrottle", "geo_assets.guards.ApiUserThrottle"],
    # The client address for rate limits: X-Forwarded-For is trusted only through this many reverse proxies.
    "NUM_PROXIES": env.int("TRUSTED_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {"anon": env("API_RATE_ANON", default="3000/hour"),
                               "user": env("API_RATE_USER", default="20000/hour")},
}
SPECTACULAR_SETTINGS = {"TITLE": _("Poverty-alleviation asset map API"), "VERSION": "1.0.0", "SERVE_INCLUDE_SCHEMA": False}

# Uploads: refuse big request bodies early; importers check their own size and type limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
# Bounds on every date and amount a user gives (geo_assets/validation.py): nothing recorded before this date, no
# single amount above this many 万元 (10 亿元 by default).
BOUNDS_EARLIEST_DATE = datetime.date.fromisoformat(env("BOUNDS_EARLIEST_DATE", default="2000-01-01"))
BOUNDS_AMOUNT_MAX_WAN = env.int("BOUNDS_AMOUNT_MAX_WAN", default=100_000)
PUBLICITY_MIN_DAYS = env.int("PUBLICITY_MIN_DAYS", default=7)  # 公示期 (days, first and last included)
# The prefecture's and province's pages count alerts from the latest tally of the whole register (reports/selectors.py:
# a province's 1.25 M assets take ~30 s to count); a tally older than this many minutes is counted again when read
# (deploy/: a timer counts every 10 minutes, so a page never waits for it).
ALERT_TALLY_MAX_AGE_MINUTES = env.int("ALERT_TALLY_MAX_AGE_MINUTES", default=15)
# The work plan's deadlines (三、实施步骤), ISO dates, for the dashboard at /dashboard/.
WORKPLAN_DEADLINES = {
    "inventory": env("WORKPLAN_INVENTORY_DUE", default="2024-06-30"),  # 清产核资
    "ownership": env("WORKPLAN_OWNERSHIP_DUE", default="2024-07-15"),  # 确权登记
    "publicity": env("WORKPLAN_PUBLICITY_DUE", default="2024-07-31"),  # 公示
    "verification": env("WORKPLAN_VERIFICATION_DUE", default="2024-08-31"),  # 核查、总结
}
# A verification observed more than this many days before the server received it (longer than a phone plausibly
# keeps it queued offline) is flagged and counts only once a reviewer approves it.
VERIFICATION_MAX_DELAY_DAYS = env.int("VERIFICATION_MAX_DELAY_DAYS", default=14)
VERIFICATION_PHOTO_MAX_BYTES = env.int("VERIFICATION_PHOTO_MAX_BYTES", default=15 * 1024 * 1024)
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
# A photo is refused from its header above this many pixels (a decompression bomb is never decoded); 50 MP is
# more than any phone camera's normal resolution.
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=50_000_000)
# QR label sheets: at most this many labels per request; from LABELS_BACKGROUND_FROM on, the sheet is made by the
# background worker (importers_worker) and offered for download when ready.
LABELS_MAX = env.int("LABELS_MAX", default=500)
LABELS_BACKGROUND_FROM = env.int("LABELS_BACKGROUND_FROM", default=120)
# One export from the web holds at most this many assets: XLSX, the slowest format, ~50 s of a worker on the
# benchmark province (nginx waits 120 s for the file); the export_assets command on the server has no limit.
EXPORT_MAX_ASSETS = env.int("EXPORT_MAX_ASSETS", default=100_000)
EXPORT_RATE_ANON = env("EXPORT_RATE_ANON", default="20/hour")
EXPORT_RATE_USER = env("EXPORT_RATE_USER", default="120/hour")
PAGE_RATE_ANON = env("PAGE_RATE_ANON", default="1200/hour")
PAGE_RATE_USER = env("PAGE_RATE_USER", default="12000/hour")
FILE_UPLOAD_HANDLERS = [
    "importers.uploads.SizeLimitUploadHandler",  # stops reading as soon as a file passes the limit
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# Reverting from the history page would bypass the services' rules: changes go through the form instead.
SIMPLE_HISTORY_REVERT_DISABLED = True

# The import worker's heartbeat (importers/heartbeat.py), renewed every 5 s; /readyz fails when it is older than
# WORKER_HEARTBEAT_MAX_AGE seconds. The web and the worker must see the same file (one server).
WORKER_HEARTBEAT_FILE = env.path("WORKER_HEARTBEAT_FILE", default=BASE_DIR / "var" / "worker-heartbeat")
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=60)
# /readyz fails when the disk holding MEDIA_ROOT (photos, attachments, notices) has less free space than this.
MEDIA_MIN_FREE_MB = env.int("MEDIA_MIN_FREE_MB", default=1024)

# Development: plain console lines, warnings and up. Production (config/settings_production.py): JSON lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
