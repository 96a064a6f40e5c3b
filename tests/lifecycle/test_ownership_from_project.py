"""Ownership registration starts from the project's proposal (issue 17): when a project formed the asset, the
ownership step is prefilled from projects.rules.owner_proposal and says where it came from; an equity proposal is
flagged for the department's review; without a project the step is as before (the recorded ownership, its kind
defaulting by type)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from geo_assets.models import OwnershipRegistration
from geo_assets.taxonomy import AssetType, OwnerKind
from lifecycle import services as lifecycle_services
from lifecycle.selectors import asset_timeline
from tests.factories import centre, fund_line, link, make_asset, project
from tests.lifecycle.builders import as_, page, step


@pytest.fixture
def road_of_two_villages(page_county):
    """A new road in 西南村 (no owners recorded) formed by a project serving 西南村 and 西北村."""
    areas, users, _office, _assets = page_county
    admin = users["county"]
    road = make_asset(actor=admin, area=areas.west_south, name="西南村连村道路")
    shared = project(actor=admin, code="XM-2025-301", name="西镇连村道路", villages=[areas.west_south, areas.west_north])
    fund_line(actor=admin, project=shared, allocated="20")
    link(actor=admin, project=shared, asset=road)
    return road


def owner_rows(form) -> list[tuple]:
    return [(form[n].value(), form[k].value(), form[s].value()) for n, k, s in form.rows if form[n].value()]


def test_without_a_project_the_step_is_as_before(page_county):
    _areas, users, _office, assets = page_county
    pv = assets["pv"]
    village = as_(users["village"])
    response = village.get(step(pv, "ownership"))
    assert response.context["start"] is None and not response.context["form"].fields
    assert "项目给出的确权建议" not in page(response)
    assert village.post(step(pv, "ownership")).status_code == 302
    registration = OwnershipRegistration.objects.get(asset=pv)
    assert registration.shares_snapshot == [{"owner": "西南村村民委员会", "kind": "village_collective", "share": "100.000"}]
    assert registration.history.latest().history_change_reason == "提交确权"
    assert "提交时的产权主体：西南村村民委员会 100%" in page(village.get(step(pv, "ownership")))  # not 100.000%
    assert "产权主体：西南村村民委员会 100%" in [e.detail for e in asset_timeline(pv, users["county"]) if e.kind == "ownership"][0]


def test_the_step_starts_from_the_project_s_proposal_and_says_where_it_came_from(page_county, road_of_two_villages):
    _areas, users, _office, _assets = page_county
    road = road_of_two_villages
    village = as_(users["village"])
    response = village.get(step(road, "ownership"))
    html, form = page(response), response.context["form"]
    assert "项目给出的确权建议" in html and 'href="/projects/XM-2025-301/"' in html
    assert "项目 XM-2025-301 跨村或在镇区实施：由乡镇负责确权。" in html
    assert "已按该建议预填" in html
    assert form["owner_kind"].value() == OwnerKind.TOWNSHIP
    assert [(name, kind, str(share)) for name, kind, share in owner_rows(form)] == [("西镇", "township", "100")]
    posted = village.post(step(road, "ownership"), {"owner_kind": "township", "owner_name_0": "西镇",
                                                    "owner_kind_0": "township", "owner_share_0": "100"})
    assert posted.status_code == 302
    road.refresh_from_db()
    assert road.owner_kind == OwnerKind.TOWNSHIP
    assert [(o.owner_name, o.share) for o in road.owners.all()] == [("西镇", 100)]
    registration = OwnershipRegistration.objects.get(asset=road)
    assert registration.shares_snapshot == [{"owner": "西镇", "kind": "township", "share": "100.000"}]
    assert "XM-2025-301" in registration.history.latest().history_change_reason
    assert "XM-2025-301" in road.history.latest().history_change_reason  # the asset's change says it too


def test_the_clerk_may_change_the_proposal_before_submitting(page_county, road_of_two_villages):
    _areas, users, _office, _assets = page_county
    road = road_of_two_villages
    posted = as_(users["village"]).post(step(road, "ownership"), {
        "owner_kind": "village_collective", "owner_name_0": "西南村村民委员会", "owner_kind_0": "village_collective",
        "owner_share_0": "100"})
    assert posted.status_code == 302
    road.refresh_from_db()
    assert road.owner_kind == OwnerKind.VILLAGE_COLLECTIVE and road.owners.get().owner_name == "西南村村民委员会"


@pytest.mark.parametrize(("rows", "message"), [
    ({"owner_name_0": "西镇", "owner_kind_0": "township", "owner_share_0": "60"}, "而非100"),
    ({"owner_name_0": "", "owner_kind_0": "township", "owner_share_0": "100"}, "请填写该份额的产权主体"),
    ({"owner_name_0": "西镇", "owner_kind_0": "", "owner_share_0": "100"}, "请选择产权主体类型"),
    ({"owner_name_0": "西镇", "owner_kind_0": "township", "owner_share_0": "-5"}, ""),
])
def test_a_wrong_submission_writes_nothing(page_county, road_of_two_villages, rows, message):
    _areas, users, _office, _assets = page_county
    road = road_of_two_villages
    response = as_(users["village"]).post(step(road, "ownership"), {"owner_kind": "township", **rows})
    assert response.status_code == 200 and message in page(response)
    road.refresh_from_db()
    assert not road.owners.exists() and road.owner_kind == OwnerKind.VILLAGE_COLLECTIVE
    assert not OwnershipRegistration.objects.filter(asset=road).exists()


def test_equity_proposal_is_flagged_for_the_department_s_review(page_county):
    areas, users, _office, assets = page_county
    admin, equity = users["county"], assets["equity"]
    stake = project(actor=admin, code="XM-2025-302", name="西南村合作社入股", kind="equity", villages=[areas.west_south])
    fund_line(actor=admin, project=stake, allocated="50")
    link(actor=admin, project=stake, asset=equity)
    village = as_(users["village"])
    response = village.get(step(equity, "ownership"))
    html, form = page(response), response.context["form"]
    assert "行业主管部门在确认登记前审核每个产权主体及其份额" in html
    assert response.context["start"].from_recorded  # the asset records its owners: kept, with the proposal's kind
    assert form["owner_kind"].value() == OwnerKind.ENTERPRISE
    assert [(n, str(s)) for n, _k, s in owner_rows(form)] == [("西南村村民委员会", "60.000"), ("西镇人民政府", "40.000")]
    data = {"owner_kind": "enterprise"}
    for i, (name, kind, share) in enumerate(owner_rows(form)):
        data |= {f"owner_name_{i}": name, f"owner_kind_{i}": kind, f"owner_share_{i}": str(share)}
    assert village.post(step(equity, "ownership"), data).status_code == 302
    registration = OwnershipRegistration.objects.get(asset=equity)
    assert "审核" in registration.history.latest().history_change_reason
    # the department reviewing it sees the proposal and the flag
    review = page(as_(users["department"]).get(step(equity, "ownership-decide")))
    assert "项目给出的确权建议" in review and "行业主管部门在确认登记前审核" in review


def test_an_equity_proposal_without_every_share_is_refused(page_county):
    areas, users, _office, _assets = page_county
    admin = users["county"]
    stake_asset = make_asset(actor=admin, area=areas.west_north, name="西北村入股", asset_type=AssetType.EQUITY,
                             geometry=centre(areas.west_north))
    stake = project(actor=admin, code="XM-2025-303", name="西北村入股", kind="equity", villages=[areas.west_north])
    fund_line(actor=admin, project=stake, allocated="5")
    link(actor=admin, project=stake, asset=stake_asset)
    response = as_(users["township"]).post(step(stake_asset, "ownership"), {"owner_kind": "enterprise"})
    assert response.status_code == 200 and "须列明" in page(response)  # no owner named
    assert not OwnershipRegistration.objects.filter(asset=stake_asset).exists()


def test_household_proposal_names_nobody_yet(page_county):
    areas, users, _office, _assets = page_county
    admin = users["county"]
    cattle = make_asset(actor=admin, area=areas.west_south, name="到户养牛", asset_type=AssetType.LIVESTOCK,
                        geometry=centre(areas.west_south))
    support = project(actor=admin, code="XM-2025-304", name="到户养殖补助", kind="household", villages=[areas.west_south])
    link(actor=admin, project=support, asset=cattle)
    village = as_(users["village"])
    form = village.get(step(cattle, "ownership")).context["form"]
    assert form["owner_kind"].value() == OwnerKind.HOUSEHOLD and owner_rows(form) == []
    assert village.post(step(cattle, "ownership"), {"owner_kind": "household"}).status_code == 302
    assert OwnershipRegistration.objects.filter(asset=cattle).exists()


def test_the_service_refuses_another_village_and_writes_nothing(page_county, road_of_two_villages):
    _areas, users, _office, _assets = page_county
    road = road_of_two_villages
    with pytest.raises(PermissionDenied):
        lifecycle_services.ownership_submit(actor=users["other_village"], asset=road, owner_kind="township",
                                            owners=[("西镇", "township", 100)], source="x")
    with pytest.raises(ValidationError):
        lifecycle_services.ownership_submit(actor=users["village"], asset=road, owner_kind="township",
                                            owners=[("西镇", "township", 50)])
    road.refresh_from_db()
    assert not road.owners.exists() and not OwnershipRegistration.objects.filter(asset=road).exists()
