"""Issue 21 item 7: the evidence of every risk-alert rule shows only what its viewer may see — an asset outside the
viewer's scope is named under its public name if it is published, counted and not named if it is not; persons
and numbers go through the personal-data rule — in /alerts/, /alerts.geojson and the village report (HTML, PDF,
XLSX), for every role."""

import datetime
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone

from geo_assets.access import scope_for
from geo_assets.models import SRID, AdminArea, Asset, PublicityNotice
from geo_assets.taxonomy import AssetType, PublicityScope, PublicityStage, Role
from lifecycle import services
from reports import figures
from reports.alerts import ALL_RULES, alerts_compute
from tests.factories import make_admin, make_areas, make_asset, make_department, make_user
from verification import services as verification

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
PERSON, OTHER_PERSON, PUBLISHED_PERSON = "王小明", "李大军", "王小红"
ID_NUMBER, PHONE = "410324199001011234", "13812345678"
VIEWERS = ("county_admin", "inspector", "township_west", "clerk_a", "clerk_b", "department")


def at(x: float, y: float) -> Point:
    return Point(x, y, srid=SRID)


@pytest.fixture
def world(db):
    """Village A (西南村, west township) and village B (东南村, east township) meet at x = 111.60. Household assets
    named after their beneficiaries stand a few metres apart across that line; A's assets also fire every other rule."""
    areas = make_areas()
    admin = make_admin()
    a, b = areas.west_south, areas.east_south
    roads = make_department("交通运输局", [AssetType.ROAD])
    users = {"county_admin": admin, "inspector": make_user("inspector", Role.INSPECTOR),
             "township_west": make_user("west", Role.TOWNSHIP, area=areas.west),
             "clerk_a": make_user("clerk_a", Role.VILLAGE, area=a), "clerk_b": make_user("clerk_b", Role.VILLAGE, area=b),
             "department": make_user("roads", Role.DEPARTMENT, department=roads)}
    household = {"asset_type": AssetType.LIVESTOCK}
    assets = {
        # unpublished, across the line from each other: duplicate_nearby both ways
        "a_house": make_asset(actor=admin, area=a, name=f"{PERSON}到户养殖", custodian_person=PERSON,
                              geometry=at(111.59998, 33.85), **household),
        "b_house": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}到户养殖", custodian_person=OTHER_PERSON,
                              geometry=at(111.60002, 33.85), **household),
        # a published one of A beside an unpublished one of B: B's clerk sees A's under its public name
        "a_published": make_asset(actor=admin, area=a, name=f"{PUBLISHED_PERSON}到户养殖", is_published=True,
                                  custodian_person=PUBLISHED_PERSON, geometry=at(111.59998, 33.86), **household),
        "b_beside": make_asset(actor=admin, area=b, name="赵六到户养殖", custodian_person="赵六",
                               geometry=at(111.60002, 33.86), **household),
        # B's road and a clinic of the same name (duplicate_name): the roads department sees the road only
        "b_road": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}门前道路", department=roads),
        "b_clinic": make_asset(actor=admin, area=b, name=f"{OTHER_PERSON}门前道路", asset_type=AssetType.HEALTH,
                               geometry=at(111.65, 33.82)),
        # the rest of the rules, on A's assets named after the person
        "a_twin_1": make_asset(actor=admin, area=a, name=f"{PERSON}家光伏", asset_type=AssetType.PV_STATION,
                               year_built=2015, geometry=at(111.55, 33.82)),
        "a_twin_2": make_asset(actor=admin, area=a, name=f"{PERSON}家光伏", asset_type=AssetType.PV_STATION,
                               year_built=2015, geometry=at(111.56, 33.82)),
        "a_equity": make_asset(actor=admin, area=a, name=f"{PERSON}入股", asset_type=AssetType.EQUITY,
                               geometry=at(111.57, 33.82), owners=[]),
        "a_outside": make_asset(actor=admin, area=a, name=f"{PERSON}卫生室", asset_type=AssetType.HEALTH,
                                geometry=at(111.52, 33.83)),
        "a_missing": make_asset(actor=admin, area=a, name=f"{PERSON}卫生所", asset_type=AssetType.HEALTH,
                                geometry=at(111.53, 33.83)),
        "a_disposed": make_asset(actor=admin, area=a, name=f"{PERSON}报废道路"),
    }
    Asset.objects.filter(pk=assets["a_outside"].pk).update(point=at(111.65, 33.95))  # past the services
    Asset.objects.filter(pk=assets["a_disposed"].pk).update(status="disposed")
    Asset.objects.filter(pk=assets["a_twin_2"].pk).update(last_verified_at=timezone.now() - 400 * DAY)
    services.contract_record(actor=admin, asset=assets["a_twin_2"], operator=PERSON, number="HT-1",
                              starts_on=TODAY - 500 * DAY, ends_on=TODAY - DAY, yearly_due=Decimal("2"),
                              mechanism="收益归村集体")
    for key, finding in (("a_missing", "not_found"), ("a_outside", "damaged")):
        p = assets[key].location
        flagged = verification.verification_record(
            actor=users["clerk_a"], asset_code=assets[key].code, finding=finding, lon=p.x, lat=p.y, accuracy_m=5,
            observed_at=timezone.now(), note="", photos=[]).verification
        verification.verification_review(actor=admin, verification=flagged, approve=True, comment="属实")
    notice = services.notice_post(actor=admin, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                   area=a, starts_on=TODAY, ends_on=TODAY + 9 * DAY,
                                   title=f"西南村台账公示（联系 {PHONE}）")
    services.objection_record(actor=admin, notice=notice, raised_by=f"{PERSON} {ID_NUMBER} {PHONE}",
                               text="漏登一处", raised_on=TODAY)
    PublicityNotice.objects.filter(pk=notice.pk).update(starts_on=TODAY - 20 * DAY, ends_on=TODAY - 18 * DAY)
    for key in assets:
        assets[key].refresh_from_db()
    return {"areas": areas, "users": users, "assets": assets}


def alerts_for(world, role, **filters):
    user = world["users"][role]
    return alerts_compute(assets=Asset.objects.visible_to(user), villages=figures.villages_in_scope(user),
                          viewer=scope_for(user), **filters)


def forbidden(world, role) -> set[str]:
    """What this role's alert evidence must never show: codes of the assets it may not see at all, names of the
    assets outside its scope, and the persons (with their ID and phone numbers) of villages outside its scope —
    unless one of its own assets carries the same words."""
    user = world["users"][role]
    own_names = list(Asset.objects.visible_to(user).values_list("name", flat=True))
    villages = set(figures.villages_in_scope(user).values_list("pk", flat=True))
    in_scope = set(Asset.objects.visible_to(user).values_list("pk", flat=True))
    out = set()
    for asset in world["assets"].values():
        if asset.pk not in in_scope:
            out.add(asset.name)
            if not asset.is_published:
                out.add(asset.code)
    if world["areas"].west_south.pk not in villages:
        out |= {PERSON, ID_NUMBER, PHONE, PUBLISHED_PERSON}
    if world["areas"].east_south.pk not in villages:
        out.add(OTHER_PERSON)
    return {m for m in out if not any(m in name for name in own_names)}


def test_every_rule_fires_in_this_world(world):
    """The sweep below covers every rule: each has at least one alert for the county administrator."""
    assert {a.rule for a in alerts_for(world, "county_admin")} == set(ALL_RULES)


@pytest.mark.parametrize("role", VIEWERS)
def test_every_rules_evidence_names_only_what_the_viewer_may_see(world, role):
    found = alerts_for(world, role)
    assert found
    shown = forbidden(world, role)
    leaks = [(a.rule, a.evidence, m) for a in found for m in shown if m in a.evidence]
    assert not leaks


def evidence_of(world, role, rule, key) -> str:
    pk = world["assets"][key].pk
    return next(a.evidence for a in alerts_for(world, role, rules=[rule]) if a.asset_id == pk)


def test_what_each_viewer_reads_of_the_other_asset(world):
    assets = world["assets"]
    a_house, a_published = assets["a_house"], assets["a_published"]
    # the administrator sees both sides in full
    assert f"{a_house.code}（{PERSON}到户养殖）" in evidence_of(world, "county_admin", "duplicate_nearby", "b_house")
    # B's clerk: A's unpublished asset is counted, not named; A's published one under its public name only
    assert evidence_of(world, "clerk_b", "duplicate_nearby", "b_house").startswith("与另 1 项同类资产（不在您的查看范围内）相距")
    beside = evidence_of(world, "clerk_b", "duplicate_nearby", "b_beside")
    assert f"{a_published.code}（{a_published.public_name}）" in beside and PUBLISHED_PERSON not in beside
    assert a_published.public_name.startswith("西南村")
    # A's clerk, the other way round
    assert "不在您的查看范围内" in evidence_of(world, "clerk_a", "duplicate_nearby", "a_house")
    # the roads department sees B's road, not the clinic of the same name
    assert evidence_of(world, "department", "duplicate_name", "b_road") == f"与本村另 1 项同名资产重复（名称：{OTHER_PERSON}门前道路）"
    assert assets["b_clinic"].code in evidence_of(world, "county_admin", "duplicate_name", "b_road")
    # persons in objections: staff in scope see them
    assert f"{PERSON} {ID_NUMBER}" in next(a.evidence for a in alerts_for(world, "clerk_a", rules=["objection_unanswered"]))


def readable(response) -> str:
    body = response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body = b"\n".join(archive.read(name) for name in archive.namelist())
    elif body[:4] == b"%PDF":
        pdftotext = shutil.which("pdftotext") or "/usr/bin/pdftotext"
        body = subprocess.run([pdftotext, "-", "-"], input=body, capture_output=True, check=True).stdout
    return body.decode()


def outputs(world, role) -> list[str]:
    user = world["users"][role]
    village = world["areas"].west_south if role in ("clerk_a", "township_west") else world["areas"].east_south
    urls = ["/alerts/", "/alerts/?rule=duplicate_nearby", "/alerts.geojson", f"/reports/villages/{village.code}/",
            f"/reports/villages/{village.code}.xlsx", f"/reports/villages/{village.code}.pdf"]
    if role == "department":  # a department's reports cover every village; B holds its road
        urls = urls[:3] + [f"/reports/villages/{world['areas'].east_south.code}.xlsx"]
    return urls if user else []


@pytest.mark.parametrize("role", VIEWERS)
def test_alert_pages_and_reports_show_only_what_the_viewer_may_see(world, role):
    client = Client()
    client.force_login(world["users"][role])
    shown = forbidden(world, role)
    for url in outputs(world, role):
        response = client.get(url)
        assert response.status_code == 200, url
        text = readable(response).replace("\n", "")
        assert not [m for m in shown if m in text], url
    if role in ("county_admin", "clerk_a"):  # the control: what this test looks for is there when allowed
        assert PERSON in readable(client.get("/alerts/?rule=duplicate_nearby"))


@pytest.mark.parametrize("url", ["/alerts/", "/alerts.geojson", "/reports/villages/410324102001/",
                                 "/reports/villages/410324102001.xlsx"])
def test_the_public_reaches_no_alert_evidence(world, url):
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    roleless = Client()
    roleless.force_login(make_user("nobody", None))
    assert roleless.get(url).status_code == 403
    assert AdminArea.objects.filter(code="410324102001").exists()
