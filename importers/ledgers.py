"""Importing the project list (项目库) and the fund ledger (资金台账) the finance bureau and the departments keep in
Excel: `projects_import` and `funds_import` (re-exported by importers.services).

The files are read like the asset ledger (readers: title rows above the header, header variants, units in the
header — 万元 or 元, converted to 万元 —, merged cells, 合计 and note rows; cells: Chinese dates and years), each row
is checked by the projects app's own rules (projects.services.project_values_errors / fund_line_values_errors: the
register's bounds of geo_assets.validation; the model's field validators) and its refusals (projects.rules:
may_edit_project, may_edit_funds), then the whole file is written set-based in one transaction — COPY into a staging
table, then one statement writing the rows and their django-simple-history rows, with the actor and the file as the
reason (as importers.bulk writes assets) — or nothing is: a file with one invalid row writes nothing (unless
skip_invalid). Rows are matched on their key (a project by its code; a fund line by project code + source + 文号, or
+ year when it has no 文号, as FundLine's unique constraints say), so importing the same file again changes nothing
and writes no history.
"""

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import AreaLevel, FundingSourceKind
from importers import cells, vocab
from importers.readers import CHUNK, Ledger, LedgerUnreadable, RawRow, copy_upload, ledger_open
from importers.report import ImportReport, Progress, RowError
from projects import rules
from projects.models import FundLine, Project
from projects.services import fund_line_values_errors, project_county, project_values_errors
from projects.taxonomy import ProjectStatus

REPORT_CODES = 500


class ImportRefused(LedgerUnreadable):
    """The actor may import no ledger of this kind at all (exit status 2, like an unreadable file)."""


@dataclass
class Row:
    raw: RawRow
    key: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    villages: list | None = None  # a project's villages served, when the file says them
    errors: list[RowError] = field(default_factory=list)
    action: str = ""  # create | update | unchanged
    obj: Any = None

    @property
    def row(self) -> int:
        return self.raw.number

    def err(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.raw.number, column, message))


def _text(row: Row, column: str, limit: int) -> str:
    value = cells.text(row.raw.values.get(column))
    if len(value) > limit:
        row.err(column, _("Too long (at most %(limit)s characters)") % {"limit": limit})
        return value[:limit]
    return value


def _unknown(column: str, value: str, table: dict) -> str:
    return _("Unknown %(column)s “%(value)s” (should be one of these names or codes: %(accepted)s)") % {
        "column": column, "value": value, "accepted": vocab.accepted(table)}


def _field_errors(row: Row, errors: dict[str, list], columns: dict[str, str], default: str) -> None:
    for name, messages in errors.items():
        for message in messages:
            row.err(columns.get(name, default), str(message))


def _preview(row: Row, columns: tuple[str, ...]) -> dict:
    return {"row": row.row, "layer": "", "geometry": None,
            "values": {c: cells.text(row.raw.values.get(c)) for c in columns if c in row.raw.values},
            "errors": [{"field": e.field, "message": e.message} for e in row.errors]}


def _open(path_or_file, name: str | None, workdir: Path, sheet: str | None, encoding: str | None,
          schema) -> tuple[Ledger, str]:
    """A path, or an uploaded file (copied into workdir first)."""
    if hasattr(path_or_file, "read") or hasattr(path_or_file, "chunks"):
        name = name or Path(getattr(path_or_file, "name", "") or "ledger.xlsx").name
        path = workdir / f"upload{Path(name).suffix.lower()}"
        copy_upload(path_or_file, path)
    else:
        path = Path(path_or_file)
        name = name or path.name
    ledger = ledger_open(path, workdir=workdir / "x", name=name, layer=sheet, encoding=encoding, schema=schema)
    return ledger, name


def _require(ledger: Ledger, *columns: str) -> None:
    missing = [c for c in columns if c not in ledger.columns]
    if missing:
        ledger.close()
        raise LedgerUnreadable(_("The file has no column “%(column)s”: check the header (accepted names: "
                                 "%(variants)s).") % {"column": missing[0], "variants": pgettext(
                                     "list separator", ", ").join((missing[0], *ledger.schema.variants.get(
                                         missing[0], ())[:6]))})


class _Rollback(Exception):
    pass


def _write_with_history(model, columns: list[str], rows: list[list], *, update: bool, actor, reason: str, now,
                        key: str = "id") -> list[tuple]:
    """Write rows set-based, as importers.bulk does for assets: COPY into a staging table, then one statement
    inserts them (or updates the rows of their ids) and writes their django-simple-history rows ('+' or '~', the
    actor, the reason). Returns (history id, id, `key`) of each row written."""
    if not rows:
        return []
    table, history = model._meta.db_table, model.history.model._meta.db_table
    tracked = [f.column for f in model.history.model._meta.concrete_fields if not f.name.startswith("history_")]
    stage = f"import_{model._meta.model_name}"
    names = ", ".join(columns)
    if update:
        written = (f"UPDATE {table} t SET {', '.join(f'{c} = s.{c}' for c in columns if c != 'id')} "  # noqa: S608
                   f"FROM {stage} s WHERE t.id = s.id RETURNING t.*")
    else:
        written = f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} RETURNING *"  # noqa: S608
    user = actor.pk if getattr(actor, "is_authenticated", False) else None
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"""WITH written AS ({written}),
                             history AS (INSERT INTO {history} ({", ".join(tracked)}, history_date,
                                                                history_change_reason, history_type, history_user_id)
                                         SELECT {", ".join(tracked)}, %s, %s, %s, %s FROM written
                                         RETURNING history_id, id)
                           SELECT h.history_id, h.id, w.{key} FROM history h JOIN written w ON w.id = h.id""",  # noqa: S608
                       [now, reason, "~" if update else "+", user])
        result = cursor.fetchall()
        cursor.execute(f"DROP TABLE {stage}")
    if len(result) != len(rows):  # an id that vanished: never deleted, so another import changed the key meanwhile
        raise IntegrityError(f"{len(result)} of {len(rows)} rows written")
    return result


def import_refusal(actor, kind: str) -> str | None:
    """Why the actor may import no ledger of this kind ("assets", "projects", "funds"), or None: the register's
    scope for assets, projects.rules for the project list and the fund ledger."""
    if kind == "assets":
        return None if scope_for(actor).edits_anything else _("Your account may not import assets.")
    refusal = (_Projects if kind == "projects" else _Funds).refusal(actor)
    return refusal.message if refusal is not None else None


def kinds_for(actor) -> list[str]:
    """The ledgers the actor may import, in the upload page's order."""
    return [kind for kind in ("assets", "projects", "funds") if import_refusal(actor, kind) is None]


def _run(report: ImportReport, ledger: Ledger, *, check_rows: Callable, write: Callable, columns: tuple[str, ...],
         dry_run: bool, skip_invalid: bool, progress: Progress | None, preview_limit: int) -> None:
    """Read every row, check them (check_rows on the whole file: the keys are compared across it), and write them
    in one transaction — or roll back (a dry run, or an invalid row without skip_invalid)."""
    if ledger.unknown_headers:
        report.warnings.append(_("Columns not recognised (ignored): %(columns)s")
                               % {"columns": pgettext("list separator", ", ").join(ledger.unknown_headers[:20])})
    if any(ledger.scale(c) != 1 for c in ledger.schema.money if c in ledger.columns):
        report.warnings.append(_("Amounts in yuan converted to 10k yuan (rounded to the yuan)"))
    rows: list[Row] = []
    for chunk in ledger.chunks(CHUNK):
        rows += [Row(raw) for raw in chunk]
        if progress:
            progress("check", len(rows), max(ledger.total, len(rows)))
    try:
        with transaction.atomic():
            check_rows(rows, lock=not dry_run)
            for row in rows:
                report.read += 1
                report.invalid += bool(row.errors)
                report.errors.extend(row.errors)
                if len(report.preview) < preview_limit:
                    report.preview.append(_preview(row, columns))
            valid = [r for r in rows if not r.errors]
            report.created = sum(r.action == "create" for r in valid)
            report.updated = sum(r.action == "update" for r in valid)
            report.unchanged = sum(r.action == "unchanged" for r in valid)
            report.written = not dry_run and (skip_invalid or not report.invalid)
            if not report.written:
                raise _Rollback
            try:
                write(valid, report)
            except IntegrityError:  # another import wrote the same keys meanwhile
                raise LedgerUnreadable(_("The ledgers changed while this file was being imported; nothing was "
                                         "written: import it again."))
            if progress:
                progress("write", report.read, report.read)
    except _Rollback:
        pass
    report.errors.sort(key=lambda e: e.row)


def _import(kind: str, *, actor, path_or_file, name, sheet, encoding, dry_run, skip_invalid, progress,
            preview_limit) -> ImportReport:
    schema, columns, required, importer = {
        "projects": (vocab.PROJECTS, vocab.PROJECT_COLUMNS, (vocab.P_CODE,), _Projects),
        "funds": (vocab.FUNDS, vocab.FUND_COLUMNS, (vocab.F_PROJECT, vocab.F_SOURCE, vocab.F_ALLOCATED), _Funds),
    }[kind]
    refusal = importer.refusal(actor)
    if refusal is not None:
        raise ImportRefused(refusal.message)
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        ledger, name = _open(path_or_file, name, Path(tmp), sheet, encoding, schema)
        report = ImportReport(file=name, dry_run=dry_run)
        try:
            _require(ledger, *required)
            job = importer(actor=actor, ledger=ledger, reason=_("Import: %(file)s") % {"file": name})
            _run(report, ledger, check_rows=job.check, write=job.write, columns=columns, dry_run=dry_run,
                 skip_invalid=skip_invalid, progress=progress, preview_limit=preview_limit)
        finally:
            ledger.close()
    return report


def projects_import(*, actor, path_or_file, name: str | None = None, sheet: str | None = None,
                    encoding: str | None = None, dry_run: bool = False, skip_invalid: bool = False,
                    progress: Progress | None = None, preview_limit: int = 0) -> ImportReport:
    """Import a project list (项目库) from XLSX/CSV: projects created or updated by their code, all or nothing.
    Raises LedgerUnreadable (ImportRefused: the actor enters no projects)."""
    return _import("projects", actor=actor, path_or_file=path_or_file, name=name, sheet=sheet, encoding=encoding,
                   dry_run=dry_run, skip_invalid=skip_invalid, progress=progress, preview_limit=preview_limit)


def funds_import(*, actor, path_or_file, name: str | None = None, sheet: str | None = None,
                 encoding: str | None = None, dry_run: bool = False, skip_invalid: bool = False,
                 progress: Progress | None = None, preview_limit: int = 0) -> ImportReport:
    """Import a fund ledger (资金台账) from XLSX/CSV: fund lines of projects already in the project list, created or
    updated by project code + source + 文号 (or + year without one), all or nothing. Raises LedgerUnreadable
    (ImportRefused: the actor keeps no fund lines)."""
    return _import("funds", actor=actor, path_or_file=path_or_file, name=name, sheet=sheet, encoding=encoding,
                   dry_run=dry_run, skip_invalid=skip_invalid, progress=progress, preview_limit=preview_limit)


# ---------------------------------------------------------------- areas named in a ledger

_SUFFIXES = {AreaLevel.TOWNSHIP: ("街道办事处", "办事处", "街道", "镇", "乡"),  # i18n: data
             AreaLevel.VILLAGE: ("村民委员会", "村委会", "居委会", "社区", "村")}  # i18n: data


def _bare(name: str, level: str) -> str:
    key = vocab.text_key(name)
    for suffix in _SUFFIXES[level]:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


class Areas:
    """The townships and villages of the importer's counties (`scope`: two counties each have a 城关镇) by 12-digit
    code and by name (with or without 镇/乡/村/社区), loaded once."""

    def __init__(self, scope=None):
        self.by_code: dict[str, AdminArea] = {}
        self.by_pk: dict[int, AdminArea] = {}
        self.by_name: dict[tuple[str, str], list[AdminArea]] = {}
        areas = AdminArea.objects.filter(level__in=(AreaLevel.TOWNSHIP, AreaLevel.VILLAGE))
        within = scope.areas_q() if scope is not None else None
        if within is not None:
            areas = areas.filter(within)
        for area in areas.defer("geom", "geom_web").order_by("code"):
            self.by_code[area.code] = area
            self.by_pk[area.pk] = area
            for key in {vocab.text_key(area.name), _bare(area.name, area.level)}:
                self.by_name.setdefault((area.level, key), []).append(area)

    def find(self, value: str, level: str, *, township: AdminArea | None = None) -> list[AdminArea]:
        digits = value.strip()
        if digits.isdigit():
            code = digits.ljust(12, "0") if len(digits) in (6, 9) else digits
            area = self.by_code.get(code)
            return [area] if area is not None and area.level == level else []
        found = (self.by_name.get((level, vocab.text_key(value)))
                 or self.by_name.get((level, _bare(value, level))) or [])
        if township is not None and len(found) > 1:
            found = [a for a in found if a.parent_id == township.pk] or found
        return found


# ---------------------------------------------------------------- projects

P_FIELD_COLUMNS = {"code": vocab.P_CODE, "name": vocab.P_NAME, "year": vocab.P_YEAR, "kind": vocab.P_KIND,
                   "implementing_unit": vocab.P_IMPLEMENTER, "department": vocab.P_DEPARTMENT,
                   "township": vocab.P_TOWNSHIP, "villages": vocab.P_VILLAGES, "township_seat": vocab.P_SEAT,
                   "approval_document": vocab.P_APPROVAL, "started_on": vocab.P_STARTED,
                   "completed_on": vocab.P_COMPLETED, "accepted_on": vocab.P_ACCEPTED,
                   "acceptance_document": vocab.P_ACCEPTANCE, "status": vocab.P_STATUS, "note": vocab.P_NOTE}
P_TEXT = {vocab.P_NAME: "name", vocab.P_IMPLEMENTER: "implementing_unit", vocab.P_APPROVAL: "approval_document",
          vocab.P_ACCEPTANCE: "acceptance_document", vocab.P_NOTE: "note"}
P_DATES = {vocab.P_STARTED: "started_on", vocab.P_COMPLETED: "completed_on", vocab.P_ACCEPTED: "accepted_on"}
P_WRITTEN = ["name", "year", "kind", "implementing_unit", "department", "township", "township_seat",
             "approval_document", "started_on", "completed_on", "accepted_on", "acceptance_document", "status", "note"]
P_NOT_CLEANED = ["department", "township", "villages", "code"]
STATUS_ORDER = [ProjectStatus.PLANNED, ProjectStatus.UNDER_WAY, ProjectStatus.COMPLETED, ProjectStatus.ACCEPTED]


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class _Projects:
    """Checking and writing the rows of a project list."""

    @staticmethod
    def refusal(actor):
        return rules.may_edit_project(actor, None)

    def __init__(self, *, actor, ledger: Ledger, reason: str):
        self.actor, self.ledger, self.reason = actor, ledger, reason
        self.columns = ledger.columns
        self.scope = scope_for(actor)
        self.areas = Areas(self.scope)
        self.departments = {vocab.text_key(d.name): d for d in Department.objects.all()}
        self.own_department = (self.departments_by_id().get(self.scope.department_id)
                               if self.scope.department_id else None)
        self.villages_before: dict[int, set[int]] = {}

    def departments_by_id(self) -> dict[int, Department]:
        return {d.pk: d for d in self.departments.values()}

    # ------------------------------------------------------------ cells

    def _cells(self, row: Row) -> None:
        v, cols, f = row.raw.values, self.columns, row.fields
        code = row.key = _text(row, vocab.P_CODE, _max_length(Project, "code"))
        if not code:
            row.err(vocab.P_CODE, _("The project code is missing (required)"))
        for column, name in P_TEXT.items():
            if column in cols:
                f[name] = _text(row, column, _max_length(Project, name) or 100000)
        if vocab.P_YEAR in cols:
            try:
                f["year"] = cells.year_parse(v.get(vocab.P_YEAR))
            except ValueError as exc:
                row.err(vocab.P_YEAR, str(exc))
        for column, index, name, table in (
                (vocab.P_KIND, vocab.PROJECT_KIND_INDEX, "kind", vocab.PROJECT_KIND_LABELS),
                (vocab.P_STATUS, vocab.PROJECT_STATUS_INDEX, "status", vocab.PROJECT_STATUS_LABELS)):
            value = cells.text(v.get(column))
            if value:
                code_value = cells.lookup(index, value)
                if code_value is None:
                    row.err(column, _unknown(column, value, table))
                else:
                    f[name] = code_value
        for column, name in P_DATES.items():
            if column in cols:
                try:
                    f[name] = cells.date_parse(v.get(column))
                except ValueError as exc:
                    row.err(column, str(exc))
        if vocab.P_DEPARTMENT in cols:
            value = cells.text(v.get(vocab.P_DEPARTMENT))
            f["department"] = self.departments.get(vocab.text_key(value)) if value else self.own_department
            if value and f["department"] is None:
                row.err(vocab.P_DEPARTMENT, _("The department “%(value)s” is not in the system's list of departments")
                        % {"value": value})
        if vocab.P_SEAT in cols:
            value = vocab.text_key(cells.text(v.get(vocab.P_SEAT)))
            if value in vocab.SEAT_YES or value in vocab.SEAT_NO:
                f["township_seat"] = value in vocab.SEAT_YES
            else:
                row.err(vocab.P_SEAT, _("“%(value)s” is not accepted. Give one of: %(accepted)s.") % {
                    "value": cells.text(v.get(vocab.P_SEAT)), "accepted": pgettext("list separator", ", ").join(
                        ("是", "否"))})  # i18n: data
        self._places(row)

    def _places(self, row: Row) -> None:
        """The township (name or code) and the villages served: names or codes separated by 、,；; 镇区 for the
        township seat; a village names its township when the township is not given."""
        v, f = row.raw.values, row.fields
        township = None
        if vocab.P_TOWNSHIP in self.columns:
            value = cells.text(v.get(vocab.P_TOWNSHIP))
            f["township"] = None
            if value:
                found = self.areas.find(value, AreaLevel.TOWNSHIP)
                if len(found) != 1:
                    return row.err(vocab.P_TOWNSHIP, _("The county has no township “%(name)s”") % {"name": value})
                township = f["township"] = found[0]
        if vocab.P_VILLAGES not in self.columns:
            return
        villages = []
        for item in (i.strip() for i in vocab.VILLAGE_SEPARATORS.split(cells.text(v.get(vocab.P_VILLAGES)))):
            if not item:
                continue
            if vocab.text_key(item) in vocab.SEAT_WORDS:
                f["township_seat"] = True
                continue
            found = self.areas.find(item, AreaLevel.VILLAGE, township=township)
            if not found:
                row.err(vocab.P_VILLAGES, _("The county has no village named “%(name)s”") % {"name": item})
            elif len(found) > 1:
                row.err(vocab.P_VILLAGES, _("Several villages are named “%(name)s”: fill in the township or the area "
                                            "code") % {"name": item})
            elif found[0] not in villages:
                villages.append(found[0])
        for village in villages if township is not None else ():
            if village.parent_id != township.pk:
                parent = self.areas.by_pk.get(village.parent_id)
                row.err(vocab.P_VILLAGES, _("The village “%(village)s” belongs to “%(township)s”, not to "
                                            "“%(stated)s”") % {"village": village.name,
                                                              "township": parent.name if parent else "",
                                                              "stated": township.name})
        parents = {village.parent_id for village in villages}
        if township is None and len(parents) == 1:  # the villages name their township
            f["township"] = self.areas.by_pk.get(parents.pop())
        row.villages = villages

    # ------------------------------------------------------------ the whole file

    def check(self, rows: list[Row], *, lock: bool) -> None:
        for row in rows:
            self._cells(row)
        codes = {r.key for r in rows if r.key}
        qs = Project.objects.filter(code__in=codes)
        if lock:
            qs = qs.select_for_update()
        existing = {p.code: p for p in qs}
        through = Project.villages.through
        for project_id, area_id in through.objects.filter(project__code__in=codes).values_list(
                "project_id", "adminarea_id"):
            self.villages_before.setdefault(project_id, set()).add(area_id)
        first: dict[str, int] = {}
        for row in rows:
            if not row.key:
                continue
            if row.key in first:
                row.err(vocab.P_CODE, _("The project code “%(code)s” is repeated in the file (row %(first)s has it "
                                        "already)") % {"code": row.key, "first": first[row.key]})
                continue
            first[row.key] = row.row
            if not row.errors:
                self._decide(row, existing.get(row.key))

    @staticmethod
    def _values(project: Project) -> dict:
        return {name: getattr(project, Project._meta.get_field(name).attname) for name in P_WRITTEN}

    def _decide(self, row: Row, current: Project | None) -> None:
        """The row's final state, checked by the projects app's rules and refusals (nothing is saved here)."""
        f = row.fields
        if current is not None:
            refusal = rules.may_edit_project(self.actor, current)
            if refusal is not None:
                return row.err(vocab.P_CODE, refusal.message)
            before = self._values(current)
            for name in ("name", "year"):
                if name in f and f[name] in (None, ""):
                    row.err(P_FIELD_COLUMNS[name], _("Required: this cell may not be empty"))
            obj = current
        else:
            obj = Project(code=row.key, department=self.own_department,
                          county_id=project_county(self.actor, Project()))
            for name, message in (("name", _("The project name is missing (required)")),
                                  ("year", _("The project year is missing (required)")),
                                  ("kind", _("The project kind is missing (required)"))):
                if f.get(name) in (None, ""):
                    row.err(P_FIELD_COLUMNS[name], message)
        if row.errors:
            return
        for name, value in f.items():
            setattr(obj, name, value)
        if "status" not in f:  # dates further on than the status say it: completed, accepted
            derived = (ProjectStatus.ACCEPTED if obj.accepted_on
                       else ProjectStatus.COMPLETED if obj.completed_on else None)
            if derived and obj.status in STATUS_ORDER and STATUS_ORDER.index(derived) > STATUS_ORDER.index(obj.status):
                obj.status = derived
        refusal = rules.may_edit_project(self.actor, obj)
        if refusal is not None:
            row.err(vocab.P_DEPARTMENT if vocab.P_DEPARTMENT in self.columns else vocab.P_CODE, refusal.message)
        _field_errors(row, project_values_errors(obj), P_FIELD_COLUMNS, vocab.P_CODE)
        try:
            obj.clean_fields(exclude=P_NOT_CLEANED)
        except ValidationError as exc:
            _field_errors(row, exc.message_dict, P_FIELD_COLUMNS, vocab.P_CODE)
        if row.errors:
            return
        row.obj = obj
        row.fields["_villages_changed"] = row.villages is not None and (
            current is None or {v.pk for v in row.villages} != self.villages_before.get(current.pk, set()))
        if current is None:
            row.action = "create"
        else:
            changed = self._values(obj) != before or row.fields["_villages_changed"]
            row.action = "update" if changed else "unchanged"

    def write(self, rows: list[Row], report: ImportReport) -> None:
        now = timezone.now()
        new = [r for r in rows if r.action == "create"]
        changed = [r for r in rows if r.action == "update"]
        fields = [f for f in Project._meta.concrete_fields if f.attname != "id"]
        inserted = [f.column for f in fields]
        updated = ["id", *(Project._meta.get_field(n).attname for n in P_WRITTEN), "updated_at"]
        for r in new:
            r.obj.created_at = r.obj.updated_at = now
        for r in changed:
            r.obj.updated_at = now
        history: dict[int, int] = {}  # project id → its new history row
        by_code = {r.obj.code: r.obj for r in new}
        for history_id, pk, code in _write_with_history(
                Project, inserted, [[getattr(r.obj, f.attname) for f in fields] for r in new], update=False,
                actor=self.actor, reason=self.reason, now=now, key="code"):
            by_code[code].pk, history[pk] = pk, history_id
        for history_id, pk, _code in _write_with_history(
                Project, updated, [[getattr(r.obj, c) for c in updated] for r in changed], update=True,
                actor=self.actor, reason=self.reason, now=now, key="code"):
            history[pk] = history_id
        # the villages served: the link table is editable (a project's villages are corrected); each history row
        # copies the project's villages as they are after it, as simple_history does for a tracked m2m field
        through = Project.villages.through._meta.db_table
        m2m_history = apps.get_model("projects", "HistoricalProject_villages")._meta.db_table
        moved = [r for r in new + changed if r.fields["_villages_changed"]]
        pairs = [(r.obj.pk, v.pk) for r in moved for v in r.villages]
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {through} WHERE project_id = ANY(%s)",  # noqa: S608 - the model's table
                           [[r.obj.pk for r in moved if r.action == "update"]])
            cursor.execute(f"INSERT INTO {through} (project_id, adminarea_id) "  # noqa: S608
                           "SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
                           [[p for p, _v in pairs], [v for _p, v in pairs]])
            cursor.execute(f"""INSERT INTO {m2m_history} (id, history_id, project_id, adminarea_id)
                               SELECT t.id, h.history_id, t.project_id, t.adminarea_id FROM {through} t
                               JOIN unnest(%s::bigint[], %s::bigint[]) AS h(project_id, history_id)
                               ON h.project_id = t.project_id""",  # noqa: S608
                           [list(history), list(history.values())])
        report.created_codes = [r.obj.code for r in new[:REPORT_CODES]]
        report.updated_codes = [r.obj.code for r in changed[:REPORT_CODES]]


# ---------------------------------------------------------------- fund lines

F_FIELD_COLUMNS = {"project": vocab.F_PROJECT, "source": vocab.F_SOURCE, "document_number": vocab.F_DOCUMENT,
                   "year": vocab.F_YEAR, "allocated": vocab.F_ALLOCATED, "disbursed": vocab.F_DISBURSED,
                   "note": vocab.F_NOTE}
F_WRITTEN = ["year", "allocated", "disbursed", "note"]


class _Funds:
    """Checking and writing the rows of a fund ledger."""

    @staticmethod
    def refusal(actor):
        # on a project the actor would lead: the finance bureau and county administrators keep every project's
        # funds, a department its own projects', other roles none
        return rules.may_edit_funds(actor, Project(department_id=scope_for(actor).department_id))

    def __init__(self, *, actor, ledger: Ledger, reason: str):
        self.actor, self.ledger, self.reason = actor, ledger, reason
        self.columns = ledger.columns
        self.refusals: dict[int, Any] = {}

    def _cells(self, row: Row, projects: dict[str, Project]) -> None:
        v, cols, f = row.raw.values, self.columns, row.fields
        code = cells.text(v.get(vocab.F_PROJECT))
        project = projects.get(code)
        if not code:
            row.err(vocab.F_PROJECT, _("The project code is missing (required)"))
        elif project is None:
            row.err(vocab.F_PROJECT, _("The project code “%(code)s” is not in the project list (import the "
                                       "project list first)") % {"code": code})
        else:
            if project.pk not in self.refusals:
                self.refusals[project.pk] = rules.may_edit_funds(self.actor, project)
            if self.refusals[project.pk] is not None:
                row.err(vocab.F_PROJECT, self.refusals[project.pk].message)
        f["project"] = project
        source_text = cells.text(v.get(vocab.F_SOURCE))
        source = cells.lookup(vocab.FUND_SOURCE_INDEX, source_text) if source_text else None
        if not source_text:
            row.err(vocab.F_SOURCE, _("The funding source is missing (required)"))
        elif source is None:
            row.err(vocab.F_SOURCE, _unknown(vocab.F_SOURCE, source_text, vocab.FUND_SOURCE_LABELS))
        level_text = cells.text(v.get(vocab.F_LEVEL))
        if source and level_text:
            level = vocab.FUND_LEVELS.get(vocab.text_key(level_text).removesuffix("财政"))  # i18n: data
            if level is None:
                row.err(vocab.F_LEVEL, _("Unknown %(column)s “%(value)s” (should be one of: %(accepted)s)") % {
                    "column": vocab.F_LEVEL, "value": level_text, "accepted": "中央、省级、市级、县级"})  # i18n: data
            elif source == FundingSourceKind.SPECIAL_UNSTATED:
                source = level
            elif source in vocab.FUND_LEVELS.values() and source != level:
                row.err(vocab.F_LEVEL, _("The level “%(level)s” contradicts the source “%(source)s”")
                        % {"level": level_text, "source": source_text})
        f["source"] = source
        f["document_number"] = _text(row, vocab.F_DOCUMENT, _max_length(FundLine, "document_number"))
        try:
            year = cells.year_parse(v.get(vocab.F_YEAR))
        except ValueError as exc:
            row.err(vocab.F_YEAR, str(exc))
            year = None
        f["year"] = year if year is not None else (project.year if project is not None else None)
        for column, name in ((vocab.F_ALLOCATED, "allocated"), (vocab.F_DISBURSED, "disbursed")):
            if column not in cols:
                continue
            try:
                f[name] = cells.money(v.get(column), self.ledger.scale(column))
            except ValueError as exc:
                row.err(column, str(exc))
                continue
            if f[name] is None and name == "allocated":
                row.err(column, _("The amount allocated is missing (required)"))
        if vocab.F_NOTE in cols:
            f["note"] = _text(row, vocab.F_NOTE, _max_length(FundLine, "note"))
        if project is not None and source:
            row.key = (project.pk, source, f["document_number"] or f["year"], bool(f["document_number"]))

    def check(self, rows: list[Row], *, lock: bool) -> None:
        codes = {cells.text(r.raw.values.get(vocab.F_PROJECT)) for r in rows} - {""}
        qs = Project.objects.filter(code__in=codes)
        if lock:
            qs = qs.select_for_update()
        projects = {p.code: p for p in qs}
        existing = {}
        for line in FundLine.objects.filter(project_id__in=[p.pk for p in projects.values()]):
            doc = bool(line.document_number)
            existing[(line.project_id, line.source, line.document_number if doc else line.year, doc)] = line
        first: dict[tuple, int] = {}
        for row in rows:
            self._cells(row, projects)
            if row.key is None:
                continue
            if row.key in first:
                project = row.fields["project"]
                row.err(vocab.F_DOCUMENT if row.key[3] else vocab.F_YEAR, _(
                    "The project “%(code)s” has this source under this document number (or, without one, in this "
                    "year) already in row %(first)s") % {"code": project.code, "first": first[row.key]})
                continue
            first[row.key] = row.row
            if not row.errors:
                self._decide(row, existing.get(row.key))

    def _decide(self, row: Row, current: FundLine | None) -> None:
        """The line's final state, checked by the projects app's rules (nothing is saved here)."""
        f = row.fields
        values = {name: f[name] for name in F_WRITTEN if name in f}
        if "disbursed" in values and values["disbursed"] is None:
            values["disbursed"] = Decimal(0)  # nothing disbursed yet
        if current is None:
            line = FundLine(project=f["project"], source=f["source"], document_number=f["document_number"],
                            recorded_by=self.actor if getattr(self.actor, "is_authenticated", False) else None,
                            **values)
            row.action = "create"
        else:
            line = current
            before = [getattr(line, n) for n in F_WRITTEN]
            for name, value in values.items():
                setattr(line, name, value)
            row.action = "update" if [getattr(line, n) for n in F_WRITTEN] != before else "unchanged"
        _field_errors(row, fund_line_values_errors(line), F_FIELD_COLUMNS, vocab.F_ALLOCATED)
        try:
            line.clean_fields(exclude=["project", "recorded_by"])
        except ValidationError as exc:
            _field_errors(row, exc.message_dict, F_FIELD_COLUMNS, vocab.F_ALLOCATED)
        row.obj = line

    def write(self, rows: list[Row], report: ImportReport) -> None:
        now = timezone.now()
        new = [r.obj for r in rows if r.action == "create"]
        changed = [r.obj for r in rows if r.action == "update"]
        inserted = [f.attname for f in FundLine._meta.concrete_fields if f.attname != "id"]
        updated = ["id", *F_WRITTEN]
        for line in new:
            line.recorded_at = now
        _write_with_history(FundLine, inserted, [[getattr(o, c) for c in inserted] for o in new], update=False,
                            actor=self.actor, reason=self.reason, now=now)
        _write_with_history(FundLine, updated, [[getattr(o, c) for c in updated] for o in changed], update=True,
                            actor=self.actor, reason=self.reason, now=now)
        report.created_codes = list(dict.fromkeys(o.project.code for o in new))[:REPORT_CODES]
        report.updated_codes = list(dict.fromkeys(o.project.code for o in changed))[:REPORT_CODES]
