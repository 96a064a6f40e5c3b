"""Unsafe or broken files are refused (exit 2) with a clear message; nothing written, nothing left behind."""

import tempfile
import zipfile

import pytest

from geo_assets.models import Asset
from tests.importers import builders as b
from tests.importers.conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def refused(path, *extra, words: str, temp_root=None):
    code, out = run("import_assets", str(path), *extra)
    assert code == 2, out
    assert words in out, out
    assert Asset.objects.count() == 0
    if temp_root is not None:
        assert list(temp_root.iterdir()) == [], "temporary files left behind"
    return out


def test_zip_slip(areas, admin_user, tmp_path, temp_root):
    folder = tmp_path / "shp"
    folder.mkdir()
    b.write_gis(folder / "a.shp", b.frame(b.rows()), encoding="GBK")
    z = b.zip_files(tmp_path / "evil.zip", sorted(folder.iterdir()),
                    [f"../../{p.name}" for p in sorted(folder.iterdir())])
    refused(z, words="解压目录之外", temp_root=temp_root)
    assert not (tmp_path / "a.shp").exists()


def test_zip_absolute_member(areas, admin_user, tmp_path, temp_root):
    with zipfile.ZipFile(tmp_path / "abs.zip", "w") as zf:
        zf.writestr("/etc/evil.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96)
    refused(tmp_path / "abs.zip", words="解压目录之外", temp_root=temp_root)


def test_zip_bomb_ratio(areas, admin_user, tmp_path, temp_root):
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.shp", b"\x00" * (30 * 1024 * 1024))
    refused(tmp_path / "bomb.zip", words="压缩炸弹", temp_root=temp_root)


def test_zip_total_size_cap(areas, admin_user, tmp_path, temp_root, settings):
    settings.IMPORT_ZIP_MAX_BYTES = 1000
    folder = tmp_path / "shp"
    folder.mkdir()
    b.write_gis(folder / "a.shp", b.frame(b.rows(20)), encoding="GBK")
    z = b.zip_files(tmp_path / "big.zip", sorted(folder.iterdir()))
    refused(z, words="过大", temp_root=temp_root)


def test_kmz_bomb(areas, admin_user, tmp_path, temp_root):
    with zipfile.ZipFile(tmp_path / "a.kmz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", b"<kml>" + b" " * (30 * 1024 * 1024) + b"</kml>")
    refused(tmp_path / "a.kmz", words="压缩炸弹", temp_root=temp_root)


@pytest.mark.parametrize("name,content,words", [
    ("a.xlsx", "资产名称,资产类型\n井,供水饮水\n".encode(), "内容与扩展名不符"),
    ("a.gpkg", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "图片"),
    ("a.csv", b"MZ\x90\x00" + b"\x00" * 100, "可执行程序"),
    ("a.shp", b"PK\x03\x04" + b"\x00" * 100, "ZIP"),
    ("a.kml", b'{"type": "FeatureCollection"}', "JSON"),
    ("a.geojson", b"<html></html>", "XML"),
])
def test_file_lying_about_its_type(areas, admin_user, tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    out = refused(tmp_path / name, words="内容与扩展名不符")
    assert words in out


def test_plain_zip_renamed_xlsx(areas, admin_user, tmp_path):
    with zipfile.ZipFile(tmp_path / "a.xlsx", "w") as zf:
        zf.writestr("readme.txt", "hello")
    refused(tmp_path / "a.xlsx", words="不是 Excel")


@pytest.mark.parametrize("name", ["a.csv", "a.xlsx", "a.gpkg", "a.zip", "a.geojson"])
def test_empty_file(areas, admin_user, tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    refused(tmp_path / name, words="是空的")


def test_unsupported_extension(areas, admin_user, tmp_path):
    (tmp_path / "a.docx").write_bytes(b"PK\x03\x04")
    refused(tmp_path / "a.docx", words="不支持的文件类型")


def test_corrupt_gpkg(areas, admin_user, tmp_path):
    (tmp_path / "a.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x01" * 2000)
    refused(tmp_path / "a.gpkg", words="无法读取")


def test_missing_file_and_no_header(areas, admin_user, tmp_path):
    refused(tmp_path / "nope.csv", words="找不到文件")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    refused(tmp_path / "x.csv", words="找不到表头")


def test_shapefile_without_dbf(areas, admin_user, tmp_path):
    b.write_gis(tmp_path / "a.shp", b.frame(b.rows()), encoding="GBK")
    (tmp_path / "a.dbf").unlink()
    refused(tmp_path / "a.shp", words=".dbf")


def test_successful_import_leaves_no_temp_files(areas, admin_user, tmp_path, temp_root):
    folder = tmp_path / "shp"
    folder.mkdir()
    b.write_gis(folder / "a.shp", b.frame(b.rows()), encoding="GBK")
    code, out = run("import_assets", str(b.zip_files(tmp_path / "ok.zip", sorted(folder.iterdir()))))
    assert code == 0, out
    assert list(temp_root.iterdir()) == []
