"""The fixtures shared across folders. The data they hold is built by tests/factories.py and tests/world.py (whose
docstring says how the test data is organised); a folder's own fixtures are in its conftest.py."""

import time

import pytest

from tests.browser import browser, fast_passwords, open_page  # noqa: F401  (shared browser fixtures)
from tests.factories import make_admin, make_areas, make_user
from tests.world import (
    BUILT_PREFIX,
    build_county_world,
    build_ledger_world,
    build_map_world,
    build_world,
    built_once,
    copy_for_test,
)

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


def pytest_configure(config):
    """Test settings: a fast password hasher. The default (PBKDF2, 1,000,000 iterations) costs ~0.2 s of CPU per
    user created, and the data sets create several users per test. No test depends on the hasher's strength
    (a password is still set and checked); production's hashers are config.settings' defaults."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = [FAST_HASHER]
    # The tests in this process count their rate limits in its memory, cleared before each (fresh_cache), with no
    # database alias of the shared cache (a test mirror would share default's ATOMIC_REQUESTS). The servers the
    # tests start (tests/test_shared_state.py, tests/test_serving.py) use the real one: config/cache.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.DATABASES.pop(settings.CACHE_DATABASE, None)


# Modules with the longest tests (pytest --durations), run first so that no worker is left with a long test at the
# end (pytest-xdist hands tests out in the collection order). A path that no longer exists is ignored.
SLOW_MODULES: tuple[str, ...] = (
    "tests/test_backup.py",  # 55–157 s: a private cluster backed up, written, restored to a point and served
    "tests/importers/test_roundtrip.py",  # 66 s: the demo county through every format
    "tests/geo_assets/test_demo.py",  # 58 s: the full demo county
    "tests/test_fuzz.py",  # 10–35 s a test
    "tests/test_finance_journey.py",  # 28 s: import, reconcile, map, exports in Chromium
    "tests/verification/test_label_sheets.py",  # 28 s: 300 labels
    "tests/geo_assets/test_province.py",
    "tests/maps/test_bench_smoke.py",  # 14 s, a gunicorn and a Chromium of its own
    "tests/maps/test_attachments.py",
    "tests/verification/test_demo.py",
    "tests/geo_assets/test_admin_sweep.py",
    "tests/reports/test_reports.py",
    "tests/test_replica.py",
    "tests/test_replica_down.py",  # 40 s: two transactional tests
    "tests/test_serving.py",  # 50 s: `make serve`'s stack (gunicorn, the worker) twice, nginx in front once
    "tests/test_shared_state.py",  # 70–100 s: two `make serve` stacks, three times (table, memory, Redis)
    "tests/test_pgbouncer.py",  # 55–90 s: `make serve` behind a private pgbouncer
    "tests/verification/test_bench_smoke.py",
    "tests/layers/test_bench_smoke.py",
    "tests/reports/test_bench_smoke.py",
    "tests/importers/test_bench_smoke.py",
)


def pytest_itemcollected(item):
    """The marks (before any pytest_collection_modifyitems: pytest-xdist reads xdist_group in its own)."""
    if "browser" in item.fixturenames and not item.get_closest_marker("browser"):
        item.add_marker(pytest.mark.browser)
    if {"browser", "live_server"} & set(item.fixturenames):
        item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.hookimpl(tryfirst=True)  # before pytest-django's (which sorts stably: this order stays within its groups)
def pytest_collection_modifyitems(config, items):
    """The order and grouping of the tests. pytest-django then sorts them, stably, into tests in a transaction
    rolled back, transactional tests (which flush the database after them: the rows of the data migrations too),
    tests without the database — so within each of these:
    - every test that asks for the shared Chromium (`browser`, tests/browser.py: marked `browser` if it is not)
      or the live server is in xdist group `browser` (pytest_itemcollected) (`--dist loadgroup`, as `make test` runs)
      and comes first: one worker starts them once and runs these tests while the others run the rest. NB: with
      pytest 9 and pytest-xdist 3.8 the group is not applied (xdist renames item._nodeid, pytest 9 reads item._id),
      so these tests are handed out one by one like the others — measured balanced (each worker busy 354 s of a
      365 s run); Chromium and the live server are session fixtures and start once per worker anyway. (The
      benchmarks' smoke tests, marked `browser` too, start a gunicorn and a Chromium of their own: not in the group.)
    - then the modules of SLOW_MODULES, slowest first, then the others in their usual order;
    - in each module, the tests that use no data set built once (tests/world.py, built_once) run first: they must
      not see its rows, which stay in the database from the first test that asks for it to the module's end."""
    modules: dict = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    ordered = []
    for path, module_items in modules.items():
        built = {item: sorted(n for n in item.fixturenames if n.startswith(BUILT_PREFIX)) for item in module_items}
        kinds = {name for names in built.values() for name in names}
        if len(kinds) > 1:
            raise pytest.UsageError(f"{path} asks for {sorted(kinds)}: one data set built once per module at most")
        committed = [item.name for item in module_items if {"transactional_db", "live_server"} & set(item.fixturenames)]
        if kinds and committed:
            raise pytest.UsageError(f"{path} asks for {sorted(kinds)} and has transactional tests {committed}: "
                                    "pytest-django runs them after the others, into the built rows")
        modules[path] = sorted(module_items, key=lambda item: bool(built[item]))
    rank = {path: i for i, path in enumerate(SLOW_MODULES)}
    for path in sorted(modules, key=lambda path: rank.get(path, len(rank))):
        ordered += modules[path]
    grouped = [item for item in ordered if item.get_closest_marker("xdist_group")]
    items[:] = grouped + [item for item in ordered if not item.get_closest_marker("xdist_group")]


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
        # A request the live server is still answering (a service worker's late fetch) can hold a table the
        # TRUNCATE wants: PostgreSQL then aborts one side as a deadlock. The flush waits and tries again.
        from django.db import OperationalError

        for attempt in range(6):
            try:
                with as_owner(self.connection):
                    original_execute(self, sql_list)
                return
            except OperationalError as error:
                if attempt == 5 or "deadlock detected" not in str(error):
                    raise
                time.sleep(0.5)

    DatabaseOperations.sql_flush, DatabaseOperations.execute_sql_flush = sql_flush, execute_sql_flush
    yield
    DatabaseOperations.sql_flush, DatabaseOperations.execute_sql_flush = original, original_execute


built_world = built_once(build_world)
built_county_world = built_once(build_county_world)
built_map_world = built_once(build_map_world)


@pytest.fixture
def world(built_world, db, settings):
    """tests/world.py's build_world (one user per role, marker names), built once per module: the tests that sweep
    every route."""
    return copy_for_test(built_world, settings)


@pytest.fixture
def county_world(built_county_world, db, settings):
    """tests/world.py's build_county_world (a prefecture, two counties, a user per role in A), once per module."""
    return copy_for_test(built_county_world, settings)


@pytest.fixture
def map_world(built_map_world, db, settings):
    """tests/world.py's build_map_world (the register as the map sees it), built once per module."""
    return copy_for_test(built_map_world, settings)


def build_fuzz_world():
    """The map world under a prefecture, a user per role and a checked import job: what tests/test_fuzz.py puts in
    every URL."""
    from geo_assets.models import AdminArea
    from geo_assets.taxonomy import AreaLevel, Role
    from importers.models import ImportJob

    w = build_map_world()
    prefecture = AdminArea.objects.create(code="410300000000", name="洛阳市", level=AreaLevel.PREFECTURE,
                                          geom=w.areas.county.geom)
    AdminArea.objects.filter(pk=w.areas.county.pk).update(parent=prefecture)
    w.users = {
        "finance": make_user("finance", Role.FINANCE),
        "prefecture": make_user("prefecture", Role.PREFECTURE, area=prefecture),
        "county": make_user("county_admin", Role.COUNTY_ADMIN),
        "department": w.department,
        "township": w.clerk,
        "village": make_user("village_clerk", Role.VILLAGE, area=w.areas.west_north),
        "inspector": w.inspector,
    }
    w.job = ImportJob.objects.create(
        user=w.users["county"], original_name="台账.xlsx", status=ImportJob.Status.CHECKED,
        check_report={"total": 1, "invalid": 0}, preview=[{
            "row": 2, "values": {"名称": "新道路"}, "errors": [],
            "geometry": {"type": "Point", "coordinates": [111.55, 33.85]}}])
    return w


built_fuzz_world = built_once(build_fuzz_world)


@pytest.fixture
def fuzz_world(built_fuzz_world, db, settings):
    """build_fuzz_world, built once per module."""
    return copy_for_test(built_fuzz_world, settings)


@pytest.fixture
def own_map_world(db):
    """build_map_world in the test's own transaction, for a module whose other tests are transactional: a world
    built once would still be in the database when they run (pytest_collection_modifyitems refuses that)."""
    return build_map_world()


@pytest.fixture
def live_map_world(transactional_db):
    """The map world committed, for the live server and the browser."""
    return build_map_world()


built_ledger_world = built_once(build_ledger_world)


@pytest.fixture
def ledger_world(built_ledger_world, db, settings):
    """tests/world.py's build_ledger_world (projects, fund ledgers and assets with every reconciliation finding),
    built once per module: tests/projects and tests/reports."""
    return copy_for_test(built_ledger_world, settings)


@pytest.fixture
def live_ledger_world(transactional_db):
    """build_ledger_world committed, for the live server and the browser."""
    return build_ledger_world()


@pytest.fixture
def live_county_world(transactional_db):
    """build_county_world committed, for the live server and the browser."""
    return build_county_world()


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
    """API throttling counts requests in the cache (and this process's blocks of it): each test starts with none."""
    from django.core.cache import cache

    from geo_assets.guards import leases_forget

    cache.clear()
    leases_forget()
    yield


@pytest.fixture(autouse=True)
def one_rate_window(monkeypatch):
    """Every request of a test falls in one window of the rate limits. They count fixed windows
    (geo_assets.guards.WindowCount), so "3/minute" let a fourth request through when a slow run crossed a minute's
    edge between the third and the fourth (a fresh clone's run, session 21)."""
    from rest_framework.throttling import SimpleRateThrottle

    now = time.time()
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now)


@pytest.fixture
def prepared_runs(db):
    """`runs(containing="")`: this connection's prepared statements whose text contains `containing`, text → times
    run (generic and custom plans) — geo_assets.dbrouting.prepared_cursor's statements."""
    from django.db import connection

    def runs(containing: str = "") -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements "
                           "WHERE strpos(statement, %s) > 0", [containing])
            return dict(cursor.fetchall())

    return runs
