"""View guards shared by the staff pages of every app (maps, reports, verification office, lifecycle): who may open
a page is decided by geo_assets.access; how often a client may ask, by the page limits. The client address comes
from DRF's get_ident, which trusts X-Forwarded-For only through the configured number of proxies (REST_FRAMEWORK
NUM_PROXIES)."""

import threading
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from geo_assets.access import scope_for


def staff_required(view=None, *, refused=None, message=None):
    """Pages for accounts with a role: the public is sent to log in, or refused once logged in.

    Bare (`@staff_required`), a refusal is a PermissionDenied for the project's 403 page. With `refused`
    (`@staff_required(refused=page, message=...)`), the app answers refusals with its own page, `refused(request,
    message)`: the non-staff account's (`message`), and any PermissionDenied the view raises, with its message."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not scope_for(request.user).sees_personal_data:
                text = str(message or _("These pages are for staff with a role only."))
                if refused is None:
                    raise PermissionDenied(text)
                return refused(request, text)
            if refused is None:
                return view(request, *args, **kwargs)
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                return refused(request, str(exc))

        return wrapper

    return decorate(view) if view is not None else decorate


class WindowCount:
    """For DRF's rate throttles (SimpleRateThrottle and its kin): the rate counted per fixed window in one shared
    counter (window_take), O(1) and atomic across workers. DRF's own sliding window keeps every request time of the
    window in the cache, (un)pickles the whole list on each request (up to 20,000 floats for a busy map) and writes
    it back after reading it, so two requests at once could count once. `window` names the counter's kind."""

    window = "requests"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        key = f"{self.key}:{self.window}:{int(self.now // self.duration)}"
        return window_take(self.cache, key, self.duration, self.num_requests)

    def wait(self):
        return self.duration - self.now % self.duration


class ApiAnonThrottle(WindowCount, AnonRateThrottle):
    """The API's `anon` rate (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES), per fixed window: ~0.17 ms a request on
    the database cache where DRF's sliding window cost ~0.9 ms and grew with the history it (un)pickles."""

    window = "api"


class ApiUserThrottle(WindowCount, UserRateThrottle):
    """The API's `user` rate, per fixed window."""

    window = "api"


class PageThrottle(WindowCount, SimpleRateThrottle):
    scope = "pages"
    window = "pages"

    def get_rate(self):
        return None  # set per request in allow_request

    def allow_request(self, request, view):
        anonymous = not request.user.is_authenticated
        self.rate = settings.PAGE_RATE_ANON if anonymous else settings.PAGE_RATE_USER
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def throttled(view):
    """Refuse with 429 once a client passes its page limit."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not PageThrottle().allow_request(request, None):
            return HttpResponse(_("Too many requests: please try again later."), status=429, content_type="text/plain; charset=utf-8")
        return view(request, *args, **kwargs)

    return wrapper


def next_url(request, value: str, default: str) -> str:
    """Where a form sends the user afterwards: `value` when it stays on this site, else `default`."""
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return default


# A process takes a rate's budget from the shared counter in blocks ("leases") of up to LEASE_MAX requests, so
# that a busy client's tiles or API calls cost a shared-counter round trip once a block, not once a request. Every
# request served was counted in the shared counter first, so no client ever gets more than its rate; a block a
# process took and did not use is lost for the window: a client may be refused up to (processes × (block − 1))
# requests early — 95 of the user rate's 20,000 an hour with 5 workers. Small rates count every request (block 1).
LEASE_MAX = 20
LEASE_PER = 500  # one request of block for every LEASE_PER of the rate
_leases: dict[str, int] = {}  # this process's requests left per window key
_leases_lock = threading.Lock()


def leases_forget() -> None:
    """This process's blocks dropped (tests that empty the shared counters start from nothing)."""
    with _leases_lock:
        _leases.clear()


def lease_size(limit: int) -> int:
    return max(1, min(LEASE_MAX, limit // LEASE_PER))


def window_take(cache, key: str, timeout: int, limit: int) -> bool:
    """May one more request pass a limit of `limit` a window (window_hit's)? From this process's block when it has
    one left, else a new block counted in the shared cache."""
    size = lease_size(limit)
    if size == 1:
        return window_hit(cache, key, timeout) <= limit
    with _leases_lock:
        left = _leases.get(key, 0)
        if left > 0:
            _leases[key] = left - 1
            return True
    count = window_hit(cache, key, timeout, size)
    granted = min(size, limit - (count - size))  # the part of this block still under the limit
    if granted <= 0:
        return False
    with _leases_lock:
        if len(_leases) >= 10_000:  # blocks of windows gone by, clients gone
            _leases.clear()
        _leases[key] = _leases.get(key, 0) + granted - 1
    return True


def window_hit(cache, key: str, timeout: int, delta: int = 1) -> int:
    """`delta` more requests in a fixed window of `timeout` seconds counted in the shared cache, and the window's
    count, atomically whoever counts at once: one statement on the database cache (config/cache `hit`), INCRBY and
    EXPIRE in one round trip on Redis, add and incr on any other cache."""
    hit = getattr(cache, "hit", None)
    if hit is not None:
        return hit(key, timeout, delta=delta)
    from django.core.cache.backends.redis import RedisCache

    if isinstance(cache, RedisCache):
        stored = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(stored, write=True).pipeline()  # Django's client: no public pipeline
        pipe.incrby(stored, delta)
        pipe.expire(stored, timeout, nx=True)
        return pipe.execute()[0]
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.set(key, delta, timeout)
        return delta


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested deeper than Python's recursion limit refused as bad JSON (400) rather
    than a RecursionError (500): DRF's session authentication reads the body before any permission or method
    check, so every API route parsed what any logged-in caller sent."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
