"""The export benchmark (bench/export.py) runs end to end on the test world, so it cannot rot."""

from types import SimpleNamespace

from bench import export


def test_export_benchmark_quick(committed_world, tmp_path, settings):
    settings.EXPORT_MAX_ASSETS = 10
    rows = export.export_benchmark(SimpleNamespace(quick=True, repeat=1, scale=1.0, out=str(tmp_path)))
    names = [r["name"] for r in rows]
    assert len(rows) == 2 + len(export.FORMATS) + 1, names
    assert names[0].startswith("export gpkg, ") and "vs ogr2ogr PostGIS → GPKG" in names[0]
    assert [n.split(":")[0] for n in names[2:5]] == ["export gpkg", "export xlsx", "export csv"]
    assert names[-1].startswith("export xlsx of the web's limit (10 assets")
    for r in rows:
        assert r["value"] > 0 and r["anchor"] > 0 and r["target"] is None and r["pass"] is None  # quick: no targets
    assert rows[-1]["anchor"] == export.PROXY_WAIT_S
    (township, _n), (village, _m) = export._areas()
    assert village.parent_id == township.pk and township.name in names[2] and village.name in names[2]
    assert sorted(p.name for p in tmp_path.joinpath("export").glob("*.csv")) == sorted(
        [f"{township.code}.csv", f"{village.code}.csv"])
