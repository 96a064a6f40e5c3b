"""Every URL pattern of the project as a route text, and a concrete path from it: what the sweeps over every route
(tests/test_fuzz.py, tests/test_county_sweep.py) walk."""

import re
from urllib.parse import quote

from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern


def routes(patterns=None, prefix=""):
    """The route text of every URL pattern, resolvers walked recursively."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        text = str(p.pattern)
        if isinstance(p.pattern, RegexPattern):
            text = text.removeprefix("^").removesuffix("$")
        if isinstance(p, URLResolver):
            yield from routes(p.url_patterns, prefix + text)
        else:
            yield prefix + text


# <conv:name>, (?P<name>regex) or an unnamed (regex) group (django-simple-history: object id, then history id)
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>|\((?:\?P<(\w+)>)?[^)]*\)")
UNNAMED = ["object_id", "history_id"]


def fill(route: str, value) -> str:
    """A concrete path from a route; value(name, converter, route) gives each argument (percent-encoded here)."""
    unnamed = iter(UNNAMED)
    path = PLACEHOLDER.sub(lambda m: quote(value(m[2] or m[3] or next(unnamed), m[1] or "str", route), safe=""),
                           route)
    return "/" + path.replace("\\", "")
