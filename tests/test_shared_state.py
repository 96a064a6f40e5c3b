"""Shared state across workers (issue 20): the rate limits count in one cache for every gunicorn worker and every
server — PostgreSQL's own cache table by default (config/cache), Redis when CACHE_URL names one — so a client hits
its limit after the same number of requests whichever worker answers. Each test starts `make serve`'s stack
(scripts/serve_production.sh) against the test database, twice: one with three workers and one with one (a second
server on the same database), and sends its requests to them in turn, each on a new connection; the JSON log lines
say which worker (pid) answered. The same requests with a per-process cache (locmemcache://) pass the limit: the
test can fail."""

import base64
import concurrent.futures
import contextlib
import json
import pickle
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.stacks import production_stack

ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"tile": 9, "page": 6, "export": 4}  # per client and hour (API_RATE_ANON, PAGE_RATE_ANON, EXPORT_RATE_ANON)
PATHS = {"tile": "/tiles/assets/0/0/0.mvt", "page": "/", "export": "/import/export/?format=csv"}

pytestmark = pytest.mark.django_db(transaction=True)  # the servers see what the test commits


def get(port: int, path: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - a local URL
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, dict(error.headers)


@contextlib.contextmanager
def serving(tmp_path: Path, workers: int, cache_url: str):
    """`make serve`'s stack against the test database, `workers` gunicorn workers of two threads, the rates of
    LIMITS, the application's role only (as on a server); yields (port, the file of its JSON log lines)."""
    with production_stack(
            tmp_path, drop=("DATABASE_OWNER_URL",), WEB_WORKERS=str(workers), SECRET_KEY=secrets.token_urlsafe(64),
            ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_SSL_REDIRECT="false", CACHE_URL=cache_url,
            API_RATE_ANON=f"{LIMITS['tile']}/hour", API_RATE_USER="100000/hour",
            PAGE_RATE_ANON=f"{LIMITS['page']}/hour", EXPORT_RATE_ANON=f"{LIMITS['export']}/hour") as (port, _p, logs):
        yield port, logs["err"]


@contextlib.contextmanager
def two_servers(tmp_path: Path, cache_url: str):
    """Three workers behind one port and one worker behind another, started side by side."""
    with contextlib.ExitStack() as stack:
        pool = concurrent.futures.ThreadPoolExecutor(2)
        starting = [pool.submit(stack.enter_context, serving(tmp_path, workers, cache_url)) for workers in (3, 1)]
        servers = [future.result() for future in starting]
        pool.shutdown()
        yield servers


def before_the_hour_turns():
    """The tiles count per clock hour (layers/views.py, _WindowCount): not across a turn of the hour."""
    left = 3600 - time.time() % 3600
    if left < 120:
        time.sleep(left + 1)


def statuses_in_turn(servers, path: str, count: int) -> list[int]:
    """`count` requests, one after the other, to the servers in turn (each urllib request a new connection)."""
    return [get(servers[number % len(servers)][0], path)[0] for number in range(count)]


def answering_pids(servers) -> list[set[int]]:
    """Per server, the worker processes that answered."""
    answered = []
    for _port, log in servers:
        answered.append({record["pid"] for line in log.read_text().splitlines()
                         if line.startswith("{") and (record := json.loads(line)).get("logger") == "assets.request"})
    return answered


def shared_limits(servers) -> dict[str, list[int]]:
    """Per limit: the statuses of its limit + 3 requests sent in turn to the servers."""
    before_the_hour_turns()
    return {kind: statuses_in_turn(servers, PATHS[kind], LIMITS[kind] + 3) for kind in LIMITS}


def assert_one_limit(statuses: dict[str, list[int]], servers):
    for kind, limit in LIMITS.items():
        assert statuses[kind] == [200] * limit + [429] * 3, (kind, statuses[kind])
    # two servers (two gunicorns, 3 + 1 workers): processes that share nothing but the cache; which of a server's
    # workers takes a connection is the kernel's choice (under load one may take them all)
    answered = answering_pids(servers)
    assert all(answered) and len(set().union(*answered)) >= 2, answered
    print({kind: f"429 from request {values.index(429) + 1}" for kind, values in statuses.items()},
          f"across {len(set().union(*answered))} worker processes of {len(servers)} servers")


def cache_rows() -> dict[str, object]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key, value FROM {settings.CACHE_TABLE} WHERE expires > now()")  # noqa: S608
        # a rate limit's window counter (`hit`) holds its count as text, anything else a pickle
        return {key: int(value) if value.isdigit() else pickle.loads(base64.b64decode(value))  # noqa: S301
                for key, value in cursor.fetchall()}


@pytest.fixture
def empty_cache_table():
    """Counters of an earlier run (the flush between tests empties the models' tables only)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {settings.CACHE_TABLE}")  # noqa: S608


def test_workers_and_servers_share_one_limit_in_the_database_cache(tmp_path, empty_cache_table):
    with two_servers(tmp_path, "") as servers:  # CACHE_URL unset: the default
        statuses = shared_limits(servers)
        assert_one_limit(statuses, servers)
        rows = cache_rows()
        tile_counters = [value for key, value in rows.items() if ":tiles:" in key and "throttle_anon" in key]
        assert tile_counters == [LIMITS["tile"] + 3]  # counted in the table, every request
        # tiles at once from many threads to all four workers: the counter's increments are atomic (config/cache
        # backend), so exactly the limit passes
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {settings.CACHE_TABLE}")  # noqa: S608
        before_the_hour_turns()
        burst = LIMITS["tile"] * 4
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda number: get(servers[number % 2][0], PATHS["tile"])[0], range(burst)))
        assert sorted(results) == [200] * LIMITS["tile"] + [429] * (burst - LIMITS["tile"]), results
        tile_counters = [value for key, value in cache_rows().items() if ":tiles:" in key and "throttle_anon" in key]
        assert tile_counters == [burst]


def test_a_per_process_cache_would_let_each_worker_count_alone(tmp_path, empty_cache_table):
    """The same requests with locmemcache://: each process keeps its own counters and the limits are passed."""
    with two_servers(tmp_path, "locmemcache://") as servers:
        statuses = shared_limits(servers)
    for kind, limit in LIMITS.items():
        assert statuses[kind].count(200) > limit, (kind, statuses[kind])
    print({kind: f"{values.count(200)} of {len(values)} passed, limit {LIMITS[kind]}" for kind, values in statuses.items()},
          "with a cache per process")
    assert cache_rows() == {}


@pytest.fixture
def redis_socket():
    """A private redis-server (Debian's, scripts/sysdeps.sh) on a Unix socket in a temporary folder, no TCP port,
    nothing saved."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    assert Path(binary).exists(), "redis-server is not installed: scripts/sysdeps.sh installs it"
    folder = Path(subprocess.check_output(["mktemp", "-d", "/tmp/assets-redis.XXXXXX"], text=True).strip())  # noqa: S607
    sock = folder / "redis.sock"
    process = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",  # noqa: S603
                                "--save", "", "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield sock
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def test_workers_and_servers_share_one_limit_in_redis(tmp_path, redis_socket, empty_cache_table):
    import redis

    with two_servers(tmp_path, f"redis://{redis_socket}?db=3") as servers:
        statuses = shared_limits(servers)
        assert_one_limit(statuses, servers)
    keys = redis.Redis(unix_socket_path=str(redis_socket), db=3).keys("*")
    assert any(b"throttle_anon" in key and b":tiles:" in key for key in keys), keys
    assert cache_rows() == {}  # nothing in the database's table


def test_cache_url_selects_the_backend_and_the_database_cache_gets_an_autocommit_alias(monkeypatch):
    from config.settings import shared_cache

    default = {"NAME": "assets", "USER": "assets", "ATOMIC_REQUESTS": True, "OPTIONS": {"prepare_threshold": 5},
               "CONN_MAX_AGE": 60}
    monkeypatch.delenv("CACHE_URL", raising=False)
    databases = {"default": dict(default)}
    caches = shared_cache(databases)
    assert caches["default"]["BACKEND"] == "config.cache.backend.DatabaseCache"
    assert caches["default"]["LOCATION"] == settings.CACHE_TABLE
    alias = databases[settings.CACHE_DATABASE]
    assert alias["ATOMIC_REQUESTS"] is False and alias["NAME"] == "assets" and alias["CONN_MAX_AGE"] == 60
    assert alias["TEST"] == {"MIRROR": "default"}
    monkeypatch.setenv("CACHE_URL", "redis:///run/redis/redis-server.sock?db=2")
    databases = {"default": dict(default)}
    caches = shared_cache(databases)
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert caches["default"]["LOCATION"] == "unix:///run/redis/redis-server.sock"
    assert list(databases) == ["default"]
    monkeypatch.setenv("CACHE_URL", "dbcache://another_table")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="assets_cache"):
        shared_cache({"default": dict(default)})


@pytest.mark.django_db  # inside the test's transaction: the backend's statements each in a savepoint
def test_the_database_cache_backend_keeps_djangos_meaning():
    """config.cache.backend.DatabaseCache (one upsert per write, incr by compare-and-set, culling every
    CULL_EVERY writes) on the test database's table, through the default connection (no cache alias here)."""
    from config.cache.backend import CULL_EVERY, DatabaseCache

    cache = DatabaseCache(settings.CACHE_TABLE, {"OPTIONS": {"MAX_ENTRIES": 10}})
    cache.clear()
    cache.set("a", {"x": [1, 2]}, 60)
    assert cache.get("a") == {"x": [1, 2]}
    assert cache.add("a", "other", 60) is False and cache.get("a") == {"x": [1, 2]}
    cache.set("a", "replaced", 60)
    assert cache.get("a") == "replaced"
    assert cache.add("n", 5, 60) is True
    assert (cache.incr("n"), cache.incr("n", 10), cache.decr("n", 6)) == (6, 16, 10)
    assert cache.get("n") == 10
    with pytest.raises(ValueError):
        cache.incr("missing")
    cache.set("forever", 1, None)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {settings.CACHE_TABLE} SET expires = now() - interval '1 second' "  # noqa: S608
                       "WHERE cache_key = %s", [cache.make_key("n")])
    assert cache.get("n") is None and cache.get("forever") == 1
    with pytest.raises(ValueError):
        cache.incr("n")
    assert cache.add("n", 1, 60) is True and cache.incr("n") == 2  # an expired entry is replaced by add
    assert cache.delete("a") is True and cache.get("a", "gone") == "gone"
    for number in range(CULL_EVERY):
        cache.set(f"k{number}", number, 60)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {settings.CACHE_TABLE}")  # noqa: S608
        left = cursor.fetchone()[0]
    assert 10 < left < CULL_EVERY  # more than MAX_ENTRIES: a third culled on the CULL_EVERY-th write


def test_a_window_counter_is_one_statement_and_starts_again_when_its_window_ends():
    """`hit` (geo_assets.guards.window_hit on the database cache): one upsert a request, the count returned."""
    from django.test.utils import CaptureQueriesContext

    from config.cache.backend import DatabaseCache
    from geo_assets.guards import window_hit

    cache = DatabaseCache(settings.CACHE_TABLE, {})
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        counts = [window_hit(cache, "w", 60) for _ in range(3)]
    assert counts == [1, 2, 3] and len(queries.captured_queries) == 3
    assert window_hit(cache, "other", 60) == 1
    with connection.cursor() as cursor:  # its window ends: the next hit counts from one again
        cursor.execute(f"UPDATE {settings.CACHE_TABLE} SET expires = now() - interval '1 second' "  # noqa: S608
                       "WHERE cache_key = %s", [cache.make_key("w")])
    assert window_hit(cache, "w", 60) == 1 and window_hit(cache, "w", 60) == 2


def test_a_window_counter_on_any_other_cache_adds_and_increments():
    from django.core.cache.backends.locmem import LocMemCache

    from geo_assets.guards import window_hit

    cache = LocMemCache("window-test", {})
    assert [window_hit(cache, "w", 60) for _ in range(4)] == [1, 2, 3, 4]


def test_a_busy_rate_is_taken_from_the_shared_counter_in_blocks_and_never_exceeded():
    """geo_assets.guards.window_take: a rate of 10,000 a window is counted in blocks of 20 (one statement per 20
    requests of a process); whatever the processes, no more requests pass than the rate, and a process's unused
    block is all that may be refused early."""
    from django.test.utils import CaptureQueriesContext

    from config.cache.backend import DatabaseCache
    from geo_assets import guards

    cache = DatabaseCache(settings.CACHE_TABLE, {})
    cache.clear()
    guards.leases_forget()
    assert guards.lease_size(10_000) == 20 and guards.lease_size(3_000) == 6 and guards.lease_size(120) == 1
    with CaptureQueriesContext(connection) as queries:
        assert all(guards.window_take(cache, "busy", 60, 10_000) for _ in range(100))
    assert len(queries.captured_queries) == 5
    assert guards.window_hit(cache, "busy", 60, 0) == 100
    # other processes took the rest of the window but 30: this one passes 30 more (a block of 20, then 10), no more
    cache.set("ignored", 1)
    guards.window_hit(cache, "busy", 60, 10_000 - 100 - 30)
    guards.leases_forget()  # as a process that holds no block
    passed = sum(guards.window_take(cache, "busy", 60, 10_000) for _ in range(60))
    assert passed == 30
    # two processes in turn (each its own blocks), 2,000 a window: together exactly the rate when both use theirs up
    guards.leases_forget()
    mine, theirs = {}, {}
    passed = 0
    for n in range(2_200):
        guards._leases.clear()
        guards._leases.update(mine if n % 2 else theirs)
        passed += guards.window_take(cache, "shared", 60, 2_000)
        (mine if n % 2 else theirs).clear()
        (mine if n % 2 else theirs).update(guards._leases)
    assert 2_000 - 2 * (guards.lease_size(2_000) - 1) <= passed <= 2_000


def test_a_small_rate_counts_every_request():
    from config.cache.backend import DatabaseCache
    from geo_assets import guards

    cache = DatabaseCache(settings.CACHE_TABLE, {})
    cache.clear()
    assert [guards.window_take(cache, "small", 60, 3) for _ in range(5)] == [True, True, True, False, False]
    assert guards.window_hit(cache, "small", 60, 0) == 5
