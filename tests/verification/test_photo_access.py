"""Issue 21 item 9: every route that serves a verification photo or an attachment, for every role and every state
of the record — and the copies that leave the building carry the pixels only (no EXIF, GPS, JPEG comment, XMP,
ICC profile or PNG text chunk).

The rule (verification.selectors.photos_served_to): the thumbnail and the EXIF-free copy go to staff whose scope
holds the asset, whatever the review; to everyone else (the public, roleless accounts, staff out of scope) only
when the verification counts (accepted, approved) and the asset is published. The original, with its EXIF, only
to staff whose scope holds the asset."""

import io

from django.test import Client
from django.utils import timezone
from PIL import Image, PngImagePlugin

from lifecycle import services as lifecycle_services
from tests.factories import photo
from verification import services
from verification.models import Photo

VARIANTS = ("thumb.jpg", "photo.jpg", "original")
ROLES = ("anonymous", "roleless", "county_admin", "inspector", "township", "village", "department",
         "other_village", "other_department")
IN_SCOPE = {"county_admin", "inspector", "township", "village", "department"}
STATES = ("accepted", "approved", "pending", "rejected", "accepted_unpublished")
PUBLIC_STATES = {"accepted", "approved"}


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_every_photo_url_for_every_role_and_state(photo_world):
    _areas, users, records, _clinic = photo_world
    for role in ROLES:
        client = _client(users[role])
        for state in STATES:
            pk = records[state].photos.get().pk
            for variant in VARIANTS:
                response = client.get(f"/field/photos/{pk}/{variant}")
                if role in IN_SCOPE:
                    allowed = True
                else:
                    allowed = variant != "original" and state in PUBLIC_STATES
                assert response.status_code == (200 if allowed else 404), (role, state, variant)
                if allowed:
                    assert response["X-Content-Type-Options"] == "nosniff"


def test_counting_through_ids_finds_nothing_more_than_the_pages_show(photo_world):
    """What the anonymous enumeration of the issue found (228 of 287): now only the public's own photos."""
    _areas, _users, records, clinic = photo_world
    client = Client()
    last = Photo.objects.order_by("-pk").first().pk
    fetched = {pk for pk in range(1, last + 3) if client.get(f"/field/photos/{pk}/photo.jpg").status_code == 200}
    assert fetched == {records[s].photos.get().pk for s in PUBLIC_STATES}
    page = client.get(f"/assets/{clinic.code}/").text
    for pk in fetched:
        assert f"/field/photos/{pk}/thumb.jpg" in page


def test_attachments_for_every_role(photo_world):
    _areas, users, _records, clinic = photo_world
    admin = users["county_admin"]
    private = lifecycle_services.attachment_add(actor=admin, record=clinic, kind="other", upload=("a.pdf", b"%PDF-1.4 x"))
    public = lifecycle_services.attachment_add(actor=admin, record=clinic, kind="other", upload=("b.pdf", b"%PDF-1.4 y"))
    public.is_public = True
    public.save()
    for role in ROLES:
        client = _client(users[role])
        assert client.get(f"/attachments/{public.pk}/").status_code == 200, role
        expected = 200 if role in {"county_admin", "inspector", "township", "village"} else 404
        if role in {"department", "other_department"}:
            expected = 200  # departments read documents of every village (lifecycle.rules.attachment_visible_to)
        response = client.get(f"/attachments/{private.pk}/")
        assert response.status_code == expected, role
        if expected == 200:
            assert response["X-Content-Type-Options"] == "nosniff"


# ---- the public copies are new files made of pixels ---------------------------------------------------------

SECRETS = (b"SECRET-COMMENT", b"SECRET-XMP", b"SECRET-TEXT", b"SECRET-ITXT", b"SECRET-ZTXT", b"SECRET-ICC",
           b"SECRET-DESC")


def _jpeg_with_metadata(point) -> bytes:
    image = Image.open(io.BytesIO(photo(7, lonlat=(point.x, point.y), taken_at=timezone.now())))
    exif = image.getexif()
    exif[0x010E] = "SECRET-DESC"  # ImageDescription
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"SECRET-COMMENT",
               xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>', icc_profile=_icc())
    data = out.getvalue()
    assert b"SECRET-COMMENT" in data and b"SECRET-XMP" in data and b"SECRET-ICC" in data
    return data


def _icc() -> bytes:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data = profile.tobytes()
    return data + b"SECRET-ICC"


def _png_with_text() -> bytes:
    image = Image.open(io.BytesIO(photo(8))).convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-TEXT")
    info.add_itxt("Description", "SECRET-ITXT", lang="zh", tkey="说明")
    info.add_text("Author", "SECRET-ZTXT", zip=True)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    data = out.getvalue()
    assert b"SECRET-TEXT" in data and b"iTXt" in data and b"zTXt" in data
    return data


def _heic_with_metadata(point) -> bytes:
    image = Image.open(io.BytesIO(photo(9, lonlat=(point.x, point.y), taken_at=timezone.now())))
    exif = image.getexif()
    exif[0x010E] = "SECRET-DESC"
    out = io.BytesIO()
    image.save(out, "HEIF", exif=exif.tobytes(), xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>')
    data = out.getvalue()
    assert b"SECRET-XMP" in data and b"SECRET-DESC" in data
    return data


def test_public_copies_hold_no_metadata_stored_or_served(photo_world):
    _areas, users, _records, clinic = photo_world
    admin = users["county_admin"]
    here = clinic.location
    jpeg, png, heic = _jpeg_with_metadata(here), _png_with_text(), _heic_with_metadata(here)
    record = services.verification_record(
        actor=admin, asset_code=clinic.code, finding="intact", lon=here.x, lat=here.y, accuracy_m=5,
        observed_at=timezone.now(), photos=[("exif.jpg", jpeg), ("text.png", png), ("iphone.heic", heic)]).verification
    assert record.review == "accepted"
    photos = list(record.photos.order_by("pk"))
    assert photos[0].exif_position is not None and photos[2].exif_position is not None  # the evidence was read...
    assert photos[0].original.open("rb").read() == jpeg  # ...which is kept as received, for staff
    client = Client()  # the public: a counted verification of a published asset
    for stored in photos:
        for field, variant in (("public", "photo.jpg"), ("thumbnail", "thumb.jpg")):
            kept = getattr(stored, field).open("rb").read()
            served = b"".join(client.get(f"/field/photos/{stored.pk}/{variant}").streaming_content)
            assert kept == served
            for data in (kept, served):
                assert all(secret not in data for secret in SECRETS), (stored.pk, field)
                assert b"Exif" not in data and b"http://ns.adobe.com/xap" not in data
                assert b"\xff\xfe" not in data[:data.index(b"\xff\xda")]  # no COM segment before the scan
                assert b"ICC_PROFILE" not in data
                reopened = Image.open(io.BytesIO(data))
                assert reopened.format == "JPEG" and not reopened.getexif()
                assert set(reopened.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
