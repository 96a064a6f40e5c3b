"""An asset's timeline follows the one definition of "verified" (issue 21 item 16): a verification that does not
count yet is marked so for staff and absent for the public, until it is approved."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from geo_assets.taxonomy import AssetType, Role
from lifecycle.selectors import asset_timeline
from tests.factories import centre, make_admin, make_areas, make_asset, make_user, photo


@pytest.mark.django_db
def test_a_verification_waiting_for_review_is_marked_uncounted_until_approved():
    from verification import services

    areas, admin = make_areas(), make_admin()
    clerk = make_user("verifier", Role.VILLAGE, area=areas.west_south)
    point = centre(areas.west_south)
    asset = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                       geometry=point, is_published=True)
    observed = timezone.now() - datetime.timedelta(days=60)  # long before it is received: flagged, waits for review
    verification = services.verification_record(
        actor=clerk, asset_code=asset.code, finding="intact", lon=point.x, lat=point.y, accuracy_m=8,
        observed_at=observed, photos=[("a.jpg", photo(1))]).verification
    assert not verification.counts

    def titles(user):
        return [e.title for e in asset_timeline(asset, user) if e.kind == "verification"]

    assert titles(admin) == ["实地核查：存在完好（不计入）"]
    assert titles(AnonymousUser()) == []
    services.verification_review(actor=admin, verification=verification, approve=True, comment="补录，已核实")
    assert titles(admin) == ["实地核查：存在完好"]
    assert titles(AnonymousUser()) == ["实地核查：存在完好"]
