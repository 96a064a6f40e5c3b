"""Who sees which report, alert and page: roles scoped by area and sector, the public's village page without personal
data, and the server-drawn map (scale bar in ground metres)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from geo_assets.models import Asset
from geo_assets.taxonomy import PlanPurpose, PublicityScope, PublicityStage
from lifecycle import services
from reports import figures, svgmap
from tests.world import BENEFICIARY, ID_NUMBER, PERSON, PERSONAL_MARKERS, PHONE

TODAY = timezone.localdate()  # the county's day, as the services count it
DAY = datetime.timedelta(days=1)


def client_for(world, role) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


@pytest.mark.parametrize("url", ["/reports/", "/reports/villages/410324101001/", "/reports/villages/410324101001.pdf",
                                 "/reports/townships/410324101000.xlsx", "/reports/county/", "/dashboard/",
                                 "/dashboard/progress.geojson", "/alerts/", "/alerts.geojson"])
def test_the_public_is_sent_to_log_in_and_roleless_accounts_are_refused(world, url):
    response = client_for(world, "anonymous").get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client_for(world, "staff_without_role").get(url).status_code == 403


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    ("village", ["/reports/villages/410324101001/"],
     ["/reports/villages/410324101002/", "/reports/townships/410324101000/", "/reports/county/"]),
    ("township", ["/reports/townships/410324101000/", "/reports/villages/410324101002/"],
     ["/reports/townships/410324102000/", "/reports/villages/410324102001/", "/reports/county/"]),
    ("department", ["/reports/county/", "/reports/villages/410324102001/"], []),
    ("inspector", ["/reports/county/", "/reports/townships/410324102000/"], []),
])
def test_reports_follow_the_roles_area(world, role, allowed, refused):
    client = client_for(world, role)
    assert [client.get(url).status_code for url in allowed] == [200] * len(allowed)
    # another village's report: its villagers' public page (issue 21 item 10); other areas' reports are refused
    assert ([client.get(url).status_code for url in refused]
            == [302 if url.startswith("/reports/villages/") else 403 for url in refused])


@pytest.mark.parametrize("role", ["county_admin", "department", "township", "village", "inspector"])
def test_report_figures_count_what_the_role_sees(world, role):
    user = world.users[role]
    county = world.areas.county
    fig = figures.report_figures(figures.area_scope(user, county))
    visible = Asset.objects.visible_to(user).exclude(status="disposed")
    assert fig["totals"]["count"] == visible.count()
    assert {a.asset_id for a in fig["alerts"]["list"] if a.asset_id} <= set(visible.values_list("pk", flat=True))
    if role == "department":  # roads only, across the county
        assert {r["asset_type"] for r in fig["totals"]["by_type"]} == {"road"}


def alert_codes(world, role, query="") -> set[str]:
    data = client_for(world, role).get(f"/alerts.geojson{query}").json()
    return {f["properties"]["asset"] for f in data["features"] if f["properties"]["asset"]}


def test_alerts_are_scoped_per_role_and_filtered(world):
    a = world.assets
    assert alert_codes(world, "county_admin") == {x.code for k, x in a.items() if "disposed" not in k}
    assert alert_codes(world, "village") == {a["west_road"].code, a["west_household"].code}
    assert alert_codes(world, "township") == {a["west_road"].code, a["west_household"].code, a["west_equity"].code}
    assert alert_codes(world, "department") == {a["west_road"].code, a["east_road"].code}
    assert alert_codes(world, "county_admin", "?township=410324102000") == {a["east_road"].code, a["east_clinic"].code}
    assert alert_codes(world, "county_admin", "?village=410324101001&rule=no_custodian") == {a["west_road"].code}
    assert alert_codes(world, "county_admin", "?level=red") == set()

    data = client_for(world, "county_admin").get("/alerts.geojson?rule=never_verified").json()
    road = next(f for f in data["features"] if f["properties"]["asset"] == a["west_road"].code)
    assert road["geometry"]["coordinates"] == [round(a["west_road"].location.x, 6), round(a["west_road"].location.y, 6)]
    assert road["properties"]["level"] == "blue" and road["properties"]["url"] == f"/assets/{a['west_road'].code}/"
    village_alerts = client_for(world, "village").get("/alerts.geojson?rule=publicity_missing").json()["features"]
    assert [f["properties"]["village"] for f in village_alerts] == ["西南村"]

    page = client_for(world, "village").get("/alerts/").content.decode()
    assert a["west_road"].code in page and a["east_road"].code not in page and "东北村" not in page
    assert f'href="/assets/{a["west_road"].code}/"' in page and "从未现场核查" in page
    filtered = client_for(world, "county_admin").get("/alerts/?level=blue").content.decode()
    assert "蓝色提示" in filtered and "未落实管护主体</td>" not in filtered


def test_dashboard_follows_the_role(world):
    township = figures.workplan_progress(world.users["township"])
    assert [r["village"].code for r in township["villages"]] == ["410324101001", "410324101002"]
    assert township["county"]["total"] == Asset.objects.filter(township=world.areas.west).exclude(
        status="disposed").count()
    geo = client_for(world, "village").get("/dashboard/progress.geojson").json()
    assert [f["id"] for f in geo["features"]] == ["410324101001"]


def png(name="minutes.png") -> tuple[str, bytes]:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 200, 200)).save(out, "PNG")
    return name, out.getvalue()


def publicised_plan(world, year):
    admin, village = world.users["county_admin"], world.areas.west_south
    services.income_record(actor=admin, asset=world.assets["west_road"], year=year, amount=Decimal("5"),
                            received_on=datetime.date(year, 12, 1))
    plan = services.plan_draft(actor=admin, village=village, year=year, drafted_on=TODAY - 40 * DAY, items=[
        services.PlanLine(PlanPurpose.COLLECTIVE, Decimal("3"), "村集体"),
        services.PlanLine(PlanPurpose.NO_LABOUR, Decimal("1.5"), f"{BENEFICIARY} {PHONE}"),
        services.PlanLine(PlanPurpose.POSTS, Decimal("0.5"), PERSON)])
    plan = services.plan_decide(actor=admin, plan=plan, meeting_on=TODAY - 30 * DAY, attendance=40, minutes=png())
    plan = services.plan_review(actor=admin, plan=plan)
    plan = services.plan_file(actor=admin, plan=plan, department=world.departments["transport"])
    # a paper notice posted on the board three weeks ago, entered now: the audited step with its photo
    services.notice_record_paper(actor=admin, stage=PublicityStage.INCOME_PLAN, scope=PublicityScope.VILLAGE_BOARD,
                                  area=village, plan=plan, starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY,
                                  photo=png("notice.png"), reason="纸质公示补录")
    return plan


@pytest.mark.parametrize("role", ["anonymous", "county_admin"])
def test_public_village_page_shows_published_assets_and_income_without_personal_data(world, role):
    plan = publicised_plan(world, TODAY.year - 1)
    services.plan_draft(actor=world.users["county_admin"], village=world.areas.west_south, year=TODAY.year,
                         items=[services.PlanLine(PlanPurpose.CASH, Decimal("99"), "全体")],
                         other_source="县级补助资金")  # a draft: not shown
    response = client_for(world, role).get(f"/public/villages/{world.areas.west_south.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    for marker in (*PERSONAL_MARKERS, ID_NUMBER):
        assert marker not in page, marker
    a = world.assets
    assert a["west_road"].name in page and a["west_household"].public_name in page
    assert a["west_household"].name not in page
    for hidden in ("east_road", "west_equity", "west_disposed"):  # other villages, disposed
        assert a[hidden].code not in page, hidden
    assert f"{plan.year} 年度收益怎么分" in page and "村集体经济" in page and ">99<" not in page
    assert page.count("<circle") == 2  # the published household asset (a point) and the north arrow's disc
    assert '<path d="M' in page and "北</text>" in page


def test_public_page_hides_unpublished_assets(world):
    Asset.objects.filter(pk=world.assets["west_road"].pk).update(is_published=False)
    page = Client().get(f"/public/villages/{world.areas.west_south.code}/").content.decode()
    assert world.assets["west_road"].code not in page and "还没有已公示的收益分配方案" in page


def test_village_map_scale_bar_measures_the_ground(world):
    village = world.areas.west_south
    frame = svgmap.Frame.around(village.geom_web.extent)
    cx, cy = frame.xmin + frame.width / 2 / frame.scale, frame.ymax - frame.height / 2 / frame.scale
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 3857), 4326)::geography, "
                       "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 3857), 4326)::geography)",
                       [cx, cy, cx + 100 / frame.scale, cy])
        metres = cursor.fetchone()[0]
    assert metres == pytest.approx(100 * frame.ground_metres_per_pixel(), rel=0.005)
    svg = svgmap.village_map(village, Asset.objects.filter(village=village))
    assert svg.count('stroke="#9b1c1c"') == 1 and svg.count('fill="#ecebe4"') >= 1  # the village and neighbours
    assert "2 公里</text>" in svg and "西北村" in svg and "北</text>" in svg
    assert svg.count("<circle") == 1 + 1  # the household asset, and the north arrow's disc


def test_index_lists_the_areas_of_the_role(world):
    page = client_for(world, "township").get("/reports/").content.decode()
    assert "/reports/townships/410324101000/" in page and "/reports/villages/410324101002/" in page
    assert "410324102001" not in page and "/reports/county/" not in page
    assert "/reports/county/" in client_for(world, "inspector").get("/reports/").content.decode()


@pytest.mark.parametrize("role", ["county_admin", "department", "township", "village", "inspector", "finance"])
@pytest.mark.parametrize("page", ["/reports/", "/dashboard/"])
def test_every_report_link_a_role_is_shown_opens_for_it(world, role, page):
    """The index and the dashboard linked a village clerk to its township's report and every role below the county
    to the departments' reports, each refused (review of session 23): the links ask the views' own rule."""
    import re

    client = client_for(world, role)
    html = client.get(page).content.decode()
    links = sorted(set(re.findall(r'href="(/reports/(?:villages|townships|departments)/[^"]+/)"', html)))
    assert links, (role, page)
    assert {link: client.get(link).status_code for link in links} == dict.fromkeys(links, 200)
