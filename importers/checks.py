"""Checking a ledger's rows, a chunk at a time, before anything is written.

`rows_check` turns a chunk's cells into register values and says everything wrong with them, a column at a time:
each rule (geo_assets.validation's, the vocabularies, the cell formats) runs once per distinct value of the chunk;
`rows_locate` then places the chunk's geometries in villages with one PostGIS query
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
from geo_assets.models.register import asset_code_validator
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


def _unknown(column: str, value: str, table) -> str:
    return _("Unknown %(column)s “%(value)s” (should be one of these names or codes: %(accepted)s)") % {
        "column": column, "value": value, "accepted": vocab.accepted(table)}


def cell_key(value) -> tuple:
    """A cell's value as a key: by type and value (True == 1 in Python, but its text is “True”), a Decimal by its
    text (2.50 == 2.5, but its text is “2.50”)."""
    cls = value.__class__
    return (cls, str(value)) if cls is Decimal else (cls, value)


def per_value(values: list, rule) -> list:
    """`rule` applied once per distinct value of a column (cell_key), its results in row order."""
    seen: dict = {}
    out = []
    for value in values:
        cls = value.__class__
        # cell_key inlined; text is its own key (no other key of the dict is a str)
        key = value if cls is str else (cls, str(value)) if cls is Decimal else (cls, value)
        try:
            result = seen[key]
        except KeyError:
            result = seen[key] = rule(value)
        except TypeError:  # not hashable
            result = rule(value)
        out.append(result)
    return out


def _verdict(column: str, check, *args, **kwargs) -> tuple:
    """A geo_assets.validation rule's messages on one value, as (column, message) pairs."""
    try:
        check(*args, **kwargs)
    except ValidationError as exc:
        return tuple((column, message) for message in exc.messages)
    return ()


def _label(column: str, index, table):
    def rule(value: str) -> tuple:
        if not value:
            return None, ()
        found = cells.lookup(index, value)
        return (found, ()) if found is not None else (None, ((column, _unknown(column, value, table)),))
    return rule


def _type_category(pair: tuple[str, str]) -> tuple:
    """资产类型 and 资产类别 of a row: (asset type, its errors, whether the category is set, the category, its
    errors). The missing type's error is the row's (it depends on the column and the match)."""
    type_text, category_text = pair
    asset_type, type_errors, category, category_errors, has_category = None, (), None, (), False
    if type_text:
        asset_type = cells.lookup(vocab.TYPE_INDEX, type_text)
        if asset_type is None:
            type_errors = ((vocab.TYPE, _unknown(vocab.TYPE, type_text, vocab.TYPE_LABELS)),)
    if category_text:
        found = cells.lookup(vocab.CATEGORY_INDEX, category_text)
        if found is None:
            category_errors = ((vocab.CATEGORY, _unknown(vocab.CATEGORY, category_text, vocab.CATEGORY_LABELS)),)
        elif asset_type:
            has_category = True
            try:
                category = validation.category_for(asset_type, found)
            except ValidationError as exc:
                category_errors = tuple((vocab.TYPE, m) for m in exc.messages)
        else:
            has_category, category = True, found
    elif asset_type:
        has_category, category = True, TYPE_CATEGORY[asset_type]
    return asset_type, type_errors, has_category, category, category_errors


def _year(value) -> tuple:
    if hasattr(value, "year"):
        value = value.year
    year_text = cells.text(value).removesuffix("年").removesuffix(".0")  # i18n: data
    if year_text and not year_text.isdigit():
        return None, ((vocab.YEAR, _("The year built “%(value)s” is not a year") % {"value": year_text}),)
    if year_text:
        return int(year_text), _verdict(vocab.YEAR, validation.year_built_check, int(year_text))
    return None, ()


def _number(column: str, places: int, scale: Decimal = Decimal(1)):
    def rule(value) -> tuple:
        if not cells.text(value):
            return None, ()
        try:
            number = cells.decimal(value, places)
        except ValueError as exc:
            return None, ((column, str(exc)),)
        if scale != 1:  # the header says 元
            number = (number * scale).quantize(cells.YUAN, ROUND_HALF_UP)
        return number, ()
    return rule


def _funding(pair: tuple) -> tuple:
    cell, investment = pair
    try:
        funding = cells.funding_parse(cell, investment)
    except ValueError as exc:
        return None, ((vocab.FUNDING, str(exc)),)
    total = validation.funding_total(funding)
    if investment is not None and total != investment:
        return funding, ((vocab.INVESTMENT, _(
            "The investment of %(investment)s (10k yuan) differs from the funding sources' total of %(total)s "
            "(10k yuan)") % {"investment": cells.number_text(investment), "total": cells.number_text(total)}),)
    return funding, ()


def _owners(pair: tuple) -> tuple:
    try:
        return cells.owners_parse(*pair), ()
    except ValueError as exc:
        return None, ((vocab.OWNERS, str(exc)),)


def rows_check(raws: list[RawRow], ctx: Context, existing: dict[str, Existing]) -> list[CheckedRow]:
    """Everything a chunk's cells can say on their own, a column at a time: each rule (geo_assets.validation's,
    the vocabularies, the cell formats) once per distinct value of the chunk, then each row assembled from the
    verdicts, its errors in the order of the checks. Villages are checked with the chunk (rows_locate)."""
    cols = ctx.columns

    def column(name: str, rule=cells.text) -> list:
        return per_value([r.values.get(name) for r in raws], rule)

    def errors_of(rule, name: str) -> list:
        return per_value(column(name), rule)

    codes = column(vocab.CODE)
    texts = [(col, name, column(col)) for col, name in vocab.TEXT_FIELDS.items() if col in cols]
    too_long = {col: _("Too long (at most %(limit)s characters)") % {"limit": MAX_LENGTHS[col]}
                for col, _n, _v in texts if col in MAX_LENGTHS}
    phones = errors_of(lambda p: _verdict(vocab.PHONE, validation.phone_check, p), vocab.PHONE) \
        if vocab.PHONE in cols else None
    types = per_value(list(zip(column(vocab.TYPE), column(vocab.CATEGORY), strict=True)), _type_category)
    labels = [(name, errors_of(_label(col, index, table), col)) for col, index, name, table in (
        (vocab.STATUS, vocab.STATUS_INDEX, "status", vocab.STATUS_LABELS),
        (vocab.OWNER_KIND, vocab.OWNER_KIND_INDEX, "owner_kind", vocab.OWNER_KIND_LABELS),
        (vocab.REGISTRATION, vocab.REGISTRATION_INDEX, "registration_status", vocab.REGISTRATION_LABELS),
    )]
    statuses: dict = {}
    years = column(vocab.YEAR, _year) if vocab.YEAR in cols else None
    quantities = column(vocab.QUANTITY, _number(vocab.QUANTITY, 3)) if vocab.QUANTITY in cols else None
    investments = column(vocab.INVESTMENT, _number(vocab.INVESTMENT, 4, ctx.scales.get(vocab.INVESTMENT, Decimal(1))))
    # 项目编号 and 项目投入 only where a row fills them (both empty: nothing to check)
    projects = [bool(c or a) for c, a in zip(column(vocab.PROJECT_CODE), column(vocab.PROJECT_AMOUNT), strict=True)] \
        if vocab.PROJECT_CODE in cols or vocab.PROJECT_AMOUNT in cols else None
    departments = errors_of(lambda d: _department(d, ctx), vocab.DEPARTMENT) if vocab.DEPARTMENT in cols else None
    funding_cells = column(vocab.FUNDING)
    funding = per_value([(c, i[0]) if c else None for c, i in zip(funding_cells, investments, strict=True)],
                        lambda pair: pair and _funding(pair))
    owner_cells = column(vocab.OWNERS)
    owners_memo: dict = {}

    rows = []
    for i, raw in enumerate(raws):
        row = CheckedRow(raw, geom_field=ctx.geometry_label)
        rows.append(row)
        problems: list[tuple[str, str]] = []
        fields = row.fields
        code = row.code = codes[i]
        known = row.known = existing.get(code) if code else None
        if code:
            if len(code) > 40:
                problems.append((vocab.CODE, _("The asset code is too long (at most 40 characters)")))
            if known is not None and not known.editable:
                problems.append((vocab.CODE, _("The asset “%(code)s” is outside what you may change (area or sector)")
                                 % {"code": code}))
            if known is None:
                fields["code"] = code
                if not asset_code_validator.regex.search(code):  # the model's own rule
                    problems.append((vocab.CODE, str(asset_code_validator.message)))
        for col, name, values in texts:
            value = values[i]
            if col in too_long and len(value) > MAX_LENGTHS[col]:
                problems.append((col, too_long[col]))
            fields[name] = value
        if phones is not None:
            problems += phones[i]
        if (vocab.NAME in cols or known is None) and not fields.get("name"):
            problems.append((vocab.NAME, _("The asset name is missing (required)")))

        asset_type, type_errors, has_category, category, category_errors = types[i]
        if asset_type:
            fields["asset_type"] = asset_type
        problems += type_errors
        if not type_errors and asset_type is None and (vocab.TYPE in cols or known is None):
            problems.append((vocab.TYPE, _("The asset type is missing (required)")))
        problems += category_errors
        if has_category:
            fields["category"] = category
        for name, verdicts in labels:
            found, label_errors = verdicts[i]
            problems += label_errors
            if found is not None:
                fields[name] = found
        if "status" in fields:
            disposed = known is not None and known.status == AssetStatus.DISPOSED
            if (verdict := statuses.get((fields["status"], disposed))) is None:
                verdict = statuses[(fields["status"], disposed)] = _verdict(
                    vocab.STATUS, validation.status_check, fields["status"], disposed=disposed)
            problems += verdict
        if years is not None:
            fields["year_built"], year_errors = years[i]
            problems += year_errors
        if quantities is not None:
            fields["quantity"], quantity_errors = quantities[i]
            problems += quantity_errors
        investment, investment_errors = investments[i]
        problems += investment_errors
        for column_name, message in problems:
            row.err(column_name, message)
        problems = []
        if projects is not None and projects[i]:
            _project_cells(row, ctx)
        if departments is not None:
            fields["department"], department_errors = departments[i]
            problems += department_errors
        if funding_cells[i]:
            parsed, funding_errors = funding[i]
            row.funding = None if parsed is None else list(parsed)
            problems += funding_errors
        elif investment is not None:
            fields["total_investment"] = investment
        if owners_cell := owner_cells[i]:
            kind = fields.get("owner_kind") or DEFAULT_OWNER_KIND.get(asset_type or "", "")
            if (verdict := owners_memo.get((owners_cell, kind))) is None:
                verdict = owners_memo[(owners_cell, kind)] = _owners((owners_cell, kind))
            parsed, owner_errors = verdict
            row.owners = None if parsed is None else list(parsed)
            problems += owner_errors
        for column_name, message in problems:
            row.err(column_name, message)
        _geometry_read(row, ctx)
    return rows


def _department(text: str, ctx: Context) -> tuple:
    if not text:
        return None, ()
    department = ctx.departments.get(vocab.text_key(text))
    if department is None:
        return None, ((vocab.DEPARTMENT, _("The department “%(value)s” is not in the system's list of departments")
                       % {"value": text}),)
    return department, ()


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
    memo: dict = {}
    for row in placed:
        if row.geometry is not None:
            _village_check(row, located[id(row)].villages, ctx, memo)


def _village_check(row: CheckedRow, covering: tuple[int, ...], ctx: Context, memo: dict) -> None:
    """The row's village: the stated one (行政区划代码, or 所属村 with 所属乡镇) if its geometry is in it, else the one
    covering it; the township consistent; a new asset within the actor's scope. The verdict on the stated cells and
    the covering villages is taken once per distinct combination of the chunk (`memo`)."""
    v = row.raw.values
    stated = (v.get(vocab.AREA_CODE), v.get(vocab.VILLAGE), v.get(vocab.TOWNSHIP))
    key = (*(cell_key(c) for c in stated), covering, row.geom_field)
    try:
        village, problem = memo[key]
    except KeyError:
        village, problem = memo[key] = _village_for(*stated, covering, row.geom_field, ctx)
    except TypeError:  # a cell that is not hashable
        village, problem = _village_for(*stated, covering, row.geom_field, ctx)
    if problem is not None:
        return row.err(*problem)
    asset_type = row.fields.get("asset_type")
    if asset_type and row.known is None:
        if (may := memo.get((asset_type, village.pk))) is None:
            may = memo[(asset_type, village.pk)] = ctx.may_create(asset_type, village)
        if not may:
            county = county_code_of(village.code)
            if ctx.scope.counties is not None and county not in ctx.scope.counties:
                row.err(vocab.CODE if row.code else vocab.VILLAGE,
                        _("This asset lies in %(village)s of another county (%(county)s): a county imports into its "
                          "own county only") % {"village": village.name, "county": county})
            else:
                row.err(vocab.CODE if row.code else vocab.VILLAGE,
                        _("This asset is outside what you may register (area or sector)"))
    row.village = village
    row.fields["village"] = village


def _village_for(area_cell, village_cell, township_cell, covering: tuple[int, ...], geom_field: str,
                 ctx: Context) -> tuple[AdminArea | None, tuple[str, str] | None]:
    """(the village, None) or (None, (column, message))."""
    area_code = cells.text(area_cell)
    village_name = cells.text(village_cell)
    township_name = cells.text(township_cell)
    stated = None
    if area_code:
        stated = ctx.villages_by_code.get(area_code)
        if stated is None:
            return None, (vocab.AREA_CODE, _("The area code “%(code)s” is not a village of the county")
                          % {"code": area_code})
    elif village_name:
        candidates = ctx.villages_by_name.get(vocab.text_key(village_name), [])
        if township_name:
            candidates = [c for c in candidates if c.parent and
                          vocab.text_key(c.parent.name) == vocab.text_key(township_name)] or candidates
        if not candidates:
            return None, (vocab.VILLAGE, _("The county has no village named “%(name)s”") % {"name": village_name})
        if len(candidates) > 1:
            candidates = [c for c in candidates if c.pk in covering]
            if len(candidates) != 1:
                return None, (vocab.VILLAGE, _("Several villages are named “%(name)s”: fill in the township or the "
                                               "area code") % {"name": village_name})
        stated = candidates[0]
    if stated is not None and stated.pk not in covering:
        return None, (vocab.VILLAGE if not area_code else vocab.AREA_CODE,
                      _("The location is outside the stated village “%(name)s”: check the coordinates or the village")
                      % {"name": stated.name})
    village = stated or (ctx.villages[covering[0]] if covering else None)
    if village is None:
        return None, (geom_field, _("The location is in no village of the county"))
    if township_name and village.parent and vocab.text_key(township_name) != vocab.text_key(village.parent.name):
        return None, (vocab.TOWNSHIP, _("The village “%(village)s” belongs to “%(township)s”, not to “%(stated)s”")
                      % {"village": village.name, "township": village.parent.name, "stated": township_name})
    return village, None
