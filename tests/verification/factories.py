"""Deterministic photos (JPEG/HEIC with or without EXIF) and verifications for the verification tests."""

import datetime
import io
import random

from django.utils import timezone
from PIL import Image, ImageDraw

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user


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
