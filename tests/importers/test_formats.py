"""Every input format, including the mess real files bring."""

import zipfile

import pytest

from geo_assets.models import Asset
from importers import vocab
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db


def created(tmp_path, path, *extra, expect=2):
    code, report = run_report(tmp_path, path, *extra)
    assert code == 0, report
    assert report["created"] == expect and report["invalid"] == 0, report
    return report


def test_gpkg(areas, admin_user, tmp_path):
    created(tmp_path, b.write_gis(tmp_path / "a.gpkg", b.frame(b.rows())))
    assert set(Asset.objects.values_list("village__name", flat=True)) == {"西南村", "东北村"}


def test_geojson_mixed_geometries(areas, admin_user, tmp_path):
    props = {"资产名称": "路", "资产类型": "道路交通"}
    text = b.geojson_text([
        (props, {"type": "LineString", "coordinates": [[111.52, 33.85], [111.58, 33.86]]}),
        ({"资产名称": "棚", "资产类型": "设施农业"},
         {"type": "Polygon", "coordinates": [[[111.62, 33.82], [111.63, 33.82], [111.63, 33.83], [111.62, 33.82]]]}),
    ])
    (tmp_path / "a.geojson").write_text(text, encoding="utf-8")
    created(tmp_path, tmp_path / "a.geojson")
    assert Asset.objects.get(name="路").line is not None
    assert Asset.objects.get(name="棚").polygon is not None


def test_shapefile_plain_utf8_with_cpg_names_cut_mid_character(areas, admin_user, tmp_path):
    # GDAL cuts UTF-8 names at 10 bytes: 资产名称 → 资产名 + half a character, 资产类型 → 资产类 + half.
    data = [{k: r[k] for k in ("资产名称", "资产类型", "经度", "纬度")} for r in b.rows()]
    path = b.write_gis(tmp_path / "a.shp", b.frame(data), encoding="UTF-8")
    assert path.with_suffix(".cpg").exists()
    mapping = tmp_path / "m.json"
    mapping.write_text('{"资产类": "资产类型"}', encoding="utf-8")  # 资产类 could be 资产类别 or 资产类型
    created(tmp_path, path, "--mapping", mapping)
    assert Asset.objects.filter(name="饮水井2", asset_type="water_supply").exists()


def test_shapefile_gbk_without_cpg_and_truncated_names(areas, admin_user, tmp_path):
    data = [{vocab.SHP_FIELD_NAMES[k]: v for k, v in r.items()} for r in b.rows()]
    for r in data:
        r["行政区划代"] = "410324101001" if r["经度"] < 111.6 else "410324102002"
    path = b.write_gis(tmp_path / "gbk.shp", b.frame(data, [b.Point(r["经度"], r["纬度"]) for r in data]),
                       encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert "投资金额（" in data[0]
    report = created(tmp_path, path)
    assert not any("未识别" in w for w in report["warnings"]), report["warnings"]
    assert Asset.objects.filter(name="饮水井1", total_investment=10).exists()


def test_shapefile_gbk_with_encoding_option(areas, admin_user, tmp_path):
    path = b.write_gis(tmp_path / "gbk.shp", b.frame(b.rows()), encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    created(tmp_path, path, "--encoding", "GBK")


def test_shapefile_zipped(areas, admin_user, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    path = b.write_gis(folder / "资产.shp", b.frame(b.rows()), encoding="GBK")
    z = b.zip_files(tmp_path / "资产.zip", sorted(folder.iterdir()), [f"数据/{p.name}" for p in sorted(folder.iterdir())])
    assert path.exists()
    created(tmp_path, z)


def test_kml_extended_data_chinese_names(areas, admin_user, tmp_path):
    text = b.kml_text([({"资产名称": "井甲", "资产类型": "供水饮水", "投资金额（万元）": "5"}, "111.55,33.85,0"),
                       ({"资产名称": "井乙", "资产类型": "供水饮水", "所属村": "东北村"}, "111.65,33.95,120")])
    (tmp_path / "a.kml").write_text(text, encoding="utf-8")
    created(tmp_path, tmp_path / "a.kml")
    assert Asset.objects.get(name="井甲").total_investment == 5
    assert not Asset.objects.get(name="井乙").point.hasz


def test_kmz(areas, admin_user, tmp_path):
    text = b.kml_text([({"资产名称": "井甲", "资产类型": "供水饮水"}, "111.55,33.85")])
    with zipfile.ZipFile(tmp_path / "a.kmz", "w") as zf:
        zf.writestr("doc.kml", text)
    created(tmp_path, tmp_path / "a.kmz", expect=1)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_detected(areas, admin_user, tmp_path, encoding):
    created(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows(), encoding=encoding))
    assert Asset.objects.filter(name="饮水井1", village__name="西南村").exists()


def test_xlsx_with_title_note_total_rows_and_messy_headers(areas, admin_user, tmp_path):
    labels = {"投资金额（万元）": " 投资金额(万元) ", "资产名称": "资产 名称", "所属村": "所属村（社区）", "经度": "东经"}
    path = b.write_xlsx(tmp_path / "a.xlsx", b.rows(), header_labels=labels)
    report = created(tmp_path, path)
    assert report["read"] == 2


def test_xlsx_row_numbers_are_excel_rows(areas, admin_user, tmp_path):
    data = b.rows(3)
    data[1]["资产类型"] = "飞船"
    code, report = run_report(tmp_path, b.write_xlsx(tmp_path / "a.xlsx", data))
    assert code == 1
    # title (1), note (2), header (3), rows 4..6: the bad one is Excel row 5
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(5, "资产类型")]
    assert "未知的资产类型“飞船”" in report["errors"][0]["message"]


def test_xlsx_dms_coordinates(areas, admin_user, tmp_path):
    data = b.rows(1)
    data[0]["经度"], data[0]["纬度"] = "111°33′00″E", "33°51′00″N"
    created(tmp_path, b.write_xlsx(tmp_path / "a.xlsx", data), expect=1)
    p = Asset.objects.get().point
    assert abs(p.x - 111.55) < 1e-9 and abs(p.y - 33.85) < 1e-9


def test_wkt_column_for_lines(areas, admin_user, tmp_path):
    data = [{"资产名称": "路", "资产类型": "道路交通", "WKT": "LINESTRING (111.52 33.85, 111.58 33.86)"}]
    created(tmp_path, b.write_csv(tmp_path / "a.csv", data), expect=1)
    assert Asset.objects.get().village.name == "西南村"


def test_mapping_file(areas, admin_user, tmp_path):
    data = [{"设施名": "井", "设施类": "供水饮水", "X": 111.55, "Y": 33.85}]
    mapping = tmp_path / "map.json"
    mapping.write_text('{"设施名": "资产名称", "设施类": "资产类型", "X": "经度", "Y": "纬度"}', encoding="utf-8")
    created(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--mapping", mapping, expect=1)


def test_layer_option_selects_a_gpkg_layer(areas, admin_user, tmp_path):
    path = tmp_path / "a.gpkg"
    b.write_gis(path, b.frame(b.rows(1)), layer="wells")
    b.write_gis(path, b.frame(b.rows(2, start=5)), layer="more", mode="a")
    created(tmp_path, path, "--layer", "more")
    assert not Asset.objects.filter(name="饮水井1").exists()


def test_xlsx_sheet_chosen_with_layer(areas, admin_user, tmp_path):
    path = b.write_xlsx(tmp_path / "a.xlsx", b.rows(2))
    import openpyxl

    wb = openpyxl.load_workbook(path)
    other = wb.create_sheet("第二批")
    other.append(b.HEADER)
    row = b.rows(1, start=7)[0]
    other.append([row.get(h) for h in b.HEADER])
    wb.save(path)
    created(tmp_path, path, "--layer", "第二批", expect=1)
    assert Asset.objects.get().name == "饮水井7"


def test_zip_with_a_geopackage_inside(areas, admin_user, tmp_path):
    gpkg = b.write_gis(tmp_path / "inner.gpkg", b.frame(b.rows()))
    created(tmp_path, b.zip_files(tmp_path / "a.zip", [gpkg]))
