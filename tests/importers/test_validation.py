"""Every row is checked before anything is written; each rule gives the row, the field and a Chinese message."""

import pytest

from geo_assets.models import Asset
from tests.factories import make_asset
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db


def one_error(tmp_path, changes: dict, *, extra_rows=(), fmt="csv"):
    row = b.rows(1)[0]
    row.update(changes)
    data = [row, *extra_rows]
    header = list(dict.fromkeys(k for r in data for k in r))
    path = b.write_csv(tmp_path / "a.csv", data, header=header)
    code, report = run_report(tmp_path, path)
    assert code == 1, report
    assert report["invalid"] >= 1 and report["created"] == 0
    assert Asset.objects.count() == 0
    return report["errors"][0]


CASES = [
    ({"资产名称": ""}, "资产名称", "缺少资产名称"),
    # a code is part of its page's address and label: quotes, slashes and spaces are refused (review, session 23)
    ({"资产编号": 'Q" onmouseover="alert(1)" x="'}, "资产编号", "只能包含"),
    ({"资产编号": "LC/2019/003"}, "资产编号", "只能包含"),
    ({"资产编号": "LC 003"}, "资产编号", "只能包含"),
    ({"资产类型": ""}, "资产类型", "缺少资产类型"),
    ({"资产类型": "宇宙飞船"}, "资产类型", "未知的资产类型"),
    ({"资产类别": "神秘资产"}, "资产类别", "未知的资产类别"),
    ({"资产类别": "经营性资产"}, "资产类型", "不属于"),
    ({"投资金额（万元）": "-5", "资金来源": ""}, "投资金额（万元）", "不能为负数"),
    ({"投资金额（万元）": "十万", "资金来源": ""}, "投资金额（万元）", "不是数字"),
    ({"数量": "-1"}, "数量", "不能为负数"),
    # beyond Decimal's 28 digits once rounded: a row error, not a failed import
    ({"投资金额（万元）": "1e30", "资金来源": ""}, "投资金额（万元）", "“1e30”数值过大"),
    ({"数量": "1e30"}, "数量", "数值过大"),
    ({"资金来源": "中央财政专项扶贫资金:" + "9" * 31}, "资金来源", "数值过大"),
    ({"产权主体": "甲:" + "9" * 31}, "产权主体", "数值过大"),
    ({"项目投入（万元）": "1e30"}, "项目投入（万元）", "数值过大"),
    ({"建成年份": "1800"}, "建成年份", "1949"),
    ({"建成年份": "去年"}, "建成年份", "不是年份"),
    ({"联系电话": "打电话给我"}, "联系电话", "格式不正确"),
    ({"资产状态": "已处置"}, "资产状态", "处置"),
    ({"资产状态": "飘着"}, "资产状态", "未知的资产状态"),
    ({"主管部门": "不存在局"}, "主管部门", "部门名单"),
    ({"资金来源": "财政贴息资金:10"}, "资金来源", "不在登记范围"),
    ({"资金来源": "易地扶贫搬迁资金:10"}, "资金来源", "不在登记范围"),
    ({"资金来源": "农业保险:10"}, "资金来源", "不在登记范围"),
    ({"资金来源": "风险保证金:10"}, "资金来源", "不在登记范围"),
    ({"资金来源": "外星资金:10"}, "资金来源", "未知的资金来源"),
    ({"资金来源": "中央财政专项扶贫资金;统筹整合财政涉农资金"}, "资金来源", "金额"),
    ({"资金来源": "中央财政专项扶贫资金:6"}, "投资金额（万元）", "不一致"),
    ({"产权主体": "甲:50;乙:40"}, "产权主体", "100%"),
    ({"经度": "", "纬度": ""}, "经度/纬度", "缺少位置"),
    ({"经度": "东边"}, "经度", "无法识别"),
    ({"经度": 33.85, "纬度": 111.55}, "经度/纬度", "填反"),
    ({"经度": "33°51′N", "纬度": "111°33′E"}, "经度/纬度", "填反"),
    ({"经度": 112.5, "纬度": 33.85}, "经度/纬度", "不在本县范围内"),
    ({"所属村": "东北村"}, "所属村", "不在所属村"),
    ({"所属村": "火星村"}, "所属村", "没有名为"),
    ({"行政区划代码": "410324999999"}, "行政区划代码", "不是本县的村"),
    ({"所属乡镇": "东镇"}, "所属乡镇", "不属于"),
    ({"经度": "", "纬度": "", "WKT": "POLYGON ((111.52 33.82, 111.53 33.83, 111.53 33.82, 111.52 33.83, 111.52 33.82))"},
     "WKT", "自相交"),
    ({"经度": "", "纬度": "", "WKT": "MULTIPOINT ((111.52 33.82), (111.53 33.83))"}, "WKT", "多点"),
    ({"经度": "", "纬度": "", "WKT": "GEOMETRYCOLLECTION (POINT (111.52 33.82))"}, "WKT", "不支持的几何类型"),
    ({"经度": "", "纬度": "", "WKT": "LINESTRING (111.52"}, "WKT", "无法解析"),
]


@pytest.mark.parametrize("changes,field,words", CASES, ids=[c[1] + ":" + c[2] for c in CASES])
def test_rule(areas, admin_user, tmp_path, changes, field, words):
    error = one_error(tmp_path, changes)
    assert error["field"] == field, error
    assert words in error["message"], error
    assert error["row"] == 2  # the header is line 1


def test_duplicate_codes_in_file(areas, admin_user, tmp_path):
    data = b.rows(3)
    for r in data:
        r["资产编号"] = "X-1"
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "资产编号"), (4, "资产编号")]
    assert "第 2 行已出现" in report["errors"][0]["message"]


def test_all_errors_of_a_row_are_reported(areas, admin_user, tmp_path):
    row = b.rows(1)[0]
    row.update({"资产类型": "飞船", "投资金额（万元）": "-1", "资金来源": ""})
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", [row]))
    assert code == 1
    assert {e["field"] for e in report["errors"]} == {"资产类型", "投资金额（万元）"}
    assert report["invalid"] == 1


def test_stated_village_assigns_and_containing_village_is_found(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[0]["行政区划代码"] = "410324101001"
    data[1]["行政区划代码"] = ""
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data))
    assert code == 0, report
    assert sorted(Asset.objects.values_list("village__code", flat=True)) == ["410324101001", "410324102002"]


def test_gis_feature_index_is_the_row_number(areas, admin_user, tmp_path):
    data = b.rows(3)
    data[2]["资产类型"] = "飞船"
    code, report = run_report(tmp_path, b.write_gis(tmp_path / "a.gpkg", b.frame(data)))
    assert code == 1 and report["errors"][0]["row"] == 3


def test_existing_disposed_status_stays(areas, admin_user, tmp_path):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", [
        {"资产编号": asset.code, "资产状态": "已处置", "经度": 111.55, "纬度": 33.85}]))
    assert code == 1 and "处置" in report["errors"][0]["message"]
