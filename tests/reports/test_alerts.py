"""Every risk-alert rule with a positive and a negative case."""

import datetime
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo_assets import services
from geo_assets.access import Scope
from geo_assets.models import SRID, AdminArea, Asset, Disposal
from geo_assets.taxonomy import AreaLevel, AssetType, OwnerKind, PublicityScope, PublicityStage, Role
from lifecycle import services as lifecycle_services
from reports import figures
from reports.alerts import alerts_compute
from tests.factories import box, centre, make_asset, make_user, paper_notice
from verification import services as verification

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def rules_of(asset) -> set[str]:
    return {a.rule for a in alerts_compute(assets=Asset.objects.filter(pk=asset.pk))}


def area_rules(village) -> set[str]:
    return {a.rule for a in alerts_compute(assets=Asset.objects.none(), villages=AdminArea.objects.filter(pk=village.pk))}


def point_in(area, dx=0.0, dy=0.0) -> Point:
    c = centre(area)
    return Point(c.x + dx, c.y + dy, srid=SRID)


def test_outside_village(county):
    areas, admin = county
    inside = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, geometry=point_in(areas.west_south))
    assert "outside_village" not in rules_of(inside)
    Asset.objects.filter(pk=inside.pk).update(point=point_in(areas.east_north))  # a raw edit past the services
    assert "outside_village" in rules_of(inside)


def test_duplicates_nearby_and_by_name(county):
    areas, admin = county
    a = make_asset(actor=admin, area=areas.west_south, name="卫生室甲", asset_type=AssetType.HEALTH,
                   geometry=point_in(areas.west_south))
    far = make_asset(actor=admin, area=areas.west_south, name="卫生室乙", asset_type=AssetType.HEALTH,
                     geometry=point_in(areas.west_south, dx=0.01))
    assert not {"duplicate_nearby", "duplicate_name"} & rules_of(a)
    make_asset(actor=admin, area=areas.west_south, name="卫生室丙", asset_type=AssetType.HEALTH,
               geometry=point_in(areas.west_south, dx=0.0001))  # ≈ 9 m away
    assert "duplicate_nearby" in rules_of(a) and "duplicate_nearby" not in rules_of(far)
    make_asset(actor=admin, area=areas.west_south, name="卫生室乙", asset_type=AssetType.SANITATION,
               geometry=point_in(areas.west_south, dy=0.02))
    assert "duplicate_name" in rules_of(far)


def name_alerts(assets) -> dict[str, str]:
    """The duplicate_name alerts of these assets: asset code → evidence."""
    codes = dict(Asset.objects.values_list("id", "code"))
    return {codes[a.asset_id]: a.evidence for a in alerts_compute(assets=assets, rules=["duplicate_name"],
                                                                  viewer=Scope(role=Role.COUNTY_ADMIN))}


def test_duplicate_name_is_one_alert_per_asset(county):
    areas, admin = county
    same = [make_asset(actor=admin, area=areas.west_south, name="吴海军到户养殖", asset_type=AssetType.LIVESTOCK,
                       geometry=point_in(areas.west_south, dx=0.001 * i)) for i in range(3)]
    make_asset(actor=admin, area=areas.west_south, name="吴海军到户种植", asset_type=AssetType.LIVESTOCK,
               geometry=point_in(areas.west_south, dy=0.002))
    # the same name in another village does not count, nor does a disposed asset of the village
    make_asset(actor=admin, area=areas.west_north, name="吴海军到户养殖", asset_type=AssetType.LIVESTOCK,
               geometry=point_in(areas.west_north))
    gone = make_asset(actor=admin, area=areas.west_south, name="吴海军到户养殖", asset_type=AssetType.LIVESTOCK,
                      geometry=point_in(areas.west_south, dy=0.004))
    Asset.objects.filter(pk=gone.pk).update(status="disposed")
    codes = sorted(a.code for a in same)
    found = name_alerts(Asset.objects.all())
    assert set(found) == set(codes)  # exactly 3 alerts: one per asset, not one per pair
    for code in codes:
        others = "、".join(c for c in codes if c != code)
        assert found[code] == f"与本村另 2 项同名资产重复（名称：吴海军到户养殖；如 {others}）"
    # a viewer who sees one of them still learns how many share its name
    assert list(name_alerts(Asset.objects.filter(pk=same[0].pk)).values()) == [found[same[0].code]]


def test_duplicate_name_lists_at_most_three_others(county):
    areas, admin = county
    same = [make_asset(actor=admin, area=areas.east_south, name="村组道路", asset_type=AssetType.ROAD)
            for _ in range(5)]
    codes = sorted(a.code for a in same)
    found = name_alerts(Asset.objects.all())
    assert len(found) == 5
    assert found[codes[0]] == f"与本村另 4 项同名资产重复（名称：村组道路；如 {'、'.join(codes[1:4])} 等）"
    assert found[codes[4]] == f"与本村另 4 项同名资产重复（名称：村组道路；如 {'、'.join(codes[:3])} 等）"


def second_county():
    """Another county beside the factory's (east of it), with one township and one village."""
    x0, x1 = 111.70, 111.80
    county = AdminArea.objects.create(code="410325000000", name="嵩县", level=AreaLevel.COUNTY,
                                      geom=box(x0, 33.80, x1, 34.00))
    township = AdminArea.objects.create(code="410325101000", name="城关镇", level=AreaLevel.TOWNSHIP,
                                        geom=box(x0, 33.80, x1, 34.00), parent=county)
    village = AdminArea.objects.create(code="410325101001", name="城关村", level=AreaLevel.VILLAGE,
                                       geom=box(x0, 33.80, x1, 34.00), parent=township)
    return county, village


def test_a_county_notice_covers_only_that_countys_villages(county):
    areas, admin = county
    other, other_village = second_county()
    for stage in (PublicityStage.INVENTORY, PublicityStage.OWNERSHIP):
        notice = paper_notice(actor=admin, stage=stage, scope=PublicityScope.COUNTY_WEBSITE,
                                       area=areas.county, starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY)
    assert area_rules(areas.east_north) == set()
    assert area_rules(other_village) == {"publicity_missing"}
    covered = figures.notices_by_village(AdminArea.objects.villages())
    assert set(covered) == {areas.west_south.pk, areas.west_north.pk, areas.east_south.pk, areas.east_north.pk,
                            other_village.pk}
    assert covered[areas.east_north.pk][PublicityStage.OWNERSHIP] == [notice]
    assert not covered[other_village.pk]
    other_admin = make_user("other_admin", Role.COUNTY_ADMIN, county=other)  # the other county's own
    other_notice = paper_notice(actor=other_admin, stage=PublicityStage.INVENTORY,
                                         scope=PublicityScope.COUNTY_WEBSITE, area=other,
                                         starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY)
    alerts = alerts_compute(assets=Asset.objects.none(), villages=AdminArea.objects.filter(pk=other_village.pk))
    assert [(a.rule, a.evidence) for a in alerts] == [("publicity_missing", "未公示：确权登记结果")]
    covered = figures.notices_by_village(AdminArea.objects.villages())
    assert covered[other_village.pk][PublicityStage.INVENTORY] == [other_notice]
    assert other_notice not in covered[areas.west_south.pk][PublicityStage.INVENTORY]
    paper_notice(actor=admin, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                 area=areas.west_south, starts_on=TODAY - 5 * DAY, ends_on=TODAY + 5 * DAY)
    every = figures.notices_by_village(AdminArea.objects.villages())
    for village in (areas.west_south, areas.east_north, other_village):  # a village report's: one statement
        with CaptureQueriesContext(connection) as statements:
            one = figures.notices_by_village(AdminArea.objects.filter(pk=village.pk), village=village)
        assert len(statements) == 1
        assert list(one) == [village.pk] and dict(one[village.pk]) == dict(every[village.pk])
    assert len(every[areas.west_south.pk][PublicityStage.INVENTORY]) == 2  # its own notice and the county's


def test_verification_age_and_findings(county):
    areas, admin = county
    clerk = make_user("ws", Role.VILLAGE, area=areas.west_south)
    asset = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, geometry=point_in(areas.west_south))
    assert {"never_verified"} <= rules_of(asset) and "not_verified_12_months" not in rules_of(asset)
    Asset.objects.filter(pk=asset.pk).update(last_verified_at=timezone.now() - 400 * DAY)
    assert "not_verified_12_months" in rules_of(asset) and "never_verified" not in rules_of(asset)

    def verify(finding):
        p = asset.location
        return verification.verification_record(actor=clerk, asset_code=asset.code, finding=finding, lon=p.x,
                                                lat=p.y, accuracy_m=5, observed_at=timezone.now(),
                                                note="", photos=[]).verification

    flagged = verify("not_found")  # no photo: flagged, not counted until approved
    assert "finding_missing" not in rules_of(asset)
    verification.verification_review(actor=admin, verification=flagged, approve=True, comment="属实")
    assert "finding_missing" in rules_of(asset) and "not_verified_12_months" not in rules_of(asset)
    approved = verify("damaged")
    verification.verification_review(actor=admin, verification=approved, approve=True, comment="属实")
    assert rules_of(asset) & {"finding_missing", "finding_damaged"} == {"finding_damaged"}


def test_no_custodian(county):
    areas, admin = county
    kept = make_asset(actor=admin, area=areas.west_south, custodian_unit="村委会")
    bare = make_asset(actor=admin, area=areas.west_south, name="无人管护道路")
    assert "no_custodian" not in rules_of(kept) and "no_custodian" in rules_of(bare)


def test_contracts_and_income(county):
    areas, admin = county
    pv = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.PV_STATION, year_built=2020,
                    geometry=point_in(areas.west_south))
    assert {"no_contract", "no_income"} <= rules_of(pv)
    old = lifecycle_services.contract_record(actor=admin, asset=pv, operator="甲", number="HT-1", starts_on=TODAY - 500 * DAY,
                                    ends_on=TODAY - DAY, yearly_due=Decimal("2"), mechanism="收益归村集体")
    assert "no_contract" not in rules_of(pv) and "contract_expired" in rules_of(pv)
    lifecycle_services.contract_record(actor=admin, asset=pv, operator="甲", number="HT-2", starts_on=TODAY,
                              ends_on=TODAY + 300 * DAY, yearly_due=Decimal("2"), mechanism="收益归村集体", renews=old)
    assert "contract_expired" not in rules_of(pv)
    lifecycle_services.income_record(actor=admin, asset=pv, year=TODAY.year - 1, amount=Decimal("2"), received_on=TODAY)
    assert "no_income" not in rules_of(pv)


def test_equity_shares(county):
    areas, admin = county
    good = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.EQUITY, geometry=point_in(areas.west_south),
                      owners=[services.Share("村集体", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    bad = make_asset(actor=admin, area=areas.west_south, name="股权乙", asset_type=AssetType.EQUITY,
                     geometry=point_in(areas.west_south, dx=0.01), owners=[])
    assert "shares_not_100" not in rules_of(good) and "shares_not_100" in rules_of(bad)


def test_disposal_without_approval(county):
    areas, admin = county
    proper = make_asset(actor=admin, area=areas.west_south, name="正规处置")
    services.asset_dispose(actor=admin, asset=proper, method="scrap", approval_reference="栾扶〔2026〕9号",
                           approved_on=TODAY)
    assert "disposed_without_approval" not in rules_of(proper)
    sneaky = make_asset(actor=admin, area=areas.west_south, name="私自处置", geometry=None)
    Asset.objects.filter(pk=sneaky.pk).update(status="disposed")  # past the services
    assert "disposed_without_approval" in rules_of(sneaky)
    assert Disposal.objects.filter(asset=sneaky).count() == 0


def test_publicity_rules(county):
    areas, admin = county
    village = areas.west_south
    make_asset(actor=admin, area=village)
    assert area_rules(village) == {"publicity_missing"}
    for stage in (PublicityStage.INVENTORY, PublicityStage.OWNERSHIP):
        notice = paper_notice(actor=admin, stage=stage, scope=PublicityScope.VILLAGE_BOARD, area=village,
                                       starts_on=TODAY - 20 * DAY, ends_on=TODAY - 10 * DAY)
    assert area_rules(village) == set()
    from geo_assets.models import PublicityNotice

    PublicityNotice.objects.filter(pk=notice.pk).update(ends_on=TODAY - 18 * DAY)  # 3 days: too short
    objection = lifecycle_services.objection_record(actor=admin, notice=notice, raised_by="村民", text="漏登一处",
                                           raised_on=TODAY - 19 * DAY)
    assert area_rules(village) == {"publicity_too_short", "objection_unanswered"}
    lifecycle_services.objection_answer(actor=admin, objection=objection, check_result="已补登", answer="已补登并重新公示")
    assert area_rules(village) == {"publicity_too_short"}


def test_alerts_follow_the_viewers_scope(county):
    areas, admin = county
    make_asset(actor=admin, area=areas.east_south, name="东边道路")
    clerk = make_user("ws", Role.VILLAGE, area=areas.west_south)
    assert alerts_compute(assets=Asset.objects.visible_to(clerk)) == []
    assert alerts_compute(assets=Asset.objects.visible_to(admin))


def test_alerts_counted_in_the_database_equal_the_alerts_built(county):
    """alerts_count (the dashboards) gives per village, rule and level exactly what alerts_compute builds."""
    from collections import Counter

    from reports.alerts import alerts_count

    areas, admin = county
    for n in range(3):  # two assets on the same spot (duplicate_nearby), one without funding (no_funding)
        make_asset(actor=admin, area=areas.west_south, name=f"重复{n}", funding=() if n == 2 else (("central", 10),))
    assets, villages = Asset.objects.all(), AdminArea.objects.villages()
    built = alerts_compute(assets=assets, villages=villages)
    owner = dict(assets.values_list("id", "village_id"))
    expected = Counter((owner.get(a.asset_id, a.area_id), a.rule, a.level) for a in built)
    counted = alerts_count(assets=assets, villages=villages)
    assert counted == dict(expected) and len(counted) >= 3
    assert alerts_count(assets=Asset.objects.none(), villages=None) == {}
