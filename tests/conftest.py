import pytest

from tests.browser import browser, fast_passwords, open_page  # noqa: F401  (shared browser fixtures)
from tests.factories import make_admin, make_areas


@pytest.fixture(scope="session", autouse=True)
def allow_test_purge():
    """The database refuses TRUNCATE on register tables (migration 0004) unless the session sets
    assets.allow_purge: only the test harness's flush between transactional tests does."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL assets.allow_purge = 'on'", *statements] if statements else statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


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
def media_root(settings, tmp_path_factory):
    """Uploaded photos and files of a test go to a temporary folder, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def fresh_cache():
    """API throttling counts requests in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
