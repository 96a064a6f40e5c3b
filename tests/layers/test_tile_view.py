"""The tile view's request path: one statement per tile, no request transaction, O(1) rate limits."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.layers.conftest import as_user, county_tiles


def test_a_tile_is_one_statement(world):
    z, x, y = county_tiles(12)[0]
    client = Client()
    client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 1, statements  # version, density check, tile and fallback together
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/tiles/assets/{z}/{x}/{y}.mvt", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert len(queries.captured_queries) == 1  # the version alone


@pytest.fixture
def low_rates():
    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/day", "user": "5/day"}
    original = AnonRateThrottle.THROTTLE_RATES, UserRateThrottle.THROTTLE_RATES
    AnonRateThrottle.THROTTLE_RATES = UserRateThrottle.THROTTLE_RATES = rates
    yield
    AnonRateThrottle.THROTTLE_RATES, UserRateThrottle.THROTTLE_RATES = original
    cache.clear()


def test_tiles_are_rate_limited(world, low_rates):
    z, x, y = county_tiles(10)[0]
    url = f"/tiles/assets/{z}/{x}/{y}.mvt"
    assert [Client().get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    inspector = as_user(world.inspector)  # (the 429 did not spoil the test's transaction: the view has none)
    assert [inspector.get(url).status_code for _ in range(6)] == [200] * 5 + [429]


def test_errors_leave_an_enclosing_transaction_usable(world):
    z, x, y = county_tiles(12)[0]
    assert Client().get(f"/tiles/assets/{z}/{x}/{y}.mvt?type=nonsense").status_code == 400
    assert Client().get("/tiles/nope/1/0/0.mvt").status_code == 404
    assert not connection.needs_rollback
    assert Client().get(f"/tiles/assets/{z}/{x}/{y}.mvt").status_code == 200
