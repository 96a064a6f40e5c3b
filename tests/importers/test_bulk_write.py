"""The set-based write path: the same results as the services (codes, public names, history, funding and owners),
in a number of statements that does not grow with the file."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo_assets import services
from geo_assets.models import Asset, FundingLine, OwnerShare
from geo_assets.taxonomy import AssetType, OwnerKind, Role
from tests.factories import make_asset, make_user
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db


def test_history_rows_for_created_and_changed_assets_only(areas, admin_user, tmp_path):
    data = b.rows(3)
    for i, r in enumerate(data, 1):
        r.update({"资产编号": f"H-{i}", "产权主体": "西南村村集体:60;张三[受益户]:40"})
    path = b.write_csv(tmp_path / "台账.csv", data)
    assert run_report(tmp_path, path)[1]["created"] == 3
    asset = Asset.objects.get(code="H-1")
    (first,) = asset.history.all()
    assert (first.history_type, first.history_user, first.history_change_reason) == ("+", admin_user, "导入: 台账.csv")
    assert first.point == asset.point and first.public_name == asset.public_name and first.village_id
    line = asset.funding.get()
    assert [(h.history_type, h.amount, h.history_change_reason) for h in line.history.all()] == [
        ("+", Decimal("10"), "导入: 台账.csv")]
    assert {h.history_type for s in asset.owners.all() for h in s.history.all()} == {"+"}

    data[0]["资金来源"] = "社会扶贫资金:10"
    data[0]["产权主体"] = "西南村村集体"
    data[1]["资产名称"] = "新名字"
    code, report = run_report(tmp_path, b.write_csv(path, data))
    assert (code, report["updated"], report["unchanged"]) == (0, 2, 1), report
    assert [h.history_type for h in Asset.objects.get(code="H-3").history.all()] == ["+"]  # unchanged: no row
    latest = Asset.objects.get(code="H-2").history.order_by("-history_id").first()
    assert (latest.history_type, latest.name, latest.history_user) == ("~", "新名字", admin_user)
    # the old funding line stays with a zero amount, the new one is added; both have history
    assert sorted(asset.funding.values_list("source", "amount")) == [("central", 0), ("social", 10)]
    assert FundingLine.history.filter(asset_id=asset.pk, history_type="~").count() == 1
    assert dict(asset.owners.values_list("owner_name", "share")) == {"西南村村集体": 100, "张三": 0}
    assert OwnerShare.history.filter(asset_id=asset.pk, history_type="~").count() == 2
    asset.refresh_from_db()
    assert asset.total_investment == Decimal("10") and asset.owner_kind == OwnerKind.VILLAGE_COLLECTIVE


def test_codes_continue_each_villages_sequence(areas, admin_user, tmp_path):
    before = [make_asset(actor=admin_user, area=areas.west_south).code for _ in range(2)]
    assert before == ["410324101001-0001", "410324101001-0002"]
    Asset.objects.filter(code=before[1]).update(code="410324101001-9999")  # numbers, not text, decide what's next
    data = b.rows(4)
    data[3]["资产编号"] = "410324102002-0007"  # a given code in the village's format moves its sequence on
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data, header=[*data[0], "资产编号"]))
    assert code == 0, report
    assert set(Asset.objects.values_list("code", flat=True)) == {
        "410324101001-0001", "410324101001-9999", "410324101001-10000", "410324101001-10001",
        "410324102002-0001", "410324102002-0007"}
    assert make_asset(actor=admin_user, area=areas.east_north).code == "410324102002-0008"


def test_public_names_follow_the_privacy_rule(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[0].update({"资产类别": "到户类资产", "资产类型": "生物资产", "资产名称": "张三家的牛"})
    data[1].update({"资产名称": "王五管的井", "管护责任人": "王五", "联系电话": "13800000000"})
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data, header=list(data[1])))
    assert code == 0, report
    cow = Asset.objects.get(asset_type=AssetType.LIVESTOCK)
    assert cow.public_name == f"西南村生物资产（{cow.code[-4:]}号）"
    assert Asset.objects.get(name="王五管的井").public_name == "王*管的井"


def test_statements_do_not_grow_with_the_rows(areas, admin_user, tmp_path):
    def queries(n):
        data = b.rows(n)
        for i, r in enumerate(data):
            r["资产编号"] = f"Q{n}-{i}"
        with CaptureQueriesContext(connection) as ctx:
            code, report = run_report(tmp_path, b.write_csv(tmp_path / f"q{n}.csv", data))
        assert code == 0 and report["created"] == n, report
        return len(ctx.captured_queries)

    assert queries(40) == queries(4)


def test_a_zero_share_is_refused_while_checking(areas, admin_user, tmp_path):
    data = b.rows(1)
    data[0]["产权主体"] = "甲:0;乙:100"
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--dry-run")
    assert code == 1 and report["errors"][0]["field"] == "产权主体", report


def test_a_disposed_assets_status_cannot_change(areas, admin_user, tmp_path):
    import datetime

    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH)
    services.asset_dispose(actor=admin_user, asset=asset, method="scrap", approval_reference="文号",
                           approved_on=datetime.date(2025, 1, 1))
    data = [{"资产编号": asset.code, "资产状态": "在用", "经度": asset.point.x, "纬度": asset.point.y}]
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 1 and report["errors"][0]["field"] == "资产状态", report


def test_a_township_clerk_cannot_move_an_asset_out_of_the_township(areas, admin_user, tmp_path):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH)
    make_user("west", Role.TOWNSHIP, area=areas.west)
    data = [{"资产编号": asset.code, "经度": 111.65, "纬度": 33.85}]  # in the east township
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--user", "west")
    assert code == 1 and "范围" in report["errors"][0]["message"], report
    asset.refresh_from_db()
    assert asset.village == areas.west_south


def test_a_code_repeating_an_invalid_rows_code_is_reported_too(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[0].update({"资产编号": "D-1", "资产类型": "飞船"})
    data[1]["资产编号"] = "D-1"
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--skip-invalid")
    assert (code, report["created"], report["invalid"]) == (0, 0, 2), report
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "资产类型"), (3, "资产编号")]


def test_funding_lines_owner_shares_and_their_history_go_to_their_rows_asset(areas, admin_user, tmp_path):
    """Children are joined to the asset of their own row (by row number, not by code through the register): each
    asset gets its row's lines and shares with one '+' history row each, new assets' ids follow the file, and a
    changed asset's new line joins that asset, not the new one staged next to it."""
    data = b.rows(4)
    for i, r in enumerate(data, 1):
        r.update({"资产编号": f"F-{i}", "资金来源": f"中央财政专项扶贫资金:{i};社会扶贫资金:{10 * i}",
                  "投资金额（万元）": str(11 * i), "产权主体": f"西南村村集体:{50 + i};张三[受益户]:{50 - i}"})
    assert run_report(tmp_path, b.write_csv(tmp_path / "台账.csv", data))[1]["created"] == 4
    assets = list(Asset.objects.order_by("id"))
    assert [a.code for a in assets] == ["F-1", "F-2", "F-3", "F-4"]
    for i, asset in enumerate(assets, 1):
        assert sorted(asset.funding.values_list("source", "amount")) == [("central", i), ("social", 10 * i)]
        assert dict(asset.owners.values_list("owner_name", "share")) == {"西南村村集体": 50 + i, "张三": 50 - i}

    def history(model):
        return sorted((h.id, h.asset_id, h.history_type) for h in model.history.all())

    assert history(FundingLine) == sorted((line.id, line.asset_id, "+") for line in FundingLine.objects.all())
    assert history(OwnerShare) == sorted((s.id, s.asset_id, "+") for s in OwnerShare.objects.all())

    data[1].update({"资金来源": "中央财政专项扶贫资金:2;社会扶贫资金:20;统筹整合财政涉农资金:5", "投资金额（万元）": "27"})
    data.insert(1, {**b.rows(1, start=9)[0], "资金来源": "社会扶贫资金:7", "投资金额（万元）": "7"})
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "台账.csv", data))
    assert (code, report["created"], report["updated"], report["unchanged"]) == (0, 1, 1, 3), report["output"]
    changed, new = Asset.objects.get(code="F-2"), Asset.objects.get(name="饮水井9")
    assert new.id > assets[-1].id
    assert sorted(changed.funding.values_list("source", "amount")) == [
        ("central", 2), ("integrated", 5), ("social", 20)]
    assert list(new.funding.values_list("source", "amount")) == [("social", 7)]
    added = FundingLine.history.filter(history_type="+", asset_id__in=[changed.id, new.id])
    assert sorted((h.asset_id, h.source) for h in added) == sorted([
        (changed.id, "central"), (changed.id, "social"), (changed.id, "integrated"), (new.id, "social")])
    assert history(FundingLine) == sorted((line.id, line.asset_id, "+") for line in FundingLine.objects.all())


def test_new_assets_are_written_village_by_village_with_ids_in_the_files_order(areas, admin_user, tmp_path):
    """The INSERT goes village by village (its indexes — code, village, the GiST ones — are filled a compact place
    at a time, and a village's rows lie together on disk: docs/performance.md, session 11), while the ids still
    follow the file, whose rows alternate between two villages."""
    data = b.rows(6)
    assert run_report(tmp_path, b.write_csv(tmp_path / "台账.csv", data))[1]["created"] == 6
    by_id = list(Asset.objects.order_by("id").values_list("name", "village_id"))
    assert [name for name, _v in by_id] == [f"饮水井{i}" for i in range(1, 7)]
    assert len({v for _n, v in by_id[:2]}) == 2  # the file alternates
    # the order the INSERT wrote them in: their history rows are numbered as it returned them (not ctid: a row may
    # go to free space an earlier test's rolled-back rows left in a lower page)
    written = list(Asset.history.filter(history_type="+").order_by("history_id").values_list("village_id", flat=True))
    assert len(written) == 6 and written == sorted(written), written
