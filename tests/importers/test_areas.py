"""import_areas: boundaries with 乡镇代码/乡镇名称 and 村代码/村名称 columns, in any CRS."""

import pytest

from geo_assets.models import AdminArea
from tests.importers import builders as b
from tests.importers.conftest import run

pytestmark = pytest.mark.django_db


def townships(tmp_path, crs="EPSG:4490"):
    gdf = b.frame([{"乡镇代码": "410324101", "乡镇名称": "西镇"}, {"乡镇代码": "410324102", "乡镇名称": "东镇"}],
                  [b.square(111.5, 33.8, 0.1).buffer(0), b.square(111.6, 33.8, 0.1)], crs=crs)
    return b.write_gis(tmp_path / "乡镇.gpkg", gdf)


def villages(tmp_path):
    gdf = b.frame([{"村代码": "410324101001", "村名称": "西南村", "乡镇代码": "410324101000"},
                   {"村代码": "410324102001", "村名称": "东南村", "乡镇代码": "410324102000"}],
                  [b.square(111.5, 33.8, 0.1), b.square(111.6, 33.8, 0.1)])
    folder = tmp_path / "v"
    folder.mkdir()
    b.write_gis(folder / "村.shp", gdf, encoding="GBK")
    return b.zip_files(tmp_path / "村.zip", sorted(folder.iterdir()))


def test_townships_then_villages(admin_user, tmp_path):
    code, out = run("import_areas", str(townships(tmp_path)), "--level", "township")
    assert code == 0, out
    county = AdminArea.objects.get(level="county")
    assert county.code == "410324000000"
    assert AdminArea.objects.get(code="410324101000").parent == county
    code, out = run("import_areas", str(villages(tmp_path)), "--level", "village")
    assert code == 0, out
    assert AdminArea.objects.get(name="东南村").parent.name == "东镇"
    code, out = run("import_areas", str(tmp_path / "村.zip"), "--level", "village")
    assert code == 0 and "未变 2" in out


def test_village_without_township_is_invalid_and_nothing_written(admin_user, tmp_path):
    code, out = run("import_areas", str(villages(tmp_path)), "--level", "village")
    assert code == 1 and "请先导入上一级" in out
    assert not AdminArea.objects.exists()


def test_projected_boundaries(admin_user, tmp_path):
    gdf = b.frame([{"乡镇代码": "410324101", "乡镇名称": "西镇"}], [b.square(111.5, 33.8, 0.1)]).to_crs(4525)
    path = b.write_gis(tmp_path / "t.gpkg", gdf)
    code, out = run("import_areas", str(path), "--level", "township")
    assert code == 0, out
    x0, y0, x1, y1 = AdminArea.objects.get(code="410324101000").geom.extent
    assert abs(x0 - 111.5) < 1e-6 and abs(y1 - 33.9) < 1e-6


def test_bad_codes(admin_user, tmp_path):
    gdf = b.frame([{"乡镇代码": "41x", "乡镇名称": "西镇"}], [b.square(111.5, 33.8, 0.1)])
    code, out = run("import_areas", str(b.write_gis(tmp_path / "t.gpkg", gdf)), "--level", "township")
    assert code == 1 and "12 位" in out


def test_clerk_may_not_import_areas(areas, tmp_path):
    from tests.factories import make_user

    make_user("clerk", "village", area=areas.west_south)
    code, out = run("import_areas", str(townships(tmp_path)), "--level", "township", "--user", "clerk")
    assert code == 2 and "县级管理员" in out
