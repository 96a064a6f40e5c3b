"""Request limits for the pages (the API's are DRF's). The client address comes from DRF's get_ident, which
trusts X-Forwarded-For only through the configured number of proxies (REST_FRAMEWORK NUM_PROXIES)."""

from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from rest_framework.throttling import SimpleRateThrottle


class PageThrottle(SimpleRateThrottle):
    scope = "pages"

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
            return HttpResponse("访问过于频繁，请稍后再试。", status=429, content_type="text/plain; charset=utf-8")
        return view(request, *args, **kwargs)

    return wrapper
