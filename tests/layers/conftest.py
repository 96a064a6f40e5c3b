import datetime
import math
from dataclasses import dataclass

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from geo_assets import services
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import E, N, S, W, make_areas, make_asset, make_department, make_user

# Which of the world's assets each caller sees, whatever the endpoint.
ROLE_VISIBLE = [
    ("anonymous", {"road", "greenhouse"}),
    ("clerk", {"road", "water"}),
    ("department", {"road"}),
    ("inspector", {"road", "water", "greenhouse", "livestock"}),
]


@dataclass
class World:
    areas: object
    admin: object
    clerk: object
    department: object
    inspector: object
    road: Asset
    water: Asset
    greenhouse: Asset
    livestock: Asset


def make_world() -> World:
    areas = make_areas()
    admin = make_user("county", "superuser")
    dept = make_department("交通运输局", types=(AssetType.ROAD,))
    road = make_asset(actor=admin, name="西南村道路", area=areas.west_south, is_published=True, year_built=2020)
    water = make_asset(actor=admin, name="西北村饮水站", asset_type=AssetType.WATER_SUPPLY, area=areas.west_north,
                       year_built=2018)
    greenhouse = make_asset(actor=admin, name="东南村大棚", asset_type=AssetType.GREENHOUSE, area=areas.east_south,
                            is_published=True, year_built=2022)
    x0, y0 = 111.66, 33.95
    pen = MultiPolygon(Polygon.from_bbox((x0, y0, x0 + 0.002, y0 + 0.002)), srid=SRID)
    livestock = make_asset(actor=admin, name="东北村养殖圈舍", asset_type=AssetType.HOUSEHOLD_FIXED,
                           area=areas.east_north, geometry=pen, year_built=2021)
    # what a verification that counts does (only the verification services set last_verified_at)
    services.asset_verified_mark(asset=road, verified_at=datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC),
                                 reason="verified")
    return World(
        areas=areas, admin=admin,
        clerk=make_user("west_clerk", Role.TOWNSHIP, area=areas.west),
        department=make_user("roads", Role.DEPARTMENT, department=dept),
        inspector=make_user("inspector", Role.INSPECTOR),
        road=Asset.objects.get(pk=road.pk), water=water, greenhouse=greenhouse, livestock=livestock,
    )


@pytest.fixture
def world(db):
    return make_world()


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


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
