"""The map's project filter (layers/filters.py, one rule place for the tiles, the GeoJSON API and the clusters): the
assets formed by the projects the caller may see, within the assets the caller may see; nothing of it for the public.
The world: tests/layers/conftest.py, project_world."""

import pytest
from django.http import QueryDict
from django.test import Client

from layers.filters import asset_filters_parse
from layers.tiles import TileId, asset_tile_query
from projects.taxonomy import ProjectKind
from tests.factories import link
from tests.layers.conftest import as_user, codes, county_features, tile_xy

NAMES = ("road", "water", "greenhouse", "livestock")


def listed(client, query: str) -> set[str]:
    response = client.get(f"/api/v1/assets/?{query}")
    assert response.status_code == 200, response.content[:300]
    return {f["id"] for f in response.json()["features"]}


def codes_of(world, names) -> set[str]:
    return {getattr(world, name).code for name in names}


# who filters by which project, and which assets they then see (the asset scope and the project scope together)
CASES = [
    ("inspector", "XM-WEST", {"road", "water"}),
    ("inspector", "XM-EAST", {"greenhouse", "livestock"}),
    ("inspector", "XM-CROSS", {"greenhouse", "road"}),
    ("inspector", "XM-WEST,XM-EAST", set(NAMES)),
    ("inspector", "XM-NONE", set()),  # an unknown code selects nothing
    ("clerk", "XM-WEST", {"road", "water"}),  # 西镇's clerk: its own project
    ("clerk", "XM-EAST", set()),  # a project of another township: nothing
    ("clerk", "XM-CROSS", set()),  # not its project, though it formed the clerk's own road: nothing either
    ("department", "XM-WEST", {"road"}),  # the roads department: the roads of a project it sees
    ("department", "XM-CROSS", {"road"}),
    ("department", "XM-EAST", set()),
    ("village_clerk", "XM-WEST", {"road"}),  # 西南村's clerk: only its own asset of a project serving it
    ("village_clerk", "XM-CROSS", set()),  # a project of another village: nothing
    ("village_clerk", "XM-EAST", set()),
]


@pytest.mark.parametrize(("who", "query", "expected"), CASES)
def test_the_api_keeps_the_assets_of_the_projects_the_caller_sees(project_world, who, query, expected):
    client = as_user(getattr(project_world, who))
    assert listed(client, f"project={query}") == codes_of(project_world, expected)


def test_the_project_filter_combines_with_the_others(project_world):
    client = as_user(project_world.inspector)
    assert listed(client, "project=XM-WEST&type=water_supply") == {project_world.water.code}
    assert listed(client, "project=XM-EAST&township=410324101000") == set()
    assert listed(client, "project=XM-CROSS&year_min=2021") == {project_world.greenhouse.code}
    assert listed(client, "") == codes_of(project_world, NAMES)  # no project given: no project filter


@pytest.mark.parametrize(("who", "query", "expected"), [c for c in CASES if c[0] in ("inspector", "village_clerk")])
def test_detail_tiles_keep_the_same_assets(project_world, who, query, expected):
    client = as_user(getattr(project_world, who))
    assert codes(county_features(client, "assets", 14, f"project={query}", "assets")) == codes_of(project_world, expected)


def test_cluster_tiles_count_the_projects_assets_live(project_world):
    """The precomputed cluster table knows no projects: with the filter the clusters are counted live from the same
    filtered queryset; without it the table still serves (the filter costs nothing when unused)."""
    inspector = project_world.inspector
    clusters = county_features(as_user(inspector), "assets", 10, "project=XM-EAST", "clusters")
    assert sum(f["count"] for f in clusters) == 2
    tile = TileId(8, *tile_xy(111.6, 33.9, 8))
    plain = asset_tile_query(tile, user=inspector, filters=asset_filters_parse(QueryDict(""), user=inspector))
    filtered = asset_tile_query(tile, user=inspector,
                                filters=asset_filters_parse(QueryDict("project=XM-EAST"), user=inspector))
    assert plain.mode == "precomputed"
    assert filtered.mode == "clusters" and "projects_projectasset" in filtered.sql


def test_a_new_link_changes_the_filtered_tiles_etag(project_world):
    """The tile's data version reads the links too when filtered by project: a new link is no stale 304."""
    client = as_user(project_world.inspector)
    z = 14
    x, y = tile_xy(project_world.water.point.x, project_world.water.point.y, z)
    url = f"/tiles/assets/{z}/{x}/{y}.mvt?project=XM-EAST"
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304  # nothing changed
    link(actor=project_world.admin, project=project_world.projects["east"], asset=project_world.water)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert project_world.water.code in codes(county_features(client, "assets", z, "project=XM-EAST", "assets"))


@pytest.mark.parametrize("who", ["anonymous", "staff_without_role"])
def test_the_public_has_no_project_filter(project_world, who):
    from tests.factories import make_user

    user = None if who == "anonymous" else make_user("nobody")
    client = as_user(user)
    response = client.get("/api/v1/assets/?project=XM-WEST")
    assert response.status_code == 400 and "project" in response.json()
    x, y = tile_xy(project_world.road.line.centroid.x, project_world.road.line.centroid.y, 14)
    assert client.get(f"/tiles/assets/14/{x}/{y}.mvt?project=XM-WEST").status_code == 400
    assert client.get(f"/tiles/assets/14/{x}/{y}.mvt").status_code == 200  # the rest of the map as before
    assert client.get("/api/v1/map/projects/").status_code in (401, 403)
    assert client.get("/api/v1/map/projects/XM-WEST/").status_code in (401, 403)
    assets_layer = next(layer for layer in client.get("/api/v1/layers/").json()["layers"] if layer["name"] == "assets")
    assert "project" not in assets_layer["filters"]
    # a published asset's panel data: no project of it, not even an empty list
    props = client.get(f"/api/v1/assets/{project_world.road.code}/").json()["properties"]
    assert "projects" not in props


def test_staff_have_the_filter_in_the_registry(project_world):
    layers = as_user(project_world.village_clerk).get("/api/v1/layers/").json()["layers"]
    assert "project" in next(layer for layer in layers if layer["name"] == "assets")["filters"]


def test_bad_project_codes_are_400(project_world):
    client = as_user(project_world.inspector)
    assert client.get("/api/v1/assets/?project=XM%20WEST").status_code == 400
    assert client.get("/api/v1/assets/?project=" + "X" * 41).status_code == 400
    assert client.get("/api/v1/assets/?project=" + ",".join(f"P{i}" for i in range(51))).status_code == 400


def test_the_panel_lists_the_projects_the_viewer_sees(project_world):
    inspector = as_user(project_world.inspector)
    projects = inspector.get(f"/api/v1/assets/{project_world.greenhouse.code}/").json()["properties"]["projects"]
    assert [p["code"] for p in projects] == ["XM-CROSS", "XM-EAST"]
    assert projects[1] == {"code": "XM-EAST", "name": "2025年东镇产业项目", "year": 2025,
                           "kind_label": str(ProjectKind.INFRASTRUCTURE.label), "url": "/projects/XM-EAST/"}
    # the village clerk sees its road formed by XM-WEST only (XM-CROSS serves another village)
    clerk = as_user(project_world.village_clerk)
    assert [p["code"] for p in clerk.get(f"/api/v1/assets/{project_world.road.code}/").json()["properties"]["projects"]] \
        == ["XM-WEST"]
    # an asset linked to no project: an empty list (staff), which the panel says
    from geo_assets.taxonomy import AssetType
    from tests.factories import make_asset

    lone = make_asset(actor=project_world.admin, name="无项目资产", asset_type=AssetType.SANITATION,
                      area=project_world.areas.west_south)
    assert inspector.get(f"/api/v1/assets/{lone.code}/").json()["properties"]["projects"] == []
    # out of the township clerk's scope, the greenhouse is shown as the public sees it: no projects
    clerk_west = as_user(project_world.clerk)
    assert "projects" not in clerk_west.get(f"/api/v1/assets/{project_world.greenhouse.code}/").json()["properties"]


def test_the_project_list_is_scoped_and_searchable(project_world):
    inspector = as_user(project_world.inspector)
    assert [p["code"] for p in inspector.get("/api/v1/map/projects/").json()["results"]] == [
        "XM-CROSS", "XM-EAST", "XM-WEST"]
    assert [p["code"] for p in inspector.get("/api/v1/map/projects/?q=东镇").json()["results"]] == ["XM-EAST"]
    assert [p["code"] for p in inspector.get("/api/v1/map/projects/?q=xm-w").json()["results"]] == ["XM-WEST"]
    clerk = as_user(project_world.village_clerk)
    assert [p["code"] for p in clerk.get("/api/v1/map/projects/").json()["results"]] == ["XM-WEST"]
    assert clerk.get("/api/v1/map/projects/XM-EAST/").status_code == 404
    west = clerk.get("/api/v1/map/projects/XM-WEST/").json()
    assert west["asset_count"] == 1 and west["url"] == "/projects/XM-WEST/"  # its own road, not 西北村's water
    road = project_world.road.location
    minx, miny, maxx, maxy = west["bbox"]
    assert minx == pytest.approx(road.x) == pytest.approx(maxx) and miny == pytest.approx(road.y)
    assert inspector.get("/api/v1/map/projects/XM-WEST/").json()["asset_count"] == 2
    assert Client().get("/api/v1/map/projects/?q=XM").status_code in (401, 403)
