"""Opening ledger files safely and reading them in bounded chunks.

GeoPandas/pyogrio live here (and in exports); everything else sees RawRow objects: the row number a clerk sees,
the cells keyed by ledger column, and for GIS formats the feature's shapely geometry with the layer's CRS.
"""

import csv
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from importers import vocab
from importers.report import joined

CHUNK = 2000
# KML fields GDAL's LIBKML driver adds to every layer; not ledger columns, not worth a warning.
KML_STANDARD_FIELDS = {"id", "name", "description", "timestamp", "begin", "end", "altitudemode", "tessellate",
                       "extrude", "visibility", "draworder", "icon", "snippet"}


def _gdal_configure() -> None:
    """LIBKML launders non-ASCII <Data name="..."> to underscores unless told not to: Chinese names must survive."""
    import pyogrio

    pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})


class LedgerUnreadable(Exception):
    """The file cannot be read at all (exit status 2). The message is for the clerk, in the interface language."""


GIS_EXTS = {".gpkg", ".shp", ".geojson", ".json", ".kml", ".kmz"}
TABLE_EXTS = {".csv", ".txt", ".xlsx", ".xlsm"}
ARCHIVE_EXTS = {".zip"}
SUPPORTED_EXTS = GIS_EXTS | TABLE_EXTS | ARCHIVE_EXTS


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# ---------------------------------------------------------------- file type and safety

def _content_kind(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shp"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"GIF8"):
        return "image"
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return "program"
    if b"\x00" in head:
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    return "text"


KIND_NAMES = {
    "zip": gettext_lazy("a ZIP archive"), "sqlite": gettext_lazy("a SQLite/GeoPackage database"),
    "shp": gettext_lazy("a shapefile"), "ole": gettext_lazy("an old Office file (such as .xls)"),
    "pdf": gettext_lazy("a PDF document"), "image": gettext_lazy("an image"),
    "program": gettext_lazy("an executable program"), "binary": gettext_lazy("a binary file"),
    "json": gettext_lazy("JSON text"), "xml": gettext_lazy("XML text"), "text": gettext_lazy("plain text"),
}
EXPECTED_KINDS = {
    ".zip": {"zip"}, ".kmz": {"zip"}, ".xlsx": {"zip"}, ".xlsm": {"zip"}, ".gpkg": {"sqlite"}, ".shp": {"shp"},
    ".geojson": {"json"}, ".json": {"json"}, ".kml": {"xml"}, ".csv": {"text", "json"}, ".txt": {"text"},
}


def file_check(path: Path, name: str | None = None) -> str:
    """Refuse empty files, unknown extensions and files whose content is not what their extension says."""
    name = name or path.name
    ext = Path(name).suffix.lower()
    if not path.exists():
        raise LedgerUnreadable(_("File not found: %(name)s") % {"name": name})
    if path.stat().st_size == 0:
        raise LedgerUnreadable(_("The file “%(name)s” is empty (0 bytes); nothing was imported.") % {"name": name})
    if ext == ".xls":
        raise LedgerUnreadable(_("Old Excel files (.xls) are not supported: save the file as .xlsx in Excel, then import it."))
    if ext not in SUPPORTED_EXTS:
        raise LedgerUnreadable(
            _("Unsupported file type “%(ext)s”. Supported: GeoPackage, Shapefile (.shp or .zip), GeoJSON, KML/KMZ, "
              "CSV, XLSX.") % {"ext": ext or _("no extension")}
        )
    with path.open("rb") as fh:
        head = fh.read(4096)
    kind = _content_kind(head)
    if kind not in EXPECTED_KINDS[ext]:
        raise LedgerUnreadable(
            _("The content of “%(name)s” does not match its extension: the extension is %(ext)s but the content is "
              "%(kind)s. Refused for safety.") % {"name": name, "ext": ext, "kind": KIND_NAMES[kind]}
        )
    if ext == ".kml" and b"<kml" not in head.lower():
        raise LedgerUnreadable(_("“%(name)s” is not a KML file (it has no <kml> element).") % {"name": name})
    if ext in (".xlsx", ".xlsm", ".kmz", ".zip"):
        _zip_check(path, name)
        if ext in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as zf:
                if "[Content_Types].xml" not in zf.namelist():
                    raise LedgerUnreadable(
                        _("“%(name)s” is not an Excel workbook (it is a plain ZIP archive).") % {"name": name})
    return ext


def _zip_check(path: Path, name: str) -> list[zipfile.ZipInfo]:
    """Zip slip and zip bomb checks on the central directory (extraction re-checks the real byte counts)."""
    max_total = _limit("IMPORT_ZIP_MAX_BYTES", 2 * 1024**3)
    max_ratio = _limit("IMPORT_ZIP_MAX_RATIO", 200)
    max_members = _limit("IMPORT_ZIP_MAX_MEMBERS", 5000)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LedgerUnreadable(
            _("The archive “%(name)s” is damaged and cannot be opened (%(error)s).") % {"name": name, "error": exc})
    if not infos:
        raise LedgerUnreadable(_("The archive “%(name)s” is empty.") % {"name": name})
    if len(infos) > max_members:
        raise LedgerUnreadable(_("The archive “%(name)s” holds too many files (%(count)s, at most %(limit)s).")
                               % {"name": name, "count": len(infos), "limit": max_members})
    total = 0
    for info in infos:
        member = info.filename.replace("\\", "/")
        parts = [p for p in member.split("/") if p not in ("", ".")]
        if member.startswith("/") or ".." in parts or (len(member) > 1 and member[1] == ":"):
            raise LedgerUnreadable(_outside(info.filename))
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise LedgerUnreadable(
                _("“%(member)s” in the archive is a symbolic link; refused for safety.") % {"member": info.filename})
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > 1024 * 1024:
            raise LedgerUnreadable(
                _("The archive “%(name)s” has an abnormal compression ratio (%(member)s is compressed more than "
                  "%(ratio)s:1); it looks like a “zip bomb” and was refused.")
                % {"name": name, "member": info.filename, "ratio": max_ratio}
            )
    if total > max_total:
        raise LedgerUnreadable(
            _("The archive “%(name)s” is too large once extracted (%(size).0f MB, at most %(limit).0f MB); refused.")
            % {"name": name, "size": total / 1024**2, "limit": max_total / 1024**2}
        )
    return infos


def _outside(member: str) -> str:
    return _("The file “%(member)s” in the archive would be written outside the extraction folder; refused for "
             "safety.") % {"member": member}


def zip_extract_safe(path: Path, dest: Path, name: str | None = None) -> list[Path]:
    """Extract a checked zip into dest, counting the bytes really written; returns the extracted files."""
    name = name or path.name
    infos = _zip_check(path, name)
    max_total = _limit("IMPORT_ZIP_MAX_BYTES", 2 * 1024**3)
    root = dest.resolve()
    written = 0
    out: list[Path] = []
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            target = (root / info.filename.replace("\\", "/")).resolve()
            if not target.is_relative_to(root):
                raise LedgerUnreadable(_outside(info.filename))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > max_total:
                        raise LedgerUnreadable(_("The archive “%(name)s” exceeds the limit once extracted; it looks like a "
                                                 "“zip bomb” and was refused.") % {"name": name})
                    dst.write(chunk)
            out.append(target)
    return out


# ---------------------------------------------------------------- rows

@dataclass
class RawRow:
    number: int  # Excel row number (title and header rows included), CSV line, or 1-based feature number
    values: dict[str, Any]  # ledger column → cell value
    geometry: Any = None  # shapely geometry (GIS formats)
    layer: str = ""
    crs: Any = None  # pyproj CRS of the layer, or None


@dataclass
class Ledger:
    """An opened ledger file: which ledger columns it has, and its rows in chunks (can be iterated twice)."""

    path: Path
    kind: str  # "gis" | "csv" | "xlsx"
    name: str
    layers: list[str] = field(default_factory=list)
    encoding: str | None = None
    mapping: dict[str, str] | None = None
    sheet: str | None = None
    columns: set[str] = field(default_factory=set)
    headers: dict[str, str] = field(default_factory=dict)  # file header → ledger column
    unknown_headers: list[str] = field(default_factory=list)
    total: int = 0
    has_geometry: bool = False
    header_row: int = 0
    gis_paths: list[tuple] = field(default_factory=list)  # (dataset, layer, read encoding, text encoding)
    warnings: list[str] = field(default_factory=list)
    csv_dialect: Any = None
    workbook: Any = None  # XLSX: opened once (loading a workbook parses all its shared strings); close() it
    schema: Any = None  # vocab.Schema: which ledger (assets by default, projects, fund lines)
    units: dict[str, str | None] = field(default_factory=dict)  # money column → unit its header names
    sheet_unit: str | None = None  # a note above the header: 单位：元 / 单位：万元

    def __post_init__(self):
        if self.schema is None:
            self.schema = vocab.ASSETS

    def scale(self, column: str) -> Decimal:
        """What an amount of a money column is multiplied by to be in 万元: its header's unit, else the sheet's note,
        else 万元."""
        unit = self.units.get(column) or self.sheet_unit or vocab.UNIT_WAN
        return Decimal("0.0001") if unit == vocab.UNIT_YUAN else Decimal(1)

    def close(self) -> None:
        if self.workbook is not None:
            self.workbook.close()
            self.workbook = None

    def chunks(self, size: int = CHUNK) -> Iterator[list[RawRow]]:
        if self.kind == "gis":
            yield from _gis_chunks(self, size)
        elif self.kind == "csv":
            yield from _batched(_table_rows(self, _csv_cells(self)), size)
        else:
            yield from _batched(_table_rows(self, _xlsx_cells(self)), size)


def _batched(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _map_headers(ledger: Ledger, headers: list) -> dict[int, str]:
    """Column index → ledger column. A canonical header wins over a variant naming the same column."""
    chosen: dict[str, tuple[int, bool]] = {}
    for index, header in enumerate(headers):
        if header is None or str(header).strip() == "":
            continue
        column = ledger.schema.column_for_header(str(header), ledger.mapping)
        if column is None:
            if str(header).lower() not in KML_STANDARD_FIELDS and str(header) not in ledger.unknown_headers:
                ledger.unknown_headers.append(str(header))
            continue
        exact = vocab.header_key(str(header)) == vocab.header_key(column)
        if column not in chosen or (exact and not chosen[column][1]):
            chosen[column] = (index, exact)
    by_index = {index: column for column, (index, _exact) in chosen.items()}
    ledger.columns = set(chosen)
    ledger.headers = {str(headers[i]): c for i, c in by_index.items()}
    ledger.units = {c: ledger.schema.unit_of(str(headers[i]), c) for i, c in by_index.items()
                    if c in ledger.schema.money}
    return by_index


# ---------------------------------------------------------------- GIS

def _dbf_encoding(shp: Path, given: str | None) -> str:
    """The text encoding of a shapefile's DBF: --encoding, else .cpg, else UTF-8 if it decodes, else GB18030."""
    import codecs

    if given:
        return given
    for cpg in (shp.with_suffix(".cpg"), shp.with_suffix(".CPG")):
        if cpg.exists():
            name = cpg.read_text(encoding="ascii", errors="ignore").strip()
            name = f"cp{name}" if name.isdigit() else name
            try:
                return codecs.lookup(name).name
            except LookupError:
                break
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return "utf-8"
    data = dbf.read_bytes()[: 2 * 1024 * 1024]
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4:
            return "utf-8"
    return "gb18030"


def _recode(value, encoding: str | None, *, name: bool = False):
    """Shapefiles are read as latin-1 (raw bytes) and decoded here, so names cut mid-character survive."""
    if encoding is None or not isinstance(value, str):
        return value
    raw = value.encode("latin-1", errors="ignore")
    return raw.decode(encoding, errors="ignore" if name else "replace")


def gis_open(ledger: Ledger, datasets: list[Path], layer: str | None) -> None:
    import pyogrio

    _gdal_configure()
    fields_seen: list[str] = []
    for dataset in datasets:
        try:
            layers = [row[0] for row in pyogrio.list_layers(dataset)]
        except Exception as exc:
            raise LedgerUnreadable(_("Cannot read “%(name)s”: %(error)s") % {"name": ledger.name, "error": exc})
        if layer:
            if layer not in layers:
                if len(datasets) > 1:
                    continue
                raise LedgerUnreadable(_("The file has no layer “%(layer)s”. Its layers: %(layers)s")
                                      % {"layer": layer, "layers": joined(layers)})
            layers = [layer]
        is_shp = dataset.suffix.lower() == ".shp"
        for name in layers:
            read_enc, text_enc = ("ISO-8859-1", _dbf_encoding(dataset, ledger.encoding)) if is_shp else (
                ledger.encoding, None)
            try:
                info = pyogrio.read_info(dataset, layer=name, encoding=read_enc)
            except Exception as exc:
                raise LedgerUnreadable(_("Cannot read the layer “%(layer)s” of “%(name)s”: %(error)s")
                                       % {"layer": name, "name": ledger.name, "error": exc})
            if info.get("geometry_type") is None and dataset.suffix.lower() not in (".kml",):
                continue
            ledger.gis_paths.append((dataset, name, read_enc, text_enc))
            ledger.total += max(int(info.get("features") or 0), 0)
            fields = [_recode(f, text_enc, name=True) for f in info["fields"]]
            fields_seen.extend(f for f in fields if f not in fields_seen)
    if not ledger.gis_paths:
        raise LedgerUnreadable(_("“%(name)s” has no layer that can be read.") % {"name": ledger.name})
    ledger.layers = [entry[1] for entry in ledger.gis_paths]
    ledger.has_geometry = True
    _map_headers(ledger, fields_seen)


@dataclass
class _Frame:
    """A chunk of features: the field names in file order, each field's cells as Python values (empty → None),
    the geometries and the layer's CRS."""

    fields: list[str]
    cells: Any  # field name → list of cells
    geometries: list
    crs: Any


def _gis_frames(dataset: Path, layer: str, enc: str | None, size: int) -> Iterator[_Frame]:
    """The layer in chunks of `size` features, in the order of the file. A GeoPackage (always UTF-8) is read as one
    Arrow stream in batches, a column at a time; other formats by skip_features chunks, whose cost grows with the
    offset (issue 22: row 990 000 of a GeoPackage cost 3× row 0)."""
    import pyogrio

    if dataset.suffix.lower() == ".gpkg" and _arrow():
        yield from _arrow_frames(dataset, layer, size)
        return
    count = int(pyogrio.read_info(dataset, layer=layer, encoding=enc).get("features") or 0)
    offset = 0
    while offset < count:
        df = pyogrio.read_dataframe(dataset, layer=layer, encoding=enc, skip_features=offset, max_features=size,
                                    fid_as_index=False)
        yield _Frame([c for c in df.columns if c != "geometry"], lambda src, df=df: _column_cells(df[src]),
                     df.geometry.tolist() if "geometry" in df.columns else [None] * len(df),
                     getattr(df, "crs", None))
        if len(df) == 0:
            break
        offset += len(df)


def _arrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _arrow_frames(dataset: Path, layer: str, size: int) -> Iterator[_Frame]:
    """Arrow batches, with the cells pyogrio.read_dataframe and _column_cells give: text, integers and booleans
    straight from Arrow, floats with NaN as None; dates and times through pandas as pyogrio converts them
    (tests/importers/test_arrow_read.py compares both readings)."""
    import pandas as pd
    import pyarrow as pa
    import pyogrio
    import shapely
    from pyogrio.geopandas import _try_parse_datetime

    with pyogrio.open_arrow(dataset, layer=layer, batch_size=size, use_pyarrow=True, datetime_as_string=True) as (
            meta, reader):
        geometry_name = meta["geometry_name"] or "wkb_geometry"
        dtypes = dict(zip(meta["fields"], meta["dtypes"], strict=True))
        crs = None
        if meta["crs"]:
            from pyproj import CRS

            crs = CRS.from_user_input(meta["crs"])

        def cells(batch, src):
            array, dtype = batch.column(src), dtypes.get(src)
            kind = array.type
            if dtype is not None and dtype.startswith("datetime"):
                series = array.to_pandas()
                series = pd.to_datetime(series) if dtype == "datetime64[D]" else _try_parse_datetime(
                    series, False, False)
                return _column_cells(series)
            if pa.types.is_floating(kind):
                return [None if v is None or v != v else v for v in array.to_pylist()]
            if (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
                    or pa.types.is_boolean(kind)):
                return array.to_pylist()
            return _column_cells(array.to_pandas())

        for batch in reader:
            if not batch.num_rows:
                continue
            names = [n for n in batch.schema.names if n != geometry_name]
            geoms = (shapely.from_wkb(batch.column(geometry_name).to_numpy(zero_copy_only=False)).tolist()
                     if geometry_name in batch.schema.names else [None] * batch.num_rows)
            yield _Frame(names, lambda src, batch=batch: cells(batch, src), geoms, crs)


def _gis_chunks(ledger: Ledger, size: int) -> Iterator[list[RawRow]]:
    multi = len(ledger.gis_paths) > 1
    for dataset, layer, enc, text_enc in ledger.gis_paths:
        offset = 0
        for frame in _gis_frames(dataset, layer, enc, size):
            columns = {c: vocab.column_for_header(_recode(c, text_enc, name=True), ledger.mapping)
                       for c in frame.fields}
            chosen: dict[str, str] = {}
            for src, col in columns.items():
                if col and (col not in chosen or vocab.header_key(_recode(src, text_enc, name=True)) == vocab.header_key(col)):
                    chosen[col] = src
            # a column at a time: empty cells (None, NaN, NaT, NA — what _cell empties) to None, then decoded
            records = [frame.cells(src) if text_enc is None else [_recode(x, text_enc) for x in frame.cells(src)]
                       for src in chosen.values()]
            geoms, crs, n = frame.geometries, frame.crs, len(frame.geometries)
            names, where = list(chosen), layer if multi else ""
            batch = [RawRow(offset + i + 1, dict(zip(names, cells, strict=True)), geoms[i], where, crs)
                     for i, cells in enumerate(zip(*records, strict=True))] if names else [
                RawRow(offset + i + 1, {}, geoms[i], where, crs) for i in range(n)]
            yield batch
            offset += n


def _column_cells(series) -> list:
    """A column's cells as Python values, an empty one (None, NaN, NaT, NA) as None: the whole column at once."""
    import pandas as pd

    values = series.astype(object)
    return values.where(pd.notna(values), None).tolist()


# ---------------------------------------------------------------- CSV and XLSX

TOTAL_WORDS = ("合计", "总计", "小计", "共计", "合 计")  # i18n: data
_TOTAL_FIRST = {w[0] for w in TOTAL_WORDS}
NOTE_WORDS = ("注", "说明", "填表", "备注：", "备注:", "单位：", "单位:", "制表", "审核")  # i18n: data


def _csv_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        sample = fh.read(256 * 1024)
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4 and len(sample) == 256 * 1024:
            return "utf-8"
    try:
        sample.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise LedgerUnreadable(_("Cannot tell the text encoding of the CSV file: save it as UTF-8, or give the encoding "
                                "with --encoding (e.g. GBK)."))
    return best.encoding


def _csv_cells(ledger: Ledger) -> Iterator[tuple[int, list]]:
    with ledger.path.open(encoding=ledger.encoding, newline="", errors="strict") as fh:
        reader = csv.reader(fh, ledger.csv_dialect)
        try:
            yield from enumerate(reader, start=1)
        except UnicodeDecodeError:
            raise LedgerUnreadable(_("The CSV file is not in %(encoding)s: give the right encoding with --encoding (e.g. "
                                    "GBK).") % {"encoding": ledger.encoding})
        except csv.Error as exc:
            raise LedgerUnreadable(_("The CSV file is malformed: %(error)s") % {"error": exc})


def _workbook(path: Path):
    import openpyxl

    return openpyxl.load_workbook(path, read_only=True, data_only=True)


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def xlsx_merged(wb, ws) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a read-only worksheet (openpyxl's read-only mode does not read them) as
    (first column, first row, last column, last row), 1-based: read from the sheet's XML in one streaming pass
    (<mergeCells> follows the rows)."""
    path, archive = getattr(ws, "_worksheet_path", None), getattr(wb, "_archive", None)
    if path is None or archive is None:
        return [(r.min_col, r.min_row, r.max_col, r.max_row) for r in getattr(ws, "merged_cells", None) or ()]
    found, tail = [], b""
    with archive.open(path) as src:
        while chunk := src.read(1024 * 1024):
            data = tail + chunk
            cut = max(data.rfind(b"<"), len(data) - 200)  # a tag cut by the chunk is read with the next one
            for m in _MERGE.finditer(data, 0, cut):
                c0, r0 = _column_number(m.group(1)), int(m.group(2))
                c1, r1 = (_column_number(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
                found.append((c0, r0, c1, r1))
            tail = data[cut:]
    for m in _MERGE.finditer(tail):
        c0, r0 = _column_number(m.group(1)), int(m.group(2))
        c1, r1 = (_column_number(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
        found.append((c0, r0, c1, r1))
    return found


def _fill_merged(rows: Iterator[tuple[int, list]], merged: list[tuple[int, int, int, int]]):
    """A cell merged over several rows is read in each of them (a project's code merged over its fund lines, a
    township merged over its villages, a header two rows high); a merge within one row (a title, a 合计 label)
    stays in its first cell."""
    starts: dict[int, list[tuple[int, int]]] = {}
    for c0, r0, _c1, r1 in merged:
        if r1 > r0:
            starts.setdefault(r0, []).append((c0, r1))
    active: list[list] = []  # [column, last row, value]
    for number, cells in rows:
        for column, last in starts.get(number, ()):
            active.append([column, last, cells[column - 1] if column - 1 < len(cells) else None])
        if active:
            for column, last, value in active:
                if number <= last and value is not None:
                    if column - 1 >= len(cells):
                        cells.extend([None] * (column - len(cells)))
                    cells[column - 1] = value
            active = [a for a in active if a[1] > number]
        yield number, cells


def _xlsx_cells(ledger: Ledger) -> Iterator[tuple[int, list]]:
    wb = ledger.workbook or _workbook(ledger.path)
    try:
        ws = wb[ledger.sheet] if ledger.sheet else wb.worksheets[0]
        rows = ((number, list(cells)) for number, cells in enumerate(ws.iter_rows(min_row=1, values_only=True),
                                                                      start=1))
        merged = xlsx_merged(wb, ws)
        yield from (_fill_merged(rows, merged) if merged else rows)
    finally:
        if wb is not ledger.workbook:
            wb.close()


def _skip_reason(cells: list) -> bool:
    """Rows around the data that are not assets: 合计/小计 rows, notes, column-number rows."""
    filled = [str(c).strip() for c in cells if c is not None and str(c).strip() != ""]
    if not filled:
        return True
    if any(vocab.text_key(v[:1])[:1] in _TOTAL_FIRST and any(vocab.text_key(v).startswith(w) for w in TOTAL_WORDS) for v in filled[:3]):
        return True
    if len(set(filled)) == 1 and any(filled[0].startswith(w) for w in NOTE_WORDS):
        return True
    if len(filled) >= 3 and all(v.isdigit() for v in filled):
        numbers = [int(v) for v in filled]
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))) and numbers[0] <= 1:
            return True
    return False


def _find_header(cells_iter, mapping=None, schema=None) -> tuple[int, list, list]:
    """The header is the row (among the first 30) that names the most ledger columns."""
    schema = schema or vocab.ASSETS
    buffered = []
    best = (0, None, None)
    for number, cells in cells_iter:
        buffered.append((number, cells))
        score = len({schema.column_for_header(str(c), mapping) for c in cells if c is not None} - {None})
        if score > best[0]:
            best = (score, number, cells)
        if len(buffered) >= 30:
            break
    if best[0] < 2:
        first, second = schema.hint
        raise LedgerUnreadable(_("No header in the first 30 rows: the header should name ledger columns such as "
                                "“%(name)s” and “%(type)s” (or map them with --mapping).")
                              % {"name": first, "type": second})
    return best[1], best[2], buffered


_UNIT_NOTE = re.compile(r"单位\s*[:：]\s*(万元|元)")  # i18n: data


def table_open(ledger: Ledger) -> None:
    cells = _csv_cells(ledger) if ledger.kind == "csv" else _xlsx_cells(ledger)
    try:
        header_row, headers, buffered = _find_header(cells, ledger.mapping, ledger.schema)
    finally:
        cells.close()
    ledger.header_row = header_row
    _map_headers(ledger, list(headers))
    ledger.has_geometry = vocab.WKT in ledger.columns or {vocab.LON, vocab.LAT} <= ledger.columns
    for number, row in buffered:  # a note above the header: 单位：元
        if number >= header_row:
            break
        for cell in row:
            if isinstance(cell, str) and (m := _UNIT_NOTE.search(cell)):
                ledger.sheet_unit = m.group(1)


def _repeats_header(cells: list, header_keys: dict[int, str]) -> bool:
    """A second header row (the header was two rows high, merged): most of its cells repeat the header's."""
    filled = {i: vocab.header_key(str(c)) for i, c in enumerate(cells) if c is not None and str(c).strip() != ""}
    same = sum(1 for i, key in filled.items() if header_keys.get(i) == key)
    return same >= 2 and same * 2 >= len(filled)


def _table_rows(ledger: Ledger, cells_iter) -> Iterator[RawRow]:
    headers_by_index: dict[int, str] | None = None
    header_keys: dict[int, str] = {}
    try:
        for number, cells in cells_iter:
            if number < ledger.header_row:
                continue
            if number == ledger.header_row:
                headers_by_index = _map_headers(Ledger(ledger.path, ledger.kind, ledger.name, mapping=ledger.mapping,
                                                       schema=ledger.schema), list(cells))
                header_keys = {i: vocab.header_key(str(c)) for i, c in enumerate(cells) if c is not None}
                continue
            if _skip_reason(cells) or (number <= ledger.header_row + 2 and _repeats_header(cells, header_keys)):
                continue
            values = {col: (cells[i] if i < len(cells) else None) for i, col in headers_by_index.items()}
            values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
            yield RawRow(number, values)
    finally:
        cells_iter.close()


def table_count(ledger: Ledger) -> int:
    if ledger.kind == "csv":
        with ledger.path.open("rb") as fh:
            return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1024 * 1024), b"")) - ledger.header_row + 1
    wb = ledger.workbook or _workbook(ledger.path)
    try:
        ws = wb[ledger.sheet] if ledger.sheet else wb.worksheets[0]
        return max((ws.max_row or 0) - ledger.header_row, 0)
    finally:
        if wb is not ledger.workbook:
            wb.close()


# ---------------------------------------------------------------- open

def ledger_open(
    path: Path, *, workdir: Path, name: str | None = None, layer: str | None = None, encoding: str | None = None,
    mapping: dict[str, str] | None = None, schema=None,
) -> Ledger:
    """Check and open a ledger file; archives are extracted safely into workdir (the caller removes it). `schema`:
    which ledger (vocab.ASSETS by default; vocab.PROJECTS and vocab.FUNDS are tables: CSV or XLSX only)."""
    name = name or path.name
    ext = file_check(path, name)
    if schema is not None and schema is not vocab.ASSETS and ext not in TABLE_EXTS:
        raise LedgerUnreadable(_("A project list or fund ledger is a table: upload it as .xlsx or .csv (“%(name)s” "
                                 "is not).") % {"name": name})
    if ext in (".zip", ".kmz"):
        files = zip_extract_safe(path, workdir, name)
        if ext == ".kmz":
            kmls = [p for p in files if p.suffix.lower() == ".kml"]
            if not kmls:
                raise LedgerUnreadable(_("The KMZ file “%(name)s” holds no KML document.") % {"name": name})
            datasets = [next((p for p in kmls if p.name.lower() == "doc.kml"), kmls[0])]
        else:
            datasets = sorted(p for p in files if p.suffix.lower() == ".shp" and "__MACOSX" not in p.parts)
            if not datasets:
                inner = [p for p in files if p.suffix.lower() in SUPPORTED_EXTS - ARCHIVE_EXTS - {".shp"}
                         and "__MACOSX" not in p.parts]
                if not inner:
                    raise LedgerUnreadable(_("The archive “%(name)s” holds no file that can be imported (.shp, .gpkg, "
                                            ".geojson, .kml, .csv, .xlsx).") % {"name": name})
                return ledger_open(inner[0], workdir=workdir / "_inner", name=inner[0].name, layer=layer,
                                   encoding=encoding, mapping=mapping)
            for shp in datasets:
                file_check(shp, shp.name)
        ledger = Ledger(path, "gis", name, encoding=encoding, mapping=mapping)
        gis_open(ledger, datasets, layer)
        return ledger
    if ext in GIS_EXTS:
        if ext == ".shp":
            missing = [s for s in (".dbf", ".shx") if not path.with_suffix(s).exists()
                       and not path.with_suffix(s.upper()).exists()]
            if missing:
                raise LedgerUnreadable(_("The shapefile lacks its companion files %(missing)s: zip the .shp/.dbf/.shx/"
                                        ".prj/.cpg of the same name together and upload the .zip.")
                                      % {"missing": joined(missing)})
        ledger = Ledger(path, "gis", name, encoding=encoding, mapping=mapping)
        gis_open(ledger, [path], layer)
        return ledger
    if ext in (".csv", ".txt"):
        ledger = Ledger(path, "csv", name, encoding=encoding or _csv_encoding(path), mapping=mapping, schema=schema)
        try:
            with path.open(encoding=ledger.encoding, newline="") as fh:
                sample = fh.read(64 * 1024)
        except (UnicodeDecodeError, LookupError) as exc:
            raise LedgerUnreadable(_("Cannot read the CSV as %(encoding)s: %(error)s")
                                   % {"encoding": ledger.encoding, "error": exc})
        try:
            ledger.csv_dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            ledger.csv_dialect = csv.excel
    else:
        ledger = Ledger(path, "xlsx", name, mapping=mapping, sheet=layer, schema=schema)
        try:
            ledger.workbook = _workbook(path)
        except Exception as exc:
            raise LedgerUnreadable(_("Cannot open the Excel file “%(name)s”: %(error)s") % {"name": name, "error": exc})
        sheets = ledger.workbook.sheetnames
        if layer and layer not in sheets:
            ledger.close()
            raise LedgerUnreadable(_("The workbook has no sheet “%(sheet)s”. Its sheets: %(sheets)s")
                                  % {"sheet": layer, "sheets": joined(sheets)})
    try:
        table_open(ledger)
        ledger.total = table_count(ledger)
    except BaseException:
        ledger.close()
        raise
    return ledger


def copy_upload(src, dest: Path) -> None:
    with dest.open("wb") as out:
        if hasattr(src, "chunks"):
            for chunk in src.chunks():
                out.write(chunk)
        else:
            shutil.copyfileobj(src, out)


__all__ = ["LedgerUnreadable", "Ledger", "RawRow", "ledger_open", "zip_extract_safe", "file_check", "io"]
