"""TileJSON of each tile layer and the style for desktop GIS (layers.tilejson): structure, bounds per role, the web
map's colours, rights, token auth (GDAL's MVT driver reading through the TileJSON: test_tilejson_gdal.py)."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from rest_framework.authtoken.models import Token

from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AreaLevel, AssetType, Category
from layers import registry
from tests.factories import E, N, S, W
from tests.layers.conftest import ROLE_VISIBLE, codes, county_features

Z = 14
STYLE_TYPES = {"fill", "line", "symbol", "circle", "fill-extrusion", "raster", "background", "heatmap", "hillshade"}


def caller(world, role: str):
    return {"anonymous": AnonymousUser(), "clerk": world.clerk, "department": world.department,
            "inspector": world.inspector}[role]


def client_of(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url  # absolute, on this server
    return parts.path


def extent_of(assets) -> list[float]:
    boxes = [(a.point or a.line or a.polygon).extent for a in assets]
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def assert_bounds(found: list[float], expected: list[float]) -> None:
    assert found == pytest.approx(expected, abs=2e-6), (found, expected)


def test_tilejson_structure_and_absolute_tile_url(world):
    doc = Client().get("/tiles/assets.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/assets/{z}/{x}/{y}.mvt"]
    assert doc["scheme"] == "xyz" and doc["minzoom"] == 0 and doc["maxzoom"] == registry.DATA_MAX_ZOOM
    layers = {layer["id"]: layer for layer in doc["vector_layers"]}
    assert set(layers) == {"assets", "clusters"}
    assert layers["assets"]["minzoom"] == registry.DETAIL_MIN_ZOOM
    assert all(isinstance(text, str) and text for layer in layers.values() for text in layer["fields"].values())
    # the fields announced are the properties the tiles carry (through the template of the TileJSON)
    detail = county_features(Client(), "assets", Z, data_layer="assets")
    assert detail and {key for f in detail for key in f} == set(layers["assets"]["fields"])
    low = county_features(Client(), "assets", 8, data_layer="clusters")
    assert low and {key for f in low for key in f} == set(layers["clusters"]["fields"])

    for name in ("townships", "villages"):
        doc = Client().get(f"/tiles/{name}.json").json()
        assert doc["tiles"] == [f"http://testserver/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt"]
        layers = {layer["id"]: layer for layer in doc["vector_layers"]}
        assert set(layers) == {name, f"{name}_labels"}
        assert set(layers[name]["fields"]) == {"code", "name", "parent"}
        level = AreaLevel.TOWNSHIP if name == "townships" else AreaLevel.VILLAGE
        assert layers[f"{name}_labels"]["minzoom"] == registry.LABEL_MIN_ZOOM[level]


def test_filters_are_carried_into_the_tiles_url_and_the_bounds(world):
    client = Client()
    doc = client.get("/tiles/assets.json?type=road&nocache=1").json()
    assert doc["tiles"] == ["http://testserver/tiles/assets/{z}/{x}/{y}.mvt?type=road"]  # only the layer's filters
    assert_bounds(doc["bounds"], extent_of([world.road]))
    template = urlsplit(doc["tiles"][0])
    assert codes(county_features(client, "assets", Z, template.query, data_layer="assets")) == {world.road.code}
    # unfiltered: both published assets
    assert_bounds(client.get("/tiles/assets.json").json()["bounds"], extent_of([world.road, world.greenhouse]))
    # bad values are refused as by the tiles; the public has no project filter
    assert client.get("/tiles/assets.json?type=castle").status_code == 400
    assert client.get("/tiles/assets.json?project=XM-1").status_code == 400
    # the villages of one township
    doc = client.get(f"/tiles/villages.json?township={world.areas.west.code}").json()
    assert doc["tiles"][0].endswith(f".mvt?township={world.areas.west.code}")
    assert_bounds(doc["bounds"], list(world.areas.west.geom.extent))


def test_unknown_layer_has_no_tilejson(world):
    assert Client().get("/tiles/parcels.json").status_code == 404


@pytest.mark.parametrize(("role", "visible"), ROLE_VISIBLE)
def test_bounds_are_those_of_what_the_role_sees(world, role, visible):
    doc = client_of(caller(world, role)).get("/tiles/assets.json").json()
    assert_bounds(doc["bounds"], extent_of(getattr(world, key) for key in visible))
    hidden = {"road", "water", "greenhouse", "livestock"} - visible
    if hidden:  # what the role may not see widens nothing
        assert doc["bounds"] != pytest.approx(extent_of(getattr(world, key) for key in visible | hidden), abs=2e-6)
    west, south, east, north = doc["bounds"]
    assert doc["center"][:2] == pytest.approx([(west + east) / 2, (south + north) / 2], abs=1e-5)


def test_bounds_without_anything_visible_are_the_world(world):
    Asset.objects.filter(is_published=True).update(is_published=False)
    assert Client().get("/tiles/assets.json").json()["bounds"] == [-180.0, -85.051129, 180.0, 85.051129]


def test_boundary_bounds_are_the_same_for_everyone(world):
    expected = [W, S, E, N]
    for user in (AnonymousUser(), world.inspector):
        for name in ("townships", "villages"):
            assert_bounds(client_of(user).get(f"/tiles/{name}.json").json()["bounds"], expected)
    assert AdminArea.objects.filter(level=AreaLevel.VILLAGE).count() == 4


def style_of(client) -> dict:
    response = client.get("/tiles/style.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def test_style_is_v8_and_its_sources_and_layers_agree(world):
    client = Client()
    style = style_of(client)
    assert style["version"] == 8
    assert set(style["sources"]) == {"assets", "villages", "townships"}
    data_layers = {}
    for name, source in style["sources"].items():
        assert source["type"] == "vector"
        response = client.get(path_of(source["url"]))
        assert response.status_code == 200
        data_layers[name] = {layer["id"] for layer in response.json()["vector_layers"]}
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids))
    for layer in style["layers"]:
        assert layer["type"] in STYLE_TYPES
        assert layer["source"] in style["sources"], layer
        assert layer["source-layer"] in data_layers[layer["source"]], layer
    # order as the web map: boundaries under everything, asset shapes on top
    assert ids.index("townships-line") < ids.index("assets-clusters") < ids.index("townships-label") \
        < ids.index("assets-point")
    assert ids[-1] == "assets-point"


def match_table(expression: list) -> tuple[dict, str]:
    assert expression[0] == "match"
    pairs = expression[2:-1]
    return dict(zip(pairs[::2], pairs[1::2], strict=True)), expression[-1]


def test_style_colours_are_the_web_maps(world):
    """Every asset type has the colour the web map draws it in (the registry endpoint map.js reads)."""
    style = style_of(Client())
    legend = next(layer for layer in Client().get("/api/v1/layers/").json()["layers"] if layer["name"] == "assets")
    web_types = {t["type"]: t["colour"] for category in legend["legend"] for t in category["types"]}
    web_categories = {category["category"]: category["colour"] for category in legend["legend"]}
    assert set(web_types) == set(AssetType.values) and set(web_categories) == set(Category.values)
    by_id = {layer["id"]: layer for layer in style["layers"]}
    for layer_id, prop in (("assets-point", "circle-color"), ("assets-polygon-fill", "fill-color"),
                           ("assets-line-solid", "line-color")):
        colours, default = match_table(by_id[layer_id]["paint"][prop])
        assert colours == web_types, layer_id
        assert default == "#666666"
    colours, default = match_table(by_id["assets-clusters"]["paint"]["circle-color"])
    assert colours == web_categories and default == legend["style"]["cluster"]
    # dashed lines as the web map: irrigation dashed (7, 4 px at 3.5 px), roads solid
    dashed = by_id["assets-line-dash-7-4"]
    assert dashed["paint"]["line-dasharray"] == [2.0, 1.143]
    assert AssetType.IRRIGATION in dashed["filter"][2] and AssetType.ROAD not in dashed["filter"][2]
    assert "line-dasharray" not in by_id["assets-line-solid"]["paint"]
    assert AssetType.IRRIGATION in by_id["assets-line-solid"]["filter"][2]  # ["!in", "type", …]: excluded there
    # boundaries in the registry's colours
    for name in ("townships", "villages"):
        s = registry.LAYERS[name].style
        assert by_id[f"{name}-line"]["paint"] == {"line-color": s["stroke"], "line-width": s["width"]}
        assert by_id[f"{name}-fill"]["paint"]["fill-color"] == s["fill"]


def test_style_labels_are_the_chinese_names(world):
    by_id = {layer["id"]: layer for layer in style_of(Client())["layers"]}
    for name, level in (("townships", AreaLevel.TOWNSHIP), ("villages", AreaLevel.VILLAGE)):
        label = by_id[f"{name}-label"]
        assert label["type"] == "symbol" and label["layout"]["text-field"] == ["get", "name"]
        assert label["source-layer"] == f"{name}_labels"
        assert label["minzoom"] == registry.LABEL_MIN_ZOOM[level]
        # what the text field reads: the Chinese names of the areas, in the tiles
        found = {f["name"] for f in county_features(Client(), name, Z, data_layer=f"{name}_labels")}
        assert found == set(AdminArea.objects.filter(level=level).values_list("name", flat=True))
        assert all(re.search("[\u4e00-\u9fff]", n) for n in found)


def test_public_gets_no_unpublished_data_through_the_tilejson(world):
    client = Client()
    doc = client.get("/tiles/assets.json").json()
    template = path_of(doc["tiles"][0])
    assert template == "/tiles/assets/{z}/{x}/{y}.mvt"
    seen = codes(county_features(client, "assets", Z, data_layer="assets"))
    assert seen == {world.road.code, world.greenhouse.code}
    assert_bounds(doc["bounds"], extent_of([world.road, world.greenhouse]))
    response = client.get("/tiles/style.json")
    assert response["Cache-Control"].startswith("public") and "Authorization" in response["Vary"]
    # the inspector's TileJSON is private (its bounds are the inspector's)
    response = client_of(world.inspector).get("/tiles/assets.json")
    assert response["Cache-Control"] == "private, no-cache" and "Cookie" in response["Vary"]


@pytest.fixture
def staff_layer(monkeypatch):
    layer = registry.Layer(name="audit", label="audit", kind="areas", level=AreaLevel.VILLAGE, staff_only=True,
                           style=dict(registry.LAYERS["villages"].style))
    monkeypatch.setitem(registry.LAYERS, "audit", layer)
    return layer


def test_a_staff_only_layer_is_not_offered_to_the_public(world, staff_layer):
    public = Client()
    assert public.get("/tiles/audit.json").status_code == 404
    assert public.get("/tiles/audit/14/0/0.mvt").status_code == 404
    assert "audit" not in style_of(public)["sources"]
    assert not any(layer["source"] == "audit" for layer in style_of(public)["layers"])
    assert "audit" not in {layer["name"] for layer in public.get("/api/v1/layers/").json()["layers"]}

    staff = client_of(world.inspector)
    doc = staff.get("/tiles/audit.json").json()
    assert doc["tiles"] == ["http://testserver/tiles/audit/{z}/{x}/{y}.mvt"]
    assert staff.get("/tiles/audit/14/0/0.mvt").status_code == 200
    style = style_of(staff)
    assert style["sources"]["audit"]["url"] == "http://testserver/tiles/audit.json"
    assert {"audit-fill", "audit-line", "audit-label"} <= {layer["id"] for layer in style["layers"]}
    assert "audit" in {layer["name"] for layer in staff.get("/api/v1/layers/").json()["layers"]}


def test_token_auth_works_like_the_session(world, staff_layer):
    token = Token.objects.create(user=world.inspector).key
    by_token = Client().get("/tiles/assets.json", HTTP_AUTHORIZATION=f"Token {token}")
    assert by_token.status_code == 200 and by_token["Cache-Control"] == "private, no-cache"
    assert by_token.json() == client_of(world.inspector).get("/tiles/assets.json").json()
    assert_bounds(by_token.json()["bounds"], extent_of([world.road, world.water, world.greenhouse, world.livestock]))
    style = Client().get("/tiles/style.json", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert "audit" in style["sources"]
    # a wrong token is refused, not served as the public
    assert Client().get("/tiles/assets.json", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)
    assert Client().get("/tiles/style.json", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)
