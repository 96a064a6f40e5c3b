"""The reports benchmark of issue 11 in miniature: a quick run on factory data (row shape, no targets), and the
benchmark's one hand-written SQL statement against report_figures, village by village — a correctness test of both."""

import argparse
import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from bench import reports
from geo_assets import demo, services
from geo_assets.models import SRID, AdminArea, Asset, PublicityNotice
from geo_assets.taxonomy import AssetType, OwnerKind, PlanPurpose, PublicityScope, PublicityStage, Role
from lifecycle import services as lifecycle_services
from lifecycle.demo import demo_lifecycle_load
from tests.factories import centre, make_admin, make_areas, make_asset, make_user, paper_notice
from verification import services as verification

QUICK = argparse.Namespace(quick=True, repeat=1, scale=1.0)
TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def near(area, dx=0.0, dy=0.0) -> Point:
    c = centre(area)
    return Point(c.x + dx, c.y + dy, srid=SRID)


def records(areas, admin) -> None:
    """Something for every section in the first three villages: lines and points, operating assets with and
    without contracts and income, shares, a disposal past the rules, duplicates, findings, notices, a plan."""
    ws, wn, es = areas.west_south, areas.west_north, areas.east_south
    make_asset(actor=admin, area=ws, name="村组道路", custodian_unit="村委会")
    make_asset(actor=admin, area=ws, name="卫生室", asset_type=AssetType.HEALTH, geometry=near(ws))
    make_asset(actor=admin, area=ws, name="卫生室", asset_type=AssetType.HEALTH, geometry=near(ws, dx=0.0001))
    pv = make_asset(actor=admin, area=ws, name="光伏电站", asset_type=AssetType.PV_STATION, year_built=2020,
                    geometry=near(ws, dy=0.01))
    old = lifecycle_services.contract_record(actor=admin, asset=pv, operator="甲公司", number="HT-1", starts_on=TODAY - 500 * DAY,
                                    ends_on=TODAY - DAY, yearly_due=Decimal("2"), mechanism="收益归村集体")
    lifecycle_services.contract_record(actor=admin, asset=pv, operator="甲公司", number="HT-2", starts_on=TODAY,
                              ends_on=TODAY + 30 * DAY, yearly_due=Decimal("2.5"), mechanism="收益归村集体", renews=old)
    lifecycle_services.income_record(actor=admin, asset=pv, year=TODAY.year - 1, amount=Decimal("3.2"), received_on=TODAY)
    lifecycle_services.plan_draft(actor=admin, village=ws, year=TODAY.year - 1,
                         items=[lifecycle_services.PlanLine(PlanPurpose.CASH, Decimal("3.2"), "张三", pv)])
    make_asset(actor=admin, area=wn, name="扶贫车间", asset_type=AssetType.WORKSHOP, geometry=near(wn))
    make_asset(actor=admin, area=wn, name="合作社股权", asset_type=AssetType.EQUITY, geometry=near(wn, dx=0.01),
               owners=[services.Share("村集体", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    make_asset(actor=admin, area=wn, name="债权", asset_type=AssetType.DEBT, geometry=near(wn, dx=-0.01))  # no owners
    gone = make_asset(actor=admin, area=es, name="旧水窖", asset_type=AssetType.WATER_SUPPLY, geometry=near(es))
    Asset.objects.filter(pk=gone.pk).update(status="disposed")  # past the services: an alert
    checked = make_asset(actor=admin, area=es, name="文化广场", asset_type=AssetType.CULTURE,
                         geometry=near(es, dy=0.01))
    clerk = make_user("checker", Role.VILLAGE, area=es)
    record = verification.verification_record(actor=clerk, asset_code=checked.code, finding="damaged",
                                              lon=checked.location.x, lat=checked.location.y, accuracy_m=5,
                                              observed_at=timezone.now(), photos=[]).verification
    if record.review == "pending":
        verification.verification_review(actor=admin, verification=record, approve=True, comment="属实")
    notice = paper_notice(actor=admin, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                   area=ws, starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY)
    PublicityNotice.objects.filter(pk=notice.pk).update(ends_on=TODAY - 18 * DAY)  # too short, past the services
    lifecycle_services.objection_record(actor=admin, notice=notice, raised_by="村民", text="漏登一处", raised_on=TODAY - 19 * DAY)
    paper_notice(actor=admin, stage=PublicityStage.OWNERSHIP, scope=PublicityScope.TOWNSHIP,
                          area=areas.west, starts_on=TODAY - 5 * DAY, ends_on=TODAY + 5 * DAY)


def agree(tmp_path, village_ids, user) -> None:
    """Both sides in this process: the same digest per village, or the differences."""
    task = {"user": user.pk, "villages": village_ids, "year": TODAY.year - 1}
    ours = reports.measure_figures({**task, "digests": str(tmp_path / "figures.json")})
    theirs = reports.measure_anchor({**task, "digests": str(tmp_path / "anchor.json"), "per_village": True})
    assert len(ours["hashes"]) == len(village_ids)
    assert set(theirs["times"]) == set(village_ids)  # the statement for each village alone agreed with the whole
    assert ours["hashes"] == theirs["hashes"], reports.digests_compare(tmp_path / "figures.json",
                                                                     tmp_path / "anchor.json", limit=10)


def test_anchor_agrees_with_the_figures_on_factory_data(db, tmp_path):
    areas, admin = make_areas(), make_admin()
    records(areas, admin)
    agree(tmp_path, list(AdminArea.objects.villages().order_by("code").values_list("pk", flat=True)), admin)


def test_anchor_agrees_with_the_figures_on_the_demo_county(db, tmp_path):
    admin = make_admin()
    demo.demo_load(actor=admin, townships=2, villages_per_township=3, assets_per_village=8)
    demo_lifecycle_load(actor=admin)
    agree(tmp_path, list(AdminArea.objects.villages().order_by("code").values_list("pk", flat=True)), admin)


@pytest.mark.django_db(transaction=True)  # the measures run in processes of their own: the data must be committed
def test_quick_benchmark_rows():
    areas, admin = make_areas(), make_admin()
    records(areas, admin)
    rows = reports.reports_benchmark(QUICK, log=lambda line: None)
    assert [r["unit"] for r in rows] == ["s", "×", "ms"]
    for r in rows:
        assert set(r) >= {"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass", "rss_mb"}
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] > 0
        assert r["target"] is None and r["pass"] is None  # quick: no targets
    every = rows[0]
    assert every["agree"] is True and every["villages"] == reports.QUICK_VILLAGES
    assert every["assets"] == Asset.objects.filter(village__code__in=["410324101001", "410324101002",
                                                                      "410324102001"]).count()
    assert every["rss_mb"] > 0 and every["anchor_rss_mb"] > 0 and every["statements_per_village"][1] < 30
    village = rows[1]  # one village's figures ÷ the same village's statement
    assert village["worst_village"] in AdminArea.objects.villages().values_list("pk", flat=True)
    assert village["p95_ms"] > 0 and village["anchor_p95_ms"] > 0 and village["max_ratio"] >= village["value"]
