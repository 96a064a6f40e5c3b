"""GDAL's MVT driver (a client nobody here wrote) reads the vector tiles through the TileJSON, from the live server,
as the public and with a token. A module of its own: the live server needs its data set committed."""

import json
import math
import re
import shutil
import subprocess
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import E, N, S, W

Z = 14
WORLD = 20037508.342789244


# ---------------------------------------------------------------- GDAL's MVT driver, through the TileJSON

OGRINFO = shutil.which("ogrinfo")


def web_box(west: float, south: float, east: float, north: float) -> tuple[float, ...]:
    """Degrees → EPSG:3857 metres (this ogrinfo has no -spat_srs)."""
    def xy(lon, lat):
        return lon * WORLD / 180, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * WORLD / math.pi
    return (*xy(west, south), *xy(east, north))


def ogr_read(live_server, layer: str = "assets", data_layer: str = "assets", *,
             token: str | None = None) -> tuple[set[str], str]:
    """Read a data layer at Z with GDAL's MVT driver, set up from the TileJSON only (its tiles template and fields):
    (the codes read, ogrinfo's output)."""
    request = urllib.request.Request(f"{live_server.url}/tiles/{layer}.json")  # noqa: S310 - the live server
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own live server
        doc = json.load(response)
    template = doc["tiles"][0]
    assert template.startswith(live_server.url) and template.endswith("/{z}/{x}/{y}.mvt")
    zoom_dir = template[: -len("/{z}/{x}/{y}.mvt")] + f"/{Z}"
    command = [OGRINFO, "-ro", "-oo", f"METADATA_FILE={live_server.url}/tiles/{layer}.json", "-oo",
               "TILE_EXTENSION=mvt", f"MVT:{zoom_dir}", data_layer, "-spat", *(str(v) for v in web_box(W, S, E, N))]
    if token:
        command[1:1] = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Token {token}"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    return set(re.findall(r"^\s*code \(String\) = (\S+)$", out, re.MULTILINE)), out


@pytest.mark.skipif(OGRINFO is None, reason="gdal-bin (ogrinfo) is not installed")
def test_gdal_reads_the_tiles_through_the_tilejson(live_server, live_map_world):
    w = live_map_world
    found, out = ogr_read(live_server)
    assert "Layer name: assets" in out
    assert found == {w.road.code, w.greenhouse.code}  # the public: published assets only
    assert "type (String) = road" in out and "name (String) = 西南村道路" in out

    token = Token.objects.create(user=w.inspector).key
    found, _out = ogr_read(live_server, token=token)
    assert found == {w.road.code, w.water.code, w.greenhouse.code, w.livestock.code}

    # the village names the style labels with, through the villages' TileJSON
    found, out = ogr_read(live_server, "villages", "villages_labels")
    assert found == {a.code for a in (w.areas.west_south, w.areas.west_north, w.areas.east_south, w.areas.east_north)}
    assert "name (String) = 西南村" in out
