"""Issue 19: one register for several counties — each county's bodies kept to their county, the prefecture's
bureau reading both and editing neither, a person with several roles acting in one at a time."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.models import Asset, Membership
from geo_assets.taxonomy import AreaLevel, AssetType, Role, level_of_code
from tests.factories import centre, make_member

A_NAMES, B_NAMES = ("甲村道路", "甲村卫生室"), ("乙村道路", "乙村卫生室")


def names(user, *, edit: bool = False) -> set[str]:
    assets = Asset.objects.editable_by(user) if edit else Asset.objects.visible_to(user)
    return set(assets.values_list("name", flat=True))


def body(client: Client, path: str, **params) -> tuple[int, str]:
    response = client.get(path, params)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content.decode("utf-8", "replace")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("code", "level"), [
    ("410000000000", AreaLevel.PROVINCE), ("410300000000", AreaLevel.PREFECTURE), ("410324000000", AreaLevel.COUNTY),
    ("410324101000", AreaLevel.TOWNSHIP), ("410324101001", AreaLevel.VILLAGE)])
def test_the_level_follows_from_the_national_code(code, level):
    assert level_of_code(code) == level


def test_every_asset_carries_its_county_code_written_by_the_database(county_world):
    w = county_world
    codes = dict(Asset.objects.values_list("name", "county_id"))
    assert codes == {"甲村道路": "410324000000", "甲村卫生室": "410324000000",
                     "乙村道路": "410325000000", "乙村卫生室": "410325000000"}
    with connection.cursor() as cursor:  # a writer that bypasses the services gets it too
        cursor.execute("UPDATE geo_assets_asset SET county_code = '410324000000' WHERE name = '乙村道路'")
    assert Asset.objects.get(name="乙村道路").county_id == "410325000000"
    assert set(Asset.objects.in_area(w.p.prefecture).values_list("name", flat=True)) == {*A_NAMES, *B_NAMES}
    assert set(Asset.objects.in_area(w.p.county_b).values_list("name", flat=True)) == set(B_NAMES)


@pytest.mark.parametrize(("who", "sees", "edits"), [
    ("admin_a", A_NAMES, A_NAMES),
    ("inspector_a", A_NAMES, ()),
    ("finance_a", A_NAMES, ()),
    ("roads_a", ("甲村道路",), ("甲村道路",)),
    ("township_a", ("甲村道路",), ("甲村道路",)),
    ("village_a", ("甲村道路",), ("甲村道路",)),
    ("admin_b", B_NAMES, B_NAMES),
    ("prefecture", (*A_NAMES, *B_NAMES), ()),
])
def test_each_role_sees_and_edits_its_own_county_only(county_world, who, sees, edits):
    user = county_world.users[who]
    assert names(user) == set(sees)
    assert names(user, edit=True) == set(edits)


def test_the_superuser_and_the_public_are_not_bound_to_a_county(county_world):
    from django.contrib.auth.models import AnonymousUser

    assert names(county_world.root) == {*A_NAMES, *B_NAMES}
    assert names(AnonymousUser()) == {"甲村道路", "乙村道路"}  # the published assets of every county


def test_no_route_gives_county_a_anything_of_county_b(county_world):
    w = county_world
    b_village, b_township = w.p.village_b.code, w.p.township_b.code
    for who in ("admin_a", "inspector_a", "finance_a", "roads_a"):
        client = login(w.users[who])
        for path, params in [("/api/v1/assets/", {"format": "json"}), ("/api/v1/search/", {"q": "乙"}),
                             ("/api/v1/search/", {"q": "4103251"}), ("/ogc/collections/assets/items", {"f": "json"}),
                             ("/", {}), ("/reports/county/", {}), ("/reports/", {})]:
            status, text = body(client, path, **params)
            assert status == 200, (who, path, status)
            assert not any(n in text for n in B_NAMES), (who, path)
            assert b_village not in text and "嵩县" not in text, (who, path)
        for path in (f"/reports/villages/{b_village}/", f"/reports/townships/{b_township}/",
                     f"/api/v1/assets/{w.assets['clinic_b'].code}/"):
            response = client.get(path)
            assert response.status_code in (403, 404) or response["Location"].startswith("/public/"), (who, path)
        assert client.get("/reports/county/", {"county": w.p.county_b.code}).status_code == 403, who


def test_the_prefecture_reads_both_counties_and_changes_neither(county_world):
    w = county_world
    client = login(w.users["prefecture"])
    for county, other in ((w.p.a.county, w.p.county_b), (w.p.county_b, w.p.a.county)):
        status, text = body(client, "/reports/county/", county=county.code)
        assert status == 200 and county.name in text and other.name not in text
    status, text = body(client, "/api/v1/assets/", format="json")
    assert all(n in text for n in (*A_NAMES, *B_NAMES))
    clinic = Asset.objects.get(name="乙村卫生室")
    clinic.name = "改名"
    with pytest.raises(PermissionDenied):
        services.asset_save(actor=w.users["prefecture"], asset=clinic, reason="试")
    assert Asset.objects.get(pk=clinic.pk).name == "乙村卫生室"


def test_a_county_administrator_cannot_register_an_asset_in_another_county(county_world):
    w = county_world
    with pytest.raises(PermissionDenied, match="其他县|another county"):
        services.asset_register(actor=w.users["admin_a"], fields={"name": "越界道路", "asset_type": AssetType.HEALTH},
                                geometry=centre(w.p.village_b), funding=(("central", 1),))
    assert not Asset.objects.filter(name="越界道路").exists()
    made = services.asset_register(actor=w.users["admin_b"], fields={"name": "乙新卫生室", "asset_type": AssetType.HEALTH},
                                   geometry=centre(w.p.village_b), funding=(("central", 1),))
    made.refresh_from_db()
    assert made.county_id == w.p.county_b.code


def test_roles_are_granted_within_ones_own_county(county_world):
    w = county_world
    with pytest.raises(PermissionDenied):  # admin of A, a township of B
        services.user_grant_role(actor=w.users["admin_a"], username="x", role=Role.TOWNSHIP,
                                 area_code=w.p.township_b.code)
    with pytest.raises(PermissionDenied):
        services.user_grant_role(actor=w.users["admin_a"], username="x", role=Role.INSPECTOR,
                                 county_code=w.p.county_b.code)
    with pytest.raises(ValidationError, match="多个县|several counties"):  # which county? the register has two
        services.user_grant_role(actor=w.root, username="x", role=Role.INSPECTOR)
    with pytest.raises(PermissionDenied):  # the bureaus above the counties: a system administrator's grant
        services.user_grant_role(actor=w.users["admin_a"], username="x", role=Role.PREFECTURE,
                                 area_code=w.p.prefecture.code)
    user, _password = services.user_grant_role(actor=w.users["admin_b"], username="y", role=Role.INSPECTOR)
    assert user.memberships.get().county_id == w.p.county_b.code  # an area-less role of B: the granter's county
    assert names(user) == set(B_NAMES)
    with pytest.raises(PermissionDenied):  # y holds a role in B: A's administrator may not add to it
        services.user_grant_role(actor=w.users["admin_a"], username="y", role=Role.VILLAGE,
                                 area_code=w.p.a.west_south.code)


def test_a_person_with_two_roles_acts_in_the_one_chosen_in_the_header(county_world):
    w = county_world
    clerk = w.users["township_a"]
    make_member(clerk, Role.VILLAGE, area=w.p.a.east_south)
    client = login(clerk)
    page = client.get("/reports/").content.decode()
    assert 'name="membership"' in page and "东南村" in page  # the switcher lists both roles
    assert names(clerk) == {"甲村道路"}
    village_role = clerk.memberships.get(role=Role.VILLAGE)
    response = client.post("/account/role/", {"membership": village_role.pk, "next": "/reports/"})
    assert response.status_code == 302 and response["Location"] == "/reports/"
    fresh = type(clerk).objects.get(pk=clerk.pk)
    assert scope_for(fresh).role == Role.VILLAGE and names(fresh) == {"甲村卫生室"}
    status, text = body(client, "/api/v1/assets/", format="json")
    assert "甲村卫生室" in text and "甲村道路" not in text  # the next request uses the chosen role
    assert Membership.objects.filter(user=clerk, current=True).count() == 1


def test_nobody_acts_in_a_role_that_is_not_theirs(county_world):
    w = county_world
    others = w.users["admin_b"].memberships.get()
    client = login(w.users["village_a"])
    assert client.post("/account/role/", {"membership": others.pk}).status_code == 403
    assert client.post("/account/role/", {"membership": "x"}).status_code == 403
    assert client.get("/account/role/").status_code == 405
    assert Client().post("/account/role/", {"membership": others.pk}).status_code == 302  # to the login
    assert w.users["admin_b"].memberships.get().current
    response = client.post("/account/role/", {"membership": w.users["village_a"].memberships.get().pk,
                                              "next": "https://elsewhere.example/"})
    assert response["Location"] == "/"  # never sent off the site
