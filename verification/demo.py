"""Demo verifications for the demo county (geo_assets/demo.py): last years' records for repeat photography, one
spot check in progress with varied progress per village, flagged records waiting for review, a rejected one, an
approved 未找到 on the problem list, JPEG and HEIC photos with EXIF. Deterministic (seeded) and recorded through
the services, so every rule applies; loaded once (`manage.py load_demo_verifications`)."""

import datetime
import io
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from geo_assets.demo import COUNTY_CODE
from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AssetStatus, AssetType
from verification import services
from verification.models import Campaign, Verification
from verification.taxonomy import CampaignKind, Finding

MARK = "（演示）"
SEED = 20260801
CLIENT_IDS = uuid.UUID("6f1c2d3e-0000-4000-8000-410324000000")  # namespace of the demo's client ids
PHOTO_SIZE = (800, 600)
# (finding, what goes wrong on site, the county office's decision) for the first records of the campaign
SCENARIOS = [
    (Finding.NOT_FOUND, "no_photo", ("approve", "现场确认资产已不存在，列入问题清单，按处置流程核实。")),
    (Finding.DAMAGED, "inaccurate", ("approve_apply", "照片可见护栏损坏，定位精度不足可以接受。")),
    (Finding.INTACT, "too_far", ("reject", "定位距资产约 600 米，请到现场重新核查。")),
    (Finding.DEMOLISHED, "inaccurate", None),
    (Finding.INTACT, "too_far", None),
    (Finding.INTACT, "duplicate", None),
    (Finding.IDLE, "exif_time", None),
    (Finding.REPURPOSED, "", None),
]


@dataclass
class DemoVerifications:
    verifications: int
    photos: int
    campaign: Campaign | None
    created: bool


def demo_verifications_loaded() -> bool:
    return Campaign.objects.filter(name__endswith=MARK).exists()


def _users():
    users = get_user_model().objects.in_bulk(["admin", "inspector", "chengguan"], field_name="username")
    if "admin" not in users or "inspector" not in users:
        raise RuntimeError("演示账户不存在：请先运行 manage.py load_demo。")
    return users["admin"], users["inspector"], users.get("chengguan")


def scene(asset: Asset, year: int) -> Image.Image:
    """A generated 'photo' of the asset: the same view every year (repeat photography), a different one per asset."""
    rng = random.Random(asset.code)
    shift = random.Random(f"{asset.code}/{year}")
    w, h = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE, (rng.randrange(120, 200), rng.randrange(170, 230), 245))
    draw = ImageDraw.Draw(image)
    horizon = rng.randrange(h // 3, h // 2)
    ground = (rng.randrange(60, 140), rng.randrange(110, 170), rng.randrange(40, 90))
    draw.rectangle((0, horizon, w, h), fill=ground)
    for _ in range(14):  # hills, trees and rocks: what makes two assets' photos differ to a perceptual hash
        x, y = rng.randrange(w), rng.randrange(horizon - 80, h)
        colour = (rng.randrange(30, 120), rng.randrange(60, 140), rng.randrange(20, 90))
        size = rng.randrange(30, 160)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + size, y + size * 2 // 3), fill=colour)
    dx, dy = shift.randrange(-12, 13), shift.randrange(-8, 9)  # the verifier stands almost where he stood before
    cx, cy = rng.randrange(w // 4, w * 3 // 4) + dx, horizon + rng.randrange(20, 80) + dy
    if asset.asset_type == AssetType.ROAD:
        draw.polygon([(cx - 40, horizon), (cx + 40, horizon), (cx + 300, h), (cx - 300, h)], fill=(110, 110, 110))
    elif asset.asset_type == AssetType.PV_STATION:
        for i in range(4):
            for j in range(3):
                draw.rectangle((cx - 200 + i * 100, cy + j * 50, cx - 110 + i * 100, cy + 40 + j * 50), fill=(30, 60, 140))
    else:
        wall = (rng.randrange(180, 240), rng.randrange(170, 220), rng.randrange(150, 210))
        draw.rectangle((cx - 120, cy, cx + 120, cy + 130), fill=wall)
        draw.polygon([(cx - 140, cy), (cx + 140, cy), (cx, cy - 70)], fill=(150, 40, 30))
    draw.text((10, h - 22), f"{asset.code} {year}", fill=(255, 255, 0))
    return image


def photo_bytes(image: Image.Image, *, lon: float, lat: float, taken_at: datetime.datetime, heic: bool) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    exif.get_ifd(0x8769)[0x9003] = timezone.localtime(taken_at).strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    image.save(out, "HEIF" if heic else "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


def _record(rng, *, actor, asset, finding=Finding.INTACT, when, problem="", heic=False, campaign=None,
            duplicate_of: Asset | None = None) -> Verification:
    """A verification standing a few metres from the asset (or not, for the problem asked for), with one photo."""
    offset = 600.0 if problem == "too_far" else rng.uniform(3, 25)
    angle = rng.uniform(0, 2 * math.pi)
    here = asset.location
    lon = here.x + offset * math.sin(angle) / (111_320 * math.cos(math.radians(here.y)))
    lat = here.y + offset * math.cos(angle) / 110_574
    taken = when - datetime.timedelta(days=3) if problem == "exif_time" else when - datetime.timedelta(minutes=2)
    photos = []
    if problem != "no_photo":
        image = scene(duplicate_of or asset, timezone.localtime(when).year)
        photos = [("1.heic" if heic else "1.jpg", photo_bytes(image, lon=lon, lat=lat, taken_at=taken, heic=heic))]
    return services.verification_record(
        actor=actor, asset_code=asset.code, finding=finding, lon=lon, lat=lat,
        accuracy_m=rng.uniform(60, 90) if problem == "inaccurate" else rng.uniform(3, 15), observed_at=when,
        client_id=uuid.uuid5(CLIENT_IDS, f"{asset.code}/{when.isoformat()}"), campaign=campaign, photos=photos,
        received_at=when + datetime.timedelta(hours=2) if problem != "late" else None,
        note={"no_photo": "现场及周边均未找到该资产，村民称已于前年拆除。",
              "duplicate": "照片由村干部提供。"}.get(problem, ""),
    ).verification


def _moment(rng, today: datetime.date, days_ago: int) -> datetime.datetime:
    day = today - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, rng.randint(9, 16), rng.randint(0, 59)))


@transaction.atomic
def demo_verifications_load(*, share: Decimal = Decimal("6"), top_value_count: int = 2,
                            progress: Callable[[str], None] | None = None) -> DemoVerifications:
    """Load the demo verifications once; a second call changes nothing."""
    if demo_verifications_loaded():
        return DemoVerifications(Verification.objects.count(), 0, Campaign.objects.filter(name__endswith=MARK).first(),
                                 created=False)
    admin, inspector, township_clerk = _users()
    rng = random.Random(SEED)
    today = timezone.localdate()
    county = AdminArea.objects.filter(code=f"{COUNTY_CODE}000000").first()
    active = Asset.objects.exclude(status=AssetStatus.DISPOSED).filter(county=county.code if county else None)
    sample = services.campaign_sample(assets=active, share=share, top_value_count=top_value_count, seed=SEED)
    assets = list(Asset.objects.filter(pk__in=sample).select_related("township").order_by("code"))
    heic = iter(range(10**6))

    # Last two years' inventories (by the county office, before the campaign): the earlier photos to compare with.
    for asset in assets:
        for years_ago, chance in ((2, 0.3), (1, 0.6)):
            if rng.random() < chance:
                _record(rng, actor=admin, asset=asset, when=_moment(rng, today, 365 * years_ago + rng.randint(0, 30)),
                        heic=next(heic) % 9 == 4)
    _log(progress, f"往年核查：{Verification.objects.count()} 条")

    campaign = services.campaign_create(
        actor=admin, name=f"{today.year}年度扶贫资产抽查{MARK}", kind=CampaignKind.SPOT_CHECK, year=today.year, area=county,
        sample_share=share, top_value_count=top_value_count, seed=SEED, due_on=datetime.date(today.year, 12, 31))
    services.campaign_assign(actor=admin, campaign=campaign, assignee=inspector)
    seat = AdminArea.objects.filter(code="410324100000").first()  # 城关镇: its own clerk verifies there
    if township_clerk is not None and seat is not None:
        for village in AdminArea.objects.filter(parent=seat).order_by("code"):
            services.campaign_assign(actor=admin, campaign=campaign, assignee=township_clerk, village=village)
    items = list(campaign.items.select_related("asset", "assignee").order_by("asset__code"))
    rng.shuffle(items)
    rates = {}
    recorded = []
    for index, item in enumerate(items):
        village = item.asset.village_id
        rates.setdefault(village, rng.choice([0, 0.3, 0.5, 0.7, 0.9, 1, 1]))
        scenario = SCENARIOS[index] if index < len(SCENARIOS) else None
        if scenario is None and rng.random() >= rates[village]:
            continue
        finding, problem = (scenario[0], scenario[1]) if scenario else (
            rng.choices([Finding.INTACT, Finding.DAMAGED, Finding.IDLE], weights=[8, 1, 1])[0], "")
        duplicate_of = items[index - 1].asset if problem == "duplicate" else None
        record = _record(rng, actor=item.assignee, asset=item.asset, finding=finding, problem=problem,
                         when=_moment(rng, today, rng.randint(1, 40)), heic=next(heic) % 7 == 3, campaign=campaign,
                         duplicate_of=duplicate_of)
        recorded.append((record, scenario[2] if scenario else None))
    for record, decision in recorded:
        if decision is not None:
            action, comment = decision
            services.verification_review(actor=admin, verification=record, approve=action != "reject",
                                         comment=comment, apply_status=action == "approve_apply")
    _log(progress, f"核查任务“{campaign.name}”：{len(items)} 项，已核查 {len(recorded)} 项")
    from verification.models import Photo

    return DemoVerifications(Verification.objects.count(), Photo.objects.count(), campaign, created=True)


def _log(progress, message: str) -> None:
    if progress:
        progress(message)
