"""The alert map's popups are HTML built from the alerts' texts: every text, the link's address included, is
escaped for the element and for the quoted attribute it goes in (review of session 23: a code's quote closed the
link's href and added an event handler)."""

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = {"url": '/assets/Q" onmouseover="window.__pwned=1" x="/', "title": '<img src=x onerror="window.__pwned=2">',
           "asset": "Q'><b>1</b>", "name": "甲\"乙'<丙>", "village": "<script>window.__pwned=3</script>",
           "evidence": "&amp; 证据 \" ' < >", "level_label": "红", "level": "red", "colour": "#d73027",
           "rule": "never_verified"}


def _alert(lon: float, lat: float, **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**HOSTILE, **properties}}


def test_alert_popups_show_hostile_texts_as_text(live_demo_county, open_page):
    page, watch = open_page("/healthz", user=live_demo_county, width=1280, height=800)
    alerts = {"type": "FeatureCollection", "numberMatched": 3, "truncated": False,
              "features": [_alert(111.6, 33.9), _alert(111.6, 33.9, title="同一处"), _alert(111.9, 34.2)]}
    page.route("**/alerts.geojson*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                 body=json.dumps(alerts)))
    page.goto(page.url.removesuffix("/healthz") + "/alerts/")
    page.wait_for_function("window.__alertsMarkers !== undefined")
    page.wait_for_timeout(800)  # the fit's zoom redraws the markers once
    assert page.evaluate("window.__alertsMarkers") == {"groups": 1, "singles": 1}
    page.locator('#alerts-map path.leaflet-interactive[fill="#d73027"]').click()  # the single alert
    popup = page.locator("#alerts-map .leaflet-popup-content")
    popup.wait_for()
    assert popup.locator("a").get_attribute("href") == HOSTILE["url"]
    assert HOSTILE["title"] in popup.inner_text() and HOSTILE["village"] in popup.inner_text()
    assert popup.locator("img, b, script").count() == 0
    page.locator("#alerts-map .leaflet-popup-close-button").click()
    page.locator("#alerts-map .alert-cluster").first.click()  # two alerts on one spot: their list
    group = page.locator("#alerts-map .leaflet-popup-content ul.alert-group")
    group.wait_for()
    assert [a.get_attribute("href") for a in group.locator("a").all()] == [HOSTILE["url"]] * 2
    assert group.locator("img, b, script").count() == 0
    page.locator("#alerts-map .leaflet-popup-content a").first.hover()
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('[onmouseover], [onerror]').length") == 0
    assert watch.errors == []
