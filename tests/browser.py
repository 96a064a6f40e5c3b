"""Shared headless-Chromium fixtures (registered in tests/conftest.py): one browser per test session."""

import os
import time

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-features=Translate,OptimizationHints",
]


@pytest.fixture
def fast_passwords(settings):
    """The test settings use this hasher already (tests/conftest.py, pytest_configure); kept for the files that ask."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def panel_complete(code: str | None = None) -> str:
    """A JS condition: the side panel holds its whole document (data-state complete), of `code` if given. The panel
    opens first from the tile (data-state loading), so its code alone does not mean its document is in."""
    panel = "document.getElementById('side-panel')"
    condition = f"{panel}.dataset.state === 'complete'"
    return condition if code is None else f"{panel}.dataset.code === '{code}' && {condition}"


class PageWatch:
    """Records console errors, page errors and every request's host."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.urls: list[str] = []
        self.pending = 0
        page.on("request", lambda request: self._count(1))
        page.on("requestfinished", lambda request: self._count(-1))
        page.on("requestfailed", lambda request: self._count(-1))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.route("**/*", self._route)

    def _count(self, delta: int) -> None:
        self.pending += delta

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until no request is in flight, so the live server is idle before the database is flushed."""
        import time

        deadline = time.monotonic() + timeout
        while self.pending > 0 and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)

    def _route(self, route):
        from urllib.parse import urlsplit

        url = route.request.url
        self.urls.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            route.continue_()
            return
        self.hosts.add(parts.hostname or "")
        if parts.hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()


@pytest.fixture
def open_page(browser, live_server):
    contexts = []
    watches = []

    def _open(path: str = "/", *, user=None, width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        if user is not None:
            from django.conf import settings
            from django.test import Client

            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value,
                                  "url": live_server.url}])
        page = context.new_page()
        watch = PageWatch(page)
        watches.append(watch)
        page.goto(live_server.url + path)
        page.wait_for_selector("body.map-ready", timeout=15000) if path.startswith("/#") or path == "/" else None
        return page, watch

    yield _open
    for watch in watches:
        watch.page.evaluate("window.stop()")
        watch.settle()
    for context in contexts:
        context.close()
    time.sleep(0.2)  # let the live server finish writing the last responses before the flush
