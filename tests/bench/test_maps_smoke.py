"""The browser benchmark in miniature (issue 11): a real gunicorn and headless Chromium over the factory world,
one map load and one GeoJSON-layer load, no targets — so that the harness cannot rot unnoticed."""

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.db import connections

from tests.layers.conftest import make_world

# the server runs in a process of its own: the world must be committed
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browser_benchmark_quick_rows(tmp_path):
    from bench.maps import ANCHOR_NAME, CLICK_ANCHOR_NAME, DEFAULT_ANCHOR_NAME, browser_benchmark

    world = make_world()

    def run():
        try:
            return browser_benchmark(SimpleNamespace(quick=True, repeat=2, scale=1.0, out=str(tmp_path)))
        finally:
            connections.close_all()

    # In a thread of its own: the suite's shared browser fixture may already run Playwright's loop in this one,
    # and Playwright's sync API refuses to start inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        rows = pool.submit(run).result()
    assert [r["unit"] for r in rows] == ["bytes", "ms", "ms", "ms", "ms"]
    default = rows[2]  # the first render against django-leaflet's default layer, beside the canvas row
    assert default["name"].endswith("first render vs django-leaflet default markers")
    assert default["anchor_name"] == DEFAULT_ANCHOR_NAME and default["anchor_status"] == "ok"
    assert default["value"] == rows[1]["value"] and default["anchor"] == default["anchor_default_ms"] > 0
    assert default["target"] is None and default["pass"] is None
    click = rows[3]  # after the first render: a click on a point asset → its panel, against the same click's popup
    assert click["name"].endswith("click on an asset → its panel") and click["anchor_name"] == CLICK_ANCHOR_NAME
    assert click["map_status"] == "ok" and click["anchor_status"] == "ok"  # the map opened that very asset
    assert click["value"] > 0 and click["anchor"] > 0 and click["target"] is None
    assert click["click_target"]["code"] == world.water.code  # the world's one point asset in the view
    opened = rows[4]  # the same click: the panel open and named from the tile, before the asset's document
    assert opened["name"].endswith("click on an asset → its panel open, named from the tile")
    assert 0 < opened["value"] <= click["value"] and opened["anchor"] == click["anchor"] and opened["target"] is None
    assert (tmp_path / "browser" / "quick-map-panel.png").exists()
    for r in rows[:2]:
        assert set(r) >= {"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass"}
        assert r["anchor_name"] == ANCHOR_NAME
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] > 0
        assert r["target"] is None and r["pass"] is None
        assert r["map_status"] == "ok" and r["anchor_status"] == "ok"
        assert r["subset_assets"] == 4 and r["anchor_drawn"] == {"features": 4}
        assert r["map_drawn"]["assets"] + r["map_drawn"]["clusters"] > 0  # the map really drew something
        assert r["map_drawn"]["points_mode"] is True  # four assets: the clusters drawn from the points document
        assert r["rss_mb"] > 0 and r["server_rss_mb"] > 0 and r["anchor_rss_mb"] > 0
        assert len(r["map_runs_ms"]) == len(r["anchor_runs_ms"]) == 2  # the second pair with the anchor first
        assert all((tmp_path / "browser" / name).exists() for name in ("quick-map.png", "quick-anchor.png"))
    # logged in as the county-level user: the anchor's document holds every asset, the public's would hold two
    assert world.admin.is_superuser
    from geo_assets.models import Session

    assert not Session.objects.exists()  # the benchmark's session is removed afterwards
