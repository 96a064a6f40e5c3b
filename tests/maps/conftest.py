"""Helpers of the map tests: waiting for the map page to draw, and what it drew."""

import json


def until(page, expression: str, timeout: int = 15000):
    """page.wait_for_function, failing with what the map has drawn (easier diagnosis)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(expression, timeout=timeout)
    except PlaywrightTimeout:
        stats = page.evaluate("JSON.stringify(window.__mapStats) + ' ' + location.hash")
        raise AssertionError(f"timed out waiting for {expression}; map: {stats}") from None


def wait_drawn(page, *, assets: bool = True, villages: int = 4):
    until(page, "window.__mapIdle && window.__mapIdle()", timeout=15000)
    condition = f"Object.keys(window.__mapStats.villages).length >= {villages}"
    if assets:
        condition += " && (Object.keys(window.__mapStats.assets).length > 0 || window.__mapStats.clusters > 0)"
    until(page, condition, timeout=15000)


def wait_assets(page, expected):
    target = json.dumps(json.dumps(sorted(expected), separators=(",", ":")))
    until(page, f"JSON.stringify(Object.keys(window.__mapStats.assets).sort()) === {target}", timeout=15000)


def drawn_assets(page) -> set[str]:
    return set(page.evaluate("Object.keys(window.__mapStats.assets)"))


def assert_local_and_clean(watch):
    assert watch.hosts <= {"127.0.0.1", "localhost"}, watch.hosts
    assert watch.errors == [], watch.errors
