import pytest

from tests.browser import browser, fast_passwords, open_page  # noqa: F401  (shared browser fixtures)
from tests.factories import make_admin, make_areas


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Two roles (geo_assets/dbroles.py): the test database is created and migrated by the schema's owner
    (DATABASE_OWNER_URL; the application's role can create nothing), as `manage.py migrate` is. Returns the
    application's credentials (None when one role does both)."""
    from django.db import connections

    from geo_assets.dbroles import owner_credentials, switch_credentials

    owner = owner_credentials(connections["default"])
    return switch_credentials(connections["default"], owner) if owner else None


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_modify_db_settings, django_db_blocker):
    """Then the tests run as the application's role (DATABASE_URL), which owns nothing: what the application may
    not do, no test may do either. The owner connects again only to purge between transactional tests (below) and
    to drop the test database."""
    from django.db import connections

    from geo_assets.dbroles import switch_credentials

    application = django_db_modify_db_settings
    if application is None:
        yield
        return
    with django_db_blocker.unblock():
        owner = switch_credentials(connections["default"], application)
    yield
    with django_db_blocker.unblock():
        switch_credentials(connections["default"], owner)


@pytest.fixture(scope="session", autouse=True)
def allow_test_purge():
    """The database refuses TRUNCATE on register tables (migrations 0004, 0010) unless the session sets
    assets.allow_purge and its role owns the tables: only the test harness's flush between transactional tests does,
    connected as the owner for that (geo_assets.dbroles.as_owner)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    from geo_assets.dbroles import as_owner

    original, original_execute = DatabaseOperations.sql_flush, DatabaseOperations.execute_sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL assets.allow_purge = 'on'", *statements] if statements else statements

    def execute_sql_flush(self, sql_list):
        with as_owner(self.connection):
            original_execute(self, sql_list)

    DatabaseOperations.sql_flush, DatabaseOperations.execute_sql_flush = sql_flush, execute_sql_flush
    yield
    DatabaseOperations.sql_flush, DatabaseOperations.execute_sql_flush = original, original_execute


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
