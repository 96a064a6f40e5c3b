"""QR label sheets (资产标识牌): a real PDF with real text whose QR codes decode to the assets' URLs."""

import shutil
import subprocess

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user

URL = "/verification/labels/"
# poppler-utils (scripts/sysdeps.sh): PDF pages to PNG, text and font lists
POPPLER = {tool: shutil.which(tool) or f"/usr/bin/{tool}" for tool in ("pdftoppm", "pdftotext", "pdffonts")}


@pytest.fixture
def village(db):
    areas = make_areas()
    admin = make_admin()
    assets = [make_asset(actor=admin, area=areas.west_south, name=f"西南村道路{i}号", custodian_unit="西南村村民委员会",
                         is_published=True) for i in range(1, 12)]  # labels are printed for published assets only
    assets.append(make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.LIVESTOCK,
                             name="西南村马永福到户养牛", geometry=centre(areas.west_south), is_published=True))
    make_asset(actor=admin, area=areas.east_south, name="东南村道路", is_published=True)
    return areas, admin, assets


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def pages_png(pdf: bytes, tmp_path) -> list[Image.Image]:
    path = tmp_path / "labels.pdf"
    path.write_bytes(pdf)
    subprocess.run([POPPLER["pdftoppm"], "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


def pdf_text(pdf: bytes) -> str:
    return subprocess.run([POPPLER["pdftotext"], "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_village_sheet_decodes_to_every_asset_url(village, tmp_path):
    areas, admin, assets = village
    response = client_for(admin).get(URL, {"village": areas.west_south.code})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    pages = pages_png(pdf, tmp_path)
    assert len(pages) == 2  # 12 labels, 10 per A4 page
    assert abs(pages[0].width - 1240) <= 2 and abs(pages[0].height - 1754) <= 2  # A4 at 150 dpi
    decoded = [code.text for page in pages for code in zxingcpp.read_barcodes(page)]
    expected = {f"http://testserver/v/{a.code}/" for a in assets}
    assert sorted(decoded) == sorted(expected)
    text = pdf_text(pdf)
    for asset in assets:
        assert asset.code in text
    assert "西南村道路11号" in text and "村集体" in text and "西南村村民委员会" in text
    # labels hang in public: the household asset is printed under its public name, never the beneficiary's
    assert "马永福" not in text and assets[-1].public_name in text
    assert "东南村" not in text


def test_selection_by_codes_uses_the_request_host(village, tmp_path, settings):
    settings.ALLOWED_HOSTS = ["assets.example.gov.cn"]
    _areas, admin, assets = village
    codes = ",".join(a.code for a in assets[:3])
    response = client_for(admin).get(URL, {"codes": codes}, HTTP_HOST="assets.example.gov.cn", secure=True)
    assert response.status_code == 200
    decoded = sorted(c.text for p in pages_png(response.content, tmp_path) for c in zxingcpp.read_barcodes(p))
    assert decoded == sorted(f"https://assets.example.gov.cn/v/{a.code}/" for a in assets[:3])


def test_labels_are_for_staff_in_scope(village):
    areas, _admin, assets = village
    anonymous = Client().get(URL, {"village": areas.west_south.code})
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert client_for(make_user("nobody", None)).get(URL, {"village": areas.west_south.code}).status_code == 403
    other = make_user("eastsouth", Role.VILLAGE, area=areas.east_south)
    assert client_for(other).get(URL, {"village": areas.west_south.code}).status_code == 404  # none it sees
    assert client_for(other).get(URL, {"codes": assets[0].code}).status_code == 404
    own = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    form = client_for(own).get(URL)
    assert form.status_code == 200 and areas.west_south.code in form.text and areas.east_south.code not in form.text


def test_text_is_real_text_with_embedded_fonts(village, tmp_path):
    _areas, admin, assets = village
    pdf = client_for(admin).get(URL, {"codes": assets[0].code}).content
    (tmp_path / "one.pdf").write_bytes(pdf)
    fonts = subprocess.run([POPPLER["pdffonts"], str(tmp_path / "one.pdf")], capture_output=True, check=True).stdout.decode()
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("Noto-Sans" in r[0] and r[-5:-2] == ["yes", "yes", "yes"] for r in rows)  # embedded, unicode
    assert pdf_text(pdf).count(assets[0].code) == 1


def test_disposed_and_unknown_assets_are_not_printed(village):
    _areas, admin, _assets = village
    assert client_for(admin).get(URL, {"codes": "410324101001-9999"}).status_code == 404
