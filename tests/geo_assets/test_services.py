"""Rules applied by the services: derivation, default owners, funding, disposal, history."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from geo_assets import services
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import DEFAULT_OWNER_KIND, AssetStatus, AssetType, Category, DisposalMethod, OwnerKind
from tests.factories import centre, make_asset


@pytest.mark.parametrize(
    ("asset_type", "owner_kind"),
    [
        (AssetType.LIVESTOCK, OwnerKind.HOUSEHOLD),
        (AssetType.HOUSEHOLD_FIXED, OwnerKind.HOUSEHOLD),
        (AssetType.ROAD, OwnerKind.VILLAGE_COLLECTIVE),
        (AssetType.WATER_SUPPLY, OwnerKind.VILLAGE_COLLECTIVE),
        (AssetType.CULTURE, OwnerKind.VILLAGE_COLLECTIVE),
        (AssetType.PV_STATION, OwnerKind.VILLAGE_COLLECTIVE),
        (AssetType.WORKSHOP, OwnerKind.TOWNSHIP),
        (AssetType.EDUCATION, OwnerKind.STATE),
        (AssetType.HEALTH, OwnerKind.STATE),
    ],
)
def test_default_owner_follows_the_work_plan(areas, admin_user, asset_type, owner_kind):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=asset_type,
                       geometry=centre(areas.west_south))
    assert asset.owner_kind == owner_kind


def test_every_type_has_a_default_owner():
    assert set(DEFAULT_OWNER_KIND) == set(AssetType.values)


def test_explicit_owner_kind_is_kept(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, owner_kind=OwnerKind.TOWNSHIP)
    assert asset.owner_kind == OwnerKind.TOWNSHIP


def test_category_is_derived_and_mismatch_refused(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    assert asset.category == Category.PUBLIC_WELFARE
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, area=areas.west_south, category=Category.HOUSEHOLD)
    assert "asset_type" in error.value.message_dict


def test_codes_are_sequential_per_village(areas, admin_user):
    codes = [make_asset(actor=admin_user, area=areas.west_north).code for _ in range(3)]
    assert codes == ["410324101002-0001", "410324101002-0002", "410324101002-0003"]


def test_given_code_must_be_unique(areas, admin_user):
    make_asset(actor=admin_user, area=areas.west_north, code="GIVEN-1")
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_north, code="GIVEN-1")


@pytest.mark.parametrize("code", ['Q" onmouseover="x', "LC/2019/003", "LC 003", "a<b>", "a?b#c"])
def test_a_given_code_holds_no_character_an_address_or_attribute_would_read(areas, admin_user, code):
    with pytest.raises(ValidationError) as refused:
        make_asset(actor=admin_user, area=areas.west_north, code=code)
    assert "只能包含" in str(refused.value.message_dict["code"])


def test_a_code_of_letters_digits_and_chinese_is_kept_and_its_page_address_is_encoded(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_north, code="栾川-2019_001.a")
    assert asset.get_absolute_url() == "/assets/%E6%A0%BE%E5%B7%9D-2019_001.a/"
    Asset.objects.filter(pk=asset.pk).update(code="旧/编号 1")  # stored before the rule
    asset.refresh_from_db()
    assert asset.get_absolute_url() == "/assets/%E6%97%A7%2F%E7%BC%96%E5%8F%B7%201/"


def test_total_investment_is_the_sum_of_funding(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_north,
                       funding=[("central", Decimal("12.5")), ("social", Decimal("7.5"))])
    assert asset.total_investment == Decimal("20")
    services.asset_funding_set(actor=admin_user, asset=asset, funding=[("central", Decimal("30"))])
    asset.refresh_from_db()
    assert asset.total_investment == Decimal("30")
    # the social line is kept (never deleted) with a zero amount
    assert dict(asset.funding.values_list("source", "amount")) == {"central": Decimal("30"), "social": Decimal("0")}


def test_unknown_or_duplicate_funding_sources_refused(areas, admin_user):
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_north, funding=[("interest_subsidy", Decimal("1"))])
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_north,
                   funding=[("central", Decimal("1")), ("central", Decimal("2"))])


def test_moving_an_asset_rederives_its_village(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH)
    services.asset_update(actor=admin_user, asset=asset, changes={}, geometry=centre(areas.east_north))
    asset.refresh_from_db()
    assert (asset.village, asset.township) == (areas.east_north, areas.east)


def test_status_disposed_only_through_disposal(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    with pytest.raises(ValidationError):
        services.asset_update(actor=admin_user, asset=asset, changes={"status": AssetStatus.DISPOSED})
    with pytest.raises(ValidationError):
        services.asset_dispose(actor=admin_user, asset=asset, method=DisposalMethod.SCRAP, approval_reference=" ",
                               approved_on=datetime.date(2026, 3, 1))
    disposal = services.asset_dispose(actor=admin_user, asset=asset, method=DisposalMethod.AUCTION,
                                      approval_reference="栾扶资处〔2026〕3号", approved_on=datetime.date(2026, 3, 1),
                                      proceeds=Decimal("4.2"))
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DISPOSED and disposal.asset == asset
    assert Asset.objects.active().filter(pk=asset.pk).count() == 0
    assert Asset.objects.filter(pk=asset.pk).exists()  # still in the register, as disposed
    with pytest.raises(ValidationError):
        services.asset_dispose(actor=admin_user, asset=asset, method=DisposalMethod.AUCTION,
                               approval_reference="again", approved_on=datetime.date(2026, 3, 2))


def test_history_records_who_when_what_and_why(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH)
    services.asset_update(actor=admin_user, asset=asset, changes={"name": "新卫生室", "custodian_person": "王桂英"},
                          geometry=Point(111.52, 33.82, srid=SRID), reason="核查更正")
    records = list(asset.history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~"]
    latest = records[-1]
    assert latest.history_user == admin_user
    assert latest.history_change_reason == "核查更正"
    delta = latest.diff_against(records[0])
    assert {c.field for c in delta.changes} >= {"name", "custodian_person", "point"}
    assert records[0].point.coords != latest.point.coords
    assert latest.history_date is not None


def test_history_of_funding_and_owners(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.EQUITY, owners=[
        services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    services.asset_owners_set(actor=admin_user, asset=asset, owners=[
        services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("70")),
        services.Share("兴农合作社", OwnerKind.ENTERPRISE, Decimal("30"))], reason="确权调整")
    share = asset.owners.get(owner_name="西南村村民委员会")
    assert [h.share for h in share.history.order_by("history_date")] == [Decimal("100"), Decimal("70")]
    assert share.history.latest("history_date").history_change_reason == "确权调整"


def test_year_built_range(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, area=areas.west_south, year_built=1800)
    assert "year_built" in error.value.message_dict


def test_context_areas_for_the_geometry_editor(areas, admin_user):
    from tests.factories import make_user

    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH)
    around = services.asset_context_areas(actor=admin_user, asset=asset)
    names = {f["properties"]["name"]: f["properties"]["own"] for f in around["features"]}
    assert names == {"西南村": True, "西北村": False, "东南村": False, "东北村": False}  # all touch at the centre
    clerk = make_user("clerk", "township", area=areas.east)
    scoped = services.asset_context_areas(actor=clerk, asset=None)
    assert {f["properties"]["code"] for f in scoped["features"]} == {"410324102001", "410324102002"}
    county = services.asset_context_areas(actor=admin_user, asset=None)
    assert {f["properties"]["name"] for f in county["features"]} == {"西镇", "东镇"}


def test_area_save_is_for_county_admins_with_the_right_parent(areas, admin_user):
    from django.core.exceptions import PermissionDenied

    from geo_assets.models import AdminArea
    from tests.factories import box, make_user

    clerk = make_user("clerk", "township", area=areas.west)
    village = AdminArea(code="410324101003", name="新村", level="village", parent=areas.west,
                        geom=box(111.50, 33.80, 111.52, 33.82))
    with pytest.raises(PermissionDenied):
        services.area_save(actor=clerk, area=village, reason="x")
    wrong = AdminArea(code="410324101004", name="错村", level="village", parent=areas.county,
                      geom=box(111.50, 33.80, 111.52, 33.82))
    with pytest.raises(ValidationError):
        services.area_save(actor=admin_user, area=wrong, reason="x")
    services.area_save(actor=admin_user, area=village, reason="区划调整")
    assert village.history.get().history_change_reason == "区划调整"


def test_a_disposed_asset_cannot_come_back(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    services.asset_dispose(actor=admin_user, asset=asset, method=DisposalMethod.SCRAP,
                           approval_reference="栾扶资处〔2026〕9号", approved_on=datetime.date(2026, 3, 1))
    with pytest.raises(ValidationError) as error:
        services.asset_update(actor=admin_user, asset=asset, changes={"status": AssetStatus.IN_USE})
    assert "status" in error.value.message_dict
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DISPOSED
    services.asset_update(actor=admin_user, asset=asset, changes={"note": "处置后补记"})  # corrections still allowed


def test_children_and_disposal_history_name_the_actor_outside_a_request(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, reason="导入: 台账.xlsx")
    line = asset.funding.get()
    assert line.history.get().history_user == admin_user
    assert line.history.get().history_change_reason == "导入: 台账.xlsx"
    disposal = services.asset_dispose(actor=admin_user, asset=asset, method=DisposalMethod.SCRAP,
                                      approval_reference="栾扶资处〔2026〕10号", approved_on=datetime.date(2026, 3, 1))
    assert disposal.history.get().history_user == admin_user
