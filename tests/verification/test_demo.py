"""The demo verifications: every office screen has something to show, loaded once, deterministic."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from geo_assets import demo
from geo_assets.models import Asset
from verification import selectors
from verification.demo import demo_verifications_load
from verification.models import Campaign, Photo, Verification
from verification.taxonomy import Finding, Flag, Review


@pytest.fixture
def small_county(admin_user):
    demo.demo_load(actor=admin_user, townships=2, villages_per_township=3, assets_per_village=6)
    demo.demo_users_ensure()


def fingerprint():
    return sorted(Verification.objects.values_list("asset__code", "finding", "review", "flags", "distance_m",
                                                   "campaign__name"))


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_small_demo_populates_every_screen_once(small_county):
    from django.contrib.auth import get_user_model

    with pytest.raises(Rollback), transaction.atomic():
        demo_verifications_load(share=50)
        deterministic = fingerprint()
        raise Rollback
    assert not Verification.objects.exists()
    result = demo_verifications_load(share=50)
    assert fingerprint() == deterministic
    assert result.created and result.verifications == Verification.objects.count() > 10
    admin = get_user_model().objects.get(username="admin")
    campaign = Campaign.objects.get()
    progress = selectors.campaign_progress(campaign)
    assert sum(r["verified"] for r in progress) > 0 and any(r["percent"] < 100 for r in progress)
    assert campaign.items.filter(assignee__isnull=True).count() == 0
    assert selectors.review_queue(admin).exists()
    assert [v.finding for v in selectors.problem_verifications(admin)] == [Finding.NOT_FOUND]
    assert Verification.objects.filter(review=Review.REJECTED).exclude(review_comment="").exists()
    flags = {f for row in Verification.objects.values_list("flags", flat=True) for f in row}
    assert {Flag.TOO_FAR, Flag.INACCURATE, Flag.PHOTO_MISSING, Flag.DUPLICATE_PHOTO, Flag.EXIF_TIME} <= flags
    assert Photo.objects.filter(content_type="image/heic").exists()
    assert Photo.objects.filter(content_type="image/jpeg").exists()
    # repeat photography: an asset photographed in more than one year
    years = {}
    for asset_id, observed in Verification.objects.filter(photos__isnull=False).values_list("asset", "observed_at"):
        years.setdefault(asset_id, set()).add(observed.year)
    assert any(len(y) > 1 for y in years.values())
    assert Asset.objects.filter(verifications__review=Review.ACCEPTED, is_published=True).exists()

    first = fingerprint()
    again = StringIO()
    call_command("load_demo_verifications", stdout=again)
    assert "已存在" in again.getvalue()
    assert fingerprint() == first
