"""Issue 21 item 10: every route that takes an asset code or a village code, for every role — staff see at least
what the public sees (the public version of a published asset or a village outside their scope), and to whoever
may not see an asset, an unpublished code answers exactly as a missing one (no oracle), with a Chinese 404 page."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from geo_assets.models import Asset
from tests.maps.conftest import BENEFICIARY, PHONE

MISSING = "410324101001-9999"
ROLES = ("anonymous", "staff_without_role", "village_a", "village_b", "township_west", "township_east", "department",
         "inspector", "county_admin")
IN_SCOPE = {"village_a", "township_west", "inspector", "county_admin"}  # of village A's household assets
STAFF = {"village_a", "village_b", "township_west", "township_east", "department", "inspector", "county_admin"}
ASSET_ROUTES = ("/assets/{code}/", "/assets/{code}/lifecycle/", "/assets/{code}/lifecycle/maintenance/",
                "/api/v1/assets/{code}/", "/v/{code}/")
VILLAGE_ROUTES = ("/villages/{code}/", "/reports/villages/{code}/", "/reports/villages/{code}.xlsx",
                  "/api/v1/areas/{code}/summary/")


def client_for(route_world, role) -> Client:
    client = Client()
    if route_world["users"][role] is not None:
        client.force_login(route_world["users"][role])
    return client


def shape(response, code: str) -> tuple:
    """What a response tells: its status, where it sends, its body — with the code asked for and the per-response
    CSRF token taken out."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.decode(errors="replace"))
    return response.status_code, response.get("Location", "").replace(code, "CODE"), text.replace(code, "CODE")


@pytest.mark.parametrize("role", ROLES)
def test_an_unpublished_asset_answers_as_a_missing_one_to_whoever_may_not_see_it(route_world, role):
    client = client_for(route_world, role)
    unpublished = route_world["unpublished"].code
    for route in ASSET_ROUTES:
        hidden = shape(client.get(route.format(code=unpublished)), unpublished)
        if role in IN_SCOPE:  # seen (an inspector, who takes no step, is refused the step page: seen, not hidden)
            assert hidden[0] in (200, 302) or (role == "inspector" and route.count("/lifecycle/") and
                                               hidden[0] == 403 and "无权" in hidden[2]), (route, hidden[:2])
            continue
        missing = shape(client.get(route.format(code=MISSING)), MISSING)
        assert hidden == missing, route
        if hidden[0] == 404 and not route.startswith("/api/"):
            assert "找不到" in hidden[2] and "Not Found" not in hidden[2], route
            assert "matches the given query" not in hidden[2], route


def public_view(route_world, url: str):
    return Client().get(url)


@pytest.mark.parametrize("role", sorted(STAFF - IN_SCOPE))
def test_staff_outside_the_scope_get_the_public_version_of_a_published_asset(route_world, role):
    client = client_for(route_world, role)
    asset = route_world["published"]
    assert asset.public_name and BENEFICIARY not in asset.public_name
    page = client.get(f"/assets/{asset.code}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert asset.public_name in text and "公开信息" in text
    assert BENEFICIARY not in text and PHONE not in text
    assert BENEFICIARY[0] + "*" in text  # the custodian, masked as the public sees it
    api = client.get(f"/api/v1/assets/{asset.code}/")
    assert api.status_code == 200 and api.json() == public_view(route_world, f"/api/v1/assets/{asset.code}/").json()
    for url in (f"/assets/{asset.code}/lifecycle/", f"/assets/{asset.code}/lifecycle/maintenance/",
                f"/v/{asset.code}/"):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/assets/{asset.code}/"), url


@pytest.mark.parametrize("role", sorted(IN_SCOPE))
def test_staff_in_scope_see_the_asset_in_full(route_world, role):
    client = client_for(route_world, role)
    for key in ("published", "unpublished"):
        asset = route_world[key]
        text = client.get(f"/assets/{asset.code}/").content.decode()
        assert asset.name in text and PHONE in text and "公开信息" not in text
        assert client.get(f"/api/v1/assets/{asset.code}/").json()["properties"]["name"] == asset.name
        assert client.get(f"/assets/{asset.code}/lifecycle/").status_code == 200


def test_the_public_gets_the_card_of_a_published_asset_and_the_same_404_otherwise(route_world):
    asset = route_world["published"]
    landing = Client().get(f"/v/{asset.code}/")
    assert (landing.status_code, landing["Location"]) == (302, f"/assets/{asset.code}/")
    hidden = Client().get(f"/v/{route_world['unpublished'].code}/")
    assert hidden.status_code == 404 and "登录" in hidden.content.decode()  # staff are offered the login


@pytest.mark.parametrize("role", ROLES)
def test_every_village_route_for_every_role(route_world, role):
    client = client_for(route_world, role)
    village = route_world["areas"].west_south
    for route in VILLAGE_ROUTES:
        own = client.get(route.format(code=village.code))
        missing = client.get(route.format(code="410324101999"))
        if role not in STAFF and route.startswith("/reports/"):  # staff pages: the login, or refused, whatever the code
            assert own.status_code == missing.status_code and own.status_code in (302, 403), route
            continue
        assert missing.status_code == 404, route
        if missing.get("Content-Type", "").startswith("text/html"):
            assert "找不到" in missing.content.decode(), route
        if role in STAFF - IN_SCOPE - {"department"} and route.startswith("/reports/"):
            # another village's full report: its villagers' page, which the public sees
            assert (own.status_code, own["Location"]) == (302, f"/public/villages/{village.code}/"), route
            continue
        assert own.status_code == 200, route
        if route == "/villages/{code}/":
            text = own.content.decode()
            published = route_world["published"]
            assert published.code in text  # never less than the public sees
            if role in IN_SCOPE:
                assert published.name in text and route_world["unpublished"].code in text
            else:
                assert published.public_name in text and BENEFICIARY not in text
                assert route_world["unpublished"].code not in text
            if role in ("village_b", "township_east"):  # another area's village: said so, and no dead-end links
                assert "公开信息" in text and "/plans/" not in text
        if route == "/api/v1/areas/{code}/summary/":
            public = Client().get(route.format(code=village.code)).json()
            assert own.json()["total"]["count"] >= public["total"]["count"] == 1


def test_labels_are_printed_only_for_published_assets(route_world):
    client = client_for(route_world, "county_admin")
    sheet = client.get("/verification/labels/", {"codes": route_world["unpublished"].code})
    assert sheet.status_code == 404 and "已公开" in sheet.content.decode()
    assert client.get("/verification/labels/", {"codes": route_world["published"].code})["Content-Type"] == "application/pdf"
    assert Asset.objects.filter(is_published=False).exists()
    assert AnonymousUser().is_authenticated is False
