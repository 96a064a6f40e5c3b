"""POST/GET /api/v1/verifications/: idempotency, each flag with a positive and a negative case, every role."""

import datetime
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone

from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_department, make_user, photo, road_in
from verification import selectors, services
from verification.models import Verification
from verification.taxonomy import Flag, Review

URL = "/api/v1/verifications/"


@pytest.fixture
def site(db):
    areas = make_areas()
    admin = make_admin()
    health = make_department("卫健委", [AssetType.HEALTH])
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south))
    road = make_asset(actor=admin, area=areas.west_south, name="西南村道路", geometry=road_in(areas.west_south))
    other = make_asset(actor=admin, area=areas.east_south, asset_type=AssetType.HEALTH, name="东南村卫生室",
                       geometry=centre(areas.east_south))
    users = {
        "county_admin": admin,
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "department": make_user("health", Role.DEPARTMENT, department=health),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "other_village": make_user("eastsouth", Role.VILLAGE, area=areas.east_south),
    }
    return areas, users, {"clinic": clinic, "road": road, "other": other}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def post(user, asset, *, offset_m: float = 0.0, accuracy=8.0, photos=None, client_id=None, observed_at=None,
         finding="intact", seed=None):
    """A verification standing offset_m metres north of the asset's location, with one matching photo."""
    here = asset.location
    lat = here.y + offset_m / 111_320
    observed_at = observed_at or timezone.now()
    if photos is None:
        photos = [photo(seed if seed is not None else asset.pk, lonlat=(here.x, lat), taken_at=observed_at)]
    data = {"asset_code": asset.code, "finding": finding, "lon": here.x, "lat": lat, "accuracy_m": accuracy,
            "observed_at": observed_at.isoformat(), "client_id": str(client_id or uuid.uuid4()), "note": "现场正常"}
    files = {"photos": [_upload(p, i) for i, p in enumerate(photos)]} if photos else {}
    return client_for(user).post(URL, {**data, **files})


def _upload(data: bytes, index: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    kind = "heic" if data[4:12] in (b"ftypheic", b"ftypmif1") else "jpg"
    return SimpleUploadedFile(f"p{index}.{kind}", data, content_type="image/" + ("heic" if kind == "heic" else "jpeg"))


def test_record_with_photo_returns_distance_and_no_flags(site):
    _areas, users, assets = site
    response = post(users["village"], assets["clinic"], offset_m=30)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["distance_m"] == pytest.approx(30, abs=1.5)
    assert body["flags"] == [] and body["review"] == Review.ACCEPTED and len(body["photos"]) == 1
    assets["clinic"].refresh_from_db()
    assert assets["clinic"].last_verified_at is not None


def test_sending_twice_records_once(site):
    _areas, users, assets = site
    client_id = uuid.uuid4()
    first = post(users["village"], assets["clinic"], client_id=client_id)
    again = post(users["village"], assets["clinic"], client_id=client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Verification.objects.filter(client_id=client_id).count() == 1
    # the same id from someone else, or for another asset, is refused rather than merged
    assert post(users["township"], assets["clinic"], client_id=client_id).status_code == 400


def test_json_without_photo_is_flagged_photo_missing(site):
    _areas, users, assets = site
    here = assets["clinic"].location
    response = client_for(users["village"]).post(URL, {
        "asset_code": assets["clinic"].code, "finding": "damaged", "lon": here.x, "lat": here.y, "accuracy_m": 5,
        "observed_at": timezone.now().isoformat(), "client_id": str(uuid.uuid4())}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["flags"] == [Flag.PHOTO_MISSING] and response.json()["review"] == Review.PENDING
    assets["clinic"].refresh_from_db()
    assert assets["clinic"].last_verified_at is None  # a flagged verification waits for review


@pytest.mark.parametrize(("offset_m", "flagged"), [(90, False), (130, True)])
def test_too_far_from_a_point(site, offset_m, flagged):
    _areas, users, assets = site
    body = post(users["village"], assets["clinic"], offset_m=offset_m).json()
    assert (Flag.TOO_FAR in body["flags"]) is flagged
    assert body["distance_m"] == pytest.approx(offset_m, abs=2)


@pytest.mark.parametrize(("offset_m", "flagged"), [(40, False), (90, True)])
def test_a_road_is_checked_against_the_nearest_point_of_its_line(site, offset_m, flagged):
    """Standing beside the far end of a long road is close to the road, whatever its centre."""
    _areas, users, assets = site
    road = assets["road"]
    x, y = road.line[0][-1]  # the road's last vertex, kilometres from its location point
    lat = y + offset_m / 111_320
    now = timezone.now()
    response = client_for(users["village"]).post(URL, {
        "asset_code": road.code, "finding": "intact", "lon": x, "lat": lat, "accuracy_m": 5,
        "observed_at": now.isoformat(), "photos": [_upload(photo(7, lonlat=(x, lat), taken_at=now), 0)]})
    body = response.json()
    assert body["distance_m"] == pytest.approx(offset_m, abs=3)
    assert (Flag.TOO_FAR in body["flags"]) is flagged


@pytest.mark.parametrize(("accuracy", "flagged"), [(20, False), (80, True)])
def test_inaccurate_fix(site, accuracy, flagged):
    _areas, users, assets = site
    assert (Flag.INACCURATE in post(users["village"], assets["clinic"], accuracy=accuracy).json()["flags"]) is flagged


@pytest.mark.parametrize(("exif_offset_m", "flagged"), [(50, False), (1000, True)])
def test_photo_exif_position(site, exif_offset_m, flagged):
    _areas, users, assets = site
    here = assets["clinic"].location
    picture = photo(3, lonlat=(here.x, here.y + exif_offset_m / 111_320), taken_at=timezone.now())
    body = post(users["village"], assets["clinic"], photos=[picture]).json()
    assert (Flag.EXIF_POSITION in body["flags"]) is flagged


@pytest.mark.parametrize(("hours", "flagged"), [(2, False), (72, True)])
def test_photo_exif_time(site, hours, flagged):
    _areas, users, assets = site
    here = assets["clinic"].location
    picture = photo(4, lonlat=(here.x, here.y), taken_at=timezone.now() - datetime.timedelta(hours=hours))
    body = post(users["village"], assets["clinic"], photos=[picture]).json()
    assert (Flag.EXIF_TIME in body["flags"]) is flagged


def test_duplicate_photo_of_another_asset(site):
    _areas, users, assets = site
    assert post(users["county_admin"], assets["other"], seed=99).json()["flags"] == []
    # the same picture again for the same asset (repeat photography) is fine ...
    assert Flag.DUPLICATE_PHOTO not in post(users["county_admin"], assets["other"], seed=99).json()["flags"]
    # ... but for another asset it is suspicious
    assert Flag.DUPLICATE_PHOTO in post(users["village"], assets["clinic"], seed=99).json()["flags"]


@pytest.mark.parametrize(("minutes", "refused"), [(0, False), (5, False), (120, True)])
def test_observation_in_the_future(site, minutes, refused):
    """A few minutes of clock skew pass; later than that is refused (issue 21 item 6; tests/verification/test_dates.py)."""
    _areas, users, assets = site
    when = timezone.now() + datetime.timedelta(minutes=minutes)
    response = post(users["village"], assets["clinic"], observed_at=when)
    assert response.status_code == (400 if refused else 201), response.content
    if not refused:
        assert Flag.FUTURE_TIME not in response.json()["flags"]


def test_heic_photo_is_read_and_public_copy_has_no_exif(site):
    _areas, users, assets = site
    here = assets["clinic"].location
    heic = photo(5, fmt="HEIF", lonlat=(here.x, here.y), taken_at=timezone.now())
    body = post(users["village"], assets["clinic"], photos=[heic]).json()
    assert body["flags"] == []
    stored = Verification.objects.get(pk=body["id"]).photos.get()
    assert stored.content_type == "image/heic" and stored.exif_position is not None
    from PIL import Image

    public = Image.open(stored.public.open("rb"))
    assert public.format == "JPEG" and not public.getexif().get_ifd(0x8825)
    assert stored.original.open("rb").read() == heic  # the evidence is kept as received


def test_not_an_image_is_refused(site):
    _areas, users, assets = site
    response = post(users["village"], assets["clinic"], photos=[b"%PDF-1.4 not a photo"])
    assert response.status_code == 400 and "JPEG" in response.json()["photos"][0] if "photos" in response.json() \
        else "JPEG" in str(response.json())
    assert not Verification.objects.exists()


ROLE_MAY_VERIFY_CLINIC = {"county_admin": True, "village": True, "township": True, "department": True,
                          "inspector": False, "other_village": False}


@pytest.mark.parametrize("role", [*ROLE_MAY_VERIFY_CLINIC, "anonymous"])
def test_who_may_record(site, role):
    _areas, users, assets = site
    response = post(users.get(role), assets["clinic"])
    if role == "anonymous":
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == (201 if ROLE_MAY_VERIFY_CLINIC[role] else 403), response.content
    assert Verification.objects.exists() is (role != "anonymous" and ROLE_MAY_VERIFY_CLINIC[role])


def test_an_inspector_verifies_what_a_campaign_assigns(site):
    areas, users, assets = site
    campaign = services.campaign_create(actor=users["county_admin"], name="抽查", kind="spot_check", year=2026,
                                        area=areas.west, sample_share=100, seed=1)
    services.campaign_assign(actor=users["county_admin"], campaign=campaign, assignee=users["inspector"])
    assert post(users["inspector"], assets["clinic"]).status_code == 201
    assert post(users["inspector"], assets["other"]).status_code == 403  # not in the campaign
    assets["clinic"].refresh_from_db()
    assert assets["clinic"].status == "in_use"  # the verification changed nothing else on the asset


@pytest.mark.parametrize("role", [*ROLE_MAY_VERIFY_CLINIC, "anonymous"])
def test_list_is_scoped_and_filtered(site, role):
    _areas, users, assets = site
    post(users["county_admin"], assets["clinic"], accuracy=90)
    post(users["county_admin"], assets["other"])
    response = client_for(users.get(role)).get(URL)
    if role == "anonymous":
        assert response.status_code in (401, 403)
        return
    codes = {row["asset_code"] for row in response.json()["results"]}
    visible = set(Asset.objects.visible_to(users[role]).values_list("code", flat=True))
    assert codes == visible & {assets["clinic"].code, assets["other"].code}
    flagged = client_for(users["county_admin"]).get(URL, {"flagged": "yes"}).json()["results"]
    assert [row["asset_code"] for row in flagged] == [assets["clinic"].code]
    by_village = client_for(users["county_admin"]).get(URL, {"village": assets["other"].village.code}).json()
    assert [row["asset_code"] for row in by_village["results"]] == [assets["other"].code]


def test_nearby_is_ordered_by_distance_on_the_ground(site):
    areas, users, assets = site
    admin = users["county_admin"]
    here = Point(111.52, 33.82, srid=SRID)  # kilometres from the clinic and the road
    # 300 m east is nearer on the ground than 0.003° (≈ 333 m) north, though farther in degrees
    east = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.SANITATION, name="东边公厕",
                      geometry=Point(here.x + 300 / (111_320 * 0.8290), here.y, srid=SRID))
    north = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.SANITATION, name="北边公厕",
                       geometry=Point(here.x, here.y + 0.0030, srid=SRID))
    rows = client_for(users["village"]).get(URL + "nearby/", {"lon": here.x, "lat": here.y, "limit": 3}).json()
    names = [r["name"] for r in rows["results"]]
    assert names[:2] == [east.name, north.name], rows
    assert rows["results"][0]["distance_m"] == pytest.approx(300, abs=3)
    assert rows["results"][0]["bearing_deg"] == pytest.approx(90, abs=1)
    assert rows["results"][1]["bearing_deg"] == pytest.approx(0, abs=1)
    assert assets["other"].name not in names  # outside the clerk's village


def test_nearby_follows_each_caller_and_position_through_the_cached_statement(site):
    """The KNN statement is compiled once per scope: every role still gets its own assets, each position its own
    order. The list holds the active assets the caller may see (issue 21 item 17: an inspector saw only their
    campaign assignments, silently), each marked whether the caller may verify it and whether it is assigned."""
    areas, users, assets = site
    everything = {a.code for a in assets.values()}

    def check_everyone() -> dict[str, tuple[set, set]]:
        seen = {}
        for role, user in users.items():
            mine = Asset.objects.filter(code__in=everything)
            allowed = set(mine.filter(pk__in=selectors.assets_verifiable_by(user).values("pk"))
                          .values_list("code", flat=True))
            shown = set(mine.filter(pk__in=Asset.objects.visible_to(user).values("pk")).values_list("code", flat=True))
            assigned = set(mine.filter(campaign_items__assignee=user, campaign_items__campaign__is_open=True)
                           .values_list("code", flat=True))
            for asset in assets.values():  # standing on each asset in turn: it comes first when the role sees it
                here = asset.location
                rows = client_for(user).get(URL + "nearby/", {"lon": here.x, "lat": here.y, "limit": 5}).json()
                codes = [r["code"] for r in rows["results"]]
                assert set(codes) == shown, (role, asset.name)
                assert {r["code"] for r in rows["results"] if r["may_verify"]} == allowed, (role, asset.name)
                assert {r["code"] for r in rows["results"] if r["assigned"]} == assigned, (role, asset.name)
                if asset.code in shown:
                    assert codes[0] == asset.code, (role, asset.name)
            seen[role] = (allowed, assigned)
        return seen

    assert check_everyone()["inspector"] == (set(), set())
    campaign = services.campaign_create(actor=users["county_admin"], name="抽查", kind="spot_check", year=2026,
                                        area=areas.west, sample_share=100, seed=1)
    services.campaign_assign(actor=users["county_admin"], campaign=campaign, assignee=users["inspector"])
    in_campaign = {assets["clinic"].code, assets["road"].code}
    assert check_everyone()["inspector"] == (in_campaign, in_campaign)


@pytest.mark.parametrize("role", ["inspector", "village"])
def test_standing_at_an_asset_the_nearby_list_starts_with_it(site, role):
    """The issue's inspector stood at an asset and saw an assignment 5.9 km away first: the asset they stand at
    comes first, marked whether they may verify it; the assignment far away is still listed, marked 任务."""
    areas, users, assets = site
    admin, user = users["county_admin"], users[role]
    campaign = services.campaign_create(actor=admin, name="抽查", kind="spot_check", year=2026, area=areas.east,
                                        sample_share=100, seed=1)
    services.campaign_assign(actor=admin, campaign=campaign, assignee=user)
    here = assets["clinic"].location
    rows = client_for(user).get(URL + "nearby/", {"lon": here.x, "lat": here.y, "limit": 10}).json()["results"]
    by_code = {r["code"]: r for r in rows}
    assert rows[0]["code"] == assets["clinic"].code and rows[0]["distance_m"] < 1
    assert rows[0]["assigned"] is False and rows[0]["may_verify"] is (role == "village")
    if role == "inspector":  # the inspector reads the county: the east assignment far away is listed and marked
        assert by_code[assets["other"].code]["assigned"] is True and by_code[assets["other"].code]["may_verify"]


def test_nearby_request_is_one_statement_after_the_login(site):
    """The marks (may verify, assigned) come with the KNN statement: a nearby request runs the session-and-user
    statement and the nearby statement, whatever the role."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _areas, users, assets = site
    here = assets["clinic"].location
    for role, user in users.items():
        client = client_for(user)
        client.get(URL + "nearby/", {"lon": here.x, "lat": here.y})  # the statements compiled
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL + "nearby/", {"lon": here.x, "lat": here.y})
        assert response.status_code == 200, role
        assert len(queries) == 2, (role, [q["sql"][:80] for q in queries])


NEARBY = "WITH c AS ("  # what only the nearby statement says (verification.selectors.NEARBY_SQL)


def test_the_nearby_statement_is_prepared_once_for_every_position(site, prepared_runs):
    """Its text does not change with the position (nor the user of a scope of the same shape): PostgreSQL parses it
    once per connection and may keep one plan (verification.selectors.assets_nearby)."""
    _areas, users, assets = site
    here = assets["clinic"].location
    for role, user in users.items():
        client = client_for(user)
        client.get(URL + "nearby/", {"lon": here.x, "lat": here.y})  # prepared here
        before = prepared_runs(NEARBY)
        for step in range(3):
            assert client.get(URL + "nearby/", {"lon": here.x + step / 100, "lat": here.y}).status_code == 200
        gained = {text: runs - before.get(text, 0) for text, runs in prepared_runs(NEARBY).items()
                  if runs > before.get(text, 0)}
        assert list(gained.values()) == [3], (role, gained)


@pytest.mark.parametrize("threshold", [True, False])
def test_a_prepared_nearby_list_is_the_one_not_prepared(site, threshold, prepared_runs):
    """After seven runs (PostgreSQL keeps one plan after five, if it costs no more) the list is the same as Django's
    own cursor gives; without a prepare_threshold (a pooler in transaction mode) nothing is prepared."""
    from django.db import connection

    _areas, users, assets = site
    here, far = assets["clinic"].location, Point(114.3, 36.1, srid=SRID)
    connection.ensure_connection()
    kept, connection.connection.prepare_threshold = connection.connection.prepare_threshold, (
        connection.connection.prepare_threshold if threshold else None)
    try:
        for role, user in users.items():
            client = client_for(user)
            for point in (here, far):
                query = {"lon": point.x, "lat": point.y, "limit": 5}
                before = prepared_runs(NEARBY)
                for _ in range(7):
                    prepared = client.get(URL + "nearby/", query).json()
                ran = sum(prepared_runs(NEARBY).values()) - sum(before.values())
                assert ran == (7 if threshold else 0), role
                connection.force_debug_cursor = True  # queries logged: Django's own cursor, nothing prepared
                try:
                    plain = client.get(URL + "nearby/", query).json()
                finally:
                    connection.force_debug_cursor = False
                assert prepared == plain, role
                assert prepared["results"], role  # every role has assets in its scope: a list to compare
    finally:
        connection.connection.prepare_threshold = kept


def test_nearby_marks_follow_the_user_not_only_the_scope(site):
    """Two clerks of the same village share a compiled KNN statement; an open campaign assigns the clinic to one."""
    areas, users, assets = site
    admin, first = users["county_admin"], users["village"]
    second = make_user("westsouth2", Role.VILLAGE, area=areas.west_south)
    campaign = services.campaign_create(actor=admin, name="抽查", kind="spot_check", year=2026, area=areas.west,
                                        sample_share=100, seed=1)
    services.campaign_assign(actor=admin, campaign=campaign, assignee=second)
    here = assets["clinic"].location
    marks = {}
    for user in (first, second, first):
        rows = client_for(user).get(URL + "nearby/", {"lon": here.x, "lat": here.y}).json()["results"]
        marks[user.username] = {r["code"]: (r["may_verify"], r["assigned"]) for r in rows}
    assert marks["westsouth"][assets["clinic"].code] == (True, False)
    assert marks["westsouth2"][assets["clinic"].code] == (True, True)
