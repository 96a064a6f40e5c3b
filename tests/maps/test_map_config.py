"""What the map page and the boundary tiles give the map: the clerk's home area, names that reach across tiles."""

import json
import math

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test import Client

from geo_assets.taxonomy import AreaLevel, Role
from layers.registry import LABEL_MIN_ZOOM
from layers.tiles import EXTENT, TileId, tile_areas
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def page_config(user=None) -> dict:
    client = Client()
    if user is not None:
        client.force_login(user)
    html = client.get("/").content.decode()
    start = html.index('<script id="map-config" type="application/json">') + len('<script id="map-config" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def test_clerks_open_the_map_on_their_area(areas):
    township_clerk = make_user("west", Role.TOWNSHIP, area=areas.west)
    village_clerk = make_user("westnorth", Role.VILLAGE, area=areas.west_north)
    inspector = make_user("inspector", Role.INSPECTOR)
    assert page_config(township_clerk)["homeBbox"] == pytest.approx(list(areas.west.geom.extent))
    assert page_config(village_clerk)["homeBbox"] == pytest.approx(list(areas.west_north.geom.extent))
    assert page_config(inspector)["homeBbox"] is None
    assert page_config()["homeBbox"] is None
    assert page_config()["countyBbox"] == pytest.approx(list(areas.county.geom.extent))


def test_registry_gives_roads_and_canals_distinct_styles(areas):
    types = {t["type"]: t for c in page_config()["registry"]["categories"] for t in c["types"]}
    assert len(types) == 20 and len({t["colour"] for t in types.values()}) == 20
    road, canal = types["road"], types["irrigation"]
    assert road["shape"] == canal["shape"] == "line"
    assert road["dash"] == [] and canal["dash"]


def label_point(code: str) -> tuple[float, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom_web) p FROM geo_assets_adminarea "
                       "WHERE code = %s) s", [code])
        return cursor.fetchone()


def test_a_tile_carries_the_names_reaching_into_it_from_a_neighbour(areas):
    x, y = label_point(areas.west_north.code)
    world = 20037508.342789244
    for z in range(LABEL_MIN_ZOOM[AreaLevel.VILLAGE], 20):  # the tiles carry village names from there on
        size = 2 * world / 2**z
        tx, ty = math.floor((x + world) / size), math.floor((world - y) / size)
        px = (x + world) / size % 1 * 256  # the label point's pixel inside its tile
        if 8 < px < 40 or 216 < px < 248:
            break
    else:
        pytest.fail("no zoom puts the label near a tile edge")
    own = mapbox_vector_tile.decode(tile_areas(level="village", tile=TileId(z, tx, ty)))
    neighbour = TileId(z, tx - 1 if px < 128 else tx + 1, ty)
    other = mapbox_vector_tile.decode(tile_areas(level="village", tile=neighbour))
    assert "西北村" in {f["properties"]["name"] for f in own["villages_labels"]["features"]}
    # Within the label buffer (a quarter tile) the neighbour carries the name too, outside its own extent.
    labels = [f for f in other["villages_labels"]["features"] if f["properties"]["name"] == "西北村"]
    assert len(labels) == 1
    lx = labels[0]["geometry"]["coordinates"][0]
    assert lx < 0 or lx > EXTENT
