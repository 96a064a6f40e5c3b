"""Importing administrative boundaries (county, township, village) from GIS files, all or nothing."""

import re
import tempfile
from pathlib import Path
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction

from geo_assets import services as register
from geo_assets.access import scope_for
from geo_assets.models import SRID, AdminArea
from geo_assets.taxonomy import AreaLevel
from importers import vocab
from importers.cells import text
from importers.coords import crs_parse
from importers.geometry import GeometryProblem, same, to_storage
from importers.readers import Ledger, LedgerUnreadable
from importers.report import ImportReport, RowError


def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=SRID)


AREA_HEADERS = {
    "county": {"code": ("县代码", "县级代码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),
               "name": ("县名称", "县名", "名称", "name", "xzqmc"), "parent": ()},
    "township": {"code": ("乡镇代码", "乡镇编码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),
                 "name": ("乡镇名称", "乡镇", "乡镇名", "名称", "name", "xzqmc"),
                 "parent": ("县代码", "上级代码", "parent_code")},
    "village": {"code": ("村代码", "村编码", "村级代码", "行政区划代码", "区划代码", "代码", "code", "xzqdm"),
                "name": ("村名称", "村名", "行政村", "名称", "name", "xzqmc"),
                "parent": ("乡镇代码", "上级代码", "parent_code")},
}


def _area_code(value) -> str:
    digits = re.sub(r"\D", "", text(value))
    return digits.ljust(12, "0") if len(digits) in (6, 9) else digits


def areas_import(*, actor, path: str | Path, level: str, layer: str | None = None, crs: str | None = None,
                 encoding: str | None = None, dry_run: bool = False) -> ImportReport:
    """Load county/township/village boundaries (create or update by 12-digit code), all or nothing."""
    import pyogrio

    if level not in AREA_HEADERS:
        raise LedgerUnreadable("--level 应为 county、township 或 village")
    if not scope_for(actor).is_county_admin:
        raise LedgerUnreadable("只有县级管理员可以导入行政区划。")
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
            raise LedgerUnreadable("行政区划边界需要 GIS 文件（GeoPackage、Shapefile、GeoJSON、KML）。")
        datasets = [path]
        if ext in (".zip", ".kmz"):
            files = zip_extract_safe(path, Path(tmp))
            datasets = [p for p in files if p.suffix.lower() in (".shp", ".kml", ".gpkg", ".geojson", ".json")][:1]
            if not datasets:
                raise LedgerUnreadable("压缩包中没有边界文件。")
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
            raise LedgerUnreadable(f"找不到代码列或名称列（应有如 {heads['code'][0]}、{heads['name'][0]}）。现有列："
                                   f"{'、'.join(c for c in df.columns if c != 'geometry')}")
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
                problems.append((code_col, f"代码“{text(code_v)}”不是 12 位统计用区划代码"))
            if not name:
                problems.append((name_col, "缺少名称"))
            if code in seen:
                problems.append((code_col, f"代码 {code} 在文件中重复（第 {seen[code]} 个要素已出现）"))
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
                    raise GeometryProblem(f"边界应为面，而不是 {g.geom_type}")
                if not shapely.is_valid(g):
                    raise GeometryProblem(f"边界无效：{shapely.is_valid_reason(g)}")
            except GeometryProblem as exc:
                problems.append(("几何", exc.message))
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
                if county_code not in existing:
                    union = shapely.union_all([g for *_x, g in planned])
                    if union.geom_type == "Polygon":
                        union = shapely.MultiPolygon([union])
                    created_county = AdminArea(code=county_code, name=f"县 {county_code[:6]}", level=AreaLevel.COUNTY,
                                               geom=_geos(union))
                    report.warnings.append(f"县 {county_code} 不存在，已按各乡镇边界合并创建（名称可在后台修改）")
                    if not dry_run:
                        register.area_save(actor=actor, area=created_county, reason=f"导入: {path.name}")
                    existing[county_code] = created_county
            for i, code, name, parent_code, g in planned:
                parent = existing.get(parent_code) if parent_code else None
                if parent_code and parent is None:
                    report.invalid += 1
                    report.errors.append(RowError(i, parent_col or code_col, f"上级区划 {parent_code} 不存在：请先导入上一级"))
                    continue
                area = existing.get(code)
                geos = _geos(g)
                if area is None:
                    area = AdminArea(code=code, name=name, level=level, parent=parent, geom=geos)
                    report.created += 1
                elif area.level != level:
                    report.invalid += 1
                    report.errors.append(RowError(i, code_col, f"代码 {code} 已是另一级别的区划"))
                    continue
                elif area.name == name and area.parent_id == (parent.pk if parent else None) and same(
                        shapely.from_wkb(bytes(area.geom.wkb)), g):
                    report.unchanged += 1
                    continue
                else:
                    area.name, area.parent, area.geom = name, parent, geos
                    report.updated += 1
                if not dry_run:
                    register.area_save(actor=actor, area=area, reason=f"导入: {path.name}")
            if report.invalid or dry_run:
                transaction.set_rollback(True)
                if report.invalid:
                    report.created = report.updated = 0
        report.written = not dry_run and not report.invalid
    return report
