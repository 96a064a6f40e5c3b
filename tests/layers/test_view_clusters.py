"""/api/v1/map/clusters/: a view's cluster tiles in one JSON document (layers.tiles.view_clusters) — the same
clusters as the tiles for every role and filter, nothing but counts and categories, and the tiles kept where only
they can serve the filters."""

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from django.test import Client

from geo_assets.taxonomy import Role
from layers.filters import asset_filters_parse
from layers.tiles import WORLD, TileId, asset_tile_query, tile_fetch, view_clusters
from tests.factories import make_user
from tests.layers.conftest import county_tiles, make_world, populate

FILTERS = ["", "township=410324101000", "village=410324102002", "category=household,operating",
           "type=road,greenhouse", "status=idle,damaged", "year_min=2017&year_max=2021"]


@pytest.fixture
def big_world(db):
    world = make_world()
    populate(world)
    world.village_clerk = make_user("village_clerk", Role.VILLAGE, area=world.areas.east_north)
    world.county_admin = make_user("county_admin", Role.COUNTY_ADMIN)
    return world


def _tile_clusters(user, filters, z, tiles) -> list[tuple]:
    """(count, category, x, y in 3857 metres) of every cluster of these tiles, decoded from the tiles themselves."""
    found = []
    for _z, x, y in tiles:
        tile = TileId(z, x, y)
        data, _mode, _version = tile_fetch(asset_tile_query(tile, user=user, filters=filters))
        layer = mapbox_vector_tile.decode(data).get("clusters", {"features": [], "extent": 4096}) if data else None
        for f in (layer or {"features": []})["features"]:
            px, py = f["geometry"]["coordinates"]  # tile units, y up (the decoder's default)
            extent = layer["extent"]
            found.append((f["properties"]["count"], f["properties"]["category"],
                          -WORLD + (x + px / extent) * tile.size, WORLD - (y + 1 - py / extent) * tile.size))
    return sorted(found)


@pytest.mark.parametrize("who", ["anonymous", "county_admin", "inspector", "department", "township", "village"])
def test_same_clusters_as_the_tiles_for_every_role_and_filter(big_world, who):
    import json

    user = {"anonymous": AnonymousUser(), "county_admin": big_world.county_admin, "inspector": big_world.inspector,
            "department": big_world.department, "township": big_world.clerk, "village": big_world.village_clerk}[who]
    for query in FILTERS:
        filters = asset_filters_parse(QueryDict(query), user=user)
        for z in (5, 8, 10, 11):
            tiles = county_tiles(z)
            xs, ys = [t[1] for t in tiles], [t[2] for t in tiles]
            doc = json.loads(view_clusters(user=user, filters=filters, z=z, x0=min(xs), y0=min(ys), x1=max(xs),
                                           y1=max(ys)))
            assert doc["z"] == z
            mine = sorted((c[0], c[1], c[2], c[3]) for c in doc["clusters"])
            theirs = _tile_clusters(user, filters, z, tiles)
            assert [m[:2] for m in mine] == [t[:2] for t in theirs], (who, query, z)
            # the tiles quantise the point to 1/4096 of the tile
            tolerance = TileId(z, 0, 0).size / 4096
            for m, t in zip(mine, theirs, strict=True):
                assert abs(m[2] - t[2]) <= tolerance and abs(m[3] - t[3]) <= tolerance, (who, query, z, m, t)


def test_the_view_says_when_only_the_tiles_can_serve_and_refuses_bad_ranges(big_world):
    client = Client()
    client.force_login(big_world.inspector)
    (z, x, y), = county_tiles(5)
    ok = client.get(f"/api/v1/map/clusters/?z={z}&x0={x}&y0={y}&x1={x}&y1={y}&category=household")
    assert ok.status_code == 200 and ok["Content-Type"] == "application/json"
    body = ok.json()
    assert body["clusters"] and {c[1] for c in body["clusters"]} == {"household"}
    assert all(len(c) == 4 for c in body["clusters"])  # count, category, x, y: no names, codes or types
    live_only = client.get(f"/api/v1/map/clusters/?z={z}&x0={x}&y0={y}&x1={x}&y1={y}&verified=yes")
    assert live_only.status_code == 200 and live_only.json() == {"clusters": None}
    for bad in (f"z=12&x0={x}&y0={y}&x1={x}&y1={y}", f"z={z}&x0={x}&y0={y}&x1={x - 1}&y1={y}",
                "z=10&x0=0&y0=0&x1=20&y1=20", f"z={z}&x0={x}", f"z={z}&x0={x}&y0={y}&x1={x}&y1={y}&status=bogus"):
        assert client.get(f"/api/v1/map/clusters/?{bad}").status_code == 400, bad
