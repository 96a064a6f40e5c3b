import pytest

from tests.browser import browser, fast_passwords, open_page  # noqa: F401  (shared browser fixtures)
from tests.factories import make_admin, make_areas


@pytest.fixture
def areas(db):
    return make_areas()


@pytest.fixture
def admin_user(db):
    return make_admin()


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the product's default language (zh-hans), whatever an earlier test activated."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """API throttling counts requests in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
