"""The offline basemap: offered only when tiles exist, served from a folder or an MBTiles file, fetched and imported
by commands. The fetch test talks only to an HTTP server started here on 127.0.0.1."""

import io
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from maps.basemaps import basemaps_available
from tests.factories import make_areas
from tests.layers.conftest import county_tiles

PNG = b"\x89PNG\r\n\x1a\n" + b"tile"


@pytest.fixture
def tiles(settings, tmp_path):
    """An empty tile folder and a not-yet-existing MBTiles path; "offline" offered by BASEMAPS."""
    settings.OFFLINE_TILES_DIR = tmp_path / "tiles"
    settings.OFFLINE_MBTILES = tmp_path / "tiles.mbtiles"
    settings.BASEMAPS = ["none", "offline", "osm"]
    return settings


def offline() -> dict | None:
    return next((b for b in basemaps_available() if b["id"] == "offline"), None)


def make_mbtiles(path, tiles_xyz: dict) -> None:
    """A minimal MBTiles file; keys are XYZ (z, x, y), stored with the TMS row as the format requires."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "test"), ("format", "png")])
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                       [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles_xyz.items()])
    db.close()


def test_offline_is_offered_only_when_a_tile_exists(tiles, db):
    assert offline() is None
    (tiles.OFFLINE_TILES_DIR / "12").mkdir(parents=True)  # an empty zoom folder is not a tile
    assert offline() is None
    (tiles.OFFLINE_TILES_DIR / "12" / "3310").mkdir()
    (tiles.OFFLINE_TILES_DIR / "12" / "3310" / "1650.png").write_bytes(PNG)
    assert offline()["layers"][0]["maxNativeZoom"] == 12
    assert '"offline"' in Client().get("/").content.decode()


def test_offline_is_offered_for_an_mbtiles_file(tiles, db):
    tiles.OFFLINE_MBTILES.write_bytes(b"not a database")
    assert offline() is None
    tiles.OFFLINE_MBTILES.unlink()
    make_mbtiles(tiles.OFFLINE_MBTILES, {(9, 414, 206): PNG})
    assert offline()["layers"][0]["maxNativeZoom"] == 9


def test_tile_served_from_the_folder(tiles, db):
    folder = tiles.OFFLINE_TILES_DIR / "3" / "1"
    folder.mkdir(parents=True)
    (folder / "2.png").write_bytes(PNG)
    response = Client().get("/basemap/3/1/2.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert Client().get("/basemap/3/1/3.png").status_code == 404
    tiles.BASEMAPS = ["none", "osm"]
    assert Client().get("/basemap/3/1/2.png").status_code == 404


def test_tile_served_from_mbtiles_with_the_tms_row_flipped(tiles, db):
    jpeg = b"\xff\xd8\xff\xe0jpeg"
    make_mbtiles(tiles.OFFLINE_MBTILES, {(3, 1, 2): PNG, (4, 13, 6): jpeg})
    response = Client().get("/basemap/3/1/2.png")
    assert response.status_code == 200 and response.content == PNG and response["Content-Type"] == "image/png"
    assert Client().get("/basemap/3/1/5.png").status_code == 404  # 5 is the TMS row of XYZ y=2: not a tile
    assert Client().get("/basemap/4/13/6.png")["Content-Type"] == "image/jpeg"
    for url in ("/basemap/3/8/0.png", "/basemap/40/1/1.png", f"/basemap/3/{10**30}/1.png"):
        assert Client().get(url).status_code == 404


def test_import_mbtiles_command(tiles, db, tmp_path):
    source = tmp_path / "county.mbtiles"
    make_mbtiles(source, {(3, 1, 2): PNG})
    out = io.StringIO()
    call_command("basemap_import_mbtiles", str(source), stdout=out)
    assert "1" in out.getvalue() and tiles.OFFLINE_MBTILES.is_file()
    assert Client().get("/basemap/3/1/2.png").content == PNG
    bad = tmp_path / "bad.mbtiles"
    bad.write_bytes(b"hello")
    with pytest.raises(CommandError, match="MBTiles"):
        call_command("basemap_import_mbtiles", str(bad))


class TileServer(BaseHTTPRequestHandler):
    requested: list = []
    missing: set = set()

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.requested.append(self.path)
        if self.path in self.missing:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


@pytest.fixture
def tile_server():
    TileServer.requested, TileServer.missing = [], set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), TileServer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def fetch(url, *args, **options):
    out = io.StringIO()
    call_command("basemap_fetch", *args, url=url, delay=0, stdout=out, **options)
    return out.getvalue()


def test_fetch_writes_the_county_pyramid_and_skips_existing_tiles(tiles, tile_server, db):
    make_areas()  # the county's extent is the default bbox
    expected = {f"/{z}/{x}/{y}.png" for zoom in (9, 10, 11) for z, x, y in county_tiles(zoom)}
    out = fetch(tile_server, min_zoom=9, max_zoom=11)
    assert set(TileServer.requested) == expected and len(TileServer.requested) == len(expected)
    written = {"/" + p.relative_to(tiles.OFFLINE_TILES_DIR).as_posix() for p in tiles.OFFLINE_TILES_DIR.rglob("*.*")}
    assert written == expected
    assert f"共 {len(expected)} 张" in out
    TileServer.requested.clear()
    assert f"已有 {len(expected)} 张" in fetch(tile_server, min_zoom=9, max_zoom=11)
    assert TileServer.requested == []
    assert offline()["layers"][0]["maxNativeZoom"] == 11


def test_fetch_respects_max_tiles_and_fails_loudly(tiles, tile_server, db):
    bbox = "111.5,33.8,111.7,34.0"
    with pytest.raises(CommandError, match="超过上限 3"):
        fetch(tile_server, "--bbox", bbox, min_zoom=10, max_zoom=12, max_tiles=3)
    assert TileServer.requested == [] and not tiles.OFFLINE_TILES_DIR.exists()
    z, x, y = county_tiles(12)[-1]
    TileServer.missing = {f"/{z}/{x}/{y}.png"}
    with pytest.raises(CommandError, match="下载瓦片失败"):
        fetch(tile_server, "--bbox", bbox, min_zoom=12, max_zoom=12)
    assert not (tiles.OFFLINE_TILES_DIR / str(z) / str(x) / f"{y}.png").exists()
    with pytest.raises(CommandError, match="bbox"):
        call_command("basemap_fetch", "--bbox", "1,2,3")
