"""Issue 22: a GeoPackage is read as one Arrow stream in batches; its rows are the ones the chunked reading
(pyogrio.read_dataframe with skip_features) gives, cell for cell, whatever the field types."""

import datetime
import math

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from importers import readers, vocab
from importers.readers import ledger_open


def _gpkg(path):
    n = 7
    gdf = gpd.GeoDataFrame({
        vocab.NAME: ["井一", None, "", "井四", "路五", "桥六", "渠七"],
        vocab.YEAR: pd.array([2016, None, 2018, 2019, 2020, 2021, 2022], dtype="Int64"),
        vocab.INVESTMENT: [10.5, float("nan"), None, 0.0, -1.25, 1e12, 3.0],
        vocab.CUSTODIAN: pd.to_datetime(["2020-01-02", None, "2021-12-31", "2022-06-30", None, "2019-02-28",
                                 "2018-03-01"]).date,
        vocab.NOTE: pd.to_datetime(["2020-01-02 03:04:05", None, "2021-12-31 23:59:59", "2022-06-30 12:00:00", None,
                              "2019-02-28 00:00:00", "2018-03-01 01:02:03"]),
        vocab.PHONE: pd.array([True, False, None, True, False, True, False], dtype="boolean"),
    }, geometry=[Point(111.6, 33.8), None, Point(111.61, 33.81), LineString([(111.6, 33.8), (111.62, 33.82)]),
                 Point(111.63, 33.83), Point(111.64, 33.84), Point(111.65, 33.85)][:n], crs="EPSG:4490")
    gdf.to_file(path, driver="GPKG", engine="pyogrio", layer="台账")
    return path


def _read(path, tmp_path, *, arrow: bool, size: int):
    original = readers._arrow
    readers._arrow = lambda: arrow
    try:
        ledger = ledger_open(path, workdir=tmp_path)
        try:
            return [[(r.number, r.values, None if r.geometry is None else r.geometry.wkb, r.layer, r.crs)
                     for r in chunk] for chunk in ledger.chunks(size)]
        finally:
            ledger.close()
    finally:
        readers._arrow = original


def test_arrow_rows_are_the_chunked_rows(tmp_path):
    path = _gpkg(tmp_path / "台账.gpkg")
    for size in (3, 7, 100):
        by_arrow = _read(path, tmp_path, arrow=True, size=size)
        by_chunks = _read(path, tmp_path, arrow=False, size=size)
        assert by_arrow == by_chunks
        assert [len(c) for c in by_arrow] == [len(c) for c in by_chunks if c]
        rows = [r for chunk in by_arrow for r in chunk]
        assert [r[0] for r in rows] == list(range(1, 8))
        values = [r[1] for r in rows]
        assert values[1][vocab.NAME] is None and values[2][vocab.NAME] in ("", None)
        assert values[1][vocab.INVESTMENT] is None and values[3][vocab.INVESTMENT] == 0.0  # NaN and NULL: empty
        assert values[0][vocab.YEAR] == 2016 and values[1][vocab.YEAR] is None
        assert values[0][vocab.CUSTODIAN] == "2020-01-02"  # a column of dates is written as text
        assert isinstance(values[0][vocab.NOTE], datetime.datetime) and values[1][vocab.NOTE] is None
        assert values[0][vocab.PHONE] is True and values[2][vocab.PHONE] is None
        assert rows[1][2] is None and rows[0][4] is not None
        assert not any(isinstance(v, float) and math.isnan(v) for r in values for v in r.values())
