import math
import random

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import LineString, MultiLineString, MultiPolygon, Point, Polygon
from django.test import Client

from geo_assets import services
from geo_assets.models import SRID
from geo_assets.taxonomy import AssetStatus, AssetType, Role
from tests.factories import E, N, S, W, fund_line, link, make_user, project
from tests.world import build_map_world as make_world  # noqa: F401  (the benchmarks' smoke tests import it here)

# Which of the world's assets each caller sees, whatever the endpoint.
ROLE_VISIBLE = [
    ("anonymous", {"road", "greenhouse"}),
    ("clerk", {"road", "water"}),
    ("department", {"road"}),
    ("inspector", {"road", "water", "greenhouse", "livestock"}),
]


@pytest.fixture
def world(map_world):
    """In tests/layers, `world` is the map world (tests/conftest.py, map_world)."""
    return map_world


@pytest.fixture
def project_world(map_world):
    """The map world with three projects (the project filter's tests): XM-WEST serves both villages of 西镇 and formed
    its road and water works; XM-EAST serves both of 东镇 and formed the greenhouse and the pen; XM-CROSS serves
    东南村 only and formed the greenhouse and (exceptionally) 西南村's road. A village clerk of 西南村 too."""
    w, areas = map_world, map_world.areas
    plan = {
        "west": ("XM-WEST", "2025年西镇道路饮水项目", [areas.west_south, areas.west_north], [w.road, w.water]),
        "east": ("XM-EAST", "2025年东镇产业项目", [areas.east_south, areas.east_north], [w.greenhouse, w.livestock]),
        "cross": ("XM-CROSS", "2025年东南村联建项目", [areas.east_south], [w.greenhouse, w.road]),
    }
    w.projects = {}
    for key, (code, name, villages, assets) in plan.items():
        w.projects[key] = made = project(actor=w.admin, code=code, name=name, villages=villages)
        fund_line(actor=w.admin, project=made, allocated=200)
        for asset in assets:
            link(actor=w.admin, project=made, asset=asset)
    w.village_clerk = make_user("ws_clerk", Role.VILLAGE, area=areas.west_south)
    return w


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def county_tiles(z: int):
    x0, y0 = tile_xy(W, N, z)
    x1, y1 = tile_xy(E, S, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content) if content else {}


def county_features(client, layer: str, z: int, query: str = "", data_layer: str | None = None, **headers):
    """Decode every tile covering the test county; return {data layer: [feature properties…]}."""
    found: dict[str, list] = {}
    for tz, tx, ty in county_tiles(z):
        response = client.get(f"/tiles/{layer}/{tz}/{tx}/{ty}.mvt" + (f"?{query}" if query else ""), **headers)
        assert response.status_code == 200, response.content[:300]
        for name, data in decode(response.content).items():
            found.setdefault(name, []).extend(f["properties"] for f in data["features"])
    return found if data_layer is None else found.get(data_layer, [])


def codes(features) -> set[str]:
    return {f["code"] for f in features}


STATUSES = [AssetStatus.IN_USE, AssetStatus.IN_USE, AssetStatus.IDLE, AssetStatus.DAMAGED,
            AssetStatus.UNDER_CONSTRUCTION]


def _geometry(rng: random.Random, area, kind: str):
    x0, y0, x1, y1 = area.geom.extent
    x, y = rng.uniform(x0 + 0.005, x1 - 0.02), rng.uniform(y0 + 0.005, y1 - 0.02)
    if kind == "line":
        return MultiLineString(LineString((x, y), (x + 0.01, y + 0.004), (x + 0.012, y + 0.01)), srid=SRID)
    if kind == "polygon":
        return MultiPolygon(Polygon.from_bbox((x, y, x + 0.003, y + 0.002)), srid=SRID)
    return Point(round(x, 6), round(y, 6), srid=SRID)


def populate(world, count: int = 36, seed: int = 7) -> None:
    """Assets of every category, several types, statuses, years and geometries in all four villages."""
    rng = random.Random(seed)
    villages = [world.areas.west_south, world.areas.west_north, world.areas.east_south, world.areas.east_north]
    types = [AssetType.ROAD, AssetType.WATER_SUPPLY, AssetType.GREENHOUSE, AssetType.LIVESTOCK,
             AssetType.PV_STATION, AssetType.WORKSHOP, AssetType.HOUSEHOLD_FIXED, AssetType.HEALTH]
    for i in range(count):
        asset_type = types[i % len(types)]
        kind = "line" if asset_type == AssetType.ROAD else "polygon" if i % 5 == 0 else "point"
        services.asset_register(
            actor=world.admin,
            fields={"name": f"资产{i}", "asset_type": asset_type, "status": rng.choice(STATUSES),
                    "year_built": rng.choice([None, 2015, 2017, 2018, 2019, 2020, 2021, 2023]),
                    "is_published": rng.random() < 0.6},
            geometry=_geometry(rng, villages[i % 4], kind), funding=(("central", 10),),
        )


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
