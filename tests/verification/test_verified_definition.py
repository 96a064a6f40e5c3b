"""Issue 21 item 16: one definition of "verified" (geo_assets.querysets.verified_q), used by every page and report.

A village holds a mix — a verification accepted without flags, one flagged and approved, one flagged and still
waiting, one rejected, an asset never verified, and one whose "最近核查" was to be set without a verification (a form,
an import, an old load) — and every page and report must state the same numbers: no "已核查 7 项" beside "尚无现场
核查记录", no coverage with a latest-finding table of zeros, no ledger date without a verification behind it."""

import datetime
import importlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import formats, timezone

from geo_assets import services as register
from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from reports import figures
from tests.factories import centre, make_admin, make_areas, make_asset, make_user, photo
from verification import selectors, services
from verification.models import Verification

REBUILD = importlib.import_module("verification.migrations.0003_late_flag_last_verified").LAST_VERIFIED_REBUILD
KINDS = ("accepted", "approved", "pending", "rejected", "none", "legacy")


def _record(actor, asset, *, accuracy=5.0):
    here, now = asset.location, timezone.now()
    return services.verification_record(
        actor=actor, asset_code=asset.code, finding="intact", lon=here.x, lat=here.y, accuracy_m=accuracy,
        observed_at=now, photos=[("p.jpg", photo(asset.pk, lonlat=(here.x, here.y), taken_at=now))]).verification


@pytest.fixture
def village(db):
    areas = make_areas()
    admin = make_admin()
    reviewer = make_user("reviewer", Role.COUNTY_ADMIN)
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    campaign = services.campaign_create(actor=admin, name="年度清查", kind="annual", year=timezone.localdate().year,
                                        area=areas.west)
    base = centre(areas.west_south)
    assets = {}
    for i, kind in enumerate(KINDS):
        point = base.clone()
        point.x += 0.002 * i
        assets[kind] = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH,
                                  name=f"卫生室{kind}", geometry=point, is_published=True)
    from verification.models import CampaignItem

    for asset in assets.values():
        CampaignItem.objects.create(campaign=campaign, asset=asset)
    _record(clerk, assets["accepted"])
    approved = _record(clerk, assets["approved"], accuracy=90)
    services.verification_review(actor=reviewer, verification=approved, approve=True, comment="属实")
    _record(clerk, assets["pending"], accuracy=90)
    rejected = _record(clerk, assets["rejected"], accuracy=90)
    services.verification_review(actor=reviewer, verification=rejected, approve=False, comment="照片不清")
    # a legacy value written behind the services' back (as the demo and the province load once did)
    Asset.objects.filter(pk=assets["legacy"].pk).update(last_verified_at=timezone.now() - datetime.timedelta(days=3))
    with connection.cursor() as cursor:
        cursor.execute(REBUILD)  # what migration verification 0003 does to such values
    return areas, admin, clerk, campaign, assets


COUNTING = {"accepted", "approved"}


def test_no_form_or_import_sets_last_verified_at(village):
    _areas, admin, _clerk, _campaign, assets = village
    with pytest.raises(ValidationError) as caught:
        register.asset_update(actor=admin, asset=assets["none"], changes={"last_verified_at": timezone.now()})
    assert "last_verified_at" in caught.value.message_dict
    with pytest.raises(ValidationError):
        make_asset(actor=admin, area=assets["none"].village, name="导入的资产", last_verified_at=timezone.now())


def test_the_register_column_is_the_latest_counting_verification(village):
    *_rest, assets = village
    for kind, asset in assets.items():
        asset.refresh_from_db()
        latest = (Verification.objects.filter(asset=asset, review__in=selectors.COUNTED)
                  .order_by("-observed_at").values_list("observed_at", flat=True).first())
        assert asset.last_verified_at == latest, kind
        assert (latest is not None) is (kind in COUNTING), kind
    assert set(Asset.objects.verified().values_list("name", flat=True)) == {f"卫生室{k}" for k in COUNTING}


@pytest.mark.parametrize("role", ["county_admin", "village"])
def test_every_page_and_report_states_the_same_numbers(village, role):
    areas, admin, clerk, campaign, assets = village
    user = admin if role == "county_admin" else clerk
    client = Client()
    client.force_login(user)
    n = len(COUNTING)

    page = client.get(f"/villages/{areas.west_south.code}/").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert f"已核查 {n} 项" in text and "尚无现场核查记录" not in text, text
    assert f"在册资产 {len(KINDS)} 项，已核查 {n} 项（{round(100 * n / len(KINDS))}%）" in text
    assert selectors.village_verification_summary(areas.west_south, user)["verified"] == n

    for kind, asset in assets.items():
        html = client.get(f"/assets/{asset.code}/").content.decode()
        row = re.search(r"<th>最近核查</th><td>(.*?)</td>", html).group(1)
        panel = client.get(f"/api/v1/assets/{asset.code}/").json()
        props = panel.get("properties", panel)
        if kind in COUNTING:
            local = timezone.localtime(Asset.objects.get(pk=asset.pk).last_verified_at)
            day = local.strftime("%Y-%m-%d")
            assert formats.date_format(local, "DATETIME_FORMAT") in row, (kind, row)
            assert f"最近一次：{day}" in html and "尚无计入的现场核查记录" not in html, kind
            assert props["last_verified_at"] and props["latest_verification"]["observed_at"], kind
            assert props["latest_verification"]["review"] in ("accepted", "approved"), kind
        else:
            assert "尚未核查" in row and "尚无计入的现场核查记录" in html, kind
            assert props["last_verified_at"] is None and props["latest_verification"] is None, kind
        if kind in ("pending", "rejected"):
            assert "不计入" in html, kind  # staff see why it does not count

    fig = figures.report_figures(figures.area_scope(user, areas.west_south), timezone.localdate().year)
    v = fig["verification"]
    assert (v["total"], v["ever"], v["recent"], v["this_year"]) == (len(KINDS), n, n, n)
    assert sum(f["count"] for f in v["findings"]) == n and v["pending"] == 1
    listed = {a.code: a for a in fig["assets"]}
    assert {c for c, a in listed.items() if a.last_verified_at} == {assets[k].code for k in COUNTING}

    township = figures.report_figures(figures.area_scope(user, areas.west), timezone.localdate().year)
    row = next(r for r in township["breakdown"] if r["area"] == areas.west_south)
    assert row["verified_rate"] == figures.pct(n, len(KINDS))

    if role == "county_admin":
        progress = figures.workplan_progress(user, with_alerts=False)
        dash = next(r for r in progress["villages"] if r["village"] == areas.west_south)
        assert dash["verification"] == n and dash["inventory"] == n

    (progress_row,) = selectors.campaign_progress(campaign, user=user)
    assert (progress_row["verified"], progress_row["flagged"]) == (n, 1)

    listed = client.get("/api/v1/assets/", {"verified": "yes", "village": areas.west_south.code}).json()
    names = {f["properties"]["name"] for f in listed["features"]}
    assert names == {assets[k].name for k in COUNTING}

    cards = client.get(f"/field/package/{areas.west_south.code}.json")
    assert cards.status_code == 200
    by_code = {c["code"]: c for c in cards.json()["assets"]}
    for kind, asset in assets.items():  # the phone's cards: last verification and its date agree
        card = by_code[asset.code]
        assert bool(card["last_verified_at"]) is bool(card["last_verification"]) is (kind in COUNTING), kind
