"""All or nothing, --skip-invalid, --dry-run, idempotence with history, and the clerk's scope."""

from decimal import Decimal

import pytest

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import make_asset, make_department, make_user
from tests.importers import builders as b
from tests.importers.conftest import run, run_report

pytestmark = pytest.mark.django_db


def mixed(tmp_path):
    data = b.rows(3)
    data[1]["资产类型"] = "飞船"
    return b.write_csv(tmp_path / "a.csv", data)


def test_invalid_row_means_nothing_written(areas, admin_user, tmp_path):
    code, report = run_report(tmp_path, mixed(tmp_path))
    assert code == 1
    assert (report["read"], report["created"], report["invalid"], report["written"]) == (3, 0, 1, False)
    assert Asset.objects.count() == 0
    assert "未写入任何数据" in report["output"]


def test_skip_invalid_writes_the_valid_rows(areas, admin_user, tmp_path):
    code, report = run_report(tmp_path, mixed(tmp_path), "--skip-invalid")
    assert code == 0
    assert (report["created"], report["invalid"]) == (2, 1)
    assert report["errors"][0]["row"] == 3
    assert Asset.objects.count() == 2


def test_dry_run_counts_but_writes_nothing(areas, admin_user, tmp_path):
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows(3)), "--dry-run")
    assert code == 0 and report["created"] == 3 and report["dry_run"] and not report["written"]
    assert Asset.objects.count() == 0


def test_dry_run_with_invalid_rows_counts_the_valid_ones_and_exits_1(areas, admin_user, tmp_path):
    code, report = run_report(tmp_path, mixed(tmp_path), "--dry-run")
    assert (code, report["created"], report["invalid"], report["written"]) == (1, 2, 1, False)
    assert Asset.objects.count() == 0


def test_reimport_is_idempotent_and_change_goes_to_history(areas, admin_user, tmp_path):
    data = b.rows(3)
    for i, r in enumerate(data, 1):
        r["资产编号"] = f"W-{i}"
    path = b.write_csv(tmp_path / "台账.csv", data)
    assert run_report(tmp_path, path)[1]["created"] == 3
    code, report = run_report(tmp_path, path)
    assert (code, report["created"], report["updated"], report["unchanged"]) == (0, 0, 0, 3)
    data[1]["资产名称"] = "改名的井"
    data[1]["资金来源"] = "中央财政专项扶贫资金:6;社会扶贫资金:4"
    data[2]["经度"] += 0.001
    code, report = run_report(tmp_path, b.write_csv(path, data))
    assert (code, report["updated"], report["unchanged"]) == (0, 2, 1), report
    asset = Asset.objects.get(code="W-2")
    assert asset.name == "改名的井"
    assert sorted((f.source, f.amount) for f in asset.funding.all()) == [("central", 6), ("social", 4)]
    latest = asset.history.order_by("-history_id").first()
    assert latest.history_change_reason == "导入: 台账.csv"
    assert latest.history_user == admin_user
    assert Asset.objects.get(code="W-3").history.first().history_change_reason == "导入: 台账.csv"
    assert run_report(tmp_path, path)[1]["unchanged"] == 3


def test_rows_without_code_are_matched_on_reimport(areas, admin_user, tmp_path):
    path = b.write_csv(tmp_path / "a.csv", b.rows(2))
    run_report(tmp_path, path)
    code, report = run_report(tmp_path, path)
    assert (report["created"], report["unchanged"]) == (0, 2)
    assert Asset.objects.count() == 2


def test_partial_columns_leave_other_fields_alone(areas, admin_user, tmp_path):
    asset = make_asset(actor=admin_user, area=areas.west_south, custodian_person="王五", note="旧备注")
    lon, lat = asset.location.x, asset.location.y
    wkt = asset.line.wkt
    data = [{"资产编号": asset.code, "备注": "新备注", "WKT": wkt, "经度": lon, "纬度": lat}]
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert (code, report["updated"]) == (0, 1), report
    asset.refresh_from_db()
    assert (asset.note, asset.custodian_person, asset.name) == ("新备注", "王五", "村组道路")


def test_village_clerk_cannot_import_into_another_village(areas, tmp_path):
    make_user("clerk", Role.VILLAGE, area=areas.west_south)
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows(2)), "--user", "clerk")
    assert code == 1
    assert [e["row"] for e in report["errors"]] == [3]
    assert "范围" in report["errors"][0]["message"]
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows(2)), "--user", "clerk",
                              "--skip-invalid")
    assert code == 0 and list(Asset.objects.values_list("village__name", flat=True)) == ["西南村"]


def test_department_clerk_cannot_change_assets_of_other_sectors(areas, admin_user, tmp_path):
    well = make_asset(actor=admin_user, name="井", asset_type=AssetType.WATER_SUPPLY, area=areas.west_south)
    make_user("jt", Role.DEPARTMENT, department=make_department("交通运输局", (AssetType.ROAD,)))
    data = [{"资产编号": well.code, "资产名称": "井2", "资产类型": "供水饮水", "经度": well.point.x, "纬度": well.point.y}]
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--user", "jt")
    assert code == 1 and "范围" in report["errors"][0]["message"]
    assert Asset.objects.get().name == "井"


def test_registered_equity_needs_named_owners(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[1].update({"资产类型": "股权", "资产类别": "经营性资产", "确权状态": "已确权"})
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data, header=[*data[0], "确权状态"]))
    assert code == 1, report
    assert report["invalid"] == 1 and report["errors"][0]["row"] == 3
    assert Asset.objects.count() == 0


def test_unknown_user_is_refused(areas, tmp_path):
    code, out = run("import_assets", str(b.write_csv(tmp_path / "a.csv", b.rows(1))), "--user", "nobody")
    assert code == 2 and "nobody" in out


def test_funding_and_owners_text_formats(areas, admin_user, tmp_path):
    data = b.rows(1)
    data[0].update({"资金来源": "财政专项扶贫资金(中央)：5万元；社会扶贫资金=5", "投资金额（万元）": "10",
                    "产权主体": "西南村村集体：70%;李四[受益户]:30", "资产类型": "光伏电站", "资产类别": "经营性资产"})
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 0, report
    asset = Asset.objects.get()
    assert asset.total_investment == Decimal("10")
    assert sorted((o.owner_name, o.owner_kind, o.share) for o in asset.owners.all()) == [
        ("李四", "household", Decimal("30")), ("西南村村集体", "village_collective", Decimal("70"))]
