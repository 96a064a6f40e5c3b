"""Every CRS family: EPSG 4326/4490, Gauss-Krüger with and without zone prefix, Xian 1980, Beijing 1954,
GCJ-02 and BD-09 (within a metre), and Z values dropped."""

import pytest
from pyproj import Geod, Transformer

from geo_assets.models import Asset
from importers.coords import (
    bd09_to_wgs84,
    degrees_parse,
    gcj02_to_wgs84,
    gk_zone_epsg,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")
TRUTH = [(111.55, 33.85), (111.65, 33.95)]


def metres(p, q):
    return GEOD.inv(p[0], p[1], q[0], q[1])[2]


def stored():
    return [(a.point.x, a.point.y) for a in Asset.objects.order_by("name")]


def projected_rows(epsg: int, *, prefix: int = 0):
    t = Transformer.from_crs(4490, epsg, always_xy=True)
    data = b.rows(2)
    for r, (lon, lat) in zip(data, TRUTH, strict=True):
        x, y = t.transform(lon, lat)
        r["经度"], r["纬度"] = x + prefix * 1_000_000, y
    return data


def check_truth(tolerance_m=0.01):
    for got, want in zip(stored(), TRUTH, strict=True):
        assert metres(got, want) < tolerance_m, (got, want)


def imported(tmp_path, path, *extra, expect=2):
    code, report = run_report(tmp_path, path, *extra)
    assert code == 0, report
    assert report["created"] == expect, report


def truth_rows():
    data = b.rows(2)
    for r, (lon, lat) in zip(data, TRUTH, strict=True):
        r["经度"], r["纬度"] = lon, lat
    return data


@pytest.mark.parametrize("epsg", [4326, 4490])
def test_geographic_gpkg(areas, admin_user, tmp_path, epsg):
    imported(tmp_path, b.write_gis(tmp_path / "a.gpkg", b.frame(truth_rows(), crs=f"EPSG:{epsg}")))
    check_truth()


def test_gauss_kruger_zone_with_prefix_in_file_crs(areas, admin_user, tmp_path):
    data = projected_rows(4525)  # CGCS2000 3-degree GK zone 37: false easting 37 500 000
    assert data[0]["经度"] > 37_000_000
    gdf = b.frame(data, [b.Point(r["经度"], r["纬度"]) for r in data], crs="EPSG:4525")
    imported(tmp_path, b.write_gis(tmp_path / "a.shp", gdf, encoding="GBK"))
    check_truth()


def test_gauss_kruger_cm_crs_with_zone_prefix_in_coordinates(areas, admin_user, tmp_path):
    # EPSG:4546 (CM 111E, false easting 500 km) but the surveyor kept the zone number 37 in front.
    data = projected_rows(4546, prefix=37)
    gdf = b.frame(data, [b.Point(r["经度"], r["纬度"]) for r in data], crs="EPSG:4546")
    imported(tmp_path, b.write_gis(tmp_path / "a.gpkg", gdf))
    check_truth()


def test_gauss_kruger_without_prefix_needs_crs(areas, admin_user, tmp_path):
    path = b.write_csv(tmp_path / "a.csv", projected_rows(4546))
    code, report = run_report(tmp_path, path)
    assert code == 1 and "--crs" in report["errors"][0]["message"]
    imported(tmp_path, path, "--crs", "EPSG:4546")
    check_truth()


def test_csv_gauss_kruger_prefix_detected_without_crs(areas, admin_user, tmp_path):
    assert gk_zone_epsg(37_512_345.6) == 4525 and gk_zone_epsg(19_500_000) == 4497
    imported(tmp_path, b.write_csv(tmp_path / "a.csv", projected_rows(4525)))
    check_truth()


@pytest.mark.parametrize("epsg", [2361, 2413, 21419], ids=["xian80-3deg-z37", "beijing54-3deg-z37", "beijing54-6deg-z19"])
def test_xian80_and_beijing54(areas, admin_user, tmp_path, epsg):
    data = projected_rows(epsg)
    gdf = b.frame(data, [b.Point(r["经度"], r["纬度"]) for r in data], crs=f"EPSG:{epsg}")
    imported(tmp_path, b.write_gis(tmp_path / "a.gpkg", gdf))
    check_truth(tolerance_m=0.5)
    imported(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows(2, start=10) and projected_rows(epsg)),
             "--crs", f"EPSG:{epsg}", expect=0)  # same assets again: unchanged


KNOWN = [(111.6, 33.9), (116.397, 39.908), (121.4737, 31.2304), (113.2644, 23.1291)]


@pytest.mark.parametrize("lon,lat", KNOWN)
def test_obfuscation_inverse_within_a_metre(lon, lat):
    g = wgs84_to_gcj02(lon, lat)
    assert metres(g, (lon, lat)) > 100  # the offset is real (hundreds of metres)
    assert metres(gcj02_to_wgs84(*g), (lon, lat)) < 0.01
    bd = wgs84_to_bd09(lon, lat)
    assert metres(bd09_to_wgs84(*bd), (lon, lat)) < 0.01


def test_known_pair_tiananmen():
    # Published pair: WGS84 116.3912757, 39.906217 ↔ GCJ-02 116.3975, 39.9074 (Amap, ±1 m)
    assert metres(gcj02_to_wgs84(116.397477, 39.908692), (116.391248, 39.907291)) < 2


@pytest.mark.parametrize("system,forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_obfuscated_csv(areas, admin_user, tmp_path, system, forward):
    data = truth_rows()
    for r in data:
        r["经度"], r["纬度"] = forward(r["经度"], r["纬度"])
    imported(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--crs", system)
    check_truth(tolerance_m=1.0)


def test_obfuscated_kml_line(areas, admin_user, tmp_path):
    (x0, y0), (x1, y1) = wgs84_to_gcj02(111.52, 33.85), wgs84_to_gcj02(111.58, 33.86)
    text = b.geojson_text([({"资产名称": "路", "资产类型": "道路交通"},
                            {"type": "LineString", "coordinates": [[x0, y0, 800], [x1, y1, 900]]})])
    (tmp_path / "a.geojson").write_text(text, encoding="utf-8")
    imported(tmp_path, tmp_path / "a.geojson", "--crs", "gcj02", expect=1)
    line = Asset.objects.get().line
    assert not line.hasz
    assert metres(line[0][0], (111.52, 33.85)) < 1 and metres(line[0][1], (111.58, 33.86)) < 1


def test_z_dropped_3d_polygon(areas, admin_user, tmp_path):
    ring = [[111.62, 33.82, 5], [111.63, 33.82, 5], [111.63, 33.83, 6], [111.62, 33.82, 5]]
    text = b.geojson_text([({"资产名称": "棚", "资产类型": "设施农业"}, {"type": "Polygon", "coordinates": [ring]})])
    (tmp_path / "a.geojson").write_text(text, encoding="utf-8")
    imported(tmp_path, tmp_path / "a.geojson", expect=1)
    assert not Asset.objects.get().polygon.hasz


def test_degrees_parse_variants():
    assert abs(degrees_parse("111°35′43.7″E") - 111.595472) < 1e-6
    assert abs(degrees_parse("33度52分10秒") - 33.869444) < 1e-6
    assert abs(degrees_parse("N33:52:10") - 33.869444) < 1e-6
    assert degrees_parse("111°35'43.7\"W") < 0
    assert degrees_parse("abc") is None
    assert degrees_parse(" 111.5 ") == 111.5


def test_bad_crs_is_unreadable(areas, admin_user, tmp_path):
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", b.rows()), "--crs", "EPSG:999999")
    assert code == 2 and "坐标系" in report["output"]
