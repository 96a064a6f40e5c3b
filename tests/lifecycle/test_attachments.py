"""Issue 21 item 13: an attachment is stored and served under the type its content shows (never the name the
uploader gave), always as a download with nosniff; Office documents with macros are refused."""

import io
import zipfile

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from geo_assets.taxonomy import AssetType
from lifecycle import services
from tests.factories import centre, make_admin, make_areas, make_asset


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, fmt)
    return out.getvalue()


def _heic() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, "HEIF")
    return out.getvalue()


def _office(kind: str, *, extra: dict[str, bytes] | None = None, content_type: str | None = None) -> bytes:
    main = {"docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml."
                                          "document.main+xml"),
            "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet."
                                        "main+xml")}[kind]
    types = (f'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             f'<Override PartName="/{main[0]}" ContentType="{content_type or main[1]}"/></Types>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr(main[0], "<document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ACCEPTED = {  # detected type: (content, mime, extension)
    "pdf": (PDF, "application/pdf", "pdf"),
    "jpeg": (_image("JPEG"), "image/jpeg", "jpg"),
    "png": (_image("PNG"), "image/png", "png"),
    "heic": (None, "image/heic", "heic"),
    "docx": (_office("docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": (_office("xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
# whatever the uploader called it, including names of other types and of active content
NAMES = ("资料.pdf", "x.html", "scan.jpg.exe", "无扩展名", ".htaccess", "a.svg", "报告.DOCX")


@pytest.fixture
def asset(db):
    areas = make_areas()
    admin = make_admin()
    return admin, make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                             geometry=centre(areas.west_south))


@pytest.mark.parametrize("kind", ACCEPTED)
def test_every_accepted_type_round_trips_under_its_detected_extension(asset, kind):
    admin, record = asset
    content, mime, extension = ACCEPTED[kind]
    content = content or _heic()
    client = Client()
    client.force_login(admin)
    for name in NAMES:
        stored = services.attachment_add(actor=admin, record=record, kind="other", upload=(name, content))
        assert stored.mime == mime
        assert stored.original_name.endswith(f".{extension}") and stored.file.name.endswith(f".{extension}")
        assert stored.original_name.count(".") == (2 if name == "scan.jpg.exe" else 1), stored.original_name
        response = client.get(f"/attachments/{stored.pk}/")
        assert response.status_code == 200
        assert response["Content-Type"] == mime
        assert response["X-Content-Type-Options"] == "nosniff"
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;") and f".{extension}" in disposition
        assert ".html" not in disposition and ".exe" not in disposition and ".svg" not in disposition
        assert b"".join(response.streaming_content) == content


def test_html_name_with_pdf_bytes_is_a_pdf(asset):
    admin, record = asset
    stored = services.attachment_add(actor=admin, record=record, kind="other", upload=("x.html", PDF))
    assert stored.original_name == "x.pdf" and stored.mime == "application/pdf"


def test_an_older_row_with_the_uploaders_extension_is_served_under_the_detected_one(asset):
    admin, record = asset
    stored = services.attachment_add(actor=admin, record=record, kind="other", upload=("x.pdf", PDF))
    type(stored).objects.filter(pk=stored.pk).update(original_name="x.html")  # as rows stored before the fix
    client = Client()
    client.force_login(admin)
    response = client.get(f"/attachments/{stored.pk}/")
    assert 'filename="x.pdf"' in response["Content-Disposition"]


MACROS = {
    "docx_vba": _office("docx", extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
    "xlsx_vba": _office("xlsx", extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
    "xlsx_xlm_sheet": _office("xlsx", extra={"xl/macrosheets/sheet1.xml": b"<xm:macrosheet/>"}),
    "docx_activex": _office("docx", extra={"word/activeX/activeX1.xml": b"<ax/>"}),
    "docm_content_type": _office("docx", content_type="application/vnd.ms-word.document.macroEnabled.main+xml"),
    "xlsm_content_type": _office("xlsx", content_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
}


@pytest.mark.parametrize("case", MACROS)
def test_macro_enabled_documents_are_refused(asset, case):
    admin, record = asset
    for name in ("会议记录.docx", "台账.xlsx", "x.pdf"):
        with pytest.raises(Exception) as refused:
            services.attachment_add(actor=admin, record=record, kind="other", upload=(name, MACROS[case]))
        assert "含有宏或控件" in str(refused.value)


@pytest.mark.parametrize("name", ["会议记录.docm", "台账.xlsm", "模板.XLTM", "b.xlsb"])
def test_macro_enabled_names_are_refused_whatever_the_content(asset, name):
    admin, record = asset
    with pytest.raises(Exception) as refused:
        services.attachment_add(actor=admin, record=record, kind="other", upload=(name, _office("docx")))
    assert "含有宏或控件" in str(refused.value)


def _stored_files(root) -> list[str]:
    import os

    return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files)


def test_a_refused_upload_leaves_no_file_of_the_ones_stored_before_it(asset, settings):
    """A maintenance record with a good photo and a bad one is refused whole: no row, and the good photo's file,
    stored before the bad one was read, is removed with its folder (review of session 23)."""
    import glob
    import os

    from geo_assets.models import Attachment, MaintenanceEntry

    admin, record = asset
    before = _stored_files(settings.MEDIA_ROOT)
    client = Client()
    client.force_login(admin)
    photos = [io.BytesIO(ACCEPTED["jpeg"][0]), io.BytesIO(b"<html><script>alert(1)</script></html>")]
    photos[0].name, photos[1].name = "a.jpg", "b.jpg"
    response = client.post(f"/assets/{record.code}/lifecycle/maintenance/", {
        "done_on": timezone.localdate().isoformat(), "kind": "routine", "cost": "0.1", "done_by": "村委", "description": "清扫",
        "photos": photos})
    assert response.status_code in (200, 400) and "类型不受支持" in response.content.decode()
    assert not MaintenanceEntry.objects.exists() and not Attachment.objects.exists()
    assert _stored_files(settings.MEDIA_ROOT) == before
    assert glob.glob(os.path.join(settings.MEDIA_ROOT, "attachments", "*", "*", "*")) == []  # nor the upload's folder
    # the same photo alone is kept, with its row
    good = io.BytesIO(ACCEPTED["jpeg"][0])
    good.name = "a.jpg"
    client.post(f"/assets/{record.code}/lifecycle/maintenance/", {
        "done_on": timezone.localdate().isoformat(), "kind": "routine", "cost": "0.1", "done_by": "村委", "description": "清扫",
        "photos": [good]})
    stored = Attachment.objects.get()
    assert _stored_files(settings.MEDIA_ROOT) == sorted([*before, stored.file.path])
