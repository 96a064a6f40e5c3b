"""The alert list and map build only what they show: one page of alerts in one statement with the counts per rule
(reports.alerts.alerts_paged), the map at most ALERTS_MAP_MAX points, and a bureau of several counties chooses a
county first (until then: each county's counts from the alert tally)."""

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from reports import views
from reports.alerts import ALL_RULES, alerts_compute, alerts_paged
from reports.figures import LEVELS
from reports.models import AlertTallyRun
from tests.factories import make_asset


def _alerts_of(county, admin, n=6):
    areas = county
    for i in range(n):  # the same spot: duplicate_nearby and duplicate_name many times over
        make_asset(actor=admin, area=areas.west_south, name="重复道路", funding=() if i % 2 else (("central", 10),))
    return Asset.objects.all(), AdminArea.objects.villages()


def test_a_page_is_the_slice_of_the_whole_ordered_list_and_the_counts_are_the_rules(county):
    areas, admin = county
    assets, villages = _alerts_of(areas, admin)
    viewer = scope_for(admin)
    everything, _counts = alerts_paged(assets=assets, villages=villages, viewer=viewer, limit=10_000)
    built = alerts_compute(assets=assets, villages=villages, viewer=viewer)
    assert len(everything) > 20 and sorted(everything) == sorted(built)  # the same alerts
    ranks = [(LEVELS.index(a.level), a.rule) for a in everything]
    assert ranks == sorted(ranks)  # by level, then rule
    for offset, limit in ((0, 7), (7, 7), (len(everything) - 3, 7), (len(everything) + 5, 7)):
        page, counts = alerts_paged(assets=assets, villages=villages, viewer=viewer, offset=offset, limit=limit)
        assert page == everything[offset:offset + limit]
        assert sum(counts.values()) == len(everything)
        assert counts == {code: sum(1 for a in everything if a.rule == code)
                          for code in ALL_RULES if any(a.rule == code for a in everything)}
    page, counts = alerts_paged(assets=assets, villages=villages, viewer=viewer, rules=["duplicate_nearby"], limit=3)
    assert [a.rule for a in page] == ["duplicate_nearby"] * 3 and list(counts) == ["duplicate_nearby"]


def test_the_list_pages_and_a_page_past_the_end_is_the_last(county, client, monkeypatch):
    areas, admin = county
    _alerts_of(areas, admin)
    monkeypatch.setattr(views, "ALERTS_PER_PAGE", 5)
    client.force_login(admin)
    first = client.get("/alerts/").content.decode()
    total = len(alerts_compute(assets=Asset.objects.all(), villages=AdminArea.objects.villages(),
                               viewer=scope_for(admin)))
    pages = -(-total // 5)
    assert first.count('<tr><td class="label level-') == 5 and f"第 1 / {pages} 页" in first
    last = client.get(f"/alerts/?page={pages + 40}").content.decode()
    assert f"第 {pages} / {pages} 页" in last
    assert last.count('<tr><td class="label level-') == total - 5 * (pages - 1)
    assert client.get("/alerts/?page=abc").status_code == 200


def test_the_map_has_at_most_its_cap_and_says_it_is_cut(county, client, monkeypatch):
    areas, admin = county
    _alerts_of(areas, admin)
    client.force_login(admin)
    whole = client.get("/alerts.geojson").json()
    assert whole["truncated"] is False and len(whole["features"]) == whole["numberMatched"]
    monkeypatch.setattr(views, "ALERTS_MAP_MAX", 4)
    cut = client.get("/alerts.geojson").json()
    assert cut["truncated"] is True and len(cut["features"]) == 4 and cut["numberMatched"] == whole["numberMatched"]
    assert [f["properties"]["rule"] for f in cut["features"]] == [f["properties"]["rule"] for f in whole["features"][:4]]


def test_a_bureau_chooses_a_county_and_sees_its_counts_from_the_tally_first(county_world, client):
    w = county_world
    client.force_login(w.users["prefecture"])
    page = client.get("/alerts/").content.decode()
    run = AlertTallyRun.objects.get()
    assert 'id="alerts-by-county"' in page and 'id="alerts-table"' not in page and 'id="alerts-as-of"' in page
    for county in (w.p.a.county, w.p.county_b):
        assert f'data-code="{county.code}"' in page and f"?county={county.code}" in page
    assert run.alerts > 0
    chosen = client.get(f"/alerts/?county={w.p.county_b.code}").content.decode()
    assert 'id="alerts-table"' in chosen and "乙村道路" in chosen and "甲村道路" not in chosen
    features = client.get(f"/alerts.geojson?county={w.p.county_b.code}").json()["features"]
    b_codes = set(Asset.objects.filter(county=w.p.county_b.code).values_list("code", flat=True))
    assert features and {f["properties"]["asset"] for f in features} - {None} <= b_codes
    # a county of no concern to the bureau is no filter at all: back to choosing
    assert 'id="alerts-by-county"' in client.get("/alerts/?county=990100000000").content.decode()
    # a county's own people list their alerts at once, and see no county to choose
    client.force_login(w.users["admin_a"])
    own = client.get("/alerts/").content.decode()
    assert 'id="alerts-table"' in own and 'name="county"' not in own and "乙村道路" not in own


def test_an_alerts_link_carries_its_asset_code_percent_encoded(county, client):
    """An asset code from before the code rule (any character) cannot break out of the link the alert map builds."""
    areas, admin = county
    _alerts_of(areas, admin, n=2)
    hostile = 'Q" onmouseover="alert(1)" x="'
    Asset.objects.filter(pk=Asset.objects.order_by("pk").values("pk")[:1]).update(code=hostile)  # as stored before
    client.force_login(admin)
    features = client.get("/alerts.geojson").json()["features"]
    urls = {f["properties"]["url"] for f in features if f["properties"]["asset"] == hostile}
    assert urls == {"/assets/Q%22%20onmouseover%3D%22alert%281%29%22%20x%3D%22/"}
    page = client.get("/alerts/").content.decode()
    assert hostile not in page and 'onmouseover="alert' not in page
