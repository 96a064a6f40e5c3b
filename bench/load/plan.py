"""What the load test's users need, read once from the database the server serves (demo, test or benchmark
province): three accounts of the county administrator's role (map user, verifier, clerk — password and API token
generated each run, nothing else of the register touched), a sample of assets the accounts may change, tiles over
them, search words, villages for the reports, and a small JPEG for the verifications. Written to one JSON file the
locustfile reads (LOAD_PLAN); `plan_prepare` returns it too."""

import io
import json
import math
import random
import secrets
from pathlib import Path

ACCOUNTS = ("load-map", "load-verifier", "load-clerk")
TILE_ZOOMS = (11, 12, 13, 14, 15, 16)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(max(min(lat, 85.05), -85.05))
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _accounts() -> dict:
    """The load accounts, with the role, county and area of the first current county administrator of a county, or
    of the first county's (the benchmark province has ten, without administrators). Their passwords are new each run."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from rest_framework.authtoken.models import Token

    from geo_assets.models import AdminArea, Membership
    from geo_assets.taxonomy import AreaLevel, Role

    model = (Membership.objects.filter(role=Role.COUNTY_ADMIN, current=True, user__is_active=True,
                                       county__isnull=False)
             .exclude(user__username__in=ACCOUNTS).order_by("pk").first())
    # else the first county's (the province has ten and no administrator), or none: a one-county register
    county = model.county if model else AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    area = model.area if model else None
    accounts = {}
    for name in ACCOUNTS:
        user, created = get_user_model().objects.get_or_create(username=name, defaults={"is_staff": True})
        password = secrets.token_urlsafe(18)
        # PBKDF2, production's hasher, whatever the settings here (the tests' are faster and unknown to production)
        user.password = PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt())
        user.is_active = user.is_staff = True
        user.save()
        current = Membership.objects.filter(user=user, current=True)
        if not current.exists():
            Membership.objects.create(user=user, role=Role.COUNTY_ADMIN, area=area, county=county)
        else:
            current.update(role=Role.COUNTY_ADMIN, area=area, county=county)
        token, _created = Token.objects.get_or_create(user=user)
        accounts[name] = {"username": name, "password": password, "token": token.key}
    return accounts


def _jpeg() -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(7)
    image = Image.new("RGB", (800, 600), (90, 120, 80))
    draw = ImageDraw.Draw(image)
    for _ in range(60):  # some texture, so the photo is not a trivial one
        x, y = rng.randrange(800), rng.randrange(600)
        draw.rectangle((x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def plan_prepare(out: Path, *, sample: int = 400, seed: int = 20) -> dict:
    from django.contrib.auth import get_user_model

    from geo_assets.models import AdminArea, Asset
    from geo_assets.taxonomy import AreaLevel
    from verification.selectors import assets_verifiable_by

    accounts = _accounts()
    clerk = get_user_model().objects.get(username="load-clerk")
    rng = random.Random(seed)
    # a sample of the assets the accounts may change (the same role for all three): ids drawn over the id range,
    # not ORDER BY random() over a province
    editable = assets_verifiable_by(clerk).filter(location__isnull=False)
    ids = list(editable.order_by("pk").values_list("pk", flat=True)[:200000])
    if not ids:
        raise RuntimeError("No asset the load accounts may change: load the demo or the province first.")
    chosen = sorted(rng.sample(ids, min(sample, len(ids))))
    rows = list(Asset.objects.filter(pk__in=chosen).values_list("code", "name", "location", "village__code"))
    assets = [{"code": code, "name": name, "lon": round(point.x, 6), "lat": round(point.y, 6)}
              for code, name, point, _village in rows]
    villages = sorted({village for *_rest, village in rows if village})
    if not villages:
        villages = list(AdminArea.objects.filter(level=AreaLevel.VILLAGE).values_list("code", flat=True)[:50])
    tiles = sorted({(z, *_tile(a["lon"], a["lat"], z)) for a in assets for z in TILE_ZOOMS})
    words = sorted({a["name"][:2] for a in assets if len(a["name"]) >= 2} | {a["code"][:8] for a in assets})
    plan = {"accounts": accounts, "assets": assets, "villages": villages[:100], "tiles": tiles,
            "words": words[:200], "photo": str(out.with_suffix(".jpg"))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".jpg").write_bytes(_jpeg())
    out.touch(mode=0o600)
    out.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return plan
