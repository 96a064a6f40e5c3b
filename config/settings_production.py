"""Production settings: no defaults for secrets or the database, HTTPS assumed behind a reverse proxy."""

import os

os.environ.setdefault("DEBUG", "false")

from config.env import env  # noqa: E402
from config.settings import *  # noqa: E402,F403

DEBUG = False
# The benchmarks and the benchmark province (bench/) are development tools: not installed in production.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "bench"]  # noqa: F405
SECRET_KEY = env("SECRET_KEY")  # required: ImproperlyConfigured when missing
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-") or len(set(SECRET_KEY)) < 5:
    from django.core.exceptions import ImproperlyConfigured

    # in English only: settings load before the translations can
    raise ImproperlyConfigured("SECRET_KEY must be a real random secret of at least 50 characters.")
# The database (README, "Database roles"): DATABASE_URL is the APPLICATION's role, which owns nothing — NOSUPERUSER
# NOCREATEDB NOCREATEROLE, no table, no schema: it reads and writes the register and adds history, and cannot DELETE
# or TRUNCATE register or history tables, UPDATE history rows, ALTER/DROP anything, disable a trigger or make the
# purge switch (assets.allow_purge) count. DATABASE_OWNER_URL is the OWNER's role (owns the database and its schema):
# give it only where `manage.py migrate` runs (a deploy step), not to the running application; migrate connects as
# it and then grants the application's role its privileges per table (geo_assets/dbroles.py: history SELECT,
# INSERT; register SELECT, INSERT, UPDATE; others also DELETE; sequences USAGE). Without it one role does both.
DATABASES = {"default": env.db_url("DATABASE_URL")}  # required
DATABASE_OWNER = owner_database(env("DATABASE_OWNER_URL", default=""))  # noqa: F405
DATABASE_APP_ROLE = DATABASES["default"].get("USER", "")
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# a kept connection is checked before each request reuses it: after a database restart the next request reconnects
# instead of failing on a dead connection
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
with_prepared_statements(DATABASES["default"])  # noqa: F405
DATABASES.update(replica_databases(DATABASES["default"]))  # noqa: F405 - DATABASE_REPLICA_URLS
CACHES = shared_cache(DATABASES)  # noqa: F405 - CACHE_URL: the database's cache table or Redis, on every worker
with_pool_mode(DATABASES)  # noqa: F405 - DB_POOL_MODE
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# WhiteNoise serves the collected static files (`make serve` runs collectstatic) right after SecurityMiddleware.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")  # noqa: F405
MIDDLEWARE = [*MIDDLEWARE[:_security + 1], "whitenoise.middleware.WhiteNoiseMiddleware",  # noqa: F405
              *MIDDLEWARE[_security + 1:]]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Structured logs (config/jsonlog.py): one JSON object per line on stderr (journald under systemd), each with the
# request id; one line per request from config.middleware.RequestLogMiddleware on "assets.request" (INFO), the
# rest at LOG_LEVEL (WARNING by default). gunicorn's own lines use the same format (config/gunicorn.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.jsonlog.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {"assets.request": {"level": env("REQUEST_LOG_LEVEL", default="INFO")}},
}
