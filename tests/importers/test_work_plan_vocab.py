"""The work plan's own words are accepted on a fresh system (migrations only, no demo): its departments (issue 7
item 20), 财政专项扶贫资金 without a level (21) and its names of asset types (22)."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import translation

from geo_assets.models import Asset, Department, FundingLine
from geo_assets.taxonomy import (
    WORK_PLAN_DEPARTMENTS,
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    OwnerKind,
    RegistrationStatus,
)
from importers import services
from tests.importers import builders as b
from tests.importers.conftest import run, run_report

pytestmark = pytest.mark.django_db

PLAN_DEPARTMENTS = ("扶贫办", "财政局", "发改委", "教体局", "住建局", "交通运输局", "水利局", "农业农村局", "林业局",
                    "文广新局", "卫健委", "残联")
# 二(二) of the work plan, word for word (and the projects 二(三)/(四) name), with the type each one means.
PLAN_TYPES = {
    "道路交通": AssetType.ROAD, "村组道路": AssetType.ROAD, "农田水利": AssetType.IRRIGATION,
    "供水饮水": AssetType.WATER_SUPPLY, "农村饮水安全": AssetType.WATER_SUPPLY, "安全饮水": AssetType.WATER_SUPPLY,
    "环卫公厕": AssetType.SANITATION, "电力设备": AssetType.POWER, "教育": AssetType.EDUCATION,
    "文化": AssetType.CULTURE, "文化广场": AssetType.CULTURE, "体育": AssetType.SPORTS, "卫生": AssetType.HEALTH,
    "卫生室": AssetType.HEALTH, "设施农业": AssetType.GREENHOUSE, "农林业产业基地": AssetType.PLANTATION,
    "生产加工设施": AssetType.PROCESSING, "旅游服务设施": AssetType.TOURISM, "扶贫车间": AssetType.WORKSHOP,
    "电商扶贫服务设施": AssetType.ECOMMERCE, "光伏扶贫电站": AssetType.PV_STATION, "光伏电站": AssetType.PV_STATION,
    "股权": AssetType.EQUITY, "债权": AssetType.DEBT, "生物性资产": AssetType.LIVESTOCK,
    "固定资产": AssetType.HOUSEHOLD_FIXED,
}


def ledger(tmp_path, data, name="plan.csv"):
    header = list(dict.fromkeys(k for r in data for k in r))
    return b.write_csv(tmp_path / name, data, header=header)


def test_fresh_system_has_the_work_plan_departments():
    assert not Asset.objects.exists()  # migrations only, nothing else
    found = dict(Department.objects.filter(name__in=PLAN_DEPARTMENTS).values_list("name", "asset_types"))
    assert set(found) == set(PLAN_DEPARTMENTS) == set(WORK_PLAN_DEPARTMENTS)
    for name, types in WORK_PLAN_DEPARTMENTS.items():
        assert found[name] == list(types), name
    assert found["交通运输局"] == ["road"] and "water_supply" in found["水利局"] and "pv_station" in found["发改委"]
    assert {"education", "health", "culture"} <= set(found["教体局"] + found["卫健委"] + found["文广新局"])
    assert {"greenhouse", "plantation", "processing"} <= set(found["农业农村局"])
    assert {"workshop", "ecommerce", "equity", "debt"} <= set(found["扶贫办"])
    assert Department.history.filter(name="水利局", history_type="+").exists()


def test_department_migration_is_idempotent_and_keeps_edits():
    migration = importlib.import_module("geo_assets.migrations.0006_work_plan_departments")
    Department.objects.filter(name="水利局").update(asset_types=["irrigation"])  # edited in the admin
    Department.objects.filter(name="残联").update(asset_types=["health"])
    count = Department.objects.count()
    migration.departments_create(apps, None)
    migration.departments_create(apps, None)
    assert Department.objects.count() == count
    assert Department.objects.get(name="水利局").asset_types == ["irrigation"]
    assert Department.objects.get(name="残联").asset_types == ["health"]


def test_every_work_plan_department_is_accepted_on_import(areas, tmp_path):
    data = b.rows(len(PLAN_DEPARTMENTS))
    for row, name in zip(data, PLAN_DEPARTMENTS, strict=True):
        row["主管部门"] = name
    code, report = run_report(tmp_path, ledger(tmp_path, data))
    assert code == 0, report
    assert (report["created"], report["invalid"]) == (len(PLAN_DEPARTMENTS), 0), report
    assert set(Asset.objects.values_list("department__name", flat=True)) == set(PLAN_DEPARTMENTS)


def test_unknown_department_is_still_refused(areas, tmp_path):
    data = b.rows(1)
    data[0]["主管部门"] = "宇航局"
    code, report = run_report(tmp_path, ledger(tmp_path, data))
    assert code == 1 and "不在系统的部门名单中" in report["errors"][0]["message"]


def test_every_work_plan_type_word_is_accepted(areas, tmp_path):
    data = b.rows(len(PLAN_TYPES))
    for i, (row, word) in enumerate(zip(data, PLAN_TYPES, strict=True)):
        row.pop("资产类别")
        row.update({"资产类型": word, "资产名称": f"资产{i}", "资产编号": f"T-{i:02d}"})
    code, report = run_report(tmp_path, ledger(tmp_path, data))
    assert code == 0, report
    assert report["invalid"] == 0, report
    got = dict(Asset.objects.values_list("code", "asset_type"))
    assert {f"T-{i:02d}": t for i, t in enumerate(PLAN_TYPES.values())} == got


def test_type_words_with_the_plan_category(areas, tmp_path):
    data = b.rows(3)
    for row, (category, word) in zip(data, [("经营性资产", "光伏扶贫电站"), ("公益性资产", "电力设备"),
                                            ("到户类资产", "生物性资产")], strict=True):
        row.update({"资产类别": category, "资产类型": word})
    code, report = run_report(tmp_path, ledger(tmp_path, data), "--dry-run")
    assert code == 0 and report["invalid"] == 0, report


@pytest.mark.parametrize("text,expected", [
    ("财政专项扶贫资金", [("special", Decimal("10"))]),
    ("各级财政专项扶贫资金:10", [("special", Decimal("10"))]),
    ("财政专项扶贫资金:4;财政专项扶贫资金（中央）:6", [("special", Decimal("4")), ("central", Decimal("6"))]),
])
def test_special_funds_without_level_are_parsed(text, expected):
    assert services.funding_parse(text, Decimal("10")) == expected


def test_special_funds_without_level_import_export_round_trip(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[0].update({"资金来源": "财政专项扶贫资金", "投资金额（万元）": "10"})
    data[1].update({"资金来源": "财政专项扶贫资金:4;统筹整合财政涉农资金:6"})
    code, report = run_report(tmp_path, ledger(tmp_path, data))
    assert code == 0 and report["created"] == 2, report
    assert FundingLine.objects.filter(source=FundingSourceKind.SPECIAL_UNSTATED).count() == 2
    line = FundingLine.objects.filter(source="special").first()
    with translation.override("zh-hans"):
        assert line.get_source_display() == "财政专项扶贫资金（未注明级次）"
    for name in ("out.csv", "out.xlsx", "out.gpkg"):
        out = tmp_path / name
        assert run("export_assets", "-o", str(out))[0] == 0
        if name == "out.csv":
            text = out.read_text(encoding="utf-8-sig")
            assert "财政专项扶贫资金:10" in text and "财政专项扶贫资金:4;统筹整合财政涉农资金:6" in text
        code, report = run_report(tmp_path, out)
        assert code == 0 and (report["unchanged"], report["updated"]) == (2, 0), (name, report)


# Issue 21 item 21: every vocabulary column of a ledger takes the register's own Chinese label of a code (as the
# pages show it) besides the ledger's words and the code, and a refusal names codes and labels.
def _register_labels(choices):
    with translation.override("zh-hans"):
        return [(code, str(label)) for code, label in choices.choices]


@pytest.mark.parametrize(("column", "field", "code", "word"), [
    *[("资产状态", "status", c, w) for c, w in _register_labels(AssetStatus) if c != AssetStatus.DISPOSED],
    *[("确权状态", "registration_status", c, w) for c, w in _register_labels(RegistrationStatus)],
    *[("产权归属", "owner_kind", c, w) for c, w in _register_labels(OwnerKind)],
    ("资产状态", "status", AssetStatus.IDLE, "idle"),
])
def test_every_register_label_is_accepted_on_import(areas, tmp_path, column, field, code, word):
    data = b.rows(1)
    data[0][column] = word
    code_, report = run_report(tmp_path, ledger(tmp_path, data))
    assert code_ == 0 and report["invalid"] == 0, report
    assert getattr(Asset.objects.get(), field) == code


@pytest.mark.parametrize(("column", "choices"), [("资产状态", AssetStatus), ("资产类型", AssetType),
                                                  ("资产类别", Category), ("确权状态", RegistrationStatus),
                                                  ("产权归属", OwnerKind), ("资金来源", FundingSourceKind)])
def test_an_unknown_word_is_refused_naming_codes_and_labels(areas, tmp_path, column, choices):
    data = b.rows(1)
    data[0][column] = "无此项:10" if column == "资金来源" else "无此项"
    code_, report = run_report(tmp_path, ledger(tmp_path, data), "--dry-run")
    message = " ".join(e["message"] for e in report["errors"])
    assert report["invalid"] == 1, report
    for value in choices.values:
        assert f"（{value}）" in message, (value, message)
