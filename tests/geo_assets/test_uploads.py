"""Issue 21 item 11: every route that takes files refuses on the user's right and on the declared size before the
body is read (geo_assets.uploads), and a decompression bomb is refused from its header, never decoded."""

import io

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageFile

from importers.uploads import SizeLimitUploadHandler
from verification import services as verification_services

MB = 1024 * 1024


@pytest.fixture
def reads(monkeypatch):
    """How many uploaded files the server began to read (the first upload handler sees every file)."""
    seen = []
    original = SizeLimitUploadHandler.new_file

    def new_file(self, *args, **kwargs):
        seen.append(args[1] if len(args) > 1 else kwargs.get("file_name"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SizeLimitUploadHandler, "new_file", new_file)
    return seen


def endpoints(areas, clinic) -> dict[str, tuple[str, str, dict]]:
    """Every upload route: (url, file field, other fields)."""
    here = clinic.location
    return {
        "verification_api": ("/api/v1/verifications/", "photos", {
            "asset_code": clinic.code, "finding": "intact", "lon": here.x, "lat": here.y, "accuracy_m": 5,
            "observed_at": timezone.now().isoformat()}),
        "asset_step": (f"/assets/{clinic.code}/lifecycle/maintenance/", "photos", {
            "done_on": timezone.localdate().isoformat(), "kind": "repair", "cost": "0", "description": "修补"}),
        "plan_step": (f"/villages/{areas.west_south.code}/plans/{timezone.localdate().year}/decide/", "minutes", {}),
        "import": ("/import/", "file", {}),
    }


ROUTES = ("verification_api", "asset_step", "plan_step", "import")


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _files(field: str, count: int, size: int) -> dict:
    chunk = b"\xff\xd8\xff" + b"\0" * (size - 3)
    return {field: [io.BytesIO(chunk) for _ in range(count)]}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["roleless", "anonymous", "inspector_or_outsider"])
def test_no_right_is_refused_before_the_files_are_read(upload_world, reads, route, role):
    areas, users, clinic = upload_world
    url, field, data = endpoints(areas, clinic)[route]
    user = {"roleless": users["roleless"], "anonymous": None,
            # who has a role but not this route: the inspector may not edit or import; a clerk of another
            # village may not verify or act on this village's asset and plan
            "inspector_or_outsider": users["inspector"] if route == "import" else users["other_village"]}[role]
    response = _client(user).post(url, {**data, **_files(field, 2, 64 * 1024)})
    if role == "anonymous" and route != "verification_api":
        assert response.status_code == 302 and "/login" in response["Location"]
    else:
        assert response.status_code == 403, response.content[:300]
        assert "权限" in response.content.decode() or "无权" in response.content.decode()
    assert reads == []


def test_roleless_three_times_forty_megabytes_is_not_read(upload_world, reads):
    """The issue's own case, with real bytes: the 403 comes without the server reading 120 MB."""
    areas, users, clinic = upload_world
    url, field, data = endpoints(areas, clinic)["verification_api"]
    response = _client(users["roleless"]).post(url, {**data, **_files(field, 3, 40 * MB)})
    assert response.status_code == 403 and "没有现场核查的权限" in response.json()["detail"]
    assert reads == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_declared_body_over_the_limit_is_refused_unread(upload_world, reads, route, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 2 * MB
    settings.ATTACHMENT_MAX_BYTES = MB
    settings.VERIFICATION_PHOTO_MAX_BYTES = MB
    areas, users, clinic = upload_world
    url, field, data = endpoints(areas, clinic)[route]
    client = _client(users["admin"])
    body = {**data, **_files(field, 1, 32 * 1024)}
    # the body says it is 200 MB: refused from the header, before a byte of it is parsed
    response = client.post(url, body, CONTENT_LENGTH=str(200 * MB))
    assert response.status_code == 413
    assert "上传的内容太大（200 MB）" in response.content.decode()
    assert reads == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_real_body_over_the_limit_is_refused(upload_world, reads, route, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = MB
    settings.ATTACHMENT_MAX_BYTES = MB // 8
    settings.VERIFICATION_PHOTO_MAX_BYTES = MB // 8
    areas, users, clinic = upload_world
    url, field, data = endpoints(areas, clinic)[route]
    response = _client(users["admin"]).post(url, {**data, **_files(field, 1, 3 * MB)})
    assert response.status_code == 413 and "一次最多" in response.content.decode()
    assert reads == []


def test_a_post_to_a_route_without_files_is_bounded_too(upload_world, reads, settings):
    """A route that declares no upload takes no more than DATA_UPLOAD_MAX_MEMORY_SIZE (+ 1 MB of form)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = MB
    areas, users, _clinic = upload_world
    response = _client(users["admin"]).post(f"/villages/{areas.west_south.code}/notices/new/",
                                            _files("file", 1, 3 * MB))
    assert response.status_code == 413 and reads == []


def _bomb_png(side: int = 12_000) -> bytes:
    """144 megapixels of one colour: a few KB on the wire, over a gigabyte decoded."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_decompression_bomb_is_refused_from_its_header(upload_world, monkeypatch):
    areas, users, clinic = upload_world
    bomb = _bomb_png()
    assert len(bomb) < 40 * 1024
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or None)
    here = clinic.location
    with pytest.raises(Exception) as refused:
        verification_services.verification_record(
            actor=users["clerk"], asset_code=clinic.code, finding="intact", lon=here.x, lat=here.y, accuracy_m=5,
            observed_at=timezone.now(), photos=[("bomb.png", bomb)])
    assert "像素过多（12000×12000，约 144 百万像素），上限 50 百万像素" in str(refused.value)
    assert decoded == []  # ImageFile.load (the decoding) never ran


def test_decompression_bomb_through_the_api(upload_world):
    areas, users, clinic = upload_world
    url, _field, data = endpoints(areas, clinic)["verification_api"]
    response = _client(users["clerk"]).post(url, {**data, "photos": [io.BytesIO(_bomb_png())]})
    assert response.status_code == 400
    assert "像素过多" in response.content.decode() and "百万像素" in response.content.decode()


def test_a_bomb_beyond_pillows_own_guard_gets_the_pixel_message_too(upload_world, settings):
    """Pillow itself refuses at open() above twice Image.MAX_IMAGE_PIXELS: the same message, not "unreadable"."""
    from verification.photos import photo_read

    with pytest.raises(Exception) as refused:
        photo_read(_bomb_png(21_000), name="huge.png")  # 441 MP: over Pillow's 2 × (2 × 50 MP)
    assert "像素过多（超过 200 百万像素），上限 50 百万像素" in str(refused.value)
