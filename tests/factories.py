"""The one factories module: deterministic rows for the tests (tests/world.py composes them into the shared data
sets; conftest.py files hold the fixtures). A small square county in Luanchuan with two townships and four villages:

    county 410324000000  111.50–111.70 E, 33.80–34.00 N
    township 410324101 (west half)   villages 410324101001 (south), 410324101002 (north)
    township 410324102 (east half)   villages 410324102001 (south), 410324102002 (north)
"""

import datetime
import io
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.utils import timezone
from PIL import Image, ImageDraw

from geo_assets import services
from geo_assets.models import SRID, AdminArea, Department, Membership
from geo_assets.taxonomy import AreaLevel, AssetType, Role

W, E, S, N = 111.50, 111.70, 33.80, 34.00
MID_X, MID_Y = 111.60, 33.90


def box(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=SRID)


@dataclass
class Areas:
    county: AdminArea
    west: AdminArea
    east: AdminArea
    west_south: AdminArea
    west_north: AdminArea
    east_south: AdminArea
    east_north: AdminArea


def make_areas() -> Areas:
    def area(code, name, level, geom, parent=None):
        return AdminArea.objects.create(code=code, name=name, level=level, geom=geom, parent=parent)

    county = area("410324000000", "栾川县", AreaLevel.COUNTY, box(W, S, E, N))
    west = area("410324101000", "西镇", AreaLevel.TOWNSHIP, box(W, S, MID_X, N), county)
    east = area("410324102000", "东镇", AreaLevel.TOWNSHIP, box(MID_X, S, E, N), county)
    return Areas(
        county=county, west=west, east=east,
        west_south=area("410324101001", "西南村", AreaLevel.VILLAGE, box(W, S, MID_X, MID_Y), west),
        west_north=area("410324101002", "西北村", AreaLevel.VILLAGE, box(W, MID_Y, MID_X, N), west),
        east_south=area("410324102001", "东南村", AreaLevel.VILLAGE, box(MID_X, S, E, MID_Y), east),
        east_north=area("410324102002", "东北村", AreaLevel.VILLAGE, box(MID_X, MID_Y, E, N), east),
    )


def centre(area: AdminArea) -> Point:
    p = area.geom.centroid
    return Point(round(p.x, 6), round(p.y, 6), srid=SRID)


def road_in(area: AdminArea) -> LineString:
    x0, y0, x1, y1 = area.geom.extent
    ym = (y0 + y1) / 2
    return LineString((x0 + 0.01, ym), (x1 - 0.01, ym + 0.005), srid=SRID)


def make_user(username: str, role: str | None = None, *, area=None, department=None, staff: bool = True):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=staff)
    if role == "superuser":
        user.is_superuser = True
        user.save()
    elif role is not None:
        Membership.objects.create(user=user, role=role, area=area, department=department)
    return user


def make_department(name: str = "交通运输局", types=(AssetType.ROAD,)) -> Department:
    # the work plan's departments exist from the first migrations: set the types the test wants
    department, _created = Department.objects.update_or_create(name=name, defaults={"asset_types": list(types)})
    return department


def make_admin():
    return make_user("county", Role.COUNTY_ADMIN)


def make_asset(*, actor, name: str = "村组道路", asset_type: str = AssetType.ROAD, geometry=None, area=None,
               funding=(("central", Decimal("10")),), owners=(), reason="", **fields):
    if geometry is None:
        geometry = road_in(area) if asset_type == AssetType.ROAD else centre(area)
    return services.asset_register(
        actor=actor, fields={"name": name, "asset_type": asset_type, **fields}, geometry=geometry, funding=funding,
        owners=owners, reason=reason,
    )


def paper_notice(**values):
    """A notice whose period began before today: a paper notice already posted, entered with its photo (the only way
    a past period enters the register, issue 21 item 1)."""
    import io

    from PIL import Image

    from lifecycle import services as lifecycle_services

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (230, 230, 220)).save(out, "PNG")
    return lifecycle_services.notice_record_paper(**values, photo=("notice.png", out.getvalue()), reason="纸质公示补录")


# ---------------------------------------------------------------- verification photos and records


def photo(seed: int, *, fmt: str = "JPEG", lonlat: tuple[float, float] | None = None,
          taken_at: datetime.datetime | None = None, size=(640, 480)) -> bytes:
    """A picture of random blocks (a different seed looks different to a perceptual hash), with optional EXIF."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + rng.randrange(40, 240), y + rng.randrange(40, 200)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = Image.Exif()
    if lonlat is not None:
        lon, lat = lonlat
        exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    if taken_at is not None:
        local = timezone.localtime(taken_at)
        exif.get_ifd(0x8769)[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


def make_verification(*, areas=None, admin=None):
    """One verified asset with a photo in an open campaign (for tests that need a row in every table)."""
    from verification import services

    areas = areas or make_areas()
    admin = admin or make_admin()
    clerk = make_user("verifier", Role.VILLAGE, area=areas.west_south)
    asset = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                       geometry=centre(areas.west_south))
    campaign = services.campaign_create(actor=admin, name="2026年度清查", kind="annual", year=2026, area=areas.west)
    point = centre(areas.west_south)
    now = timezone.now()
    result = services.verification_record(
        actor=clerk, asset_code=asset.code, finding="intact", lon=point.x, lat=point.y, accuracy_m=8,
        observed_at=now, photos=[("a.jpg", photo(1, lonlat=(point.x, point.y), taken_at=now))], campaign=campaign)
    return result.verification


def record(actor, asset, *, finding="intact", offset_m=0.0, photo_seed=None, when=None, accuracy=8, campaign=None):
    """A verification of `asset` by `actor`, sent five minutes after it was observed (an hour ago by default)."""
    from verification import services

    when = when or timezone.now() - datetime.timedelta(hours=1)
    here = asset.location
    lat = here.y + offset_m / 111_320
    photos = [] if photo_seed is None else [(f"{photo_seed}.jpg", photo(photo_seed, lonlat=(here.x, lat), taken_at=when))]
    return services.verification_record(actor=actor, asset_code=asset.code, finding=finding, lon=here.x, lat=lat,
                                        accuracy_m=accuracy, observed_at=when, photos=photos, campaign=campaign,
                                        received_at=when + datetime.timedelta(minutes=5)).verification  # sent then


# ---------------------------------------------------------------- the project ledgers (projects app)


def project(*, actor, code: str = "410324-2025-001", name: str = "2025年西南村通组道路项目", year: int = 2025,
            kind: str = "infrastructure", villages=(), township=None, **fields):
    """A project through projects.services (township: the first village's, unless given)."""
    from projects import services as project_services
    from projects.models import Project

    villages = list(villages)
    if township is None and villages:
        township = villages[0].parent
    return project_services.project_save(
        actor=actor, project=Project(code=code, name=name, year=year, kind=kind, township=township, **fields),
        villages=villages, reason="test")


def fund_line(*, actor, project, source: str = "central", allocated=Decimal("10"), disbursed=None,
              document_number: str = "豫财农〔2025〕1号", year: int | None = None, **fields):
    """A fund line of the project (disbursed: everything allocated, unless given)."""
    from projects import services as project_services
    from projects.models import FundLine

    allocated = Decimal(allocated)
    line = FundLine(project=project, source=source, document_number=document_number, year=year or project.year,
                    allocated=allocated, disbursed=allocated if disbursed is None else Decimal(disbursed), **fields)
    return project_services.fund_line_save(actor=actor, line=line, reason="test")


def link(*, actor, project, asset, amount=None):
    """The project formed the asset (with the amount it contributed, when given)."""
    from projects import services as project_services

    return project_services.project_asset_link(actor=actor, project=project, asset=asset,
                                               amount=None if amount is None else Decimal(amount), reason="test")
