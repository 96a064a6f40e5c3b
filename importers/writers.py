"""Writing ledger rows to files: GIS formats through pyogrio, XLSX through openpyxl, CSV as UTF-8 with BOM.

Spreadsheet cells (CSV, XLSX) are protected against formula injection (vocab.cell_protect): text starting with
= + - @ tab or CR gets a leading quote, which the importer removes again. GIS formats keep typed attribute fields
that no spreadsheet evaluates, so they carry the text as it is.
"""

import csv
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from importers import vocab

GIS_DRIVERS = {"gpkg": "GPKG", "geojson": "GeoJSON", "kml": "LIBKML", "shp": "ESRI Shapefile"}
# The layer and shapefile names of the exchange format, like its column names (vocab), are the same in every
# interface language, so a ledger file looks alike whoever exported it.
LAYER = "资产台账"  # i18n: data
SHP_PARTS = {"Point": "点", "MultiLineString": "线", "MultiPolygon": "面"}  # i18n: data
BATCH = 2000


def write(fmt: str, path: Path, rows: Iterable[tuple[dict, object]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return _csv(path, rows)
    if fmt == "xlsx":
        return _xlsx(path, rows)
    if fmt == "shp":
        return _shp(path, rows)
    return _gis(fmt, path, rows)


def _csv(path: Path, rows) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(vocab.TABLE_COLUMNS)
        for row, _geom in rows:
            writer.writerow([vocab.cell_protect(row.get(c, "")) for c in vocab.TABLE_COLUMNS])
            count += 1
    return count


def _xlsx(path: Path, rows) -> int:
    """XlsxWriter row by row in constant memory (openpyxl's write-only mode took ~3× the time per cell). Every text
    is written as text: formulas and links are never made from a cell, whatever it holds."""
    import xlsxwriter

    numeric = {vocab.INVESTMENT, vocab.QUANTITY, vocab.LON, vocab.LAT, vocab.YEAR}
    kinds = [(column, column in numeric, column == vocab.YEAR) for column in vocab.TABLE_COLUMNS]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    try:
        ws = wb.add_worksheet(LAYER)
        ws.write_row(0, 0, vocab.TABLE_COLUMNS)
        count = 0
        for row, _geom in rows:
            count += 1
            for col, (column, is_number, is_year) in enumerate(kinds):
                value = row.get(column, "")
                if value == "" or value is None:
                    continue
                if is_number:
                    ws.write_number(count, col, int(value) if is_year else float(value))
                else:
                    ws.write_string(count, col, vocab.cell_protect(value))
    finally:
        wb.close()
    return count


def _frames(rows, columns, rename=None):
    import geopandas as gpd

    batch, geoms = [], []
    for row, geom in rows:
        batch.append({(rename or {}).get(c, c): row.get(c, "") for c in columns})
        geoms.append(geom)
        if len(batch) >= BATCH:
            yield gpd.GeoDataFrame(batch, geometry=geoms, crs="EPSG:4490")
            batch, geoms = [], []
    if batch:
        yield gpd.GeoDataFrame(batch, geometry=geoms, crs="EPSG:4490")


def _gis(fmt: str, path: Path, rows) -> int:
    import pyogrio

    if path.exists():
        path.unlink()
    if fmt == "kml":
        # 资产名称 becomes each placemark's <name> (shown by Google Earth and phone map apps); read back as "Name".
        pyogrio.set_gdal_config_options({"LIBKML_NAME_FIELD": vocab.NAME})
    try:
        return _gis_frames(fmt, path, rows)
    finally:
        if fmt == "kml":
            pyogrio.set_gdal_config_options({"LIBKML_NAME_FIELD": None})


def _gis_frames(fmt: str, path: Path, rows) -> int:
    import pyogrio

    count = 0
    for frame in _frames(rows, vocab.LEDGER_COLUMNS):
        if fmt in ("geojson", "kml"):
            frame = frame.set_crs("EPSG:4326", allow_override=True)  # CGCS2000 ≡ WGS84 at map scale (DESIGN §4)
        kwargs = {"geometry_type": "Unknown"} if fmt == "gpkg" else {}
        pyogrio.write_dataframe(frame, path, layer=LAYER, driver=GIS_DRIVERS[fmt], append=count > 0, **kwargs)
        count += len(frame)
    if count == 0:
        import geopandas as gpd

        empty = gpd.GeoDataFrame({c: [] for c in vocab.LEDGER_COLUMNS}, geometry=[], crs="EPSG:4490")
        pyogrio.write_dataframe(empty, path, layer=LAYER, driver=GIS_DRIVERS[fmt],
                                **({"geometry_type": "Unknown"} if fmt == "gpkg" else {}))
    return count


def _shp(path: Path, rows) -> int:
    """One shapefile per geometry kind (a shapefile holds one kind), GBK with .cpg, names ≤ 10 bytes.

    -o x.zip writes a zip of 资产台账_点/线/面.shp; -o x.shp writes x_点.shp, x_线.shp, x_面.shp beside it.
    """
    import pyogrio

    count = 0
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        folder = Path(tmp)
        stem = LAYER if path.suffix.lower() == ".zip" else path.stem
        written: set[str] = set()
        for frame in _frames(rows, vocab.LEDGER_COLUMNS, vocab.SHP_FIELD_NAMES):
            for kind, part in SHP_PARTS.items():
                sub = frame[frame.geometry.geom_type == kind]
                if sub.empty:
                    continue
                target = folder / f"{stem}_{part}.shp"
                pyogrio.write_dataframe(sub, target, driver="ESRI Shapefile", encoding="GBK",
                                        append=target.name in written)
                written.add(target.name)
                count += len(sub)
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(folder.iterdir()):
                    zf.write(f, f.name)
        else:
            for f in folder.iterdir():
                shutil.move(str(f), path.parent / f.name)
    return count
