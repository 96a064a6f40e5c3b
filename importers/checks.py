"""Checking a ledger's rows, a chunk at a time, before anything is written.

`row_check` turns one row's cells into register values and says everything wrong with them (the value rules are
geo_assets.validation's); `rows_locate` then places the chunk's geometries in villages with one PostGIS query
(validation.villages_covering, the register's own containment test) and checks the stated village, the township
and the actor's scope. Nothing here writes.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from geo_assets import validation
from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset, Department
from geo_assets.taxonomy import DEFAULT_OWNER_KIND, TYPE_CATEGORY, AreaLevel, AssetStatus, county_code_of
from importers import cells, vocab
from importers.coords import CrsChoice, degrees_parse
from importers.geometry import GeometryProblem, concrete, geometry_label, swapped, to_storage
from importers.readers import RawRow
from importers.report import RowError
from projects import rules as project_rules
from projects.models import Project

MAX_LENGTHS = {col: Asset._meta.get_field(f).max_length for col, f in vocab.TEXT_FIELDS.items()
               if getattr(Asset._meta.get_field(f), "max_length", None)}
LON_LAT = f"{vocab.LON}/{vocab.LAT}"  # the two ledger columns, named together


class Context:
    """What every row check needs, loaded once: villages by code and name, departments, the actor's scope."""

    def __init__(self, *, actor, filename: str, choice: CrsChoice, columns: set[str],
                 scales: dict[str, Decimal] | None = None):
        self.actor = actor
        self.scales = scales or {}  # money column → factor to 万元 (a header in 元)
        self.projects: dict[str, tuple[int | None, str | None]] = {}  # project code → (id, refusal) once looked up
        self.scope = scope_for(actor)
        self.filename = filename
        self.choice = choice
        self.columns = columns
        self.reason = _("Import: %(file)s") % {"file": filename}
        areas = list(AdminArea.objects.defer("geom", "geom_web"))
        by_id = {a.pk: a for a in areas}
        for a in areas:
            if a.parent_id:
                a.parent = by_id.get(a.parent_id)
        self.villages = {a.pk: a for a in areas if a.level == AreaLevel.VILLAGE}
        self.villages_by_code = {v.code: v for v in self.villages.values()}
        self.villages_by_name: dict[str, list[AdminArea]] = {}
        for v in self.villages.values():
            self.villages_by_name.setdefault(vocab.text_key(v.name), []).append(v)
        self.departments = {vocab.text_key(d.name): d for d in Department.objects.all()}
        self.geometry_label = geometry_label()  # translated once, not per row

    def may_create(self, asset_type: str, village: AdminArea) -> bool:
        return self.scope.covers(asset_type=asset_type, village_id=village.pk, township_id=village.parent_id,
                                 county=county_code_of(village.code))


@dataclass
class Existing:
    pk: int
    status: str
    editable: bool


def existing_for(codes: list[str], actor) -> dict[str, Existing]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = Asset.objects.filter(code__in=codes).values_list("pk", "code", "status")
    editable = set(Asset.objects.editable_by(actor).filter(code__in=codes).values_list("pk", flat=True))
    return {code: Existing(pk, status, pk in editable) for pk, code, status in rows}


@dataclass
class CheckedRow:
    raw: RawRow
    code: str = ""
    known: Existing | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    funding: list | None = None
    owners: list | None = None
    project_codes: list[str] = field(default_factory=list)  # 项目编号: the projects that formed the asset
    project_amount: Decimal | None = None  # 项目投入: what the (one) project put in
    projects: list[tuple[int, Decimal | None]] | None = None  # (project id, amount) once looked up (rows_link)
    geometry: Any = None  # shapely, EPSG:4490, Point | MultiLineString | MultiPolygon
    wkb: bytes | None = None  # the geometry as WKB, once placed (rows_locate)
    village: AdminArea | None = None
    errors: list[RowError] = field(default_factory=list)
    # where the geometry came from, to tell a clerk that longitude and latitude look swapped
    geom_field: str = field(default_factory=geometry_label)
    source: Any = None
    source_crs: Any = None
    from_cells: bool = False
    problem: GeometryProblem | None = None

    @property
    def row(self) -> int:
        return self.raw.number

    @property
    def layer(self) -> str:
        return self.raw.layer

    def err(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.raw.number, column, message, self.raw.layer))


def _checked(row: CheckedRow, column: str, check, *args, **kwargs):
    """Run a geo_assets.validation rule on a cell's value; its problem is reported on that column."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        for message in exc.messages:
            row.err(column, message)


def _unknown(column: str, value: str, table) -> str:
    return _("Unknown %(column)s “%(value)s” (should be one of these names or codes: %(accepted)s)") % {
        "column": column, "value": value, "accepted": vocab.accepted(table)}


def row_check(raw: RawRow, ctx: Context, existing: dict[str, Existing]) -> CheckedRow:
    """Everything one row's cells can say on their own; its village is checked with its chunk (rows_locate)."""
    row = CheckedRow(raw, geom_field=ctx.geometry_label)
    v, cols, err = raw.values, ctx.columns, row.err
    code = row.code = cells.text(v.get(vocab.CODE))
    known = row.known = existing.get(code) if code else None
    fields = row.fields
    if code:
        if len(code) > 40:
            err(vocab.CODE, _("The asset code is too long (at most 40 characters)"))
        if known is not None and not known.editable:
            err(vocab.CODE, _("The asset “%(code)s” is outside what you may change (area or sector)") % {"code": code})
        if known is None:
            fields["code"] = code

    for column, name in vocab.TEXT_FIELDS.items():
        if column not in cols:
            continue
        value = cells.text(v.get(column))
        if column in MAX_LENGTHS and len(value) > MAX_LENGTHS[column]:
            err(column, _("Too long (at most %(limit)s characters)") % {"limit": MAX_LENGTHS[column]})
        fields[name] = value
    if vocab.PHONE in cols:
        _checked(row, vocab.PHONE, validation.phone_check, fields.get("custodian_phone"))
    if (vocab.NAME in cols or known is None) and not fields.get("name"):
        err(vocab.NAME, _("The asset name is missing (required)"))

    asset_type = None
    type_text = cells.text(v.get(vocab.TYPE))
    if type_text:
        asset_type = cells.lookup(vocab.TYPE_INDEX, type_text)
        if asset_type is None:
            err(vocab.TYPE, _unknown(vocab.TYPE, type_text, vocab.TYPE_LABELS))
        else:
            fields["asset_type"] = asset_type
    elif vocab.TYPE in cols or known is None:
        err(vocab.TYPE, _("The asset type is missing (required)"))
    category_text = cells.text(v.get(vocab.CATEGORY))
    if category_text:
        category = cells.lookup(vocab.CATEGORY_INDEX, category_text)
        if category is None:
            err(vocab.CATEGORY, _unknown(vocab.CATEGORY, category_text, vocab.CATEGORY_LABELS))
        elif asset_type:
            fields["category"] = _checked(row, vocab.TYPE, validation.category_for, asset_type, category)
        else:
            fields["category"] = category
    elif asset_type:
        fields["category"] = TYPE_CATEGORY[asset_type]

    for column, index, name, table in (
        (vocab.STATUS, vocab.STATUS_INDEX, "status", vocab.STATUS_LABELS),
        (vocab.OWNER_KIND, vocab.OWNER_KIND_INDEX, "owner_kind", vocab.OWNER_KIND_LABELS),
        (vocab.REGISTRATION, vocab.REGISTRATION_INDEX, "registration_status", vocab.REGISTRATION_LABELS),
    ):
        value = cells.text(v.get(column))
        if not value:
            continue
        code_value = cells.lookup(index, value)
        if code_value is None:
            err(column, _unknown(column, value, table))
        else:
            fields[name] = code_value
    if "status" in fields:
        _checked(row, vocab.STATUS, validation.status_check, fields["status"],
                 disposed=known is not None and known.status == AssetStatus.DISPOSED)

    year_value = v.get(vocab.YEAR)
    if hasattr(year_value, "year"):
        year_value = year_value.year
    year_text = cells.text(year_value).removesuffix("年").removesuffix(".0")  # i18n: data
    if vocab.YEAR in cols:
        fields["year_built"] = None
        if year_text and not year_text.isdigit():
            err(vocab.YEAR, _("The year built “%(value)s” is not a year") % {"value": year_text})
        elif year_text:
            fields["year_built"] = int(year_text)
            _checked(row, vocab.YEAR, validation.year_built_check, int(year_text))
    if vocab.QUANTITY in cols:
        fields["quantity"] = None
        if cells.text(v.get(vocab.QUANTITY)):
            try:
                fields["quantity"] = cells.decimal(v.get(vocab.QUANTITY), 3)
            except ValueError as exc:
                err(vocab.QUANTITY, str(exc))
    investment = None
    if cells.text(v.get(vocab.INVESTMENT)):
        try:
            investment = cells.decimal(v.get(vocab.INVESTMENT), 4)
        except ValueError as exc:
            err(vocab.INVESTMENT, str(exc))
        else:
            if ctx.scales.get(vocab.INVESTMENT, 1) != 1:  # the header says 元
                investment = (investment * ctx.scales[vocab.INVESTMENT]).quantize(cells.YUAN, ROUND_HALF_UP)
    _project_cells(row, ctx)
    if vocab.DEPARTMENT in cols:
        dept_text = cells.text(v.get(vocab.DEPARTMENT))
        fields["department"] = None
        if dept_text:
            fields["department"] = ctx.departments.get(vocab.text_key(dept_text))
            if fields["department"] is None:
                err(vocab.DEPARTMENT, _("The department “%(value)s” is not in the system's list of departments")
                    % {"value": dept_text})

    funding_cell = cells.text(v.get(vocab.FUNDING))
    if funding_cell:
        try:
            row.funding = cells.funding_parse(funding_cell, investment)
        except ValueError as exc:
            err(vocab.FUNDING, str(exc))
        else:
            total = validation.funding_total(row.funding)
            if investment is not None and total != investment:
                err(vocab.INVESTMENT, _("The investment of %(investment)s (10k yuan) differs from the funding sources' "
                                        "total of %(total)s (10k yuan)")
                    % {"investment": cells.number_text(investment), "total": cells.number_text(total)})
    elif investment is not None:
        fields["total_investment"] = investment

    owners_cell = cells.text(v.get(vocab.OWNERS))
    if owners_cell:
        kind = fields.get("owner_kind") or DEFAULT_OWNER_KIND.get(asset_type or "", "")
        try:
            row.owners = cells.owners_parse(owners_cell, kind)
        except ValueError as exc:
            err(vocab.OWNERS, str(exc))

    _geometry_read(row, ctx)
    return row


def _project_cells(row: CheckedRow, ctx: Context) -> None:
    """项目编号 (one code, or several separated by 、,;) and 项目投入 (for one code only)."""
    v = row.raw.values
    if codes := cells.text(v.get(vocab.PROJECT_CODE)):
        row.project_codes = list(dict.fromkeys(
            c.strip() for c in vocab.VILLAGE_SEPARATORS.split(codes) if c.strip()))
    if vocab.PROJECT_AMOUNT in ctx.columns and cells.text(v.get(vocab.PROJECT_AMOUNT)):
        try:
            row.project_amount = cells.money(v.get(vocab.PROJECT_AMOUNT), ctx.scales.get(vocab.PROJECT_AMOUNT, 1))
            validation.amount_check(row.project_amount, field="amount")
        except ValueError as exc:
            row.err(vocab.PROJECT_AMOUNT, str(exc))
        except ValidationError as exc:
            row.err(vocab.PROJECT_AMOUNT, exc.messages[0])
        if not row.project_codes:
            row.err(vocab.PROJECT_AMOUNT, _("An amount for a project needs the project's code (%(column)s)")
                    % {"column": vocab.PROJECT_CODE})
        elif len(row.project_codes) > 1:
            row.err(vocab.PROJECT_AMOUNT, _("With several project codes, give no amount: link the amounts one "
                                            "project at a time"))


def rows_link(rows: list[CheckedRow], ctx: Context) -> None:
    """The projects a chunk's rows name (项目编号), looked up in one query: unknown codes and projects the actor may
    not link (projects.rules.may_link) are row errors."""
    codes = {c for r in rows for c in r.project_codes} - set(ctx.projects)
    if codes:
        found = {p.code: p for p in Project.objects.filter(code__in=codes)}
        visible = set(Project.objects.visible_to(ctx.actor).filter(code__in=found).values_list("code", flat=True))
        for code in codes:
            project = found.get(code)
            refusal = None
            if project is not None and code not in visible:
                refusal = project_rules.may_link(ctx.actor, project, None, asset_editable=True)
            ctx.projects[code] = (project.pk if project else None, refusal.message if refusal else None)
    for row in rows:
        if not row.project_codes:
            continue
        linked = []
        for code in row.project_codes:
            pk, refusal = ctx.projects[code]
            if pk is None:
                row.err(vocab.PROJECT_CODE, _("The project code “%(code)s” is not in the project list (import the "
                                              "project list first)") % {"code": code})
            elif refusal:
                row.err(vocab.PROJECT_CODE, refusal)
            else:
                linked.append((pk, row.project_amount))
        row.projects = linked


def _geometry_read(row: CheckedRow, ctx: Context) -> None:
    """The row's geometry in storage form (EPSG:4490, concrete type), from the feature, WKT or 经度/纬度."""
    v = row.raw.values
    geom = row.raw.geometry
    if geom is None:
        wkt = cells.text(v.get(vocab.WKT))
        if wkt:
            try:
                geom = shapely.from_wkt(wkt)
            except Exception:
                return row.err(vocab.WKT, _("The WKT geometry text cannot be parsed"))
            row.geom_field = vocab.WKT
        else:
            lon_text, lat_text = v.get(vocab.LON), v.get(vocab.LAT)
            if cells.text(lon_text) == "" and cells.text(lat_text) == "":
                return row.err(LON_LAT, _("The location is missing: fill in the longitude and latitude (WKT for lines "
                                          "and polygons)"))
            lon, lat = degrees_parse(lon_text), degrees_parse(lat_text)
            if lon is None:
                row.err(vocab.LON, _("Cannot read the longitude “%(value)s” (it should be decimal degrees or like "
                                     "111°35′43.7″)") % {"value": cells.text(lon_text)})
            if lat is None:
                row.err(vocab.LAT, _("Cannot read the latitude “%(value)s” (it should be decimal degrees or like "
                                     "33°52′10″)") % {"value": cells.text(lat_text)})
            if lon is None or lat is None:
                return
            geom = shapely.Point(lon, lat)
            row.geom_field = LON_LAT
        row.from_cells = True
    row.source = geom
    row.source_crs = None if row.from_cells else row.raw.crs
    try:
        geom, _notes = to_storage(geom, file_crs=row.source_crs, choice=ctx.choice, degrees_expected=row.from_cells)
        row.geometry = concrete(geom)
    except GeometryProblem as exc:
        row.problem = exc  # reported by rows_locate, unless longitude and latitude look swapped


def _swap_anchor(row: CheckedRow, ctx: Context):
    """Where the row would be with longitude and latitude exchanged (geographic coordinates only), or None."""
    geographic = not ctx.choice.crs or ctx.choice.crs.is_geographic
    if row.source is None or not geographic or (row.source_crs is not None and not row.source_crs.is_geographic):
        return None
    try:
        alt, _n = to_storage(swapped(shapely.force_2d(row.source)), file_crs=row.source_crs, choice=ctx.choice,
                             degrees_expected=row.from_cells)
    except GeometryProblem:
        return None
    return alt if alt.geom_type == "Point" else shapely.point_on_surface(alt)


def rows_locate(rows: list[CheckedRow], ctx: Context) -> None:
    """Place a chunk's rows in villages (one query, plus one for rows that may have longitude and latitude
    swapped); check the stated village and township and the actor's scope for new assets."""
    placed = [r for r in rows if r.geometry is not None]
    for r, wkb in zip(placed, shapely.to_wkb([r.geometry for r in placed]).tolist() if placed else [], strict=True):
        r.wkb = wkb  # once for the chunk, for the query and the staging
    located = dict(zip((id(r) for r in placed), validation.villages_covering([r.wkb for r in placed]), strict=True))
    outside = [r for r in rows if r.problem is not None or (r.geometry is not None and not located[id(r)].in_county)]
    alternatives = {id(r): a for r in outside if (a := _swap_anchor(r, ctx)) is not None}
    swapped_inside = {key for key, where in zip(alternatives, validation.villages_covering(
        [shapely.to_wkb(a) for a in alternatives.values()]), strict=True) if where.in_county}
    for row in outside:
        if id(row) in swapped_inside:
            row.err(row.geom_field, _("The longitude and latitude may be swapped (swapped, they fall inside the county): "
                                      "please check"))
        elif row.problem is not None:
            row.err(row.problem.field or row.geom_field, row.problem.message)
        else:
            where = located[id(row)]
            row.err(row.geom_field, _("The location is outside the county (longitude %(x).6f, latitude %(y).6f)")
                    % {"x": where.x, "y": where.y})
        row.geometry = None
    for row in placed:
        if row.geometry is not None:
            _village_check(row, located[id(row)].villages, ctx)


def _village_check(row: CheckedRow, covering: tuple[int, ...], ctx: Context) -> None:
    v = row.raw.values
    area_code = cells.text(v.get(vocab.AREA_CODE))
    village_name = cells.text(v.get(vocab.VILLAGE))
    township_name = cells.text(v.get(vocab.TOWNSHIP))
    stated = None
    if area_code:
        stated = ctx.villages_by_code.get(area_code)
        if stated is None:
            return row.err(vocab.AREA_CODE, _("The area code “%(code)s” is not a village of the county") % {"code": area_code})
    elif village_name:
        candidates = ctx.villages_by_name.get(vocab.text_key(village_name), [])
        if township_name:
            candidates = [c for c in candidates if c.parent and
                          vocab.text_key(c.parent.name) == vocab.text_key(township_name)] or candidates
        if not candidates:
            return row.err(vocab.VILLAGE, _("The county has no village named “%(name)s”") % {"name": village_name})
        if len(candidates) > 1:
            candidates = [c for c in candidates if c.pk in covering]
            if len(candidates) != 1:
                return row.err(vocab.VILLAGE, _("Several villages are named “%(name)s”: fill in the township or the area "
                                                "code") % {"name": village_name})
        stated = candidates[0]
    if stated is not None and stated.pk not in covering:
        return row.err(vocab.VILLAGE if not area_code else vocab.AREA_CODE,
                       _("The location is outside the stated village “%(name)s”: check the coordinates or the village")
                       % {"name": stated.name})
    village = stated or (ctx.villages[covering[0]] if covering else None)
    if village is None:
        return row.err(row.geom_field, _("The location is in no village of the county"))
    if township_name and village.parent and vocab.text_key(township_name) != vocab.text_key(village.parent.name):
        return row.err(vocab.TOWNSHIP, _("The village “%(village)s” belongs to “%(township)s”, not to “%(stated)s”")
                       % {"village": village.name, "township": village.parent.name, "stated": township_name})
    asset_type = row.fields.get("asset_type")
    if asset_type and row.known is None and not ctx.may_create(asset_type, village):
        county = county_code_of(village.code)
        if ctx.scope.counties is not None and county not in ctx.scope.counties:
            row.err(vocab.CODE if row.code else vocab.VILLAGE,
                    _("This asset lies in %(village)s of another county (%(county)s): a county imports into its own "
                      "county only") % {"village": village.name, "county": county})
        else:
            row.err(vocab.CODE if row.code else vocab.VILLAGE,
                    _("This asset is outside what you may register (area or sector)"))
    row.village = village
    row.fields["village"] = village
