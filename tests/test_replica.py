"""Streaming replicas (issue 11) against a real hot standby (scripts/replica.sh, started here when needed).

The test database is created on the primary and physically replicated, so the standby holds a read-only copy of
it. Data is committed on the primary (transactional tests), the standby is waited for, and an alias `replica1`
points at the standby's copy. Then every route of the tile and JSON API (`layers`), the reports and the "nearby" API
is requested as the public and as logged-in roles, once served by the primary and once with replicas configured:
same answers, the register read from the replica, not from the primary (but for the raw SQL in RAW_SQL_ON_PRIMARY,
which does not use read_cursor() yet). Writes (an API POST, a page POST, a
service call) go to the primary and succeed; nothing is ever written through the replica (which would fail: it is
in recovery).
"""

import io
import json
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import mapbox_vector_tile
import openpyxl
import pytest
from django.db import DatabaseError, connections, router, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from config.env import BASE_DIR, env
from geo_assets import services
from geo_assets.dbrouting import is_write, replica_reads
from geo_assets.models import Asset, Department
from layers.registry import LAYERS
from tests.world import build_world
from verification.models import Verification

ALIAS = "replica1"
LOCAL_PRIMARY = (str(BASE_DIR / "var" / "run"), 54329)
# Swept: every route of these namespaces, plus these single routes.
NAMESPACES = ("layers", "reports")
ROUTES = ("verification:api-nearby",)
ROLES = ("anonymous", "township", "department")
# Reads of accounts and sessions stay on the primary (geo_assets.dbrouting.PRIMARY_ONLY_APPS and _MODELS).
PRIMARY_TABLES = re.compile(r'FROM "(geo_assets_session|auth_\w+|authtoken_\w+)"')
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")  # the request's own transaction (ATOMIC_REQUESTS)
# Raw SQL that still takes django.db.connection (the primary) instead of geo_assets.dbrouting.read_cursor(): read
# from the primary, which is correct but not offloaded. Remove a route once its module uses read_cursor().
RAW_SQL_ON_PRIMARY = {
    "reports": "reports/svgmap.py (_rows) and reports/alerts.py",
    "verification:api-nearby": "verification/selectors.py (assets_nearby)",
}

# committed data (the standby replays commits) and the replica alias allowed in the test case
on_standby = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


def local_standby_url() -> str:
    """The local cluster's hot standby (scripts/replica.sh: started, or copied from the primary, when needed)."""
    options = connections["default"].settings_dict.get("OPTIONS", {})
    if (options.get("host"), int(options.get("port") or 0)) != LOCAL_PRIMARY:
        pytest.skip("DATABASE_URL is not the local cluster and DATABASE_REPLICA_URLS is empty: no standby to test")
    bash = shutil.which("bash")
    result = subprocess.run([bash, str(BASE_DIR / "scripts" / "replica.sh")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Replica:
    alias: str
    writes: list = field(default_factory=list)  # every non-read statement sent through the replica connection

    def record(self, execute, sql, params, many, context):
        if is_write(sql):
            self.writes.append(sql)
        return execute(sql, params, many, context)

    def wait(self, timeout: float = 300.0) -> None:
        """Until the standby has replayed everything the primary has logged so far (committed or not)."""
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()")  # synchronous_commit = off: not yet written
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            try:  # the test database itself appears on the standby once its CREATE DATABASE is replayed
                with connections[self.alias].cursor() as cursor:
                    cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                    if cursor.fetchone()[0]:
                        return
            except DatabaseError:
                connections[self.alias].close()
            assert time.monotonic() < deadline, f"the standby has not replayed {target} after {timeout} s"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def replica_alias(django_db_setup):
    """`replica1`: the standby's copy of the test database, which is never created there (a standby is read-only):
    the primary's is replicated. With DATABASE_REPLICA_URLS set, settings made it a TEST MIRROR of default (same
    NAME, the replica's server); otherwise it is added here, the same way, once the test database exists."""
    if ALIAS in connections.settings:
        assert connections[ALIAS].settings_dict["NAME"] == connections["default"].settings_dict["NAME"]
        yield ALIAS
        return
    config = env.db_url_config(local_standby_url())
    config.update(NAME=connections["default"].settings_dict["NAME"], ATOMIC_REQUESTS=False, TEST={"MIRROR": "default"})
    primary = {**connections["default"].settings_dict, "TEST": {}}
    connections.settings[ALIAS] = connections.configure_settings({"default": primary, ALIAS: config})[ALIAS]
    yield ALIAS
    connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


@pytest.fixture
def replica(replica_alias, settings):
    """Replicas configured (settings.DATABASE_REPLICAS) and the standby caught up; records what it is sent."""
    settings.DATABASE_REPLICAS = [replica_alias]
    state = Replica(replica_alias)
    with connections[replica_alias].execute_wrapper(state.record):
        state.wait()
        yield state
    assert state.writes == [], "statements other than reads were sent to the replica"


@pytest.fixture
def replica_world(replica):
    replica_world = build_world()
    replica.wait()
    return replica_world


def client_for(replica_world, role) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(replica_world.users[role])
    return client


def register_reads(queries) -> list[str]:
    """Statements on the primary other than account/session reads and the request transaction's BEGIN/COMMIT."""
    return [q["sql"] for q in queries if not PRIMARY_TABLES.search(q["sql"]) and q["sql"] not in TRANSACTION_CONTROL]


@on_standby
def test_the_standby_is_a_read_only_copy_of_the_test_database(replica):
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_database()")
        assert cursor.fetchone() == (False, connections["default"].settings_dict["NAME"])
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_database(), count(*) FROM django_migrations")
        in_recovery, name, migrations = cursor.fetchone()
    assert in_recovery and name == connections["default"].settings_dict["NAME"] and migrations > 0
    assert connections[ALIAS].settings_dict["OPTIONS"] != connections["default"].settings_dict["OPTIONS"]
    with pytest.raises(DatabaseError, match="read-only"), connections[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE replica_probe (id int)")
    assert replica.writes == ["CREATE TABLE replica_probe (id int)"]
    replica.writes.clear()  # the one write this test sent on purpose, refused


@on_standby
def test_the_router_without_replicas_changes_nothing(replica, settings):
    settings.DATABASE_REPLICAS = []
    with replica_reads():
        assert router.db_for_read(Asset) == "default" and router.db_for_write(Asset) == "default"
    settings.DATABASE_REPLICAS = ["no-such-alias"]  # e.g. production settings that define no replicas
    with replica_reads():
        assert router.db_for_read(Asset) == "default"
    settings.DATABASE_REPLICAS = [ALIAS]
    assert router.db_for_read(Asset) == "default"  # outside a replica-read context
    assert router.allow_migrate("default", "geo_assets") and not router.allow_migrate(ALIAS, "geo_assets")


@on_standby
def test_reads_go_to_the_replica_until_a_write_is_under_way(replica_world, replica):
    admin = replica_world.users["county_admin"]
    with replica_reads():
        assert router.db_for_read(Asset) == ALIAS and router.db_for_write(Asset) == "default"
        assert router.db_for_read(type(admin)) == "default"  # accounts: always the primary
        asset = Asset.objects.get(pk=replica_world.assets["west_road"].pk)
        assert asset._state.db == ALIAS
        with transaction.atomic():  # a transaction may write: everything in it reads the primary
            assert router.db_for_read(Asset) == "default"
        assert router.db_for_read(Asset) == ALIAS
    with transaction.atomic(), replica_reads():  # entered in a transaction (which may have written): the primary
        assert router.db_for_read(Asset) == "default"
    with replica_reads(request_atomic=True), transaction.atomic():  # the request's own block (ATOMIC_REQUESTS)
        assert router.db_for_read(Asset) == ALIAS
        with transaction.atomic():  # a view's transaction inside it
            assert router.db_for_read(Asset) == "default"
    with replica_reads():
        with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
                CaptureQueriesContext(connections["default"]) as on_primary:
            services.asset_update(actor=admin, asset=asset, changes={"name": "西南村标记道路（改）"}, reason="test")
        assert on_replica.captured_queries == []  # the service's reads and writes: all on the primary
        assert any(q["sql"].startswith("UPDATE") for q in on_primary.captured_queries)
        # after a write, the rest of the context reads the primary: the caller sees its own change
        assert router.db_for_read(Asset) == "default"
        assert Asset.objects.get(pk=asset.pk).name == "西南村标记道路（改）"
    replica.wait()
    with replica_reads():
        assert Asset.objects.using(router.db_for_read(Asset)).get(pk=asset.pk).name == "西南村标记道路（改）"


@on_standby
def test_tiles_and_geojson_are_served_from_the_replica(replica_world, replica):
    west_south = replica_world.areas.west_south
    for role, expected in (("anonymous", {"west_road", "west_household"}),
                           ("township", {"west_road", "west_household"})):
        client = client_for(replica_world, role)
        z, x, y = tile_of(replica_world.assets["west_household"].location, 14)
        with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
                CaptureQueriesContext(connections["default"]) as on_primary:
            tile = client.get(f"/tiles/assets/{z}/{x}/{y}.mvt")
            head = client.head(f"/tiles/assets/{z}/{x}/{y}.mvt")
            geojson = client.get("/api/v1/assets/", {"village": west_south.code})
        assert tile.status_code == head.status_code == geojson.status_code == 200
        features = mapbox_vector_tile.decode(tile.content)["assets"]["features"]
        assert {replica_world.assets[k].code for k in expected} <= {f["properties"]["code"] for f in features}
        assert {replica_world.assets[k].code for k in expected} <= {f["id"] for f in geojson.json()["features"]}
        assert any("ST_AsMVT" in q["sql"] for q in on_replica.captured_queries)
        assert any("geo_assets_asset" in q["sql"] for q in on_replica.captured_queries)
        assert register_reads(on_primary.captured_queries) == [], role


@on_standby
def test_writes_go_to_the_primary_and_never_to_the_replica(replica_world, replica):
    village, admin = replica_world.users["village"], replica_world.users["county_admin"]
    road = replica_world.assets["west_road"]
    client = client_for(replica_world, "village")
    body = {"asset_code": road.code, "finding": "intact", "lon": road.location.x, "lat": road.location.y,
            "accuracy_m": 5, "observed_at": timezone.now().isoformat(), "client_id": str(uuid.uuid4())}
    with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        created = client.post("/api/v1/verifications/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert on_replica.captured_queries == []
    assert any(q["sql"].startswith('INSERT INTO "verification_verification"') for q in on_primary.captured_queries)
    record = Verification.objects.get(client_id=body["client_id"])
    assert record.verifier == village and record.review == "pending"  # no photo: for the office to review
    # a page POST: the office approves it
    with CaptureQueriesContext(connections[ALIAS]) as on_replica:
        decided = client_for(replica_world, "county_admin").post(f"/verification/review/{record.pk}/",
                                                         {"decision": "approve", "comment": "ok"})
    assert decided.status_code == 302 and on_replica.captured_queries == []
    record.refresh_from_db()
    assert record.review == "approved" and record.reviewed_by == admin
    # a POST to a replica-served route still runs on the primary (and is refused by the view), and so does every
    # GET elsewhere: pages with forms, the verification list, the admin
    admin_client = client_for(replica_world, "county_admin")
    with CaptureQueriesContext(connections[ALIAS]) as on_replica:
        assert client.post("/api/v1/assets/", {}).status_code in (403, 405)
        assert admin_client.get(f"/assets/{road.code}/").status_code == 200
        assert admin_client.get("/api/v1/verifications/").status_code == 200
        assert admin_client.get(f"/admin/geo_assets/asset/{road.pk}/change/").status_code == 200
    assert on_replica.captured_queries == []
    # once replayed, the map's "nearby" list (served by the replica) shows the verification
    replica.wait()
    with CaptureQueriesContext(connections[ALIAS]) as on_replica:
        nearby = client.get("/api/v1/verifications/nearby/", {"lon": road.location.x, "lat": road.location.y})
    row = next(r for r in nearby.json()["results"] if r["code"] == road.code)
    assert row["last_verified_at"] is not None and on_replica.captured_queries


@on_standby
def test_every_tile_api_report_and_nearby_route_answers_the_same_from_the_replica(replica_world, replica, settings):
    urls = sweep_urls(replica_world)
    assert any(u.startswith("/tiles/") for _r, u in urls) and any(u.startswith("/reports/") for _r, u in urls)
    for role in ROLES:
        client = client_for(replica_world, role)
        served_by_replica = 0
        for route, url in urls:
            settings.DATABASE_REPLICAS = []
            with CaptureQueriesContext(connections["default"]) as without_replicas:
                expected = comparable(client.get(url))
            settings.DATABASE_REPLICAS = [ALIAS]
            with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
                    CaptureQueriesContext(connections["default"]) as on_primary:
                response = client.get(url)
                got = comparable(response)
            assert response.status_code < 500, (role, url)
            assert got == expected, (role, url)
            if not any(route == r or route.startswith(r + ":") for r in RAW_SQL_ON_PRIMARY):
                assert register_reads(on_primary.captured_queries) == [], (role, url)
            if register_reads(without_replicas.captured_queries):  # the register is read: now from the replica
                assert on_replica.captured_queries, (role, url)
                served_by_replica += 1
        # not vacuous: a good share of the sweep read the register (staff-only routes send the public to log in
        # without reading it; every route that did read it was asserted above to read it from the replica)
        assert served_by_replica >= len(urls) // 4, role


def test_replica_urls_become_aliases_with_the_primarys_options(monkeypatch):
    from config.settings import replica_databases

    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgis://ro:pw@db2.example:5432/assets,postgis://ro@/assets?host=/run")
    monkeypatch.delenv("DB_PREPARED_STATEMENTS", raising=False)
    monkeypatch.delenv("DB_POOL_MODE", raising=False)
    primary = {"CONN_MAX_AGE": 60, "ATOMIC_REQUESTS": True, "OPTIONS": {"host": "/var/run/primary"}}
    replicas = replica_databases(primary)
    assert list(replicas) == ["replica1", "replica2"]
    assert replicas["replica1"]["HOST"] == "db2.example" and replicas["replica1"]["USER"] == "ro"
    # statements prepared there too (the nearby list, a village report), as on the primary
    assert replicas["replica1"]["OPTIONS"] == {"prepare_threshold": 1_000_000}
    assert replicas["replica2"]["OPTIONS"] == {"prepare_threshold": 1_000_000, "host": "/run"}
    assert all(r["CONN_MAX_AGE"] == 60 and r["ATOMIC_REQUESTS"] is False and r["TEST"] == {"MIRROR": "default"}
               for r in replicas.values())
    monkeypatch.setenv("DB_POOL_MODE", "transaction")  # behind a pooler in transaction mode: nothing prepared
    assert all("prepare_threshold" not in r.get("OPTIONS", {}) for r in replica_databases(primary).values())
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "")
    assert replica_databases(primary) == {}


# --- the routes ---------------------------------------------------------------------------------------------------


def tile_of(point, z: int) -> tuple[int, int, int]:
    import math

    n = 2**z
    return z, int((point.x + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n)


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(p for p in (namespace, entry.namespace) if p)
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield ":".join(p for p in (namespace, entry.name) if p), prefix + str(entry.pattern)


def sweep_urls(replica_world) -> list[tuple[str, str]]:
    """(route name, URL) for every swept route, its parameters filled with the world's records."""
    household, west_south = replica_world.assets["west_household"], replica_world.areas.west_south
    department = Department.objects.get(name="交通运输局")
    tiles = [tile_of(household.location, 14), tile_of(household.location, 9)]
    urls, unfilled = [], []
    for route, pattern in walk(get_resolver().url_patterns):
        if not (route.split(":")[0] in NAMESPACES or route in ROUTES):
            continue
        variants = [pattern]
        if "<str:layer>" in pattern:
            variants = [v.replace("<str:layer>", layer) for v in variants for layer in LAYERS]
        if "<int:z>" in pattern:
            variants = [v.replace("<int:z>", str(z)).replace("<int:x>", str(x)).replace("<int:y>", str(y))
                        for v in variants for z, x, y in tiles]
        if "<str:fmt>" in pattern:
            variants = [v.replace("<str:fmt>", fmt) for v in variants for fmt in ("csv", "xlsx")]
        code = (replica_world.areas.west.code if "townships/" in pattern else west_south.code
                if ("villages/" in pattern or "areas/" in pattern) else household.code)
        variants = [v.replace("<str:collection_id>", "assets").replace("<str:feature_id>", household.code)
                    for v in variants]
        variants = [v.replace("<str:code>", code).replace("<int:pk>", str(department.pk)).replace("<int:year>", "2025")
                    for v in variants]
        for variant in variants:
            if "<" in variant:
                unfilled.append(variant)
            urls.append((route, "/" + variant))
    assert not unfilled, f"routes this sweep cannot fill yet: {unfilled}"
    here = household.location
    urls += [
        ("verification:api-nearby", "/api/v1/verifications/nearby/?" + urlencode({"lon": here.x, "lat": here.y})),
        ("layers:asset-list", f"/api/v1/assets/?village={west_south.code}&category=household"),
        ("layers:asset-list", "/api/v1/assets/?bbox=111.5,33.8,111.6,33.9"),
        ("layers:area-list", "/api/v1/areas/?level=village"),
        ("layers:search", "/api/v1/search/?q=西南村"),
        ("layers:tile", "/tiles/assets/{}/{}/{}.mvt?village={}".format(*tiles[0], west_south.code)),
        ("reports:alerts", f"/alerts/?village={west_south.code}"),
        ("reports:village", f"/reports/villages/{west_south.code}/?year={timezone.now().year}"),
    ]
    return urls


# --- comparing answers --------------------------------------------------------------------------------------------

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"|"csrfToken": *"[^"]*"|data-csrf="[^"]*"')


def _text(value: str) -> str:
    return CSRF.sub("csrf", STAMP.sub("time", value))


def comparable(response):
    """Status, headers that carry meaning and the body, without the time of rendering and per-request tokens."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "").split(";")[0]
    if kind == "application/vnd.mapbox-vector-tile":
        value = {name: sorted(json.dumps(f, sort_keys=True, default=str) for f in layer["features"])
                 for name, layer in mapbox_vector_tile.decode(body).items()} if body else {}
    elif body[:4] == b"%PDF":
        exe = shutil.which("pdftotext")
        assert exe, "pdftotext (Debian poppler-utils) is needed"
        value = _text(subprocess.run([exe, "-layout", "-", "-"], input=body, capture_output=True, check=True)
                      .stdout.decode())
    elif body[:2] == b"PK":
        book = openpyxl.load_workbook(io.BytesIO(body))
        value = {ws.title: [[_text(str(c)) for c in row] for row in ws.iter_rows(values_only=True)]
                 for ws in book.worksheets}
    else:
        value = _text(body.decode("utf-8", "replace"))
    headers = {h: response.get(h) for h in ("ETag", "Location", "Content-Disposition")}
    return response.status_code, kind, headers, value
