"""Issue 21 items 2 and 6: when a verification was observed. A date outside the register's bounds or in the future
is refused; one observed long before the server received it (beyond a phone's plausible offline queue,
settings.VERIFICATION_MAX_DELAY_DAYS) is flagged and counts nowhere until a reviewer approves it."""

import datetime
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user, photo
from verification import selectors, services
from verification.models import Verification
from verification.taxonomy import Flag, Review

URL = "/api/v1/verifications/"
TZ = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def site(db):
    areas = make_areas()
    admin = make_admin()
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south))
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    return areas, admin, clerk, clinic


def post(user, asset, observed_at, *, exif=False):
    here = asset.location
    picture = photo(7, lonlat=(here.x, here.y) if exif else None, taken_at=observed_at if exif else None)
    client = Client()
    client.force_login(user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(URL, {
        "asset_code": asset.code, "finding": "intact", "lon": here.x, "lat": here.y, "accuracy_m": 6,
        "observed_at": observed_at.isoformat() if isinstance(observed_at, datetime.datetime) else observed_at,
        "client_id": str(uuid.uuid4()), "photos": [SimpleUploadedFile("p.jpg", picture, content_type="image/jpeg")]})


def counts_everywhere(asset: Asset, user) -> dict:
    """What every reader of "verified" says of the asset (its own page, the village coverage, the filters)."""
    asset.refresh_from_db()
    village = selectors.village_verification_summary(asset.village, user)
    return {"last_verified_at": asset.last_verified_at,
            "verified": Asset.objects.verified().filter(pk=asset.pk).exists(),
            "village_verified": village["verified"],
            "asset_page_latest": selectors.asset_verification_context(asset, user)["latest"]}


def test_the_back_dated_verification_of_the_issue_is_flagged_and_counts_only_once_approved(site):
    """observed_at=2024-08-15 with an EXIF-less photo: accepted unflagged before, moving last_verified_at back
    into the work plan's deadline."""
    _areas, admin, clerk, clinic = site
    response = post(clerk, clinic, datetime.datetime(2024, 8, 15, 10, 0, tzinfo=TZ))
    assert response.status_code == 201, response.content
    body = response.json()
    assert Flag.LATE in body["flags"] and body["review"] == Review.PENDING
    assert counts_everywhere(clinic, admin) == {"last_verified_at": None, "verified": False, "village_verified": 0,
                                                "asset_page_latest": None}
    record = Verification.objects.get(pk=body["id"])
    reviewer = Client()
    reviewer.force_login(admin)
    queue = reviewer.get("/verification/review/").content.decode()  # the reviewer sees why, and both times
    assert "核查时间远早于上传时间" in queue and "核查时间 2024-08-15 10:00" in queue and "上传时间" in queue
    services.verification_review(actor=admin, verification=record, approve=True, comment="补录，纸质记录为证")
    after = counts_everywhere(clinic, admin)
    assert after["last_verified_at"] == record.observed_at
    assert after["verified"] and after["village_verified"] == 1 and after["asset_page_latest"] == record


def test_a_back_dated_verification_does_not_move_an_earlier_count(site):
    _areas, admin, clerk, clinic = site
    assert post(clerk, clinic, timezone.now() - datetime.timedelta(days=1), exif=True).json()["flags"] == []
    clinic.refresh_from_db()
    before = clinic.last_verified_at
    post(clerk, clinic, datetime.datetime(2024, 8, 15, 10, 0, tzinfo=TZ))
    clinic.refresh_from_db()
    assert clinic.last_verified_at == before


@pytest.mark.parametrize(("max_days", "days_ago", "flagged"),
                         [(14, 0, False), (14, 13, False), (14, 15, True), (3, 2, False), (3, 4, True)])
def test_the_plausible_offline_age_is_a_setting(site, settings, max_days, days_ago, flagged):
    settings.VERIFICATION_MAX_DELAY_DAYS = max_days
    _areas, _admin, clerk, clinic = site
    when = timezone.now() - datetime.timedelta(days=days_ago)
    body = post(clerk, clinic, when, exif=True).json()
    assert (Flag.LATE in body["flags"]) is flagged
    assert (body["review"] == Review.ACCEPTED) is not flagged


@pytest.mark.parametrize("observed_at", [
    "1970-01-01T08:00:00+08:00", "0001-01-01T00:00:00+00:00", "1999-12-31T23:00:00+08:00",
    "2099-01-01T10:00:00+08:00", "future-2h"])
def test_implausible_observation_times_are_refused_naming_the_range(site, observed_at):
    _areas, _admin, clerk, clinic = site
    if observed_at == "future-2h":
        observed_at = (timezone.now() + datetime.timedelta(hours=2)).isoformat()
    response = post(clerk, clinic, observed_at)
    assert response.status_code == 400, response.content
    assert "observed_at" in response.json()
    assert not Verification.objects.exists()


def test_the_service_refuses_them_too(site):
    """The rule lives in the service: the page, the API and the demo all go through verification_record."""
    _areas, _admin, clerk, clinic = site
    here = clinic.location
    from django.core.exceptions import ValidationError

    for when in (datetime.datetime(1970, 1, 1, tzinfo=TZ), timezone.now() + datetime.timedelta(days=400)):
        with pytest.raises(ValidationError) as caught:
            services.verification_record(actor=clerk, asset_code=clinic.code, finding="intact", lon=here.x,
                                         lat=here.y, accuracy_m=5, observed_at=when)
        assert "observed_at" in caught.value.message_dict


def test_clock_skew_of_a_few_minutes_is_tolerated(site):
    _areas, _admin, clerk, clinic = site
    response = post(clerk, clinic, timezone.now() + datetime.timedelta(minutes=5), exif=True)
    assert response.status_code == 201 and response.json()["flags"] == []
