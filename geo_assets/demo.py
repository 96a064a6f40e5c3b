"""A deterministic, realistic demo county: 栾川县's real outline, invented townships, villages and assets.

Townships and villages are Voronoi cells of seeded points, clipped to the county outline, so they tile it
exactly; assets are entered through the register's services so every rule applies to them too.
"""

import datetime
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import shapely
import shapely.affinity
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils import timezone
from shapely.geometry import LineString as ShLine
from shapely.geometry import MultiPoint as ShMultiPoint
from shapely.geometry import Point as ShPoint
from shapely.geometry import box as sh_box

from geo_assets import services
from geo_assets.models import SRID, AdminArea, Asset, Department
from geo_assets.taxonomy import (
    TYPE_CATEGORY,
    TYPES_REQUIRING_NAMED_SHARES,
    WORK_PLAN_DEPARTMENTS,
    AreaLevel,
    AssetStatus,
    AssetType,
    Category,
    CustodyMethod,
    DisposalMethod,
    FundingSourceKind,
    OwnerKind,
    RegistrationStatus,
)

COUNTY_CODE = "410324"
COUNTY_NAME = "栾川县"
BOUNDARY_FILE = Path(__file__).parent / "data" / "luanchuan-410324-boundary.geojson"
SEED = 410324

TOWNSHIPS = [
    ("100", "城关镇"), ("101", "赤土店镇"), ("102", "合峪镇"), ("103", "潭头镇"), ("104", "三川镇"),
    ("105", "冷水镇"), ("106", "陶湾镇"), ("107", "石庙镇"), ("108", "庙子镇"), ("109", "狮子庙镇"),
    ("110", "白土镇"), ("111", "叫河镇"),
]
VILLAGE_FIRST = list("张王李刘杨陈赵黄周吴大小上下东西南北前后石柳杏桃松竹")
VILLAGE_SECOND = ["家", "庄", "坪", "沟", "岭", "河", "湾", "峪", "寨", "店", "营", "坡", "园", "川", "台"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯")
GIVEN = ["建国", "桂英", "秀兰", "国强", "海军", "红梅", "志刚", "丽娟", "春生", "金凤", "永福", "晓东", "玉兰"]

# The work plan's departments (created by migration on every installation); each type goes to the first one.
DEPARTMENTS = WORK_PLAN_DEPARTMENTS
TYPE_DEPARTMENT: dict[str, str] = {}
for _name, _types in DEPARTMENTS.items():
    for _type in _types:
        TYPE_DEPARTMENT.setdefault(_type, _name)


@dataclass(frozen=True)
class TypeSpec:
    label: str
    shape: str  # point | line | polygon
    size_m: tuple[int, int]  # line length or polygon side range, metres
    unit: str
    quantity: Callable[[random.Random], Decimal]
    cost: tuple[int, int]  # 10k yuan


def _q(lo, hi, step=1):
    return lambda rng: Decimal(rng.randrange(lo, hi, step))


SPECS: dict[str, TypeSpec] = {
    AssetType.ROAD: TypeSpec("通组道路", "line", (600, 2500), "公里", lambda r: Decimal(r.randint(5, 30)) / 10, (20, 180)),
    AssetType.IRRIGATION: TypeSpec("灌溉渠", "line", (300, 1200), "米", _q(300, 1200, 50), (5, 60)),
    AssetType.WATER_SUPPLY: TypeSpec("安全饮水工程", "point", (0, 0), "处", _q(1, 3), (8, 90)),
    AssetType.SANITATION: TypeSpec("公厕", "point", (0, 0), "座", _q(1, 3), (3, 20)),
    AssetType.POWER: TypeSpec("变压器", "point", (0, 0), "台", _q(1, 3), (5, 30)),
    AssetType.EDUCATION: TypeSpec("教学点", "point", (0, 0), "所", _q(1, 2), (30, 200)),
    AssetType.CULTURE: TypeSpec("文化广场", "polygon", (30, 70), "平方米", _q(800, 3000, 100), (10, 60)),
    AssetType.SPORTS: TypeSpec("健身场地", "point", (0, 0), "处", _q(1, 2), (3, 15)),
    AssetType.HEALTH: TypeSpec("村卫生室", "point", (0, 0), "所", _q(1, 2), (10, 40)),
    AssetType.GREENHOUSE: TypeSpec("蔬菜大棚", "polygon", (40, 120), "座", _q(2, 20), (10, 120)),
    AssetType.PLANTATION: TypeSpec("种养殖基地", "polygon", (150, 400), "亩", _q(20, 300, 10), (15, 150)),
    AssetType.PROCESSING: TypeSpec("农产品加工厂", "polygon", (30, 80), "座", _q(1, 2), (50, 300)),
    AssetType.TOURISM: TypeSpec("乡村旅游服务点", "point", (0, 0), "处", _q(1, 2), (20, 150)),
    AssetType.WORKSHOP: TypeSpec("扶贫车间", "polygon", (30, 70), "平方米", _q(500, 2000, 100), (60, 300)),
    AssetType.ECOMMERCE: TypeSpec("电商服务站", "point", (0, 0), "处", _q(1, 2), (3, 20)),
    AssetType.PV_STATION: TypeSpec("光伏扶贫电站", "point", (0, 0), "千瓦", _q(60, 500, 20), (40, 400)),
    AssetType.EQUITY: TypeSpec("合作社入股", "point", (0, 0), "股", _q(1, 2), (20, 200)),
    AssetType.DEBT: TypeSpec("企业借款", "point", (0, 0), "笔", _q(1, 2), (10, 100)),
    AssetType.LIVESTOCK: TypeSpec("到户养殖", "point", (0, 0), "头", _q(2, 30), (1, 5)),
    AssetType.HOUSEHOLD_FIXED: TypeSpec("到户圈舍", "point", (0, 0), "间", _q(1, 4), (1, 6)),
}
# How many of each type a typical village has (before randomness).
TYPE_WEIGHTS = {
    AssetType.ROAD: 3, AssetType.IRRIGATION: 1, AssetType.WATER_SUPPLY: 1.2, AssetType.SANITATION: 0.8,
    AssetType.POWER: 0.5, AssetType.EDUCATION: 0.3, AssetType.CULTURE: 0.6, AssetType.SPORTS: 0.5,
    AssetType.HEALTH: 0.5, AssetType.GREENHOUSE: 1.2, AssetType.PLANTATION: 1, AssetType.PROCESSING: 0.4,
    AssetType.TOURISM: 0.4, AssetType.WORKSHOP: 0.3, AssetType.ECOMMERCE: 0.4, AssetType.PV_STATION: 1,
    AssetType.EQUITY: 0.5, AssetType.DEBT: 0.2, AssetType.LIVESTOCK: 2, AssetType.HOUSEHOLD_FIXED: 1.5,
}
STATUS_WEIGHTS = [(AssetStatus.IN_USE, 80), (AssetStatus.IDLE, 7), (AssetStatus.DAMAGED, 5),
                  (AssetStatus.UNDER_CONSTRUCTION, 6)]
CUSTODY_BY_CATEGORY = {
    Category.PUBLIC_WELFARE: CustodyMethod.PUBLIC_POST,
    Category.OPERATING: CustodyMethod.CONTRACT,
    Category.HOUSEHOLD: CustodyMethod.SELF,
}


@dataclass
class DemoResult:
    townships: int
    villages: int
    assets: int
    created: bool


def demo_loaded() -> bool:
    return AdminArea.objects.filter(code=f"{COUNTY_CODE}000000").exists()


def _seed_points(rng: random.Random, polygon, count: int, min_spacing: float) -> list[ShPoint]:
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    points: list[ShPoint] = []
    spacing = min_spacing
    attempts = 0
    while len(points) < count:
        attempts += 1
        if attempts % 2000 == 0:
            spacing *= 0.8  # small or thin polygons: relax the spacing rather than loop forever
        p = ShPoint(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(p) and all(
            p.distance(q) >= spacing for q in points
        ):
            points.append(p)
    return points


def _polygons(geom) -> shapely.MultiPolygon:
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and g.area > 0]
    multi = shapely.MultiPolygon(parts)
    multi = shapely.set_precision(multi, 1e-6)
    if not multi.is_valid:
        multi = shapely.make_valid(multi)
    if multi.geom_type == "Polygon":
        multi = shapely.MultiPolygon([multi])
    elif multi.geom_type != "MultiPolygon":
        multi = shapely.MultiPolygon([g for g in multi.geoms if g.geom_type == "Polygon"])
    return multi


def _partition(rng: random.Random, polygon, count: int) -> list[shapely.MultiPolygon]:
    minx, miny, maxx, maxy = polygon.bounds
    spacing = math.sqrt(polygon.area / count) * 0.6
    seeds = _seed_points(rng, polygon, count, spacing)
    cells = shapely.voronoi_polygons(ShMultiPoint(seeds), extend_to=sh_box(minx - 1, miny - 1, maxx + 1, maxy + 1))
    by_seed = []
    for seed in seeds:  # keep the order of the seeds: deterministic numbering
        cell = next(c for c in cells.geoms if c.contains(seed))
        by_seed.append(_polygons(cell.intersection(polygon)))
    return [c for c in by_seed if not c.is_empty]


def _to_geos(geom) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=SRID)


def _metres_to_degrees(lat: float) -> tuple[float, float]:
    return 1 / (111320 * math.cos(math.radians(lat))), 1 / 110540


def _asset_shape(rng: random.Random, spec: TypeSpec, village, anchor: ShPoint | None = None):
    """A plausible geometry for the asset, inside the village."""
    inner = village.buffer(-0.0005) if village.buffer(-0.0005).area > 0 else village
    for _ in range(200):
        p = anchor or _seed_points(rng, inner, 1, 0)[0]
        dx, dy = _metres_to_degrees(p.y)
        if spec.shape == "point":
            return ShPoint(round(p.x, 6), round(p.y, 6))
        size = rng.uniform(*spec.size_m)
        if spec.shape == "polygon":
            w, h = size * dx, size * rng.uniform(0.5, 1.5) * dy
            angle = rng.uniform(0, 90)
            shape = shapely.affinity.rotate(sh_box(p.x - w / 2, p.y - h / 2, p.x + w / 2, p.y + h / 2), angle)
            shape = shapely.set_precision(shape, 1e-6)
        else:
            vertices, heading = [(p.x, p.y)], rng.uniform(0, 2 * math.pi)
            step = size / rng.randint(3, 6)
            for _ in range(rng.randint(3, 6)):
                heading += rng.uniform(-0.6, 0.6)
                x, y = vertices[-1]
                vertices.append((x + math.cos(heading) * step * dx, y + math.sin(heading) * step * dy))
            shape = shapely.set_precision(ShLine(vertices), 1e-6)
        if shape.is_valid and not shape.is_empty and inner.contains(shape):
            return shape
        anchor = None
    return ShPoint(round(p.x, 6), round(p.y, 6))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _funding(rng: random.Random, spec: TypeSpec, asset_type: str) -> list[tuple[str, Decimal]]:
    total = Decimal(rng.randint(*spec.cost))
    if asset_type in (AssetType.LIVESTOCK, AssetType.HOUSEHOLD_FIXED):
        sources = [FundingSourceKind.COUNTY]
    else:
        pool = [FundingSourceKind.CENTRAL, FundingSourceKind.PROVINCIAL, FundingSourceKind.MUNICIPAL,
                FundingSourceKind.COUNTY, FundingSourceKind.INTEGRATED, FundingSourceKind.SOCIAL,
                FundingSourceKind.DONATION, FundingSourceKind.SECTOR]
        sources = rng.sample(pool, rng.choice([1, 1, 2, 2, 3]))
    if len(sources) == 1:
        return [(sources[0], total)]
    cut = sorted(rng.sample(range(1, int(total * 10)), len(sources) - 1)) if total > 1 else []
    if len(cut) < len(sources) - 1:
        return [(sources[0], total)]
    bounds = [0, *cut, int(total * 10)]
    return [(s, Decimal(bounds[i + 1] - bounds[i]) / 10) for i, s in enumerate(sources)]


def _owners(rng, asset_type: str, village_name: str, township_name: str) -> list[services.Share]:
    if asset_type not in TYPES_REQUIRING_NAMED_SHARES:
        return []
    first = Decimal(rng.choice([40, 50, 60, 70]))
    return [
        services.Share(f"{village_name}村民委员会", OwnerKind.VILLAGE_COLLECTIVE, first),
        services.Share(f"{township_name}人民政府", OwnerKind.TOWNSHIP, Decimal(100) - first),
    ]


def _village_names(rng: random.Random, count: int) -> list[str]:
    names = [a + b for a in VILLAGE_FIRST for b in VILLAGE_SECOND]
    rng.shuffle(names)
    return [f"{n}村" for n in names[:count]]


def _log(progress, message: str) -> None:
    if progress:
        progress(message)


@transaction.atomic
def demo_load(*, actor, townships: int = 12, villages_per_township: int = 14, assets_per_village: int = 18,
              progress: Callable[[str], None] | None = None) -> DemoResult:
    """Load the demo county once; a second call changes nothing."""
    if demo_loaded():
        return DemoResult(
            townships=AdminArea.objects.townships().count(), villages=AdminArea.objects.villages().count(),
            assets=Asset.objects.count(), created=False,
        )
    rng = random.Random(SEED)
    outline = _polygons(shapely.from_geojson(BOUNDARY_FILE.read_text(encoding="utf-8")))
    return _county_fill(actor=actor, rng=rng, code=COUNTY_CODE, name=COUNTY_NAME, outline=outline,
                        township_names=TOWNSHIPS, townships=townships, villages_per_township=villages_per_township,
                        assets_per_village=assets_per_village, progress=progress)


def _county_fill(*, actor, rng: random.Random, code: str, name: str, outline, township_names, townships: int,
                 villages_per_township: int, assets_per_village: int, parent: AdminArea | None = None,
                 progress=None) -> DemoResult:
    """One county: its townships and villages (Voronoi cells of the outline) and their assets, by the services."""
    county = services.area_save(actor=actor, reason="演示数据", area=AdminArea(
        code=f"{code}000000", name=name, level=AreaLevel.COUNTY, parent=parent, geom=_to_geos(outline)))
    departments = {name: Department.objects.get_or_create(name=name, defaults={"asset_types": list(types)})[0]
                   for name, types in DEPARTMENTS.items()}
    names = iter(_village_names(rng, townships * villages_per_township))
    village_rows = []
    for (tcode, tname), cell in zip(township_names[:townships], _partition(rng, outline, townships), strict=False):
        township = services.area_save(actor=actor, reason="演示数据", area=AdminArea(
            code=f"{code}{tcode}000", name=tname, level=AreaLevel.TOWNSHIP, parent=county, geom=_to_geos(cell)))
        for number, vcell in enumerate(_partition(rng, cell, villages_per_township), start=1):
            village = services.area_save(actor=actor, reason="演示数据", area=AdminArea(
                code=f"{code}{tcode}{number:03d}", name=next(names), level=AreaLevel.VILLAGE,
                parent=township, geom=_to_geos(vcell)))
            village_rows.append((village, township, vcell))
        _log(progress, f"{tname}: {villages_per_township} 个村")

    types, weights = zip(*TYPE_WEIGHTS.items(), strict=True)
    total = 0
    today = timezone.localdate()
    for index, (village, township, vcell) in enumerate(village_rows, start=1):
        count = max(4, int(rng.gauss(assets_per_village, assets_per_village / 4)))
        chosen = rng.choices(types, weights=weights, k=count)
        if index % villages_per_township == 1:
            chosen.append(AssetType.WORKSHOP)  # one workshop at each township seat
        per_type: dict[str, int] = {}
        for asset_type in chosen:
            spec = SPECS[asset_type]
            per_type[asset_type] = per_type.get(asset_type, 0) + 1
            category = TYPE_CATEGORY[asset_type]
            status = rng.choices(*zip(*STATUS_WEIGHTS, strict=True))[0]
            year = rng.randint(2016, 2025) if status != AssetStatus.UNDER_CONSTRUCTION else 2026
            registered = rng.random() < 0.8 or asset_type in TYPES_REQUIRING_NAMED_SHARES
            label = spec.label if asset_type not in (AssetType.LIVESTOCK, AssetType.HOUSEHOLD_FIXED) \
                else f"{_person(rng)}{spec.label}"
            fields = {
                "name": f"{village.name}{label}{per_type[asset_type]}号"[:200],
                "asset_type": asset_type,
                "category": category,
                "status": status,
                "village": village,
                "year_built": year,
                "project_name": f"{year}年{township.name}{spec.label}项目",
                "implementing_unit": f"{township.name}人民政府" if category != Category.HOUSEHOLD else village.name + "村民委员会",
                "department": departments[TYPE_DEPARTMENT[asset_type]],
                "quantity": spec.quantity(rng),
                "unit": spec.unit,
                "registration_status": RegistrationStatus.REGISTERED if registered else RegistrationStatus.UNREGISTERED,
                "registration_date": datetime.date(min(year + 1, 2026), rng.randint(1, 12), rng.randint(1, 28))
                if registered else None,
                "custodian_unit": f"{village.name}村民委员会" if category != Category.HOUSEHOLD else "受益户",
                "custodian_person": _person(rng),
                "custodian_phone": _phone(rng),
                "custody_method": CUSTODY_BY_CATEGORY[category]
                if asset_type != AssetType.PV_STATION else CustodyMethod.PURCHASED_SERVICE,
                "custody_funding": Decimal(rng.randint(1, 30)) / 10 if category != Category.HOUSEHOLD else None,
                "operator": f"{township.name}{rng.choice(['兴农', '富民', '绿源', '山里红'])}农民专业合作社"
                if category == Category.OPERATING else "",
                "is_published": rng.random() < 0.7,
            }
            # "最近核查" comes only from verifications (load_demo_verifications): the draws that once dated it stay,
            # so that the rest of the demo is drawn as before
            if rng.random() < 0.6:
                rng.choice([2025, 2026]), rng.randint(1, 10), rng.randint(1, 28), rng.randint(8, 17)
            shape = _asset_shape(rng, spec, vcell)
            asset = services.asset_register(
                actor=actor, fields=fields, geometry=_to_geos(shape), funding=_funding(rng, spec, asset_type),
                owners=_owners(rng, asset_type, village.name, township.name), reason="演示数据",
            )
            total += 1
            if status in (AssetStatus.DAMAGED,) and rng.random() < 0.3:
                services.asset_dispose(
                    actor=actor, asset=asset, method=rng.choice(DisposalMethod.values),
                    approval_reference=f"{name[0]}扶资处〔{today.year}〕{total}号", approved_on=today,
                )
        if index % 20 == 0:
            _log(progress, f"资产: {index}/{len(village_rows)} 个村, {total} 项")
    return DemoResult(townships=townships, villages=len(village_rows), assets=total, created=True)


# The demo prefecture (issue 19): 洛阳市 over 栾川县 and a smaller second county, 嵩县 (the outline of 栾川 moved
# east: an invented boundary), so that counties kept apart and the oversight above them can be tried.
PREFECTURE_CODE, PREFECTURE_NAME = "4103", "洛阳市"
NEIGHBOUR_CODE, NEIGHBOUR_NAME = "410325", "嵩县"
NEIGHBOUR_TOWNSHIPS = [("100", "城关镇"), ("101", "田湖镇"), ("102", "车村镇"), ("103", "旧县镇")]


def demo_prefecture_loaded() -> bool:
    return AdminArea.objects.filter(code=f"{NEIGHBOUR_CODE}000000").exists()


@transaction.atomic
def demo_prefecture_load(*, actor, townships: int = 3, villages_per_township: int = 4, assets_per_village: int = 8,
                         progress=None) -> DemoResult | None:
    """The prefecture above the demo county and a second county in it, once (after demo_load); None when done."""
    county = AdminArea.objects.filter(code=f"{COUNTY_CODE}000000").first()
    if county is None or demo_prefecture_loaded():
        return None
    outline = _polygons(shapely.from_geojson(BOUNDARY_FILE.read_text(encoding="utf-8")))
    x0, _y0, x1, _y1 = outline.bounds
    neighbour = _polygons(shapely.affinity.translate(outline, xoff=(x1 - x0) + 0.02))
    prefecture = services.area_save(actor=actor, reason="演示数据", area=AdminArea(
        code=f"{PREFECTURE_CODE}00000000", name=PREFECTURE_NAME, level=AreaLevel.PREFECTURE,
        geom=_to_geos(_polygons(shapely.union_all([outline, neighbour])))))
    county.parent = prefecture
    services.area_save(actor=actor, area=county, reason="演示数据")
    return _county_fill(actor=actor, rng=random.Random(SEED + 1), code=NEIGHBOUR_CODE, name=NEIGHBOUR_NAME,
                        outline=neighbour, township_names=NEIGHBOUR_TOWNSHIPS, townships=townships,
                        villages_per_township=villages_per_township, assets_per_village=assets_per_village,
                        parent=prefecture, progress=progress)


DEMO_PASSWORD_FILE = Path(__file__).resolve().parent.parent / "var" / "demo-password.txt"
DEMO_ROLE_USERS = [
    # username, role, area code suffix or department
    ("inspector", "inspector", None),
    ("chengguan", "township", "100000"),
    ("chengguan001", "village", "100001"),
    ("jiaotong", "department", "交通运输局"),
    ("caizheng", "finance", None),  # 财政局: reads everything county-wide, keeps the fund lines
]
# one login per role in each county of the demo prefecture, and the prefecture's bureau (issue 19)
DEMO_COUNTY_USERS = {
    COUNTY_CODE: [("luanchuan", "county_admin", None)],
    NEIGHBOUR_CODE: [("songxian", "county_admin", None), ("songxian_inspector", "inspector", None),
                     ("songxian_chengguan", "township", "100000"), ("songxian_chengguan001", "village", "100001"),
                     ("songxian_jiaotong", "department", "交通运输局"), ("songxian_caizheng", "finance", None)],
}
DEMO_OVERSIGHT_USERS = [("luoyang", "prefecture", f"{PREFECTURE_CODE}00000000")]


def demo_users_ensure() -> tuple[str, list[str]]:
    """The demo administrator and one user per role; all share a password generated once and kept in var/."""
    from django.contrib.auth import get_user_model
    from django.utils.crypto import get_random_string

    from geo_assets.models import Membership

    User = get_user_model()
    DEMO_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    if DEMO_PASSWORD_FILE.exists():
        password = DEMO_PASSWORD_FILE.read_text().strip()
    else:
        password = get_random_string(14)
        DEMO_PASSWORD_FILE.write_text(password + "\n")
        DEMO_PASSWORD_FILE.chmod(0o600)
    usernames = ["admin"]
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", email="", password=password)
    people = [(COUNTY_CODE, *row) for row in DEMO_ROLE_USERS]
    people += [(county, *row) for county, rows in DEMO_COUNTY_USERS.items() for row in rows]
    for county_code, username, role, scope in people:
        if not AdminArea.objects.filter(code=f"{county_code}000000").exists():
            continue
        usernames.append(username)
        if User.objects.filter(username=username).exists():
            continue
        area = AdminArea.objects.filter(code=f"{county_code}{scope}").first() if role in ("township", "village") else None
        department = Department.objects.filter(name=scope).first() if role == "department" else None
        if role in ("township", "village") and area is None or role == "department" and department is None:
            continue
        user = User.objects.create_user(username, password=password, is_staff=True)
        Membership.objects.create(user=user, role=role, area=area, department=department,
                                  county_id=f"{county_code}000000")
    for username, role, code in DEMO_OVERSIGHT_USERS:
        area = AdminArea.objects.filter(code=code).first()
        if area is None:
            continue
        usernames.append(username)
        if not User.objects.filter(username=username).exists():
            user = User.objects.create_user(username, password=password, is_staff=True)
            Membership.objects.create(user=user, role=role, area=area)
    return password, usernames
