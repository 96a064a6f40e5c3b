"""geo_assets.dbrouting.first_statement: a kept connection is checked by the request's own first statement (the
session, a tile, the nearby list) instead of Django's `SELECT 1`, and one the database dropped is still replaced."""

import math

import psycopg
import pytest
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection, connections
from django.test import Client

from geo_assets.dbrouting import first_statement, read_fetch
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction, as a request runs


@pytest.fixture
def kept(monkeypatch):
    """The default connection as production keeps it (CONN_MAX_AGE, CONN_HEALTH_CHECKS); counts Django's checks."""
    saved = {key: connection.settings_dict[key] for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True)
    checks = []
    usable = connections["default"].is_usable
    monkeypatch.setattr(connections["default"], "is_usable", lambda: checks.append("default") or usable())
    connection.ensure_connection()
    yield checks
    connection.close()
    connection.settings_dict.update(saved)


def next_request():
    """What Django does between two requests on a kept connection (close_old_connections)."""
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None and not connection.health_check_done


def drop_connection():
    """The database ends the connection's backend (a restart, an administrator), as the connection sits idle."""
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, password=connection.settings_dict["PASSWORD"] or None,
                         autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]
    return pid


def backend_pid():
    return connection.connection.info.backend_pid


def test_the_first_statement_is_the_check_no_select_1_is_sent(kept):
    next_request()
    assert read_fetch(Asset, "SELECT 41 + %s", [1]) == (42,)
    assert kept == [] and connection.health_check_done
    with connection.cursor() as cursor:  # the rest of the request: no check either
        cursor.execute("SELECT 1")
    assert kept == []


def test_a_dropped_connection_is_replaced_and_the_statement_answered(kept):
    next_request()
    dropped = drop_connection()
    assert read_fetch(Asset, "SELECT 6 * %s", [7], rows=True) == [(42,)]
    assert backend_pid() != dropped
    assert kept == ["default"]  # asked once, after the statement failed


def test_an_error_of_the_statement_itself_is_not_retried(kept):
    next_request()
    runs = []

    def run():
        runs.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    with pytest.raises(DatabaseError, match="division by zero"):
        first_statement(connection, run)
    assert len(runs) == 1 and connection.connection is not None


def test_django_alone_would_fail_there_without_its_check(kept):
    """The case the check is for: without it (or this), a dropped connection fails the request."""
    next_request()
    drop_connection()
    connection.health_check_done = True
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()


@pytest.fixture
def site(transactional_db):
    areas = make_areas()
    admin = make_admin()
    asset = make_asset(actor=admin, area=areas.west_south, name="西南村道路", geometry=centre(areas.west_south),
                       asset_type=AssetType.HEALTH)
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    return areas, clerk, asset


@pytest.mark.parametrize("who", ["public", "clerk"])
def test_requests_on_a_dropped_connection_answer_and_send_no_check_otherwise(kept, site, who):
    areas, clerk, asset = site
    client = Client()
    if who == "clerk":
        client.force_login(clerk)
    here = Point(asset.location.x, asset.location.y, srid=SRID)
    tile = "/tiles/assets/14/{}/{}.mvt".format(*tile_of(here.x, here.y, 14))
    nearby = f"/api/v1/verifications/nearby/?lon={here.x}&lat={here.y}&limit=3"
    urls = [tile] + ([nearby] if who == "clerk" else [])
    for url in urls:
        next_request()
        assert client.get(url).status_code == 200, url
        assert kept == [], url  # the session (clerk) or the tile (public) was the check
        next_request()
        drop_connection()
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        assert kept == ["default"], url
        kept.clear()
    if who == "clerk":
        assert client.get(nearby).json()["results"][0]["name"] == asset.name


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)
