"""Import and export of the asset ledger (DESIGN.md §5). Commands and views only translate to these functions.

An import reads the file twice, in chunks, so memory stays bounded: pass 1 checks every row (nothing is
written); pass 2, only if pass 1 found no invalid row (or --skip-invalid), writes through geo_assets.services
inside one transaction. A row that fails in pass 2 makes the whole import roll back unless --skip-invalid.
"""

import datetime
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import shapely
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import transaction
from shapely.strtree import STRtree

from geo_assets import services as register
from geo_assets.access import scope_for
from geo_assets.errors import NotInScope
from geo_assets.filters import AssetFilters, asset_filters_apply
from geo_assets.models import SRID, AdminArea, Asset, Department, Membership
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import (
    DEFAULT_OWNER_KIND,
    OUT_OF_SCOPE_FUNDING,
    TYPE_CATEGORY,
    TYPES_REQUIRING_NAMED_SHARES,
    AreaLevel,
    AssetStatus,
    Role,
)
from importers import vocab
from importers.coords import CrsChoice, crs_parse, degrees_parse
from importers.geometry import GeometryProblem, concrete, same, swapped, to_storage
from importers.readers import CHUNK, Ledger, LedgerUnreadable, RawRow, ledger_open

__all__ = [
    "ImportReport", "RowError", "LedgerUnreadable", "assets_import", "assets_export", "areas_import",
    "ledger_read", "rows_validate", "actor_resolve", "mapping_load",
]

Progress = Callable[[str, int, int], None]
REPORT_CODES = 500
EXPORT_FORMATS = ("gpkg", "shp", "geojson", "kml", "xlsx", "csv")


@dataclass
class RowError:
    row: int
    field: str
    message: str
    layer: str = ""


@dataclass
class ImportReport:
    file: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    created_codes: list[str] = field(default_factory=list)  # the first REPORT_CODES, for links in the report
    updated_codes: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)

    def to_dict(self, *, with_preview: bool = False) -> dict:
        data = asdict(self)
        if not with_preview:
            data.pop("preview")
        return data

    def summary(self) -> str:
        head = "（试运行，未写入）" if self.dry_run else ("" if self.written or not self.invalid else "（未写入任何数据）")
        lines = [
            f"导入 {self.file}{head}：读取 {self.read} 行，新增 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}，无效 {self.invalid}",
        ]
        lines += [f"  提示：{w}" for w in self.warnings]
        for e in self.errors[:200]:
            where = f"{e.layer} " if e.layer else ""
            lines.append(f"  {where}第 {e.row} 行 [{e.field}] {e.message}")
        if len(self.errors) > 200:
            lines.append(f"  ……另有 {len(self.errors) - 200} 条错误，见 --report")
        return "\n".join(lines)


# ---------------------------------------------------------------- helpers

def actor_resolve(*, username: str | None):
    """The acting user: --user, else a county administrator (superuser or county_admin membership)."""
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise LedgerUnreadable(f"用户“{username}”不存在或已停用。")
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


def mapping_load(path: str | Path | None) -> dict[str, str] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise LedgerUnreadable(f"无法读取列对应文件 {path}：{exc}")
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise LedgerUnreadable('列对应文件应为 JSON 对象：{"文件中的列名": "台账列名"}')
    unknown = [v for v in data.values() if vocab.column_for_header(v) is None]
    if unknown:
        raise LedgerUnreadable(f"列对应文件中的目标列不是台账列：{'、'.join(unknown)}")
    return data


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(vocab.cell_unprotect(value)).strip()  # the quote our export put before =, +, -, @


def _decimal(value, places: int) -> Decimal:
    """A number from a cell; raises ValueError with a Chinese message."""
    text = _text(value).replace(",", "").replace("，", "").replace("万元", "").replace("万", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{_text(value)}”不是数字")
    if not number.is_finite():
        raise ValueError(f"“{_text(value)}”不是数字")
    if number < 0:
        raise ValueError(f"不能为负数（{_text(value)}）")
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _number_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


def _lookup(index: dict[str, str], value: str) -> str | None:
    return index.get(vocab.text_key(value))


# ---------------------------------------------------------------- context

@dataclass
class _Village:
    area: AdminArea
    geom: Any


class _Context:
    """What every row check needs, loaded once: areas (with an STRtree), departments, the actor's scope."""

    def __init__(self, *, actor, filename: str, choice: CrsChoice, columns: set[str]):
        self.actor = actor
        self.scope = scope_for(actor)
        self.filename = filename
        self.choice = choice
        self.columns = columns
        self.reason = f"导入: {filename}"
        areas = list(AdminArea.objects.all())
        by_id = {a.pk: a for a in areas}
        for a in areas:
            if a.parent_id:
                a.parent = by_id.get(a.parent_id)
        self.villages = [_Village(a, shapely.from_wkb(bytes(a.geom.wkb))) for a in areas if a.level == AreaLevel.VILLAGE]
        self.tree = STRtree([v.geom for v in self.villages]) if self.villages else None
        for v in self.villages:
            shapely.prepare(v.geom)
        counties = [shapely.from_wkb(bytes(a.geom.wkb)) for a in areas if a.level == AreaLevel.COUNTY]
        if not counties:
            counties = [shapely.from_wkb(bytes(a.geom.wkb)) for a in areas if a.level == AreaLevel.TOWNSHIP]
        self.county = shapely.union_all(counties) if counties else None
        if self.county is not None:
            shapely.prepare(self.county)
        self.villages_by_code = {v.area.code: v for v in self.villages}
        self.villages_by_name: dict[str, list[_Village]] = {}
        for v in self.villages:
            self.villages_by_name.setdefault(vocab.text_key(v.area.name), []).append(v)
        self.departments = {vocab.text_key(d.name): d for d in Department.objects.all()}
        self.seen_codes: dict[str, int] = {}

    def village_at(self, anchor) -> _Village | None:
        if self.tree is None:
            return None
        for i in self.tree.query(anchor):
            v = self.villages[int(i)]
            if v.geom.covers(anchor):
                return v
        return None

    def in_county(self, geom) -> bool:
        return self.county is not None and self.county.covers(geom)

    def may_create(self, asset_type: str, village: AdminArea) -> bool:
        return self.scope.covers(asset_type=asset_type, village_id=village.pk, township_id=village.parent_id)


@dataclass
class CleanRow:
    row: int
    layer: str
    code: str
    fields: dict[str, Any]
    geometry: Any  # shapely, EPSG:4490, concrete type
    village: AdminArea
    funding: list[tuple[str, Decimal]] | None
    owners: list[register.Share] | None
    owner_kind_given: bool = False


@dataclass
class _Existing:
    pk: int
    status: str
    editable: bool


# ---------------------------------------------------------------- parsing cells

_ITEM_SPLIT = re.compile(r"[;；\n\r、,，]+")
_AMOUNT = re.compile(r"^(.*?)[\s:：=＝]*(-?\d+(?:\.\d+)?)\s*(?:万元|万)?$")


def funding_parse(text: str, investment: Decimal | None) -> list[tuple[str, Decimal]]:
    """'财政专项扶贫资金（中央）:50;统筹整合财政涉农资金:30' → [('central', 50), ('integrated', 30)]."""
    items = [i.strip() for i in _ITEM_SPLIT.split(text) if i.strip()]
    result: list[tuple[str, Decimal | None]] = []
    for item in items:
        m = _AMOUNT.match(item)
        name, amount = (m.group(1).strip(), m.group(2)) if m and m.group(1).strip() else (item, None)
        for word in OUT_OF_SCOPE_FUNDING:
            if word in name:
                raise ValueError(
                    f"资金来源“{name}”属于{word}类资金，不形成扶贫资产，不在登记范围（贴息、保险、风险保证金、补贴、易地扶贫搬迁资金除外）"
                )
        source = _lookup(vocab.FUNDING_INDEX, name)
        if source is None:
            raise ValueError(f"未知的资金来源“{name}”（应为：{'、'.join(v[0] for v in vocab.FUNDING_LABELS.values())}）")
        if amount is not None:
            value = Decimal(amount)
            if value < 0:
                raise ValueError(f"资金来源“{name}”的金额不能为负数")
            result.append((source, value.quantize(Decimal("0.0001"))))
        else:
            result.append((source, None))
    if [s for s, _a in result].__len__() != len({s for s, _a in result}):
        raise ValueError("同一资金来源出现了两次")
    missing = [s for s, a in result if a is None]
    if missing:
        if len(result) == 1 and investment is not None:
            result = [(result[0][0], investment)]
        else:
            raise ValueError("请写明每项资金来源的金额（万元），如“中央财政专项扶贫资金:50;统筹整合财政涉农资金:30”")
    return result  # type: ignore[return-value]


def funding_text(lines) -> str:
    return ";".join(f"{vocab.label(vocab.FUNDING_LABELS, s)}:{_number_text(a)}" for s, a in lines)


_OWNER = re.compile(r"^(.*?)(?:[\[【]([^\]】]+)[\]】])?\s*(?:[:：=＝]\s*(\d+(?:\.\d+)?)\s*%?)?$")


def owners_parse(text: str, default_kind: str) -> list[register.Share]:
    """'东北村村集体:60;张三[受益户]:40' — a single name without share owns 100 %."""
    items = [i.strip() for i in re.split(r"[;；\n\r]+", text) if i.strip()]
    shares = []
    for item in items:
        m = _OWNER.match(item)
        if not m or not m.group(1).strip():
            raise ValueError(f"无法识别产权主体“{item}”（格式：名称:份额，多个用分号分隔）")
        kind = default_kind
        if m.group(2):
            kind = _lookup(vocab.OWNER_KIND_INDEX, m.group(2))
            if kind is None:
                raise ValueError(f"未知的产权归属“{m.group(2)}”")
        share = Decimal(m.group(3)) if m.group(3) else None
        shares.append((m.group(1).strip(), kind, share))
    if len(shares) == 1 and shares[0][2] is None:
        shares = [(shares[0][0], shares[0][1], Decimal("100"))]
    if any(s is None for _n, _k, s in shares):
        raise ValueError("有多个产权主体时，请写明各自的份额（%），合计 100")
    total = sum((s for _n, _k, s in shares), Decimal("0"))
    if total != 100:
        raise ValueError(f"产权主体的份额合计为 {_number_text(total)}%，应为 100%")
    if len({n for n, _k, _s in shares}) != len(shares):
        raise ValueError("同一产权主体出现了两次")
    return [register.Share(n, k, s.quantize(Decimal("0.001"))) for n, k, s in shares]


def owners_text(shares, owner_kind: str) -> str:
    parts = []
    for s in shares:
        kind = "" if s.owner_kind == owner_kind else f"[{vocab.label(vocab.OWNER_KIND_LABELS, s.owner_kind)}]"
        parts.append(f"{s.owner_name}{kind}:{_number_text(s.share)}")
    return ";".join(parts)


# ---------------------------------------------------------------- row check

_MAX_LENGTHS = {col: Asset._meta.get_field(f).max_length for col, f in vocab.TEXT_FIELDS.items()
                if getattr(Asset._meta.get_field(f), "max_length", None)}
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")


def row_check(raw: RawRow, ctx: _Context, existing: dict[str, _Existing]) -> tuple[CleanRow | None, list[RowError]]:
    errors: list[RowError] = []

    def err(column: str, message: str) -> None:
        errors.append(RowError(raw.number, column, message, raw.layer))

    v = raw.values
    cols = ctx.columns
    code = _text(v.get(vocab.CODE))
    known = existing.get(code) if code else None
    if code:
        if len(code) > 40:
            err(vocab.CODE, "资产编号过长（最多 40 个字符）")
        if code in ctx.seen_codes:
            err(vocab.CODE, f"资产编号“{code}”在文件中重复（第 {ctx.seen_codes[code]} 行已出现）")
        else:
            ctx.seen_codes[code] = raw.number
        if known is not None and not known.editable:
            err(vocab.CODE, f"资产“{code}”不在您可以修改的范围内（辖区或行业）")
    fields: dict[str, Any] = {}
    if code and known is None:
        fields["code"] = code

    for column, name in vocab.TEXT_FIELDS.items():
        if column not in cols:
            continue
        text = _text(v.get(column))
        if column in _MAX_LENGTHS and len(text) > _MAX_LENGTHS[column]:
            err(column, f"内容过长（最多 {_MAX_LENGTHS[column]} 个字符）")
        fields[name] = text
    if vocab.PHONE in cols and fields.get("custodian_phone") and not _PHONE.match(fields["custodian_phone"]):
        err(vocab.PHONE, f"联系电话“{fields['custodian_phone']}”格式不正确")
    if (vocab.NAME in cols or known is None) and not fields.get("name"):
        err(vocab.NAME, "缺少资产名称（必填）")

    asset_type = None
    type_text = _text(v.get(vocab.TYPE))
    if type_text:
        asset_type = _lookup(vocab.TYPE_INDEX, type_text)
        if asset_type is None:
            err(vocab.TYPE, f"未知的资产类型“{type_text}”（应为：{'、'.join(x[0] for x in vocab.TYPE_LABELS.values())}）")
        else:
            fields["asset_type"] = asset_type
    elif vocab.TYPE in cols or known is None:
        err(vocab.TYPE, "缺少资产类型（必填）")
    category_text = _text(v.get(vocab.CATEGORY))
    if category_text:
        category = _lookup(vocab.CATEGORY_INDEX, category_text)
        if category is None:
            err(vocab.CATEGORY, f"未知的资产类别“{category_text}”（应为 公益性资产、经营性资产 或 到户类资产）")
        elif asset_type and TYPE_CATEGORY.get(asset_type) != category:
            err(vocab.TYPE, f"资产类型“{type_text}”不属于“{category_text}”"
                f"（应为{vocab.label(vocab.CATEGORY_LABELS, TYPE_CATEGORY[asset_type])}）")
        else:
            fields["category"] = category
    elif asset_type:
        fields["category"] = TYPE_CATEGORY[asset_type]

    for column, index, name, table in (
        (vocab.STATUS, vocab.STATUS_INDEX, "status", vocab.STATUS_LABELS),
        (vocab.OWNER_KIND, vocab.OWNER_KIND_INDEX, "owner_kind", vocab.OWNER_KIND_LABELS),
        (vocab.REGISTRATION, vocab.REGISTRATION_INDEX, "registration_status", vocab.REGISTRATION_LABELS),
    ):
        text = _text(v.get(column))
        if not text:
            continue
        value = _lookup(index, text)
        if value is None:
            err(column, f"未知的{column}“{text}”（应为：{'、'.join(x[0] for x in table.values())}）")
        else:
            fields[name] = value
    if fields.get("status") == AssetStatus.DISPOSED and (known is None or known.status != AssetStatus.DISPOSED):
        err(vocab.STATUS, "资产只能经审批的处置程序变为“已处置”，不能通过导入设置")

    year_value = v.get(vocab.YEAR)
    if isinstance(year_value, datetime.date):
        year_value = year_value.year
    year_text = _text(year_value).removesuffix("年").removesuffix(".0")
    if vocab.YEAR in cols:
        fields["year_built"] = None
        if year_text:
            if not year_text.isdigit():
                err(vocab.YEAR, f"建成年份“{year_text}”不是年份")
            elif not 1949 <= int(year_text) <= datetime.date.today().year + 1:
                err(vocab.YEAR, f"建成年份 {year_text} 应在 1949 年到明年之间")
            else:
                fields["year_built"] = int(year_text)
    if vocab.QUANTITY in cols:
        fields["quantity"] = None
        if _text(v.get(vocab.QUANTITY)):
            try:
                fields["quantity"] = _decimal(v.get(vocab.QUANTITY), 3)
            except ValueError as exc:
                err(vocab.QUANTITY, str(exc))
    investment = None
    if _text(v.get(vocab.INVESTMENT)):
        try:
            investment = _decimal(v.get(vocab.INVESTMENT), 4)
        except ValueError as exc:
            err(vocab.INVESTMENT, str(exc))
    if vocab.DEPARTMENT in cols:
        dept_text = _text(v.get(vocab.DEPARTMENT))
        fields["department"] = None
        if dept_text:
            dept = ctx.departments.get(vocab.text_key(dept_text))
            if dept is None:
                err(vocab.DEPARTMENT, f"主管部门“{dept_text}”不在系统的部门名单中")
            else:
                fields["department"] = dept

    funding = None
    funding_text_ = _text(v.get(vocab.FUNDING))
    if funding_text_:
        try:
            funding = funding_parse(funding_text_, investment)
        except ValueError as exc:
            err(vocab.FUNDING, str(exc))
        else:
            total = sum((a for _s, a in funding), Decimal("0"))
            if investment is not None and total != investment:
                err(vocab.INVESTMENT, f"投资金额 {_number_text(investment)} 万元与资金来源合计 {_number_text(total)} 万元不一致")
    elif investment is not None:
        fields["total_investment"] = investment

    owners = None
    owners_text_ = _text(v.get(vocab.OWNERS))
    if owners_text_:
        kind = fields.get("owner_kind") or (DEFAULT_OWNER_KIND.get(asset_type) if asset_type else "") or ""
        try:
            owners = owners_parse(owners_text_, kind)
        except ValueError as exc:
            err(vocab.OWNERS, str(exc))

    if (asset_type in TYPES_REQUIRING_NAMED_SHARES and fields.get("registration_status") == "registered"
            and not owners and not owners_text_):
        err(vocab.OWNERS, "股权、债权类资产确权时必须列明每个产权主体及份额（合计 100%）")

    geometry, village = _row_geometry(raw, ctx, err)
    if village is not None:
        if asset_type and known is None and not ctx.may_create(asset_type, village.area):
            err(vocab.CODE if code else vocab.VILLAGE, "该资产不在您可以登记的范围内（辖区或行业）")
    if errors:
        return None, errors
    fields["village"] = village.area
    return CleanRow(raw.number, raw.layer, code, fields, geometry, village.area, funding, owners,
                    bool(fields.get("owner_kind"))), []


def _row_geometry(raw: RawRow, ctx: _Context, err) -> tuple[Any, _Village | None]:
    v = raw.values
    geom = raw.geometry
    file_crs = raw.crs
    field_name = "几何"
    from_cells = False
    if geom is None:
        wkt = _text(v.get(vocab.WKT))
        if wkt:
            try:
                geom = shapely.from_wkt(wkt)
            except Exception:
                err(vocab.WKT, "WKT 几何文本无法解析")
                return None, None
            field_name = vocab.WKT
        else:
            lon_text, lat_text = v.get(vocab.LON), v.get(vocab.LAT)
            if _text(lon_text) == "" and _text(lat_text) == "":
                err("经度/纬度", "缺少位置：请填写经度和纬度（线、面资产填写 WKT）")
                return None, None
            lon, lat = degrees_parse(lon_text), degrees_parse(lat_text)
            if lon is None:
                err(vocab.LON, f"经度“{_text(lon_text)}”无法识别（应为十进制度或 111°35′43.7″ 形式）")
            if lat is None:
                err(vocab.LAT, f"纬度“{_text(lat_text)}”无法识别（应为十进制度或 33°52′10″ 形式）")
            if lon is None or lat is None:
                return None, None
            geom = shapely.Point(lon, lat)
            field_name = "经度/纬度"
        from_cells = True
    original = geom
    source_crs = None if from_cells else file_crs

    def swap_detected() -> bool:
        geographic = not ctx.choice.crs or ctx.choice.crs.is_geographic
        if not geographic or (source_crs is not None and not source_crs.is_geographic):
            return False
        try:
            alt, _n = to_storage(swapped(shapely.force_2d(original)), file_crs=source_crs, choice=ctx.choice,
                                 degrees_expected=from_cells)
        except GeometryProblem:
            return False
        alt_anchor = alt if alt.geom_type == "Point" else shapely.point_on_surface(alt)
        if ctx.in_county(alt_anchor):
            err(field_name, "经度和纬度可能填反了（交换后位于本县内），请核对")
            return True
        return False

    try:
        geom, _notes = to_storage(geom, file_crs=source_crs, choice=ctx.choice, degrees_expected=from_cells)
        geom = concrete(geom)
    except GeometryProblem as exc:
        if not swap_detected():
            err(exc.field if exc.field != "几何" else field_name, exc.message)
        return None, None
    anchor = geom if geom.geom_type == "Point" else shapely.point_on_surface(geom)
    if not ctx.in_county(anchor):
        if not swap_detected():
            err(field_name, f"位置不在本县范围内（经度 {anchor.x:.6f}，纬度 {anchor.y:.6f}）")
        return None, None
    stated = None
    area_code = _text(v.get(vocab.AREA_CODE))
    village_name = _text(v.get(vocab.VILLAGE))
    township_name = _text(v.get(vocab.TOWNSHIP))
    if area_code:
        stated = ctx.villages_by_code.get(area_code)
        if stated is None:
            err(vocab.AREA_CODE, f"行政区划代码“{area_code}”不是本县的村")
            return None, None
    elif village_name:
        candidates = ctx.villages_by_name.get(vocab.text_key(village_name), [])
        if township_name:
            candidates = [c for c in candidates if c.area.parent and
                          vocab.text_key(c.area.parent.name) == vocab.text_key(township_name)] or candidates
        if not candidates:
            err(vocab.VILLAGE, f"本县没有名为“{village_name}”的村")
            return None, None
        if len(candidates) > 1:
            contained = [c for c in candidates if c.geom.covers(anchor)]
            if len(contained) != 1:
                err(vocab.VILLAGE, f"有多个名为“{village_name}”的村：请填写所属乡镇或行政区划代码")
                return None, None
            candidates = contained
        stated = candidates[0]
    if stated is not None:
        if not stated.geom.covers(anchor):
            err(vocab.VILLAGE if not area_code else vocab.AREA_CODE,
                f"位置不在所属村“{stated.area.name}”范围内，请核对坐标或所属村")
            return None, None
        village = stated
    else:
        village = ctx.village_at(anchor)
        if village is None:
            err(field_name, "位置不在本县任何村的范围内")
            return None, None
    if township_name and village.area.parent and vocab.text_key(township_name) != vocab.text_key(village.area.parent.name):
        err(vocab.TOWNSHIP, f"所属村“{village.area.name}”属于“{village.area.parent.name}”，不属于“{township_name}”")
        return None, None
    return geom, village


# ---------------------------------------------------------------- reading and checking

def ledger_read(*, path: Path, workdir: Path, name: str | None = None, layer: str | None = None,
                encoding: str | None = None, mapping: dict[str, str] | None = None) -> Ledger:
    """Open a ledger file (checks type, safety, header). Raises LedgerUnreadable."""
    ledger = ledger_open(Path(path), workdir=workdir, name=name, layer=layer, encoding=encoding, mapping=mapping)
    if not ledger.has_geometry:
        raise LedgerUnreadable("文件中没有位置信息：需要几何图形，或“经度”“纬度”两列，或 WKT 列。")
    if vocab.NAME not in ledger.columns and vocab.CODE not in ledger.columns:
        raise LedgerUnreadable("文件中没有“资产名称”或“资产编号”列：请检查表头，或用 --mapping 指定列的对应关系。")
    return ledger


def _existing_for(codes: list[str], actor) -> dict[str, _Existing]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = Asset.objects.filter(code__in=codes).values_list("pk", "code", "status")
    editable = set(Asset.objects.editable_by(actor).filter(code__in=codes).values_list("pk", flat=True))
    return {code: _Existing(pk, status, pk in editable) for pk, code, status in rows}


def rows_validate(*, ledger: Ledger, ctx: _Context, report: ImportReport, progress: Progress | None = None,
                  preview_limit: int = 0):
    """Pass 1: check every row. Yields lists of CleanRow per chunk; errors go into the report."""
    done = 0
    for chunk in ledger.chunks(CHUNK):
        existing = _existing_for([_text(r.values.get(vocab.CODE)) for r in chunk], ctx.actor)
        clean = []
        for raw in chunk:
            row, errors = row_check(raw, ctx, existing)
            report.read += 1
            if errors:
                report.invalid += 1
                report.errors.extend(errors)
            else:
                clean.append(row)
            if preview_limit and len(report.preview) < preview_limit:
                report.preview.append(_preview_row(raw, row, errors))
        done += len(chunk)
        if progress:
            progress("check", done, max(ledger.total, done))
        yield clean


def _preview_row(raw: RawRow, row: CleanRow | None, errors: list[RowError]) -> dict:
    geometry = None
    if row is not None:
        geometry = json.loads(shapely.to_geojson(shapely.simplify(row.geometry, 0.00001)))
    values = {c: _text(raw.values.get(c)) for c in vocab.TABLE_COLUMNS if c in raw.values and c != vocab.WKT}
    return {
        "row": raw.number, "layer": raw.layer, "values": values, "geometry": geometry,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
    }


# ---------------------------------------------------------------- writing

def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=SRID)


def _asset_shapely(asset: Asset):
    geom = asset.geometry
    return None if geom is None else shapely.from_wkb(bytes(geom.wkb))


def _changes(asset: Asset, row: CleanRow) -> dict[str, Any]:
    changes = {}
    for name, value in row.fields.items():
        if name == "code":
            continue
        if name in ("village", "department"):
            current = getattr(asset, f"{name}_id")
            if (value.pk if value is not None else None) != current:
                changes[name] = value
            continue
        current = getattr(asset, name)
        if isinstance(current, Decimal) or isinstance(value, Decimal):
            equal = (current is None and value is None) or (
                current is not None and value is not None and Decimal(current) == Decimal(value))
        else:
            equal = current == value
        if not equal:
            changes[name] = value
    return changes


def _funding_changed(asset: Asset, funding) -> bool:
    if funding is None:
        return False
    current = sorted((f.source, f.amount) for f in asset.funding.all() if f.amount != 0)
    return current != sorted(funding)


def _owners_changed(asset: Asset, owners) -> bool:
    if owners is None:
        return False
    current = sorted((o.owner_name, o.owner_kind, o.share) for o in asset.owners.all() if o.share != 0)
    return current != sorted((o.owner_name, o.owner_kind, o.share) for o in owners)


def _match_codeless(rows: list[CleanRow]) -> dict[int, Asset]:
    """Rows without 资产编号 match an existing asset with the same name, type, village and geometry."""
    names = {r.fields.get("name") for r in rows if not r.code}
    if not names:
        return {}
    candidates: dict[tuple, list[Asset]] = {}
    for asset in Asset.objects.filter(name__in=names).prefetch_related("funding", "owners"):
        candidates.setdefault((asset.name, asset.asset_type, asset.village_id), []).append(asset)
    found = {}
    for r in rows:
        if r.code:
            continue
        for asset in candidates.get((r.fields.get("name"), r.fields.get("asset_type"), r.village.pk), []):
            if same(_asset_shapely(asset), r.geometry, 1e-5):
                found[r.row] = asset
                break
    return found


def _row_write(row: CleanRow, asset: Asset | None, ctx: _Context, report: ImportReport, dry_run: bool) -> None:
    """Create, update or leave one asset; counts only what really happened (a failing row raises)."""
    if asset is None:
        if not dry_run:
            fields = {k: v for k, v in row.fields.items() if k != "village"}
            fields["village"] = row.village
            asset = register.asset_register(actor=ctx.actor, fields=fields, geometry=_geos(row.geometry),
                                            funding=row.funding or (), owners=row.owners or (), reason=ctx.reason)
            if len(report.created_codes) < REPORT_CODES:
                report.created_codes.append(asset.code)
        report.created += 1
        return
    changes = _changes(asset, row)
    geometry_changed = not same(_asset_shapely(asset), row.geometry)
    funding_changed = _funding_changed(asset, row.funding)
    owners_changed = _owners_changed(asset, row.owners)
    if row.funding is not None and "total_investment" in changes:
        changes.pop("total_investment")
    if not (changes or geometry_changed or funding_changed or owners_changed):
        report.unchanged += 1
        return
    if not dry_run:
        if geometry_changed:
            changes["village"] = row.village
        register.asset_update(
            actor=ctx.actor, asset=asset, changes=changes,
            geometry=_geos(row.geometry) if geometry_changed else None,
            funding=row.funding if funding_changed else None, owners=row.owners if owners_changed else None,
            reason=ctx.reason,
        )
        if len(report.updated_codes) < REPORT_CODES:
            report.updated_codes.append(asset.code)
    report.updated += 1


def _messages(exc: Exception) -> list[tuple[str, str]]:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return [(k, "；".join(str(m) for m in v)) for k, v in exc.message_dict.items()]
    if isinstance(exc, ValidationError):
        return [("", "；".join(str(m) for m in exc.messages))]
    return [("", str(exc))]


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
        if ledger.unknown_headers:
            report.warnings.append(f"未识别的列（已忽略）：{'、'.join(ledger.unknown_headers[:20])}")
        if choice.obfuscated:
            report.warnings.append(f"坐标按 {choice.obfuscated.upper()} 转换为 WGS84/CGCS2000")
        ctx = _Context(actor=actor, filename=name, choice=choice, columns=ledger.columns)
        for _clean in rows_validate(ledger=ledger, ctx=ctx, report=report, progress=progress,
                                    preview_limit=preview_limit):
            pass
        if report.invalid and not skip_invalid and not dry_run:
            return report
        bad_rows = {(e.layer, e.row) for e in report.errors}
        ctx.seen_codes = {}
        write_report = ImportReport(file=name)
        try:
            with transaction.atomic():
                done = 0
                for chunk in ledger.chunks(CHUNK):
                    rows = []
                    existing = _existing_for([_text(r.values.get(vocab.CODE)) for r in chunk], actor)
                    for raw in chunk:
                        if (raw.layer, raw.number) in bad_rows:
                            continue
                        row, errors = row_check(raw, ctx, existing)
                        if row is not None:
                            rows.append(row)
                        else:  # the register changed between the two passes
                            report.invalid += 1
                            report.errors.extend(errors)
                    assets = {a.code: a for a in Asset.objects.filter(code__in=[r.code for r in rows if r.code])
                              .prefetch_related("funding", "owners")}
                    codeless = _match_codeless(rows)
                    for row in rows:
                        asset = assets.get(row.code) if row.code else codeless.get(row.row)
                        try:
                            # asset_register/asset_update are atomic themselves: a failing row rolls back
                            # to its own savepoint and the import's transaction stays usable.
                            _row_write(row, asset, ctx, write_report, dry_run)
                        except (ValidationError, NotInScope) as exc:
                            report.invalid += 1
                            for fld, msg in _messages(exc):
                                report.errors.append(RowError(row.row, fld or "资产", msg, row.layer))
                    done += len(chunk)
                    if progress:
                        progress("write", done, max(ledger.total, done))
                if dry_run or (report.invalid and not skip_invalid):
                    raise _Rollback
        except _Rollback:
            pass
        report.created, report.updated, report.unchanged = (
            write_report.created, write_report.updated, write_report.unchanged)
        if dry_run:
            report.written = False  # the counts say what would happen to the valid rows
        elif report.invalid and not skip_invalid:
            report.created = report.updated = 0
            report.written = False
        else:
            report.written = True
            report.created_codes, report.updated_codes = write_report.created_codes, write_report.updated_codes
        report.errors.sort(key=lambda e: (e.layer, e.row))
    return report


# ---------------------------------------------------------------- export

_FUNDING_ORDER = {code: i for i, code in enumerate(vocab.FUNDING_LABELS)}


def _export_rows(assets, *, table: bool, redactor: Redactor):
    """Ledger rows; personal data as the viewer may see it (geo_assets.privacy: the public gets no phone numbers
    or notes, and masked names of people)."""
    for asset in assets:
        owner_kind = asset.owner_kind
        funding = sorted(((f.source, f.amount) for f in asset.funding.all() if f.amount != 0),
                         key=lambda line: (_FUNDING_ORDER.get(line[0], len(_FUNDING_ORDER)), line))
        owners = [register.Share(redactor.owner_name(o.owner_name, o.owner_kind), o.owner_kind, o.share)
                  for o in asset.owners.all() if o.share != 0]
        village, township = asset.village, asset.township
        location = asset.location
        geom = _asset_shapely(asset)
        row = {
            vocab.CODE: asset.code,
            vocab.NAME: redactor.asset_name(asset),
            vocab.CATEGORY: vocab.label(vocab.CATEGORY_LABELS, asset.category),
            vocab.TYPE: vocab.label(vocab.TYPE_LABELS, asset.asset_type),
            vocab.TOWNSHIP: township.name if township else "",
            vocab.VILLAGE: village.name if village else "",
            vocab.AREA_CODE: village.code if village else "",
            vocab.YEAR: str(asset.year_built) if asset.year_built else "",
            vocab.PROJECT: asset.project_name,
            vocab.IMPLEMENTER: asset.implementing_unit,
            vocab.DEPARTMENT: asset.department.name if asset.department else "",
            vocab.FUNDING: funding_text(funding),
            vocab.INVESTMENT: _number_text(asset.total_investment),
            vocab.QUANTITY: _number_text(asset.quantity),
            vocab.UNIT: asset.unit,
            vocab.OWNER_KIND: vocab.label(vocab.OWNER_KIND_LABELS, owner_kind) if owner_kind else "",
            vocab.OWNERS: owners_text(owners, owner_kind),
            vocab.REGISTRATION: vocab.label(vocab.REGISTRATION_LABELS, asset.registration_status),
            vocab.CUSTODIAN: asset.custodian_unit,
            vocab.CUSTODIAN_PERSON: redactor.person(asset.custodian_person),
            vocab.PHONE: redactor.phone(asset.custodian_phone),
            vocab.OPERATOR: asset.operator,
            vocab.STATUS: vocab.label(vocab.STATUS_LABELS, asset.status),
            vocab.LON: repr(location.x) if location else "",
            vocab.LAT: repr(location.y) if location else "",
            vocab.NOTE: redactor.text(asset.note),
        }
        if table:
            row[vocab.WKT] = "" if geom is None or geom.geom_type == "Point" else shapely.to_wkt(
                geom, rounding_precision=9)
        yield row, geom


def assets_queryset(*, actor, township: str | None = None, village: str | None = None,
                    filters: AssetFilters | None = None):
    """The assets the actor may see, narrowed by the map's filters (geo_assets.filters) and/or one township or
    village code (9- or 12-digit township, as export_assets --township takes it)."""
    qs = Asset.objects.visible_to(actor).select_related("village", "township", "department").prefetch_related(
        "funding", "owners").order_by("code")
    if filters is not None:
        qs = asset_filters_apply(qs, filters)
    if township:
        area = AdminArea.objects.filter(code__in=[township, township.ljust(12, "0")], level=AreaLevel.TOWNSHIP).first()
        if area is None:
            raise LedgerUnreadable(f"没有代码为“{township}”的乡镇")
        qs = qs.filter(township=area)
    if village:
        area = AdminArea.objects.filter(code=village, level=AreaLevel.VILLAGE).first()
        if area is None:
            raise LedgerUnreadable(f"没有代码为“{village}”的村")
        qs = qs.filter(village=area)
    return qs


def assets_export(*, actor, path: str | Path, fmt: str, township: str | None = None,
                  village: str | None = None, filters: AssetFilters | None = None) -> int:
    """Write the assets the actor may see to a ledger file; returns the number of assets written."""
    path = Path(path)
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise LedgerUnreadable(f"不支持的导出格式“{fmt}”（可选：{'、'.join(EXPORT_FORMATS)}）")
    qs = assets_queryset(actor=actor, township=township, village=village, filters=filters)
    from importers import writers

    rows = _export_rows(qs.iterator(chunk_size=CHUNK), table=fmt in ("csv", "xlsx"),
                        redactor=Redactor(scope_for(actor)))
    return writers.write(fmt, path, rows)


# ---------------------------------------------------------------- areas

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
    digits = re.sub(r"\D", "", _text(value))
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
            code, name = _area_code(code_v), _text(name_v)
            problems = []
            if not re.fullmatch(r"\d{12}", code):
                problems.append((code_col, f"代码“{_text(code_v)}”不是 12 位统计用区划代码"))
            if not name:
                problems.append((name_col, "缺少名称"))
            if code in seen:
                problems.append((code_col, f"代码 {code} 在文件中重复（第 {seen[code]} 个要素已出现）"))
            seen[code] = i
            parent_code = None
            if level != "county" and not problems:
                parent_code = _area_code(parent_v) if _text(parent_v) else (
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
