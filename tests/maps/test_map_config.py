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


def offered(config: dict) -> tuple[set, set, set]:
    return ({t["code"] for t in config["townships"]}, {v["code"] for v in config["villages"]},
            {t["type"] for c in config["registry"]["categories"] for t in c["types"]})


@pytest.mark.parametrize("role", ["township", "village", "department", "inspector", "county_admin", "public"])
def test_map_filters_offer_only_the_choices_of_the_role(areas, role):
    """Issue 21 item 20: a township clerk is offered its own villages, a village clerk its village, a line
    department its own asset types; the county, the inspector and the public everything they can see."""
    from geo_assets.taxonomy import AssetType
    from tests.factories import make_department

    everything = ({areas.west.code, areas.east.code},
                  {a.code for a in (areas.west_south, areas.west_north, areas.east_south, areas.east_north)},
                  set(AssetType.values))
    user, expected = {
        "township": (lambda: make_user("t", Role.TOWNSHIP, area=areas.west),
                     ({areas.west.code}, {areas.west_south.code, areas.west_north.code}, everything[2])),
        "village": (lambda: make_user("v", Role.VILLAGE, area=areas.east_north),
                    ({areas.east.code}, {areas.east_north.code}, everything[2])),
        "department": (lambda: make_user("d", Role.DEPARTMENT, department=make_department(
            "交通运输局", types=(AssetType.ROAD, AssetType.IRRIGATION))),
            (everything[0], everything[1], {"road", "irrigation"})),
        "inspector": (lambda: make_user("i", Role.INSPECTOR), everything),
        "county_admin": (lambda: make_user("c", Role.COUNTY_ADMIN), everything),
        "public": (lambda: None, everything),
    }[role]
    config = page_config(user())
    assert offered(config) == expected
    # every offered village belongs to an offered township; no category is offered empty
    assert {v["township"] for v in config["villages"]} <= {t["code"] for t in config["townships"]}
    assert all(c["types"] for c in config["registry"]["categories"])
