"""The one factories module: deterministic rows for the tests (tests/world.py composes them into the shared data
sets; conftest.py files hold the fixtures). A small square county in Luanchuan with two townships and four villages:

    county 410324000000  111.50–111.70 E, 33.80–34.00 N
    township 410324101 (west half)   villages 410324101001 (south), 410324101002 (north)
    township 410324102 (east half)   villages 410324102001 (south), 410324102002 (north)

and, for the areas' pieces, a county whose villages have hundreds of vertices (make_jagged_county).
"""

import datetime
import io
import math
import random
import re
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


@dataclass
class Prefecture:
    """make_prefecture(): a prefecture over the county of make_areas (A, 栾川县) and a second county B east of it."""

    prefecture: AdminArea
    a: Areas
    county_b: AdminArea
    township_b: AdminArea
    village_b: AdminArea


def make_prefecture() -> Prefecture:
    """The prefecture 410300000000 holding county A 410324 (make_areas) and county B 410325 (111.70–111.90 E):
    one township 410325101000 and one village 410325101001 covering county B."""
    a = make_areas()
    prefecture = AdminArea.objects.create(code="410300000000", name="洛阳市", level=AreaLevel.PREFECTURE,
                                          geom=box(W, S, E + 0.2, N))
    AdminArea.objects.filter(pk=a.county.pk).update(parent=prefecture)
    county_b = AdminArea.objects.create(code="410325000000", name="嵩县", level=AreaLevel.COUNTY,
                                        geom=box(E, S, E + 0.2, N), parent=prefecture)
    township_b = AdminArea.objects.create(code="410325101000", name="城关镇", level=AreaLevel.TOWNSHIP,
                                          geom=box(E, S, E + 0.2, N), parent=county_b)
    village_b = AdminArea.objects.create(code="410325101001", name="嵩北村", level=AreaLevel.VILLAGE,
                                         geom=box(E, S, E + 0.2, N), parent=township_b)
    return Prefecture(prefecture=prefecture, a=a, county_b=county_b, township_b=township_b, village_b=village_b)


@dataclass
class JaggedCounty:
    """make_jagged_county(): villages with enough vertices to be cut into several pieces (models.AreaPiece)."""

    county: AdminArea
    township: AdminArea
    west: AdminArea
    east: AdminArea
    island: AdminArea
    seam: list  # the boundary west and east share, south to north


JAGGED_W, JAGGED_E, JAGGED_MID = 112.00, 112.20, 112.10


def make_jagged_county() -> JaggedCounty:
    """County 410327 (112.00–112.20 E, 33.80–34.00 N), one township, and three villages: 西坡村 and 东坡村 share a
    zigzag seam of 401 vertices on 112.10 E (a grid line of the pieces' cells); 东坡村 has a hole of 240 vertices
    that is the whole of 岛村. Coordinates rounded to 1e-6°, the seam's ends on the county's edges."""
    seam = [(round(JAGGED_MID + 0.004 * math.sin(math.pi * 37 * i / 400), 6), round(S + (N - S) * i / 400, 6))
            for i in range(401)]
    # a few of the seam's vertices exactly on the cells' grid line
    seam = [(JAGGED_MID, y) if i % 50 == 0 else (x, y) for i, (x, y) in enumerate(seam)]
    edge = [(round(JAGGED_W + (JAGGED_MID - JAGGED_W) * i / 100, 6), S) for i in range(1, 100)]
    west = Polygon([(JAGGED_W, S), *edge, *seam, (JAGGED_W, N), (JAGGED_W, S)], srid=SRID)
    ring = [(round(112.15 + 0.03 * math.cos(2 * math.pi * i / 240), 6), round(33.90 + 0.03 * math.sin(2 * math.pi * i / 240), 6))
            for i in range(240)]
    ring.append(ring[0])
    east = Polygon([seam[0], (JAGGED_E, S), (JAGGED_E, N), *reversed(seam)], list(reversed(ring)), srid=SRID)
    island = Polygon(ring, srid=SRID)

    def area(code, name, level, geom, parent=None):
        return AdminArea.objects.create(code=code, name=name, level=level, parent=parent,
                                        geom=MultiPolygon(geom, srid=SRID) if geom.geom_type == "Polygon" else geom)

    county = area("410327000000", "汝阳县", AreaLevel.COUNTY, box(JAGGED_W, S, JAGGED_E, N))
    township = area("410327101000", "坡镇", AreaLevel.TOWNSHIP, box(JAGGED_W, S, JAGGED_E, N), county)
    return JaggedCounty(
        county=county, township=township, seam=seam,
        west=area("410327101001", "西坡村", AreaLevel.VILLAGE, west, township),
        east=area("410327101002", "东坡村", AreaLevel.VILLAGE, east, township),
        island=area("410327101003", "岛村", AreaLevel.VILLAGE, island, township),
    )


def make_member(user, role: str, *, county=None, area=None, department=None, current: bool = False):
    """One more membership for an existing user (a person holding several roles)."""
    return Membership.objects.create(user=user, role=role, area=area, department=department, current=current,
                                     county_id=county.code if county is not None else None)


def centre(area: AdminArea) -> Point:
    p = area.geom.centroid
    return Point(round(p.x, 6), round(p.y, 6), srid=SRID)


def road_in(area: AdminArea) -> LineString:
    x0, y0, x1, y1 = area.geom.extent
    ym = (y0 + y1) / 2
    return LineString((x0 + 0.01, ym), (x1 - 0.01, ym + 0.005), srid=SRID)


def make_user(username: str, role: str | None = None, *, area=None, department=None, staff: bool = True,
              county=None):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=staff)
    if role == "superuser":
        user.is_superuser = True
        user.save()
    elif role is not None:
        Membership.objects.create(user=user, role=role, area=area, department=department,
                                  county_id=county.code if county is not None else None)
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


# ---------------------------------------------------------------- projects and fund ledgers (issue 17)


def project(*, actor, code: str = "XM-2025-001", name: str = "道路硬化项目", year: int = 2025, kind: str = "infrastructure",
            villages=(), township=None, department=None, township_from_villages: bool = True, **fields):
    """A project saved through projects.services (its township: the given one, else the first village's unless
    township_from_villages is False: villages of several townships)."""
    from projects import services as project_services
    from projects.models import Project

    villages = list(villages)
    if township is None and township_from_villages and villages:
        township = villages[0].parent
    return project_services.project_save(
        actor=actor, project=Project(code=code, name=name, year=year, kind=kind, township=township,
                                     department=department, **fields), villages=villages)


def fund_line(*, actor, project, source: str = "central", allocated="100", disbursed=None, year: int | None = None,
              document_number: str = "", note: str = ""):
    """A fund line of `project` saved through projects.services (disbursed: all of it unless given)."""
    from projects import services as project_services
    from projects.models import FundLine

    allocated = Decimal(str(allocated))
    return project_services.fund_line_save(actor=actor, line=FundLine(
        project=project, source=source, document_number=document_number, year=year or project.year,
        allocated=allocated, disbursed=allocated if disbursed is None else Decimal(str(disbursed)), note=note))


def link(*, actor, project, asset, amount=None, origin: str = "manual"):
    """The project formed the asset (with the amount it put in, when given), through projects.services."""
    from projects import services as project_services

    return project_services.project_asset_link(actor=actor, project=project, asset=asset, origin=origin,
                                               amount=None if amount is None else Decimal(str(amount)))


_FETCHED = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def fetched_elsewhere(html: str) -> list[str]:
    """The scripts, stylesheets, images and frames a page loads from another host (a CDN): the product runs on
    government intranets and may fetch nothing outside its own server. Matched on the tags' own URLs, not the whole
    page (a random CSRF token may spell "cdn")."""
    return [url for url in _FETCHED.findall(html) if url.startswith(("http:", "https:", "//"))]
