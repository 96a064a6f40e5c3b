"""The project's own error pages: 404 (config.urls.handler404) and 500 (handler500)."""

import re
import sys

from django.http import HttpResponseNotFound
from django.template import loader
from django.views import defaults

# Django's own lookups (get_object_or_404, get_list_or_404) speak to developers, in English whatever the language.
DJANGO_LOOKUP = re.compile(r"No .+ matches the given query\.\Z", re.S)


def page_not_found(request, exception, template_name="404.html"):
    """templates/404.html, with the exception's message when a view wrote it for users (raise Http404(_("…")));
    a resolver's miss (its args are a dict), a bare Http404 and Django's own lookups show the page's general text."""
    message = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(message, str) or DJANGO_LOOKUP.match(message):
        message = ""
    template = loader.get_template(template_name)
    return HttpResponseNotFound(template.render({"message": message, "request_path": request.path}, request))


def server_error(request, template_name="500.html"):
    """An unreachable database or a full disk met outside a view (a middleware reading the session, the upload
    guard): the same 503/507 with Retry-After as UnavailableMiddleware gives for views; anything else Django's 500."""
    from config.middleware import unavailable_response

    return unavailable_response(request, sys.exc_info()[1]) or defaults.server_error(request, template_name)
