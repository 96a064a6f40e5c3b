"""The phone page's server side: the QR landing per role, the village task package, the page, manifest and
service worker."""

import pytest
from django.contrib.gis.geos import Point
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from geo_assets.models import SRID
from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user, photo
from verification import services


@pytest.fixture
def site(db):
    areas = make_areas()
    admin = make_admin()
    c = centre(areas.west_south)
    assets = {
        "clinic": make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                             geometry=c, is_published=True),
        "water": make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.WATER_SUPPLY, name="西南村水池",
                            geometry=Point(c.x + 0.01, c.y, srid=SRID)),
        "other": make_asset(actor=admin, area=areas.east_south, asset_type=AssetType.HEALTH, name="东南村卫生室",
                            geometry=centre(areas.east_south)),
    }
    users = {
        "admin": admin,
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
        "department": make_user("health", Role.DEPARTMENT, department=make_department("卫健委", [AssetType.HEALTH])),
        "inspector": make_user("inspector", Role.INSPECTOR),
    }
    return areas, users, assets


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(("role", "target"), [
    (None, "/assets/{code}/"),  # the public card (masked as the public page is)
    ("village", "/field/assets/{code}/"),  # a verifier of the asset lands on the form
    ("department", "/field/assets/{code}/"),
    ("admin", "/field/assets/{code}/"),
    ("other_village", "/assets/{code}/"),  # logged in, may not verify it: the asset's page
    ("inspector", "/assets/{code}/"),  # inspectors verify only what a campaign assigns them
])
def test_qr_landing_per_role(site, role, target):
    _areas, users, assets = site
    code = assets["clinic"].code
    response = client_for(users.get(role)).get(f"/v/{code}/")
    assert response.status_code == 302 and response["Location"] == target.format(code=code)


def test_qr_landing_of_an_unpublished_asset_and_of_an_unknown_code(site):
    _areas, users, assets = site
    code = assets["water"].code  # not published
    # to whoever may not see it, an unpublished code answers as a missing one (issue 21 item 10: no oracle)
    assert Client().get(f"/v/{code}/").status_code == 404
    assert client_for(users["village"]).get(f"/v/{code}/")["Location"] == f"/field/assets/{code}/"
    assert client_for(users["other_village"]).get(f"/v/{code}/").status_code == 404
    assert Client().get("/v/410324101001-9999/").status_code == 404
    assert client_for(users["village"]).get("/v/410324101001-9999/").status_code == 404


@pytest.mark.parametrize("role", ["other_village", "inspector"])
def test_the_form_of_an_asset_the_user_may_not_verify_sends_to_its_page_and_tells_no_code(site, role):
    """A published asset the user may not verify opens its page (the public version outside the user's scope);
    an unpublished one answers exactly as a missing code (issue 21 item 10)."""
    _areas, users, assets = site
    client = client_for(users[role])
    published = assets["clinic"].code
    response = client.get(f"/field/assets/{published}/")
    assert response.status_code == 302 and response["Location"] == f"/assets/{published}/"
    assert client.get(response["Location"]).status_code == 200
    if role == "other_village":  # the inspector reads everything
        unpublished = client.get(f"/field/assets/{assets['water'].code}/")
        missing = client.get("/field/assets/410324101001-9999/")
        assert unpublished.status_code == missing.status_code == 404


def test_package_has_only_the_verifiable_assets_of_the_village(site):
    areas, users, assets = site
    now = timezone.now()
    here = assets["clinic"].location
    done = services.verification_record(
        actor=users["village"], asset_code=assets["clinic"].code, finding="intact", lon=here.x, lat=here.y,
        accuracy_m=5, observed_at=now, photos=[("a.jpg", photo(1, lonlat=(here.x, here.y), taken_at=now))]).verification

    response = client_for(users["village"]).get(f"/field/package/{areas.west_south.code}.json")
    assert response.status_code == 200
    body = response.json()
    assert body["village"]["code"] == areas.west_south.code and body["village"]["geometry"]["type"] == "MultiPolygon"
    cards = {a["code"]: a for a in body["assets"]}
    assert set(cards) == {assets["clinic"].code, assets["water"].code}
    clinic = cards[assets["clinic"].code]
    assert clinic["name"] == "西南村卫生室" and clinic["type_label"] == "卫生"
    assert clinic["geometry"] == {"type": "Point", "coordinates": [here.x, here.y]}
    assert clinic["thumbnail"] == f"/field/photos/{done.photos.get().pk}/thumb.jpg"
    assert clinic["last_verification"]["finding_label"] == "存在完好"
    assert cards[assets["water"].code]["thumbnail"] is None and cards[assets["water"].code]["last_verification"] is None
    assert client_for(users["village"]).get(clinic["thumbnail"]).status_code == 200

    # a department sees only its own types there
    department = client_for(users["department"]).get(f"/field/package/{areas.west_south.code}.json").json()
    assert [a["code"] for a in department["assets"]] == [assets["clinic"].code]


@pytest.mark.parametrize(("role", "status"), [(None, 403), ("other_village", 403), ("inspector", 403)])
def test_package_is_refused_to_others(site, role, status):
    areas, users, _assets = site
    response = client_for(users.get(role)).get(f"/field/package/{areas.west_south.code}.json")
    assert response.status_code == status and "assets" not in response.json()


def test_package_of_an_unknown_or_non_village_area_is_404(site):
    areas, users, _assets = site
    assert client_for(users["admin"]).get("/field/package/410324101009.json").status_code == 404
    assert client_for(users["admin"]).get(f"/field/package/{areas.west.code}.json").status_code == 404


def test_page_needs_login_and_knows_the_user_s_villages(site):
    areas, users, assets = site
    response = Client().get("/field/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/field/"
    page = client_for(users["village"]).get("/field/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'rel="manifest" href="/field/manifest.webmanifest"' in text
    for label in ("存在完好", "存在损坏", "闲置", "改变用途", "未找到", "已拆除"):
        assert label in text
    villages = page.context["config"]["villages"]
    assert villages == [{"code": areas.west_south.code, "name": "西南村", "township": "西镇", "assets": 2}]
    form = client_for(users["village"]).get(f"/field/assets/{assets['clinic'].code}/")
    assert form.status_code == 200 and form.context["asset"]["code"] == assets["clinic"].code
    # an asset the user may not verify: the page says so (404)
    refused = client_for(users["village"]).get(f"/field/assets/{assets['other'].code}/")
    assert refused.status_code == 404 and refused.context["config"]["missing"] == assets["other"].code


def test_manifest_and_service_worker_are_scoped_to_the_page(site):
    manifest = Client().get("/field/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert body["scope"] == body["start_url"] == "/field/" and body["display"] == "standalone"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    for icon in body["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/"))
    worker = Client().get("/field/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert worker["Cache-Control"] == "no-cache"
    script = worker.content.decode()
    assert '"/static/verification/field.js"' in script and '"/static/vendor/jsqr/jsQR.js"' in script
