"""gunicorn's settings for `make serve` and the systemd unit (deploy/assets-web.service): `gunicorn -c
config/gunicorn.py config.wsgi:application`. Read from the environment, so the unit's EnvironmentFile and a
developer's shell configure it the same way:

  HOST, PORT      where to listen (127.0.0.1:8000: behind the reverse proxy on the same server)
  WEB_WORKERS     processes; default 2 × cores + 1, at most WEB_WORKERS_MAX (default 8: each is a whole Django
                  process with GDAL loaded)
  WEB_THREADS     threads per process (gthread; default 4): a thread waits on PostgreSQL, another serves
  WEB_TIMEOUT     seconds before a silent worker is killed and replaced (default 120: a big export or report)

Standard library only: gunicorn imports this file in its master process, before Django."""

import os

_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{_int('PORT', 8000)}"
workers = _int("WEB_WORKERS", min(2 * _cores + 1, _int("WEB_WORKERS_MAX", 8)))
worker_class = "gthread"
threads = _int("WEB_THREADS", 4)
timeout = _int("WEB_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 75  # longer than the proxy's idle keep-alive to the upstream, so gunicorn never closes first
# A worker is replaced after this many requests (bounded memory over years of uptime), staggered by the jitter.
max_requests = _int("WEB_MAX_REQUESTS", 2000)
max_requests_jitter = 200
# The client's address and scheme from the reverse proxy on this machine only (X-Forwarded-For/-Proto).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# One line per request comes from Django (config.middleware.RequestLogMiddleware, JSON with the request id and the
# user): no gunicorn access log. gunicorn's own messages (start, worker restarts, timeouts) in the same JSON lines.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.jsonlog.JsonFormatter"}},
    "handlers": {"error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                 "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {"gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False},
                "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False}},
    "root": {"level": "WARNING", "handlers": ["error_console"]},
}
proc_name = "assets-web"
