"""Export → re-import of the whole register in every format changes nothing."""

import pytest

from geo_assets.models import Asset
from tests.importers.conftest import run, run_report

FORMATS = [("gpkg", "out.gpkg"), ("shp", "out.zip"), ("geojson", "out.geojson"), ("kml", "out.kml"),
           ("xlsx", "out.xlsx"), ("csv", "out.csv")]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt,name", FORMATS)
def test_export_reimport_is_unchanged(register_small, tmp_path, fmt, name):
    out = tmp_path / name
    code, text = run("export_assets", "-o", str(out), "--format", fmt)
    assert code == 0, text
    assert "4" in text
    if fmt == "kml":
        assert "<name>西南村通组道路</name>" in out.read_text(encoding="utf-8")
        assert '<SimpleData name="资产编号">' in out.read_text(encoding="utf-8")
    code, report = run_report(tmp_path, out)
    assert code == 0, report
    assert (report["read"], report["created"], report["updated"], report["invalid"], report["unchanged"]) == (
        4, 0, 0, 0, 4), report
    assert Asset.objects.count() == 4


@pytest.mark.django_db
def test_demo_county_round_trip_every_format(tmp_path):
    """The whole demo county (geo_assets/demo.py) survives export → re-import in every format unchanged."""
    code, out = run("load_demo")
    assert code == 0, out
    total = Asset.objects.count()
    assert total > 2000
    for fmt, name in FORMATS:
        out = tmp_path / name
        assert run("export_assets", "-o", str(out), "--format", fmt)[0] == 0
        code, report = run_report(tmp_path, out)
        assert code == 0, (fmt, report)
        assert (report["created"], report["updated"], report["invalid"], report["unchanged"]) == (
            0, 0, 0, total), (fmt, report)
    assert Asset.objects.count() == total
