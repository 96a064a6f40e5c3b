"""Structured logs for production (config.settings_production LOGGING; gunicorn's own log in config/gunicorn.py):
one JSON object per line, with the request id of the request being served (config.middleware.RequestLogMiddleware
sets it) on every record written while it runs.

Standard library only: a formatter of a dozen lines does not need a dependency (python-json-logger would give the
same lines without the request id)."""

import contextvars
import datetime
import json
import logging

# The id of the request this thread (gthread worker) is serving, "-" outside a request.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Fields a record may carry (logging's `extra=`) that go into the line as they are.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "user")


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "request_id", "pid", "message"} plus the request fields for a request's line and
    "exception" (the traceback) when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id.get(),
            "pid": record.process,  # which gunicorn worker
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
