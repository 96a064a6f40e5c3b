"""Rate limits count the client's real address: a forged X-Forwarded-For does not reset them, on any kind of route."""

import itertools

from django.test import Client
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle

forged = (f"10.0.{i // 250}.{i % 250}" for i in itertools.count())


def codes(client, url, n):
    return [client.get(url, HTTP_X_FORWARDED_FOR=next(forged)).status_code for _ in range(n)]


def test_pages_and_reports_are_limited_whatever_the_forwarded_header(world, settings):
    settings.PAGE_RATE_ANON = "3/hour"
    asset = world.assets["west_road"]
    assert codes(Client(), f"/assets/{asset.code}/", 4) == [200, 200, 200, 429]
    assert codes(Client(), f"/villages/{world.areas.west_south.code}/", 1) == [429]  # same client, same budget
    other = Client(REMOTE_ADDR="127.0.0.2")
    assert codes(other, f"/villages/{world.areas.west_south.code}/", 1) == [200]


def test_logged_in_users_have_their_own_page_budget(world, settings):
    settings.PAGE_RATE_ANON, settings.PAGE_RATE_USER = "1/hour", "2/hour"
    client = Client()
    client.force_login(world.users["inspector"])
    assert codes(client, f"/assets/{world.assets['east_road'].code}/", 3) == [200, 200, 429]


def test_api_limit_ignores_a_forged_forwarded_header(world):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute"}
    original = AnonRateThrottle.THROTTLE_RATES
    AnonRateThrottle.THROTTLE_RATES = rates
    try:
        assert codes(Client(), "/api/v1/assets/", 4) == [200, 200, 200, 429]
    finally:
        AnonRateThrottle.THROTTLE_RATES = original


def test_a_configured_proxy_is_trusted(world, settings):
    """Behind one reverse proxy (TRUSTED_PROXIES=1) the proxy's X-Forwarded-For names the client."""
    settings.PAGE_RATE_ANON = "1/hour"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    url = f"/assets/{world.assets['west_road'].code}/"
    client = Client()
    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert client.get(url, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200


def test_export_limit_ignores_a_forged_forwarded_header(world, settings):
    settings.EXPORT_RATE_ANON = "2/hour"
    assert codes(Client(), "/import/export/?format=csv", 3) == [200, 200, 429]
