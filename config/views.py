"""The project's own error page for 404 (config.urls.handler404)."""

import re

from django.http import HttpResponseNotFound
from django.template import loader

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
