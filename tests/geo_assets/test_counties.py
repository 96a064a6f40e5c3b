"""Issue 19: one register for several counties — each county's bodies kept to their county, the prefecture's
bureau reading both and editing neither, a person with several roles acting in one at a time."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client

from geo_assets import services
from geo_assets.access import scope_for
from geo_assets.models import Asset, Department, Membership
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


def test_the_county_is_the_townships_else_the_villages_else_the_boundary_covering_the_asset(county_world):
    """asset_county_fill's order, as any writer meets it (raw SQL here): each branch on its own."""
    p, asset = county_world.p, county_world.assets["clinic_b"]

    def county_after(sql: str, params=()) -> str | None:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE geo_assets_asset SET {sql} WHERE id = %s", [*params, asset.pk])  # noqa: S608
            cursor.execute("SELECT county_code FROM geo_assets_asset WHERE id = %s", [asset.pk])
            return cursor.fetchone()[0]

    shift = "point = ST_Translate(point, %s, 0), line = ST_Translate(line, %s, 0), " \
            "polygon = ST_Translate(polygon, %s, 0)"
    assert county_after("township_id = %s", [p.a.west.pk]) == p.a.county.code  # A's township, B's village
    assert county_after("township_id = NULL") == p.county_b.code  # the village's
    assert county_after("village_id = %s", [p.a.west_south.pk]) == p.a.county.code
    assert county_after("village_id = NULL") == p.county_b.code  # neither: the boundary (B's) covering it
    assert county_after(shift, [-0.2] * 3) == p.a.county.code  # moved into A
    assert county_after(shift, [5.0] * 3) is None  # outside every county


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


def test_areas_are_changed_within_ones_own_county(county_world):
    w = county_world
    township_b = w.p.township_b
    township_b.name = "改名镇"
    with pytest.raises(PermissionDenied):
        services.area_save(actor=w.users["admin_a"], area=township_b, reason="试")
    from geo_assets.models import AdminArea

    with pytest.raises(PermissionDenied):  # a new county: a system administrator's
        services.area_save(actor=w.users["admin_a"], reason="试", area=AdminArea(
            code="410326000000", name="新县", level=AreaLevel.COUNTY, geom=w.p.county_b.geom, parent=w.p.prefecture))
    assert AdminArea.objects.get(pk=township_b.pk).name == "城关镇"
    own = w.p.a.west
    own.name = "西新镇"
    services.area_save(actor=w.users["admin_a"], area=own, reason="更名")
    assert AdminArea.objects.get(pk=own.pk).name == "西新镇"


def test_projects_belong_to_a_county(county_world):
    from projects.models import Project
    from tests.factories import project

    w = county_world
    b_project = w.b_project  # entered by B's administrator, serving B's village
    a_project = project(actor=w.users["admin_a"], code="XM-A-1", name="甲县项目")  # no township: the enterer's county
    assert (b_project.county_id, a_project.county_id) == (w.p.county_b.code, w.p.a.county.code)
    assert set(Project.objects.visible_to(w.users["admin_a"])) == {a_project}
    assert set(Project.objects.visible_to(w.users["finance_a"])) == {a_project}
    assert set(Project.objects.visible_to(w.users["prefecture"])) == {a_project, b_project}
    b_project.name = "越权"
    with pytest.raises(PermissionDenied):
        services_projects().project_save(actor=w.users["admin_a"], project=b_project)
    with pytest.raises(PermissionDenied, match="其他县"):  # a village of another county
        project(actor=w.users["admin_a"], code="XM-A-2", villages=[w.p.village_b], township_from_villages=False)
    text = login(w.users["admin_a"]).get("/projects/").content.decode()
    assert "甲县项目" in text and "乙县项目" not in text


def services_projects():
    from projects import services as project_services

    return project_services


def test_campaigns_draw_and_show_one_county(county_world):
    from verification import selectors as verification_selectors
    from verification import services as verification_services
    from verification.models import CampaignItem

    w = county_world
    campaign = verification_services.campaign_create(actor=w.users["admin_b"], name="乙县年度清查", kind="annual",
                                                     year=2026)
    drawn = set(CampaignItem.objects.filter(campaign=campaign).values_list("asset__name", flat=True))
    assert drawn == set(B_NAMES)
    assert campaign not in verification_selectors.campaigns_visible_to(w.users["admin_a"])
    assert campaign not in verification_selectors.campaigns_visible_to(w.users["inspector_a"])
    assert campaign in verification_selectors.campaigns_visible_to(w.users["prefecture"])
    assert "乙县年度清查" not in login(w.users["admin_a"]).get("/verification/campaigns/").content.decode()
    with pytest.raises(PermissionDenied):
        verification_services.campaign_create(actor=w.users["admin_a"], name="越界", kind="annual", year=2026,
                                              area=w.p.village_b)
    with pytest.raises(PermissionDenied):
        verification_services.campaign_assign(actor=w.users["admin_a"], campaign=campaign,
                                              assignee=w.users["inspector_a"])
    with pytest.raises(ValidationError):  # A's inspector works in A
        verification_services.campaign_assign(actor=w.users["admin_b"], campaign=campaign,
                                              assignee=w.users["inspector_a"])


def test_a_campaign_of_someone_reaching_several_counties_names_its_county(county_world):
    """A superuser (or a bureau over several counties) has no "whole county": a campaign with no area was drawn
    from every county, with no county of its own, and the counties' own administrators could not open it."""
    from verification import services as verification_services
    from verification.models import Campaign, CampaignItem

    w = county_world
    before = Campaign.objects.count()
    with pytest.raises(ValidationError) as refused:
        verification_services.campaign_create(actor=w.root, name="跨县", kind="annual", year=2026)
    assert "area" in refused.value.message_dict and Campaign.objects.count() == before
    client = login(w.root)
    status, page = body(client, "/verification/campaigns/new/")
    assert status == 200
    assert "嵩县</option>" in page and "全县</option>" not in page  # the counties offered, no "whole county"
    form = {"name": "根用户的清查", "kind": "annual", "year": 2026, "sample_share": 10, "top_value_count": 3, "seed": 1}
    response = client.post("/verification/campaigns/new/", {**form, "area": ""})
    assert response.status_code == 400 and Campaign.objects.count() == before
    response = client.post("/verification/campaigns/new/", {**form, "area": w.p.county_b.pk})
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="根用户的清查")
    assert campaign.county_id == w.p.county_b.code
    assert set(CampaignItem.objects.filter(campaign=campaign).values_list("asset__name", flat=True)) == set(B_NAMES)
    assert login(w.users["admin_b"]).get(f"/verification/campaigns/{campaign.pk}/").status_code == 200
    # one county's administrator keeps "the whole county", which is theirs
    status, page = body(login(w.users["admin_a"]), "/verification/campaigns/new/")
    assert "全县</option>" in page and "嵩县</option>" not in page


def test_a_county_report_lists_and_maps_its_own_townships_only(county_world):
    """The neighbouring county's townships were rows (all zero) of the county and department reports, their links
    refused, and their names on the county's map (review of session 23)."""
    w = county_world
    b_link = f"/reports/townships/{w.p.township_b.code}/"
    for user, path in ((w.users["admin_a"], "/reports/county/"), (w.users["roads_a"], "/reports/county/"),
                       (w.users["admin_a"], f"/reports/departments/{Department.objects.get(name='交通运输局').pk}/")):
        status, page = body(login(user), path)
        assert status == 200, path
        assert b_link not in page, (user, path)
        assert "/reports/townships/410324101000/" in page  # A's own
        assert "嵩北村" not in page  # nor B's village on the map
    status, page = body(login(w.users["admin_b"]), "/reports/county/")
    assert b_link in page and "/reports/townships/410324101000/" not in page


def test_a_reader_who_takes_no_step_is_shown_records_not_steps(county_world):
    """The prefecture's bureau was linked to "办理…" and a page of steps each saying there is nothing to do."""
    w = county_world
    code = w.assets["road_a"].code
    status, asset_page = body(login(w.users["prefecture"]), f"/assets/{code}/")
    assert status == 200 and "确权、管护、运营、收益、处置记录" in asset_page and "办理确权" not in asset_page
    status, steps = body(login(w.users["prefecture"]), f"/assets/{code}/lifecycle/")
    assert status == 200 and 'id="no-steps"' in steps and 'class="actions"' not in steps
    status, steps = body(login(w.users["admin_a"]), f"/assets/{code}/lifecycle/")
    assert 'id="no-steps"' not in steps and 'class="actions"' in steps
    assert f'href="/assets/{code}/lifecycle/"' not in steps  # no link to itself
    assert "办理确权" in body(login(w.users["admin_a"]), f"/assets/{code}/")[1]


def test_two_counties_townships_of_one_name_are_told_apart(county_world):
    """Both counties have a 城关镇: whoever sees both is told which county each is (map filter, dashboard)."""
    import json
    import re

    w = county_world
    AdminArea = type(w.p.township_b)
    AdminArea.objects.filter(code="410324101000").update(name="城关镇")  # A's first township, B's is 城关镇 too

    def filter_townships(user) -> set[str]:
        page = body(login(user), "/")[1]
        config = json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page,
                                      re.S).group(1))
        return {t["name"] for t in config["townships"]}

    assert {"城关镇（栾川县）", "城关镇（嵩县）"} <= filter_townships(w.users["prefecture"])
    assert "城关镇" in filter_townships(w.users["admin_a"])  # one county: the name alone
    assert not any("（" in name for name in filter_townships(w.users["admin_a"]))
    dashboard = re.sub(r"<[^>]+>", "", body(login(w.users["prefecture"]), "/dashboard/")[1])
    assert "城关镇（栾川县）" in dashboard and "城关镇（嵩县）" in dashboard


def test_a_tiles_etag_tells_two_counties_administrators_apart(county_world):
    """The ETag named the role, area and sector but not the county: 嵩县's administrator was answered 304 for
    栾川's tile (review of session 23)."""
    import math

    w = county_world
    z = 8
    lon, lat = w.assets["road_a"].location.x, w.assets["road_a"].location.y
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    path = f"/tiles/assets/{z}/{x}/{y}.mvt"
    a, b = login(w.users["admin_a"]), login(w.users["admin_b"])
    first = a.get(path)
    assert first.status_code == 200 and first.content
    etag = first["ETag"]
    other = b.get(path)
    assert other.status_code == 200 and other["ETag"] != etag and other.content != first.content
    assert b.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 200  # not 304: B's tile is another
    assert a.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_project_and_reconciliation_filters_offer_ones_own_townships(county_world):
    from django.urls import reverse

    w = county_world
    for path in ("/projects/", reverse("reports:reconciliation")):
        status, page = body(login(w.users["finance_a"]), path)
        assert status == 200, path
        assert f'value="{w.p.township_b.code}"' not in page and 'value="410324101000"' in page, path
        assert f'value="{w.p.township_b.code}"' in body(login(w.users["admin_b"]), path)[1], path


def test_lifecycle_areas_are_of_ones_own_county(county_world):
    from lifecycle import rules as lifecycle_rules

    w = county_world
    assert not lifecycle_rules.covers_area(w.users["admin_a"], w.p.village_b)
    assert not lifecycle_rules.sees_area(w.users["inspector_a"], w.p.village_b)
    assert lifecycle_rules.covers_area(w.users["admin_b"], w.p.village_b)
    assert lifecycle_rules.sees_area(w.users["prefecture"], w.p.village_b)
    assert not lifecycle_rules.covers_area(w.users["prefecture"], w.p.village_b)  # reads, takes no step


def test_the_admin_keeps_counties_apart(county_world):
    w = county_world
    client = login(w.users["admin_a"])
    roles = client.get("/admin/geo_assets/membership/").content.decode()
    assert "inspector_a" in roles and "admin_b" not in roles
    department = w.users["roads_a"].memberships.get().department
    assert client.get(f"/admin/geo_assets/department/{department.pk}/change/").status_code == 200  # read-only
    response = client.post(f"/admin/geo_assets/department/{department.pk}/change/", {"name": "改", "asset_types": []})
    assert response.status_code == 403  # shared by both counties: a system administrator's
    township_b = w.p.township_b
    assert client.post(f"/admin/geo_assets/adminarea/{township_b.pk}/change/", {"name": "改"}).status_code == 403


def test_the_prefecture_dashboard_compares_its_counties_side_by_side(county_world):
    import re

    w = county_world
    text = login(w.users["prefecture"]).get("/dashboard/").content.decode()
    table = text[text.index('id="counties-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr data-code="(\d+)"><td><a [^>]*>([^<]+)</a></td><td class="int">(\d+)</td>'
                      r'<td class="int">(\d+)</td>', table)
    assert rows == [(w.p.a.county.code, "栾川县", "4", "2"), (w.p.county_b.code, "嵩县", "1", "2")]
    county_a = login(w.users["admin_a"]).get("/dashboard/").content.decode()
    assert 'id="counties-table"' not in county_a and "嵩县" not in county_a


def test_the_header_shows_the_role_in_use_also_when_there_is_one(county_world):
    text = login(county_world.users["roads_a"]).get("/reports/").content.decode()
    assert 'class="role-current"' in text and "交通运输局" in text and 'name="membership"' not in text


def test_the_records_of_an_assets_life_carry_its_county_written_by_the_database(county_world):
    import datetime

    from geo_assets.models import MaintenanceEntry, PublicityNotice
    from tests.factories import paper_notice, record
    from verification.models import Verification

    w = county_world
    road_b = w.assets["road_b"]
    entry = MaintenanceEntry.objects.create(asset=road_b, done_on=datetime.date(2026, 5, 1), kind="repair",
                                            done_by="乙施工队", description="补坑", recorded_by=w.root)
    entry.refresh_from_db()
    assert entry.county_id == w.p.county_b.code
    with connection.cursor() as cursor:  # a writer that claims another county is overruled
        cursor.execute("UPDATE geo_assets_maintenanceentry SET county_code = '410324000000' WHERE id = %s",
                       [entry.pk])
    entry.refresh_from_db()
    assert entry.county_id == w.p.county_b.code
    today = datetime.date.today()
    notice = paper_notice(actor=w.users["admin_b"], stage="inventory", scope="village_board", area=w.p.village_b,
                          starts_on=today - datetime.timedelta(days=20), ends_on=today - datetime.timedelta(days=10))
    assert PublicityNotice.objects.get(pk=notice.pk).county_id == w.p.county_b.code
    verified = record(w.users["admin_b"], road_b)
    assert Verification.objects.get(pk=verified.pk).county_id == w.p.county_b.code


def test_the_prefecture_exports_its_counties_side_by_side(county_world):
    import io

    from openpyxl import load_workbook

    w = county_world
    response = login(w.users["prefecture"]).get("/dashboard/progress.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming
                                    else response.content))
    sheet = next(s for s in book.worksheets if "各县对比" in s.title)  # after the cover sheet
    values = list(sheet.iter_rows(values_only=True))
    names = [row[0] for row in values]
    assert "栾川县" in names and "嵩县" in names
    assert list(values[names.index("栾川县")][1:4]) == [4, 2, 20]  # villages, assets, investment (万元)
    single = login(w.users["admin_a"]).get("/dashboard/progress.xlsx")
    book = load_workbook(io.BytesIO(b"".join(single.streaming_content) if single.streaming else single.content))
    assert "嵩县" not in str([[c for c in r] for s in book.worksheets for r in s.iter_rows(values_only=True)])
