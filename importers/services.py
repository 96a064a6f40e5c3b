"""Import and export of the asset ledger (DESIGN.md §5). Commands and views only translate to these functions.

An import reads the file once, in chunks, so memory stays bounded, all inside one transaction: each chunk's rows are
checked (checks: cells, geometry, village and scope — the value rules are geo_assets.validation's, the ones the
register's services apply), compared with the register and staged (bulk: the same rules on each row's final state,
then COPY into temporary tables). At the end, if no row is invalid (or --skip-invalid) and it is not a dry run, a
few set-based statements write the assets, their funding lines, owners and history; otherwise everything rolls back.

The pieces: readers (opening files safely, chunks), cells (normalising cells), checks (row checking), bulk
(staging and writing), export (ledger files out), areas (boundaries), report (what the clerk reads).
"""

import contextlib
import gc
import json
import tempfile
from pathlib import Path

import shapely
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from geo_assets.models import Membership
from geo_assets.taxonomy import Role
from importers import cells, vocab
from importers.areas import AREA_HEADERS, areas_import
from importers.bulk import BulkWrite
from importers.cells import funding_parse, funding_text, mapping_load, owners_parse, owners_text
from importers.checks import CheckedRow, Context, existing_for, rows_check, rows_link, rows_locate
from importers.coords import crs_parse
from importers.export import EXPORT_FORMATS, ExportTooLarge, assets_export, assets_queryset
from importers.ledgers import ImportRefused, funds_import, import_refusal, kinds_for, projects_import
from importers.readers import CHUNK, Ledger, LedgerUnreadable, ledger_open
from importers.report import ImportReport, Progress, RowError, joined

__all__ = [
    "ImportReport", "RowError", "LedgerUnreadable", "ExportTooLarge", "assets_import", "assets_export", "assets_queryset",
    "areas_import", "ledger_read", "actor_resolve", "mapping_load", "funding_parse", "funding_text", "owners_parse",
    "owners_text", "EXPORT_FORMATS", "AREA_HEADERS", "REPORT_CODES", "projects_import", "funds_import",
    "ImportRefused", "import_refusal", "kinds_for",
]

REPORT_CODES = 500


def actor_resolve(*, username: str | None):
    """The acting user: --user, else a county administrator (superuser or county_admin membership)."""
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise LedgerUnreadable(_("The user “%(user)s” does not exist or is inactive.") % {"user": username})
        return user
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if user is None:
        membership = Membership.objects.filter(role=Role.COUNTY_ADMIN, user__is_active=True).order_by("pk").first()
        user = membership.user if membership else None
    if user is None:
        user, created = User.objects.get_or_create(username="system-importer", defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
            Membership.objects.create(user=user, role=Role.COUNTY_ADMIN)
    return user


def ledger_read(*, path: Path, workdir: Path, name: str | None = None, layer: str | None = None,
                encoding: str | None = None, mapping: dict[str, str] | None = None) -> Ledger:
    """Open a ledger file (checks type, safety, header). Raises LedgerUnreadable."""
    ledger = ledger_open(Path(path), workdir=workdir, name=name, layer=layer, encoding=encoding, mapping=mapping)
    problem = None
    if not ledger.has_geometry:
        problem = _("The file has no locations: it needs geometries, or the two columns “%(lon)s” and “%(lat)s”, "
                    "or a WKT column.") % {"lon": vocab.LON, "lat": vocab.LAT}
    elif vocab.NAME not in ledger.columns and vocab.CODE not in ledger.columns:
        problem = _("The file has no column “%(name)s” or “%(code)s”: check the header, or map the columns with "
                    "--mapping.") % {"name": vocab.NAME, "code": vocab.CODE}
    if problem:
        ledger.close()
        raise LedgerUnreadable(problem)
    return ledger


def _preview_row(row: CheckedRow) -> dict:
    geometry = None
    if not row.errors and row.geometry is not None:
        geometry = json.loads(shapely.to_geojson(shapely.simplify(row.geometry, 0.00001)))
    values = {c: cells.text(row.raw.values.get(c)) for c in vocab.TABLE_COLUMNS
              if c in row.raw.values and c != vocab.WKT}
    return {"row": row.row, "layer": row.layer, "values": values, "geometry": geometry,
            "errors": [{"field": e.field, "message": e.message} for e in row.errors]}


class _Rollback(Exception):
    pass


def assets_import(
    *, actor, path: str | Path, name: str | None = None, layer: str | None = None, crs: str | None = None,
    encoding: str | None = None, mapping: dict[str, str] | None = None, dry_run: bool = False,
    skip_invalid: bool = False, progress: Progress | None = None, preview_limit: int = 0,
) -> ImportReport:
    """Import a ledger file into the register. Raises LedgerUnreadable when the file cannot be read at all."""
    path = Path(path)
    name = name or path.name
    report = ImportReport(file=name, dry_run=dry_run)
    try:
        choice = crs_parse(crs)
    except ValueError as exc:
        raise LedgerUnreadable(str(exc))
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        ledger = ledger_read(path=path, workdir=Path(tmp), name=name, layer=layer, encoding=encoding, mapping=mapping)
        try:
            _import(ledger, report, actor=actor, name=name, choice=choice, dry_run=dry_run, skip_invalid=skip_invalid,
                    progress=progress, preview_limit=preview_limit)
        finally:
            ledger.close()
    report.errors.sort(key=lambda e: (e.layer, e.row))
    return report


def _import(ledger: Ledger, report: ImportReport, *, actor, name: str, choice, dry_run: bool, skip_invalid: bool,
            progress: Progress | None, preview_limit: int) -> None:
    """The one pass over the file and the write, in one transaction (rolled back for a dry run or invalid rows)."""
    if ledger.unknown_headers:
        report.warnings.append(_("Columns not recognised (ignored): %(columns)s")
                               % {"columns": joined(ledger.unknown_headers[:20])})
    if choice.obfuscated:
        report.warnings.append(_("Coordinates converted from %(system)s to WGS84/CGCS2000")
                               % {"system": choice.obfuscated.upper()})
    ctx = Context(actor=actor, filename=name, choice=choice, columns=ledger.columns,
                  scales={c: ledger.scale(c) for c in ledger.schema.money if c in ledger.columns})
    try:
        with transaction.atomic(), _gc_relaxed():
            writer = BulkWrite(ctx, lock=not dry_run)
            for chunk in ledger.chunks(CHUNK):
                existing = existing_for([cells.text(r.values.get(vocab.CODE)) for r in chunk], actor)
                rows = rows_check(chunk, ctx, existing)
                rows_locate(rows, ctx)
                rows_link(rows, ctx)
                writer.add(rows)
                for row in rows:
                    report.read += 1
                    report.invalid += bool(row.errors)
                    report.errors.extend(row.errors)
                    if len(report.preview) < preview_limit:
                        report.preview.append(_preview_row(row))
                if progress:
                    progress("check" if dry_run else "write", report.read, max(ledger.total, report.read))
            repeated = writer.duplicates()
            report.invalid += writer.newly_invalid
            report.errors.extend(repeated)
            _preview_mark(report.preview, repeated)
            report.written = not dry_run and (skip_invalid or not report.invalid)
            if report.written or dry_run:  # a dry run says what would happen to the valid rows
                counts = writer.counts()
                report.created, report.updated, report.unchanged = (
                    counts.get("create", 0), counts.get("update", 0), counts.get("unchanged", 0))
                report.linked = writer.links_counted()
            if not report.written:
                raise _Rollback
            report.created_codes, report.updated_codes = writer.write(actor=actor, limit=REPORT_CODES)
            writer.drop()
            if progress:
                progress("write", report.read, report.read)
    except _Rollback:
        pass


@contextlib.contextmanager
def _gc_relaxed():
    """Python's cycle collector during an import: the objects of the process so far are frozen (out of its
    generations) and it runs less often. A chunk's rows keep ~10^5 objects alive, and with the default thresholds a
    100k-row import made ~30 full collections of every object of the process (Django, GDAL, pandas), 3.4 s, that
    freed 85 objects; now 0.4 s (docs/performance.md, Import, session 9). The old generation is collected ten
    times less often too (the import's memos grow). Restored afterwards."""
    threshold = gc.get_threshold()
    freezing = gc.get_freeze_count() == 0  # a process that froze its own start (config.process) keeps it frozen
    if freezing:
        gc.freeze()
    gc.set_threshold(max(threshold[0], 5000), threshold[1], max(threshold[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freezing:
            gc.unfreeze()


def _preview_mark(preview: list[dict], errors: list[RowError]) -> None:
    """Errors found once the whole file was staged (codes repeated in the file) also show in the preview."""
    rows = {(p["layer"], p["row"]): p for p in preview}
    for e in errors:
        if (p := rows.get((e.layer, e.row))) is not None:
            p["errors"].append({"field": e.field, "message": e.message})
            p["geometry"] = None
