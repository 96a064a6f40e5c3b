"""A chunk is checked a column at a time (issue 22): each rule runs once per distinct value of a column, and each
row is assembled from the verdicts. These tests hold the columnar path to the rules themselves: every row with a bad
value is reported (the first one and the repeats), with its own row number, across chunk boundaries, and a file
checked in chunks of one row (each rule once per row) gives the same report and writes the same assets."""

import datetime
import math
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from geo_assets import validation
from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType
from importers import checks, readers, services, vocab
from importers.services import assets_import
from tests.factories import make_asset
from tests.importers import builders as b

pytestmark = pytest.mark.django_db


def _messages(check, *args) -> list[str]:
    try:
        check(*args)
    except ValidationError as exc:
        return exc.messages
    return []


def _chunk(monkeypatch, size: int) -> None:
    monkeypatch.setattr(readers, "CHUNK", size)
    monkeypatch.setattr(services, "CHUNK", size)


def _errors(report) -> list[tuple]:
    return [(e.layer, e.row, e.field, e.message) for e in report.errors]


BAD_PHONE, BAD_TYPE, BAD_YEAR = "电话号码", "飞船", "1800"


def _ledger() -> list[dict]:
    """Ten rows: good values repeated, and each bad value on several rows (in different chunks of three)."""
    data = b.rows(10)
    for i, row in enumerate(data):
        row["联系电话"] = BAD_PHONE if i in (1, 4, 8) else "13800000000"
        row["建成年份"] = BAD_YEAR if i in (2, 3, 9) else "2020"
        if i in (2, 7):
            row["资产类型"] = BAD_TYPE
    return data


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_every_row_of_a_repeated_bad_value_is_reported_with_its_row_across_chunks(areas, admin_user, tmp_path,
                                                                                 monkeypatch, fmt):
    data = _ledger()
    if fmt == "csv":
        path = b.write_csv(tmp_path / "a.csv", data)
        number = {i: i + 2 for i in range(len(data))}  # the CSV line (the header is line 1)
    else:
        path = b.write_gis(tmp_path / "a.gpkg", b.frame(data), driver="GPKG")
        number = {i: i + 1 for i in range(len(data))}  # the feature number
    _chunk(monkeypatch, 3)
    report = assets_import(actor=admin_user, path=path, dry_run=True)
    layer = report.errors[0].layer
    phone = _messages(validation.phone_check, BAD_PHONE)
    year = _messages(validation.year_built_check, int(BAD_YEAR))
    assert phone and year
    expected = []
    for i, row in enumerate(data):
        problems = [("联系电话", m) for m in phone] if row["联系电话"] == BAD_PHONE else []
        if row["资产类型"] == BAD_TYPE:
            problems.append(("资产类型", checks._unknown(vocab.TYPE, BAD_TYPE, vocab.TYPE_LABELS)))
        if row["建成年份"] == BAD_YEAR:
            problems += [("建成年份", m) for m in year]
        expected += [(layer, number[i], field, message) for field, message in problems]
    assert _errors(report) == expected
    assert (report.read, report.invalid, report.created) == (10, 7, 3)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_chunks_of_one_row_and_columnar_chunks_give_the_same_report_and_assets(areas, admin_user, tmp_path,
                                                                            monkeypatch, language):
    """Chunks of one row apply each rule to each row on its own; chunks of four share the verdicts of repeated
    values (the field validators' too: 数量 with too many digits, a unit too long, an unknown department)."""
    data = _ledger()
    long_unit, couple, collective = "单" * 60, "张三:50", "东南村村集体:60;张三[受益户]:40"
    columns = {  # rows 0, 5 and 6 stay valid (see _ledger); each bad value is on several rows
        "数量": ["2.5", "123456789012345.5", "-1", "x", "123456789012345.5", "2.5", "2.50", "x", "-1", "2.5"],
        "计量单位": ["座", long_unit, "座", "座", long_unit, "座", "座", "座", long_unit, "座"],
        "主管部门": ["水利局", "不存在局", "", "不存在局", "", "水利局", "", "不存在局", "", ""],
        "产权主体": ["", couple, collective, couple, "", collective, "张三", "", "", ""],
        "资金来源": ["中央财政专项扶贫资金:10", "火箭资金:5", "整合资金", "火箭资金:5", "中央财政专项扶贫资金:10", "整合资金",
                 "中央财政专项扶贫资金:10", "整合资金", "火箭资金:5", "中央财政专项扶贫资金:10"],
    }
    for i, row in enumerate(data):
        row.update({column: values[i] for column, values in columns.items()})
    path = b.write_csv(tmp_path / "a.csv", data)
    reports = {}
    with translation.override(language):
        for size in (1, 4):
            _chunk(monkeypatch, size)
            with transaction.atomic():  # the register forbids deleting: each import rolled back
                report = assets_import(actor=admin_user, path=path, skip_invalid=True)
                written = sorted(Asset.objects.values_list(
                    "name", "quantity", "unit", "year_built", "total_investment", "custodian_phone", "department__name",
                    "owner_kind"))
                transaction.set_rollback(True)
            reports[size] = (_errors(report), report.read, report.invalid, report.created, report.unchanged, written)
    assert reports[1] == reports[4]
    errors = reports[4][0]
    assert {field for _l, _r, field, _m in errors} >= {"联系电话", "建成年份", "资产类型", "数量", "计量单位", "主管部门",
                                                       "资金来源", "产权主体"}
    assert reports[4][3] > 0 and reports[4][5]  # some rows are valid and written


def test_cells_of_different_types_get_their_own_verdict(areas, admin_user, tmp_path, monkeypatch):
    """An XLSX holds numbers, text and booleans: True is not 1 (equal in Python), and 2.50 is its own text."""
    data = b.rows(6)
    for row, quantity in zip(data, [1, True, "1", 1.0, "2.50", True], strict=True):
        row["数量"] = quantity
    path = b.write_xlsx(tmp_path / "a.xlsx", data, header=[*b.HEADER[1:], "数量"])
    report = assets_import(actor=admin_user, path=path, skip_invalid=True)
    bad = [(e.row, e.field) for e in report.errors]
    assert bad == [(5, "数量"), (9, "数量")]  # the two booleans (title, note and header rows come first)
    assert sorted(Asset.objects.values_list("quantity", flat=True)) == [1, 1, 1, Decimal("2.5")]


def test_per_value_applies_the_rule_to_each_distinct_value_by_type():
    calls = []

    def rule(value):
        calls.append(value)
        return repr(value)

    nan = float("nan")
    values = [1, True, 1.0, "1", 1, Decimal("2.5"), Decimal("2.50"), None, nan, nan, [1], datetime.date(2020, 1, 1),
              True]
    assert checks.per_value(values, rule) == [repr(v) for v in values]
    assert calls[:8] == [1, True, 1.0, "1", Decimal("2.5"), Decimal("2.50"), None, nan]
    assert len(calls) == 10 and math.isnan(calls[7])  # [1] is not hashable: asked each time; the rest once


def test_two_rows_of_one_asset_in_a_chunk_stage_the_first_and_report_the_second(areas, admin_user, tmp_path):
    asset = make_asset(actor=admin_user, name="旧名", asset_type=AssetType.WATER_SUPPLY, area=areas.west_south)
    data = b.rows(2)
    for row, name in zip(data, ["改名一", "改名二"], strict=True):
        row["资产编号"] = asset.code
        row["资产名称"] = name
        row["经度"], row["纬度"] = asset.point.x, asset.point.y
        row["所属村"] = areas.west_south.name
    path = b.write_csv(tmp_path / "a.csv", data, header=b.HEADER)
    report = assets_import(actor=admin_user, path=path, skip_invalid=True)
    assert (report.updated, report.invalid) == (1, 1)
    assert [(e.row, e.field) for e in report.errors] == [(3, "资产编号")]
    asset.refresh_from_db()
    assert asset.name == "改名一"
    assert asset.history.count() == 2  # created, then the first row's change


def test_an_import_leaves_the_cycle_collector_as_it_found_it():
    """The import relaxes the collector (services._gc_relaxed) and restores it; a process that froze its own start
    (a web worker, config.process) keeps what it froze."""
    import gc

    from importers.services import _gc_relaxed

    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert frozen == 0  # the test process freezes nothing of its own
    with _gc_relaxed():
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] >= 5000
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
    gc.freeze()
    try:
        started = gc.get_freeze_count()
        with _gc_relaxed():
            pass
        assert gc.get_freeze_count() >= started and gc.get_threshold() == threshold
    finally:
        gc.unfreeze()
