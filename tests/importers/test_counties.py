"""Issue 19: a county imports into its own county only; a row of another county is refused, saying so."""

from geo_assets.models import Asset
from tests.importers import builders as b
from tests.importers.conftest import run_report


def test_a_row_in_another_county_is_refused_with_its_county(county_world, tmp_path):
    data = b.rows(1)
    data.append({**data[0], "资产名称": "乙县的井", "经度": 111.80, "纬度": 33.85})  # in county B (嵩县)
    before = Asset.objects.count()
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--user", "admin_a")
    assert code == 1 and Asset.objects.count() == before  # all or nothing
    assert [e["row"] for e in report["errors"]] == [3]
    assert "其他县" in report["errors"][0]["message"] and "410325000000" in report["errors"][0]["message"]
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data), "--user", "admin_b")
    assert code == 1 and "其他县" in report["errors"][0]["message"]  # B's administrator: the first row is A's
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "a.csv", data[:1]), "--user", "admin_a")
    assert code == 0 and Asset.objects.filter(name="饮水井1", county="410324000000").exists()


def test_a_county_imports_its_own_areas_only(county_world, tmp_path):
    from geo_assets.models import AdminArea
    from tests.importers.conftest import run

    gdf = b.frame([{"村代码": "410325101002", "村名称": "嵩南村", "乡镇代码": "410325101000"}],
                  [b.square(111.75, 33.8, 0.05)])
    path = b.write_gis(tmp_path / "村.gpkg", gdf)
    code, out = run("import_areas", str(path), "--level", "village", "--user", "admin_a")
    assert code != 0 and "其他县" in out and not AdminArea.objects.filter(code="410325101002").exists()
    code, out = run("import_areas", str(path), "--level", "village", "--user", "admin_b")
    assert code == 0, out
    assert AdminArea.objects.get(code="410325101002").parent.code == "410325101000"
    new_county = b.frame([{"乡镇代码": "410326101", "乡镇名称": "新镇"}], [b.square(111.9, 33.8, 0.05)])
    code, out = run("import_areas", str(b.write_gis(tmp_path / "乡镇.gpkg", new_county)), "--level", "township",
                    "--user", "admin_b")
    assert code != 0 and "系统管理员" in out and not AdminArea.objects.filter(code__startswith="410326").exists()


def test_a_project_ledger_names_a_township_of_its_own_county(county_world, tmp_path):
    """Two counties each have a township of one name (城关镇): a county's project ledger naming it meant that
    county's, but the import found two and refused the row (review of session 23)."""
    from geo_assets.models import AdminArea
    from projects.models import Project
    from tests.importers.conftest import run_ledger

    AdminArea.objects.filter(code=county_world.p.township_b.code).update(name="西镇")  # B's township, A's name
    rows = b.project_rows(1, department="交通运输局")
    code, report = run_ledger(tmp_path, "import_projects", b.write_csv(tmp_path / "p.csv", rows), "--user", "admin_a")
    assert code == 0, report
    assert Project.objects.get(code="XM2024-001").township.code == "410324101000"
