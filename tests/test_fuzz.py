"""Fuzzing: no request, however hostile, gets a 5xx.

1. schemathesis generates requests from the OpenAPI schema (/api/v1/schema/) and sends them in-process to Django's
   WSGI app, anonymously and with a staff user's token.
2. A sweep over EVERY URL pattern of the project (admin and importers included), with real codes/ids and hostile
   values in the path, and hostile values in every query parameter the pages and APIs read — anonymously and as
   each role, and once more with production's middleware and security settings.
Every request runs with DEBUG off (pytest-django's default) and in its own transaction, as in production.
"""

import importlib
import logging
import os
import sys
import uuid

import pytest
import schemathesis
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.http import QueryDict
from django.test import Client
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.layers.conftest import tile_xy
from tests.routes import PLACEHOLDER, fill, routes

HOSTILE = [
    "\x00", "x" * 10_000, "村🚜\u202eمرحبا\u200f 𠀀", "-1", str(10**30), "1e309", "NaN", "1,2,3,4,5", "", " ",
    "../../../etc/passwd", "'\"<script>;--", "410324101001," * 60, "a\x00b",
]
APP_PARAMS = [
    "township", "village", "category", "type", "status", "year_min", "year_max", "verified", "bbox", "q", "level",
    "parent", "point", "page", "page_size", "format", "layer", "limit", "offset", "lang", "next",
    "asset", "flagged", "review", "campaign", "stage", "lon", "lat", "codes",  # verification, lifecycle
]
ADMIN_PARAMS = [
    "q", "o", "p", "e", "all", "_popup", "_to_field", "_changelist_filters", "next", "level__exact",
    "category__exact", "status__exact", "township__id__exact", "role__exact",
]


@pytest.fixture
def atomic_requests(monkeypatch):
    """As in production: each request in its own transaction (a savepoint here), so one failing request cannot
    poison the test's transaction for the next ones. And no log line per 4xx."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    loggers = {logger: logger.level for logger in map(logging.getLogger, ("django.request", "django.security"))}
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in loggers.items():
        logger.setLevel(level)


# ---------------------------------------------------------------------------------------------- 1. schemathesis


@pytest.fixture
def wsgi_app(fuzz_world):
    """Django's WSGI app, sharing the test's database transaction: a real server closes the connection after each
    request, which here would end the test transaction (Django's test Client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app)


FUZZ = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def fuzz_api(api_schema, headers=None):
    """Every operation, with valid (positive) and invalid (negative) generated requests; no 5xx allowed.
    (schemathesis' own pytest integration, `from_fixture`, does not work with pytest 9.)"""
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                cache.clear()  # no 429 from the API throttles
                case.call_and_validate(checks=[not_a_server_error], headers=headers)

            try:
                run()
            except Unsatisfiable:  # nothing invalid to send, e.g. no parameters or free-text ones only
                assert mode == GenerationMode.NEGATIVE
            except Exception as exc:  # a failure: go on with the other operations, report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_api_anonymous_gets_no_server_error(api_schema, atomic_requests):
    fuzz_api(api_schema)


def test_api_staff_gets_no_server_error(api_schema, fuzz_world, atomic_requests):
    token = Token.objects.get_or_create(user=fuzz_world.users["county"])[0]
    fuzz_api(api_schema, headers={"Authorization": f"Token {token.key}"})


# ---------------------------------------------------------------------------------------------- 2. every URL


def real_value(fuzz_world):
    """Arguments that exist: asset and area codes, a tile over the county, the import job, admin objects."""
    x, y = tile_xy(111.55, 33.85, 12)
    objects = {f"admin/{m._meta.app_label}/{m._meta.model_name}/": m._default_manager.order_by("pk").first()
               for m in admin.site._registry}
    fixed = {"layer": "assets", "z": "12", "x": str(x), "y": str(y), "url": "nothing/", "app_label": "geo_assets",
             "path": "maps/map.js", "variant": "thumb.jpg", "fmt": "csv", "year": "2025",
             "content_type_id": str(ContentType.objects.get_for_model(fuzz_world.road).pk)}

    def value(name, converter, route):
        if converter == "uuid":
            return str(fuzz_world.job.pk)
        obj = next((o for prefix, o in objects.items() if route.startswith(prefix)), None)
        if name == "collection_id":
            return "assets"
        if name == "feature_id":
            return fuzz_world.road.code
        if name == "code":
            return fuzz_world.road.code if "assets/" in route else fuzz_world.areas.west_south.code
        if name in ("object_id", "id"):
            return str(fuzz_world.road.pk if route.startswith("admin/r/") else obj.pk if obj else 1)
        if name == "history_id" and hasattr(obj, "history"):
            return str(obj.history.order_by("history_id").last().history_id)
        return fixed.get(name, "1")

    return value


def concrete_urls(fuzz_world) -> tuple[list[str], list[str]]:
    """(one URL per pattern with real arguments, URLs with other and hostile arguments)."""
    value = real_value(fuzz_world)
    others = [*HOSTILE, fuzz_world.water.code, fuzz_world.areas.west.code, fuzz_world.areas.county.code, str(uuid.uuid4()),
              "townships", "0", "99"]
    real, odd = [], []
    for route in routes():
        real.append(fill(route, value))
        if PLACEHOLDER.search(route):
            odd.extend(fill(route, lambda *_args, v=v: v) for v in others)
            odd.append(fill(route, lambda name, *args: value(name, *args) if name != "y" else str(10**30)))
    return real, odd


LOOKUPS = ("__getitem__", "get", "getlist", "__contains__")
WALKS = ("items", "lists", "values", "keys", "__iter__", "dict")


def params_read(client, url: str):
    """GET url bare; return the response and the query parameters looked up in request.GET on the way (when the
    view walks over all of them, e.g. the admin's change list or the tiles, the parameters listed above)."""
    read = set()

    def spy(name):
        original = getattr(MultiValueDict, name)

        def method(self, *args, **kwargs):
            if name in LOOKUPS:
                read.add(args[0])
            elif not self._mutable and sys._getframe(1).f_globals["__name__"] != "config.middleware":
                read.add("*")  # request.GET walked (not by the NUL check, which walks it on every request)
            return original(self, *args, **kwargs)
        return method

    with pytest.MonkeyPatch.context() as patch:
        for name in LOOKUPS + WALKS:
            patch.setattr(QueryDict, name, spy(name))
        response = client.get(url)
    if "*" in read:
        read |= set(ADMIN_PARAMS if url.startswith("/admin/") else APP_PARAMS)
    return response, sorted(k for k in read if isinstance(k, str) and k != "*")


def sweep(client, urls, alone=(), together=()) -> list[str]:
    """GET each URL bare, then with each value of `alone` in each query parameter its view reads, one parameter at
    a time, and with each value of `together` in all those parameters at once. Return a line per 5xx."""
    failures = []

    def check(response, url, query):
        if response.status_code >= 500:
            exc = getattr(response, "exc_info", None)
            failures.append(f"{response.status_code} GET {url[:100]} {str(query)[:100]} "
                            f"{repr(exc[1])[:300] if exc else ''}")

    for url in urls:
        cache.clear()  # throttles count in the cache: a sweep must not be cut short by 429s
        response, params = params_read(client, url)
        check(response, url, {})
        step = 4 if url.endswith(".pdf") else 1  # a PDF takes ½ s to lay out: a quarter of the values
        queries = [{p: v} for p in params for v in alone[::step]]
        queries += [{p: v for p in params} for v in together[::step] if params]
        for query in queries:
            check(client.get(url, query), url, query)
    return failures


def client_for(user=None, **defaults) -> Client:
    client = Client(raise_request_exception=False, **defaults)
    if user is not None:
        client.force_login(user)
    return client


def test_every_url_anonymous_every_param_every_value(fuzz_world, atomic_requests):
    """Anonymous: every URL with every hostile value in every parameter its view reads; hostile path arguments."""
    real, odd = concrete_urls(fuzz_world)
    assert len(real) > 40 and "/admin/geo_assets/asset/" in real and f"/assets/{fuzz_world.road.code}/" in real
    client = client_for()
    failures = sweep(client, odd) + sweep(client, real, alone=HOSTILE)
    assert not failures, "\n".join(failures)


ROLES = ["county", "department", "township", "village", "inspector", "finance", "prefecture"]


@pytest.mark.parametrize("role", ROLES)
def test_every_url_per_role(fuzz_world, atomic_requests, role):
    """Each role: every URL with hostile values in all its parameters at once — every value for the county
    administrator (who reaches every admin page), the empty value and a share of the others for the other roles."""
    real, odd = concrete_urls(fuzz_world)
    client = client_for(fuzz_world.users[role])
    i = ROLES.index(role)
    together = HOSTILE if role == "county" else ["", *HOSTILE[i::len(ROLES)]]
    failures = sweep(client, odd[i::len(ROLES)]) + sweep(client, real, together=together)
    assert not failures, "\n".join(failures)


PRODUCTION = ["MIDDLEWARE", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
              "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY"]


@pytest.fixture
def production_settings(settings, monkeypatch):
    """config.settings_production's middleware (WhiteNoise) and security settings, DEBUG off (the other tests
    run with DEBUG off too: pytest-django's default); the database and static storage stay the test's."""
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "fuzz-" + "k3J9vQ2xP7zL0mN5bR8tW1yC4fH6dG9sA2eU5iO8pK1jM3nB7vX0")
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "postgis://assets@/assets"))
    production = importlib.import_module("config.settings_production")
    for name in PRODUCTION:
        setattr(settings, name, getattr(production, name))
    settings.DEBUG = False
    return settings


@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # WhiteNoise: no collectstatic here
def test_every_url_with_production_settings(fuzz_world, atomic_requests, production_settings):
    real, odd = concrete_urls(fuzz_world)
    failures = []
    for i, user in enumerate((None, fuzz_world.users["county"])):
        client = client_for(user, HTTP_X_FORWARDED_PROTO="https")  # behind the HTTPS proxy
        assert client.get("/").status_code == 200
        failures += sweep(client, odd[i::3]) + sweep(client, real, together=["", *HOSTILE[i::3]])
    assert not failures, "\n".join(failures)
