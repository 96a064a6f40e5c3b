import errno
import logging
import re
import time
import uuid

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import Resolver404, get_resolver
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import empty
from django.utils.translation import gettext as _

from config import health, jsonlog
from geo_assets.dbrouting import SAFE_METHODS, replica_aliases, replica_failed, replica_reads

request_logger = logging.getLogger("assets.request")
# A request id from the proxy (nginx's $request_id, a load balancer's) is kept when it is a plain token like these;
# anything else (spaces, quotes, control characters, too long) is replaced by one of ours.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
LOGGED_PATH_MAX = 300


def request_id_for(header: str | None) -> str:
    """The proxy's X-Request-ID when it is a sane token, else a new random one."""
    if header and SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """First of all: gives each request an id (the proxy's X-Request-ID when sane, else a new one), sends it back
    in the response's X-Request-ID, tags every log record written meanwhile with it (config.jsonlog), and writes one
    line per request on the logger "assets.request": method, path WITHOUT the query string (tokens, search terms),
    status, duration in ms and the user's id ("-" when anonymous or never looked at: no database query just for the
    log). No header, cookie, body or user name is logged. Successful health probes are not logged (a probe every
    few seconds would bury the rest)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        token = jsonlog.request_id.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            if not (request.path in HealthMiddleware.PATHS and response.status_code == 200):
                self.log(request, response.status_code, started)
            return response
        finally:
            jsonlog.request_id.reset(token)

    @staticmethod
    def log(request, status: int, started: float) -> None:
        duration = round((time.monotonic() - started) * 1000, 1)
        path = request.path[:LOGGED_PATH_MAX]
        level = logging.ERROR if status >= 500 else logging.INFO
        request_logger.log(level, "%s %s %s %.1f ms", request.method, path, status, duration, extra={
            "method": request.method, "path": path, "status": status, "duration_ms": duration,
            "user": RequestLogMiddleware.user_id(request), "request_id": request.request_id})

    @staticmethod
    def user_id(request) -> int | str:
        """The authenticated user's id when the request already knows its user, "-" otherwise."""
        user = getattr(request, "user", None)
        if user is None or getattr(user, "_wrapped", None) is empty:
            return "-"
        return user.pk if user.is_authenticated else "-"


class HealthMiddleware:
    """/healthz and /readyz (config.health), answered before host validation, the HTTPS redirect, sessions and the
    rate limits: a probe on 127.0.0.1 over plain HTTP gets its answer, and no other request is slowed."""

    PATHS = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.PATHS.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class DefaultLanguageMiddleware:
    """Chinese unless the user chose another language (the set_language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a county office computer with an
    English browser would get an English interface; the product's default is zh-hans.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.languages:
            language = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        return response


class PrivateApiMiddleware:
    """The API's answers depend on who asks (role, area, sector; staff see custodians and phones): unless a view
    said otherwise (the tiles, OGC: ETags with `private, no-cache`), no shared cache may keep one, and a cache keyed
    on the URL alone must tell callers apart by their session or token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "private, no-cache")
            patch_vary_headers(response, ("Cookie", "Authorization"))
        return response


class RejectNulMiddleware:
    """A NUL character cannot be stored or compared by PostgreSQL: refuse it in the path, query or form with 400
    before any view sees it (instead of a database error, i.e. a 500, deep inside)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return HttpResponseBadRequest(_("The request contains an invalid character (NUL)."), content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method not in ("POST", "PUT", "PATCH"):
            return False
        if content_type.startswith("application/json"):
            return b"\x00" in request.body or b"\\u0000" in request.body
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return any("\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values)
                       for key, values in request.POST.lists())
        return False


class ReplicaReadsMiddleware:
    """GET/HEAD requests to the routes in settings.DATABASE_REPLICA_ROUTES ("namespace" or "namespace:name") read
    from a streaming replica (geo_assets.dbrouting); every other request, and every write, uses the primary.
    Decided here from the resolved route, so no view needs to know. Does nothing without DATABASE_REPLICA_URLS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS or not replica_aliases():
            return self.get_response(request)
        try:
            match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        routes = set(settings.DATABASE_REPLICA_ROUTES)
        if match.namespace not in routes and match.view_name not in routes:
            return self.get_response(request)
        # Django runs the view inside the request's transaction (ATOMIC_REQUESTS): that block writes nothing by
        # itself, so the router does not count it as a write in progress.
        atomic = bool(connections[DEFAULT_DB_ALIAS].settings_dict.get("ATOMIC_REQUESTS")) and (
            DEFAULT_DB_ALIAS not in getattr(match.func, "_non_atomic_requests", set()))
        with replica_reads(request_atomic=atomic):
            return self.get_response(request)

    def process_exception(self, request, exception):
        """A replica that stopped answering mid-request: the view once more, on the primary (a GET only reads; its
        request transaction has been rolled back), and the primary for the next DATABASE_REPLICA_RETRY_S seconds."""
        if isinstance(exception, (OperationalError, InterfaceError)) and replica_failed():
            match = request.resolver_match
            return match.func(request, *match.args, **match.kwargs)
        return None


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_RETRY_AFTER = 300  # seconds: an operator has to make room; a phone keeps what it sent and retries


class UnavailableMiddleware:
    """Two failures a client should retry, not a bug (500):

    - the database unreachable (restarting, failing over, its connections exhausted: OperationalError or
      InterfaceError) — 503 with Retry-After (config.health.RETRY_AFTER), as /readyz says;
    - the disk full on a write (ENOSPC or EDQUOT: the media folder's disk, e.g. a photo) — 507 Insufficient Storage
      with Retry-After.

    The request's transaction has been rolled back (ATOMIC_REQUESTS) and the services remove the files they wrote in
    part, so nothing is half-saved and sending the same again later is right (a verification keeps its client_id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return unavailable_response(request, exception)


def unavailable_response(request, exception) -> HttpResponse | None:
    """The 503 or 507 for these failures, None for any other (UnavailableMiddleware for the views, and
    config.views.server_error for a failure in a middleware, e.g. the session read before a view runs)."""
    if isinstance(exception, OSError) and exception.errno in DISK_FULL_ERRNOS:
        status, retry_after = 507, DISK_FULL_RETRY_AFTER
        message = _("The server's disk is full, so nothing was saved. Please send it again later.")
    elif isinstance(exception, (OperationalError, InterfaceError)):
        status, retry_after = 503, health.RETRY_AFTER
        message = _("The database is not reachable for a moment, so nothing was saved. Please try again shortly.")
    else:
        return None
    request_logger.error("%s %s: %s: %s", request.method, request.path[:LOGGED_PATH_MAX], status,
                         type(exception).__name__)
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message}, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
