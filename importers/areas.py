"""Importing administrative boundaries (county, township, village) from GIS files, all or nothing."""

import re
import tempfile
from pathlib import Path
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils.translation import gettext as _

from geo_assets import services as register
from geo_assets.access import scope_for
from geo_assets.models import SRID, AdminArea
from geo_assets.taxonomy import AreaLevel
from importers import vocab
from importers.cells import text
from importers.coords import crs_parse
from importers.geometry import GeometryProblem, geometry_label, same, to_storage
from importers.readers import Ledger, LedgerUnreadable
from importers.report import ImportReport, RowError, joined


def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=SRID)


# The column names the importer recognises in a boundary file (the first of each is the one it suggests).
AREA_HEADERS = {
    "county": {"code": ("县代码", "县级代码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),  # i18n: data
               "name": ("县名称", "县名", "名称", "name", "xzqmc"), "parent": ()},  # i18n: data
    "township": {"code": ("乡镇代码", "乡镇编码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),  # i18n: data
                 "name": ("乡镇名称", "乡镇", "乡镇名", "名称", "name", "xzqmc"),  # i18n: data
                 "parent": ("县代码", "上级代码", "parent_code")},  # i18n: data
    "village": {"code": ("村代码", "村编码", "村级代码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),  # i18n: data
                "name": ("村名称", "村名", "行政村", "名称", "name", "xzqmc"),  # i18n: data
                "parent": ("乡镇代码", "上级代码", "parent_code")},  # i18n: data
}


def _area_code(value) -> str:
    digits = re.sub(r"\D", "", text(value))
    return digits.ljust(12, "0") if len(digits) in (6, 9) else digits


def areas_import(*, actor, path: str | Path, level: str, layer: str | None = None, crs: str | None = None,
                 encoding: str | None = None, dry_run: bool = False) -> ImportReport:
    """Load county/township/village boundaries (create or update by 12-digit code), all or nothing."""
    import pyogrio

    if level not in AREA_HEADERS:
        raise LedgerUnreadable(_("--level should be county, township or village"))
    if not scope_for(actor).is_county_admin:
        raise LedgerUnreadable(_("Only county administrators may import administrative areas."))
    path = Path(path)
    report = ImportReport(file=path.name, dry_run=dry_run)
    try:
        choice = crs_parse(crs)
    except ValueError as exc:
        raise LedgerUnreadable(str(exc))
    with tempfile.TemporaryDirectory(prefix="areas-") as tmp:
        ledger = Ledger(path, "gis", path.name, encoding=encoding)
        from importers.readers import file_check, gis_open, zip_extract_safe

        ext = file_check(path)
        if ext in (".csv", ".txt", ".xlsx", ".xlsm"):
            raise LedgerUnreadable(_("Administrative boundaries need a GIS file (GeoPackage, Shapefile, GeoJSON, KML)."))
        datasets = [path]
        if ext in (".zip", ".kmz"):
            files = zip_extract_safe(path, Path(tmp))
            datasets = [p for p in files if p.suffix.lower() in (".shp", ".kml", ".gpkg", ".geojson", ".json")][:1]
            if not datasets:
                raise LedgerUnreadable(_("The archive holds no boundary file."))
        gis_open(ledger, datasets, layer)
        heads = AREA_HEADERS[level]
        dataset, layer_name, enc, text_enc = ledger.gis_paths[0]
        df = pyogrio.read_dataframe(dataset, layer=layer_name, encoding=enc)
        if text_enc:
            from importers.readers import _recode

            df = df.rename(columns={c: _recode(c, text_enc, name=True) for c in df.columns if c != "geometry"})
            for c in df.columns:
                if c != "geometry":
                    df[c] = [_recode(x, text_enc) for x in df[c].tolist()]

        def pick(options):
            keys = {vocab.header_key(c): c for c in df.columns if c != "geometry"}
            for option in options:
                if vocab.header_key(option) in keys:
                    return keys[vocab.header_key(option)]
            return None

        code_col, name_col, parent_col = pick(heads["code"]), pick(heads["name"]), pick(heads["parent"])
        if code_col is None or name_col is None:
            raise LedgerUnreadable(_("No code column or name column (there should be one such as %(code)s and "
                                     "%(name)s). The columns: %(columns)s") % {
                "code": heads["code"][0], "name": heads["name"][0],
                "columns": joined(c for c in df.columns if c != "geometry")})
        existing = {a.code: a for a in AdminArea.objects.all()}
        planned: list[tuple[int, str, str, str | None, Any]] = []
        seen: dict[str, int] = {}
        for i, (code_v, name_v, parent_v, geom) in enumerate(zip(
                df[code_col].tolist(), df[name_col].tolist(),
                df[parent_col].tolist() if parent_col else [None] * len(df), df.geometry.tolist(), strict=True), 1):
            report.read += 1
            code, name = _area_code(code_v), text(name_v)
            problems = []
            if not re.fullmatch(r"\d{12}", code):
                problems.append((code_col, _("The code “%(code)s” is not a 12-digit statistical area code")
                                  % {"code": text(code_v)}))
            if not name:
                problems.append((name_col, _("The name is missing")))
            if code in seen:
                problems.append((code_col, _("The code %(code)s is repeated in the file (feature %(first)s has it already)")
                                  % {"code": code, "first": seen[code]}))
            seen[code] = i
            parent_code = None
            if level != "county" and not problems:
                parent_code = _area_code(parent_v) if text(parent_v) else (
                    code[:6] + "000000" if level == "township" else code[:9] + "000")
            try:
                g, _n = to_storage(geom, file_crs=df.crs, choice=choice, degrees_expected=False)
                if g.geom_type == "Polygon":
                    g = shapely.MultiPolygon([g])
                if g.geom_type != "MultiPolygon":
                    raise GeometryProblem(_("A boundary should be a polygon, not %(type)s") % {"type": g.geom_type})
                if not shapely.is_valid(g):
                    raise GeometryProblem(_("Invalid boundary: %(reason)s") % {"reason": shapely.is_valid_reason(g)})
            except GeometryProblem as exc:
                problems.append((geometry_label(), exc.message))
                g = None
            for fld, msg in problems:
                report.errors.append(RowError(i, fld, msg))
            if problems:
                report.invalid += 1
                continue
            planned.append((i, code, name, parent_code, g))
        if report.invalid:
            return report
        with transaction.atomic():
            created_county = None
            if level == "township" and planned:
                county_code = planned[0][3]
                if county_code not in existing and scope_for(actor).counties is not None:
                    report.invalid += 1
                    report.errors.append(RowError(planned[0][0], parent_col or code_col, _(
                        "County %(code)s does not exist: a system administrator imports a new county") % {
                        "code": county_code}))
                elif county_code not in existing:
                    union = shapely.union_all([g for *_x, g in planned])
                    if union.geom_type == "Polygon":
                        union = shapely.MultiPolygon([union])
                    created_county = AdminArea(code=county_code, name=_("County %(code)s") % {"code": county_code[:6]}, level=AreaLevel.COUNTY,
                                               geom=_geos(union))
                    report.warnings.append(_("County %(code)s did not exist: it was made from the union of the townships' "
                                             "boundaries (its name can be changed in the admin)") % {"code": county_code})
                    if not dry_run:
                        register.area_save(actor=actor, area=created_county,
                                           reason=_("Import: %(file)s") % {"file": path.name})
                    existing[county_code] = created_county
            scope = scope_for(actor)
            for i, code, name, parent_code, g in planned:
                if not scope.reaches_area(code):  # a county's administrator imports the county's own areas only
                    report.invalid += 1
                    report.errors.append(RowError(i, code_col, _(
                        "The area %(code)s lies in another county: a county imports its own areas only") % {
                        "code": code}))
                    continue
                parent = existing.get(parent_code) if parent_code else None
                if parent_code and parent is None:
                    report.invalid += 1
                    report.errors.append(RowError(i, parent_col or code_col, _(
                        "The parent area %(code)s does not exist: import the level above first") % {"code": parent_code}))
                    continue
                area = existing.get(code)
                geos = _geos(g)
                if area is None:
                    area = AdminArea(code=code, name=name, level=level, parent=parent, geom=geos)
                    report.created += 1
                elif area.level != level:
                    report.invalid += 1
                    report.errors.append(RowError(i, code_col, _("The code %(code)s is already an area of another level")
                                                  % {"code": code}))
                    continue
                elif area.name == name and area.parent_id == (parent.pk if parent else None) and same(
                        shapely.from_wkb(bytes(area.geom.wkb)), g):
                    report.unchanged += 1
                    continue
                else:
                    area.name, area.parent, area.geom = name, parent, geos
                    report.updated += 1
                if not dry_run:
                    register.area_save(actor=actor, area=area, reason=_("Import: %(file)s") % {"file": path.name})
            if report.invalid or dry_run:
                transaction.set_rollback(True)
                if report.invalid:
                    report.created = report.updated = 0
        report.written = not dry_run and not report.invalid
    return report
