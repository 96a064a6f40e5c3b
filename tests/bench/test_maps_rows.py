"""The browser benchmark's row against django-leaflet's default layer (issue 11): target, and a timed-out anchor
reported as a lower bound. No browser: the rows are built from measured loads."""

from bench.maps import ANCHOR_TIMEOUT_S, DEFAULT_ANCHOR_NAME, Load, default_row


def test_default_row_has_the_issue_target_and_its_anchor():
    r = default_row("100k (99,267 assets)", 1500.0, Load(ms=40_000.0), 0.1, {"subset_assets": 99_267})
    assert r["name"] == "browser 100k (99,267 assets): first render vs django-leaflet default markers"
    assert r["anchor"] == 40_000.0 and r["anchor_name"] == DEFAULT_ANCHOR_NAME and r["unit"] == "ms"
    assert r["ratio"] == 0.037 and r["target"] == "≤ 0.1" and r["pass"] is True
    assert r["anchor_status"] == "ok" and r["subset_assets"] == 99_267


def test_a_timed_out_default_anchor_is_a_lower_bound_and_says_so():
    r = default_row("1M (1,250,000 assets)", 2500.0, Load(status=f"timeout after {ANCHOR_TIMEOUT_S} s"), None, {})
    assert r["anchor"] == ANCHOR_TIMEOUT_S * 1000
    assert f"anchor timed out: ≥ {ANCHOR_TIMEOUT_S} s" in r["name"] and "lower bound" in r["anchor_name"]
    assert r["ratio"] == round(2500 / (ANCHOR_TIMEOUT_S * 1000), 3) and r["target"] is None and r["pass"] is None
    assert r["anchor_status"].startswith("timeout")


def test_a_crashed_default_anchor_has_no_ratio():
    r = default_row("1M (1,250,000 assets)", 2500.0, Load(status="crashed"), None, {})
    assert r["anchor"] is None and r["ratio"] is None and "timed out" not in r["name"]


def test_the_warm_up_asks_for_a_clusters_document_of_the_subset(db):
    """The server is warmed for the measured user with a clusters document of the subset's middle: a request the
    API answers (200, clusters drawn), not one it refuses — or the warm-up would compile nothing."""
    import json

    from django.test import Client

    from bench.maps import Subset, _clusters_path
    from tests.factories import make_admin, make_areas, make_asset

    areas, admin = make_areas(), make_admin()
    asset = make_asset(actor=admin, area=areas.west_south)
    x, y = asset.location.x, asset.location.y
    client = Client()
    client.force_login(admin)
    subset = Subset("one", "one asset", {}, 1, (x - 0.01, y - 0.01, x + 0.01, y + 0.01))
    response = client.get(_clusters_path(subset), secure=True)
    assert response.status_code == 200
    assert sum(c[0] for c in json.loads(response.content)["clusters"]) == 1
