"""Issue 21 item 12: label sheets in linear time, capped per request, large ones made in the background with a page
that shows progress and then offers the PDF (timings: python -m bench.labels, not a timed test)."""

import shutil
import subprocess

import pytest
import zxingcpp
from django.core.management import call_command
from django.test import Client
from PIL import Image

from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from tests.factories import make_admin, make_areas, make_asset, make_user
from verification.models import LabelSheet

URL = "/verification/labels/"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages_png(pdf: bytes, tmp_path, dpi: int = 100) -> list[Image.Image]:
    path = tmp_path / "labels.pdf"
    path.write_bytes(pdf)
    subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", str(path), str(tmp_path / "page")], check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


@pytest.fixture
def big_village(db):
    areas = make_areas()
    admin = make_admin()
    first = make_asset(actor=admin, area=areas.west_south, name="西南村道路1号", is_published=True)
    # the register's own service for one; the other 299 as copies of it (only labels are under test here)
    copies = []
    for i in range(2, 301):
        copy = Asset.objects.get(pk=first.pk)
        copy.pk = copy.id = None
        copy.code, copy.name = f"{areas.west_south.code}-{i:04d}", f"西南村道路{i}号"
        copies.append(copy)
    Asset.objects.bulk_create(copies)
    return areas, admin


def test_a_village_of_300_is_made_in_the_background_and_decodes(big_village, tmp_path, settings):
    areas, admin = big_village
    client = client_for(admin)
    response = client.get(URL, {"village": areas.west_south.code})
    sheet = LabelSheet.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/verification/labels/sheets/{sheet.pk}/"
    waiting = client.get(response["Location"])
    assert "排队等待中" in waiting.text and "?format=json" in waiting.text and "共 300 个标识牌" in waiting.text
    assert client.get(f"/verification/labels/sheets/{sheet.pk}/labels.pdf").status_code == 404  # not yet
    # someone else cannot follow it
    other = client_for(make_user("west", Role.TOWNSHIP, area=areas.west))
    assert other.get(response["Location"]).status_code == 404
    call_command("importers_worker", "--once")
    ready = client.get(response["Location"])
    assert "已生成" in ready.text and "labels.pdf" in ready.text and "?format=json" not in ready.text
    assert client.get(response["Location"], {"format": "json"}).json() == {
        "status": "done", "done": 300, "total": 300, "ready": True}
    pdf_response = client.get(f"/verification/labels/sheets/{sheet.pk}/labels.pdf")
    assert pdf_response["Content-Type"] == "application/pdf"
    pdf = b"".join(pdf_response.streaming_content)
    pages = pages_png(pdf, tmp_path)
    assert len(pages) == 30  # ten an A4 page
    decoded = [code.text for page in pages for code in zxingcpp.read_barcodes(page)]
    codes = Asset.objects.filter(village=areas.west_south).values_list("code", flat=True)
    assert sorted(decoded) == sorted(f"http://testserver/v/{code}/" for code in codes)
    assert len(decoded) == 300


def test_below_the_background_threshold_the_pdf_comes_at_once(big_village, tmp_path, settings):
    areas, admin = big_village
    settings.LABELS_BACKGROUND_FROM = 1000
    codes = list(Asset.objects.order_by("code").values_list("code", flat=True)[:23])
    response = client_for(admin).get(URL, {"codes": ",".join(codes)})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = pages_png(response.content, tmp_path)
    assert len(pages) == 3
    assert sorted(c.text for p in pages for c in zxingcpp.read_barcodes(p)) == sorted(
        f"http://testserver/v/{code}/" for code in codes)
    assert not LabelSheet.objects.exists()


def test_the_cap_refuses_with_a_clear_message(big_village, settings):
    areas, admin = big_village
    settings.LABELS_MAX = 250
    client = client_for(admin)
    village = client.get(URL, {"village": areas.west_south.code})
    assert village.status_code == 400
    assert "超过 250 个，一次最多打印 250 个：请按资产编号分批打印" in village.text
    codes = ",".join(f"{areas.west_south.code}-{i:04d}" for i in range(1, 260))
    selection = client.get(URL, {"codes": codes})
    assert selection.status_code == 400 and "一次最多打印 250 个标识牌，您填了 259 个编号" in selection.text
    assert not LabelSheet.objects.exists()
    assert "一次最多 250 个" in client.get(URL).text  # the form says so before


def test_a_failed_sheet_says_why(big_village):
    areas, admin = big_village
    sheet = LabelSheet.objects.create(user=admin, codes=["x"], title="t", name="n.pdf", base_url="http://x/",
                                      total=1)
    call_command("importers_worker", "--once")
    sheet.refresh_from_db()
    assert sheet.status == LabelSheet.Status.FAILED  # no asset of these codes: an empty sheet cannot be made
    assert "生成失败" in client_for(admin).get(f"/verification/labels/sheets/{sheet.pk}/").text
    assert "没有可打印的标识牌" in sheet.message
