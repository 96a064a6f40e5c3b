"""The register behind PgBouncer in transaction pooling mode (issue 20; README, "Connection pooling"): a private
pgbouncer (Debian's, scripts/sysdeps.sh) in front of the test database with a pool of five server connections, and
`make serve`'s stack (scripts/serve_production.sh) on it with DB_POOL_MODE=transaction and persistent connections:
a user logs in, opens the map, its tiles, the API, an asset page, exports, records a verification with a photo and
sends it again, many requests at once — every answer right, pgbouncer's counters show the transactions shared out
over fewer server connections than the workers hold. Why the mode matters: a prepared statement outlives its transaction, which such a
pooler cannot keep (pgbouncer 1.18); statement pooling is refused at start-up.

pgbouncer refuses to run as root: as root the test runs it as `nobody`, and since the local cluster's peer
authentication maps root (not nobody) to the application's role, a relay in the test process (root) carries its
server connections to the cluster's socket (only `nobody` may open the relay's socket)."""

import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest
from django.db import connection

from geo_assets.dbrouting import PreparedCursor
from geo_assets.taxonomy import AssetType, Role
from tests.factories import centre, make_admin, make_areas, make_asset, make_user, photo
from tests.stacks import free_port, production_stack
from verification.models import Verification

ROOT = Path(__file__).resolve().parents[1]
# Server connections: one per request thread (2 workers x 2 threads) and one for the import worker, and no more.
# A request in its transaction counts its rate limit through the cache's own connection (config/cache): with fewer
# server connections than request threads, requests holding every server connection in their transactions would
# wait for one more for their counters (seen here with 2: requests stuck past the 60 s timeout).
POOL_SIZE = 2 * 2 + 1


class Relay:
    """Connections accepted on a Unix socket carried to another one by the process that runs this (two threads
    each): the server sees this process's OS user."""

    def __init__(self, listen: Path, target: str, owner: str):
        self.target = target
        self.sockets: list[socket.socket] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(listen))
        shutil.chown(listen, owner)  # only pgbouncer's OS user may connect
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self):
        self.server.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextlib.contextmanager
def pgbouncer_running(pool_size: int = POOL_SIZE):
    """A private pgbouncer (transaction pooling, `pool_size` server connections) on a Unix socket in a temporary
    folder, in front of the test database; yields (socket folder, port, database name)."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    assert Path(binary).exists(), "pgbouncer is not installed: scripts/sysdeps.sh installs it"
    info = connection.get_connection_params()
    folder = Path(tempfile.mkdtemp(prefix="assets-pgbouncer."))
    as_root = os.geteuid() == 0
    relay = None
    host, port = info.get("host", ""), info.get("port") or 5432
    if as_root and host.startswith("/"):
        relay_dir = folder / "relay"
        relay_dir.mkdir()
        relay = Relay(relay_dir / f".s.PGSQL.{port}", f"{host}/.s.PGSQL.{port}", owner="nobody")
        host = str(relay_dir)
    listen = free_port()
    server = f"host={host} port={port} dbname={info['dbname']} user={info['user']}"
    if info.get("password"):
        server += f" password={info['password']}"
    (folder / "users.txt").write_text(f'"{info["user"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
{info['dbname']} = {server}
[pgbouncer]
listen_addr =
listen_port = {listen}
unix_socket_dir = {folder}
auth_type = trust
auth_file = {folder / 'users.txt'}
admin_users = {info['user']}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {folder / 'pgbouncer.log'}
pidfile = {folder / 'pgbouncer.pid'}
""")
    command = [binary, str(folder / "pgbouncer.ini")]
    if as_root:
        shutil.chown(folder, "nobody")
        for name in ("users.txt", "pgbouncer.ini"):
            shutil.chown(folder / name, "nobody")
        command = ["runuser", "-u", "nobody", "--", *command]
    # a process group of its own: runuser does not pass a signal on, so the group is signalled
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,  # noqa: S603
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not (folder / f".s.PGSQL.{listen}").exists():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.05)
        yield folder, listen, info["dbname"]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # pgbouncer: SIGINT = safe shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        deadline = time.monotonic() + 20  # pgbouncer itself (runuser's child) gone too
        while subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).returncode == 0:  # noqa: S607
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.1)
        if relay:
            relay.close()
        shutil.rmtree(folder, ignore_errors=True)


def console(folder: Path, port: int, command: str) -> list[dict]:
    """pgbouncer's admin console: SHOW … as dictionaries."""
    with psycopg.connect(host=str(folder), port=port, dbname="pgbouncer", user=connection.get_connection_params()["user"],
                         autocommit=True, prepare_threshold=None) as console_connection:
        cursor = console_connection.execute(command)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ------------------------------------------------------------------------------------------------ a session

class Browser:
    """HTTP with cookies kept by hand (production's cookies are Secure: urllib's jar would not send them over
    plain HTTP) and the CSRF token sent back as Django expects."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = {**(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method=method)  # noqa: S310
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            content = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.headers, content

    def get(self, path: str):
        return self.request("GET", path)

    def log_in(self, username: str, password: str):
        status, _headers, page = self.get("/admin/login/?next=/admin/")
        assert status == 200, page[:500]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        form = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password,
                          "next": "/admin/"}).encode()
        status, headers, body = self.request("POST", "/admin/login/?next=/admin/", form,
                                             {"Content-Type": "application/x-www-form-urlencoded"})
        assert (status, headers.get("Location")) == (302, "/admin/"), body[:1000]
        assert "sessionid" in self.cookies

    def post_multipart(self, path: str, fields: dict, files: dict[str, tuple[str, bytes, str]]):
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, data, content_type) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@contextlib.contextmanager
def serving(tmp_path: Path, database_url: str, **extra):
    """`make serve`'s stack with `database_url` (the application's role, no replica: every read on pgbouncer);
    yields its port and the file of its log lines."""
    with production_stack(tmp_path, drop=("DATABASE_OWNER_URL", "DATABASE_REPLICA_URLS"), DATABASE_URL=database_url,
                          SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="127.0.0.1,localhost",
                          SECURE_SSL_REDIRECT="false", **extra) as (port, _process, logs):
        yield port, logs["err"]


@pytest.fixture
def served_site(transactional_db, settings):
    """Committed rows the server reads: two villages' areas, a county administrator, a village clerk (production's
    password hasher: the server checks the password), a clinic."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    areas = make_areas()
    admin = make_admin()
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    clinic = make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室",
                        geometry=centre(areas.west_south))
    return clerk, clinic


def test_the_register_serves_behind_pgbouncer_in_transaction_mode(served_site, tmp_path):
    clerk, clinic = served_site
    params = connection.get_connection_params()
    direct = f"postgis://{params['user']}@/{params['dbname']}?host={params['host']}&port={params['port']}"
    with pgbouncer_running() as (folder, pool_port, name), \
            serving(tmp_path, f"postgis://{params['user']}@/{name}?host={folder}&port={pool_port}",
                    DB_POOL_MODE="transaction", CONN_MAX_AGE="60",
                    WORKER_DATABASE_URL=direct) as (port, log):  # the worker straight to PostgreSQL
        browser = Browser(port)
        browser.log_in("westsouth", "pw-westsouth")
        status, _headers, page = browser.get("/")
        assert status == 200, page[:500]
        assert browser.get("/tiles/assets/0/0/0.mvt")[0] == 200
        status, _headers, body = browser.get("/api/v1/assets/")
        assert status == 200 and clinic.code in body.decode(), body[:500]
        assert browser.get(f"/assets/{clinic.code}/")[0] == 200
        status, _headers, body = browser.get("/import/export/?format=csv")  # .iterator(): no server-side cursor
        assert status == 200 and clinic.code in body.decode("utf-8-sig")

        here = clinic.location
        observed = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        fields = {"asset_code": clinic.code, "finding": "intact", "lon": here.x, "lat": here.y + 20 / 111_320,
                  "accuracy_m": 8, "observed_at": observed.isoformat(), "client_id": str(uuid.uuid4()),
                  "note": "现场正常"}
        files = {"photos": ("p0.jpg", photo(7, lonlat=(here.x, here.y), taken_at=observed), "image/jpeg")}
        first = browser.post_multipart("/api/v1/verifications/", fields, files)
        again = browser.post_multipart("/api/v1/verifications/", fields, files)  # the phone resends
        assert (first[0], again[0]) == (201, 200), first[2][:1000]
        recorded = json.loads(first[2])
        assert json.loads(again[2])["id"] == recorded["id"]
        assert datetime.datetime.fromisoformat(recorded["observed_at"]) == observed  # time zone kept per transaction

        paths = ["/", "/tiles/assets/0/0/0.mvt", "/api/v1/assets/", f"/assets/{clinic.code}/",
                 "/api/v1/search/?q=" + quote("卫生室"), "/tiles/assets/1/1/0.mvt"] * 8
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda path: (path, browser.get(path)[0]), paths))
        assert {status for _path, status in statuses} == {200}, [s for s in statuses if s[1] != 200]

        pools = [row for row in console(folder, pool_port, "SHOW POOLS") if row["database"] == name]
        stats = [row for row in console(folder, pool_port, "SHOW STATS") if row["database"] == name]
        clients = [row for row in console(folder, pool_port, "SHOW CLIENTS") if row["database"] == name]
        servers = [row for row in console(folder, pool_port, "SHOW SERVERS") if row["database"] == name]
        assert pools[0]["pool_mode"] == "transaction"
        assert len(servers) <= POOL_SIZE < len(clients)  # the workers' connections share fewer server connections
        transactions = stats[0]["total_xact_count"]
        assert transactions > len(paths)
        print(f"pgbouncer (transaction pooling): {len(clients)} client connections (2 workers x 2 threads, default and "
              f"cache aliases, the import worker) on {len(servers)} server connections; {transactions} transactions, "
              f"{stats[0]['total_query_count']} statements")
    assert Verification.objects.filter(asset=clinic).count() == 1
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")], lines


def test_a_prepared_statement_does_not_survive_transaction_pooling(transactional_db):
    """What DB_POOL_MODE=transaction turns off: the statements geo_assets.auth has PostgreSQL prepare, with the
    threshold the default mode sets, fail on the second client connection that pgbouncer 1.18 gives the same server
    connection (the first one's statement is still there); without the threshold they run."""
    from config.settings import with_prepared_statements

    user = connection.get_connection_params()["user"]
    with pgbouncer_running(pool_size=1) as (folder, port, name):
        def run(options: dict):
            with psycopg.connect(host=str(folder), port=port, dbname=name, user=user, autocommit=True,
                                 **options) as client:
                with PreparedCursor(client) as cursor:
                    cursor.execute("SELECT count(*) FROM auth_user WHERE id > %s", [0])
                    return cursor.fetchone()[0]

        session_mode = with_prepared_statements({})["OPTIONS"]  # DB_POOL_MODE unset
        assert session_mode == {"prepare_threshold": 1_000_000}
        run(session_mode)
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            run(session_mode)
        # DB_POOL_MODE=transaction: no threshold, Django's default (None): nothing prepared
        os.environ["DB_POOL_MODE"] = "transaction"
        try:
            transaction_mode = with_prepared_statements({}).get("OPTIONS", {})
        finally:
            del os.environ["DB_POOL_MODE"]
        assert "prepare_threshold" not in transaction_mode
        assert [run({"prepare_threshold": None}) for _ in range(3)] == [0, 0, 0]


def settings_of(**env) -> subprocess.CompletedProcess:
    code = ("import django; django.setup(); from django.conf import settings; import json; "
            "print(json.dumps({a: {k: d.get(k) for k in ('DISABLE_SERVER_SIDE_CURSORS', 'OPTIONS', 'ATOMIC_REQUESTS')}"
            " for a, d in settings.DATABASES.items()}, default=str))")
    environment = {k: v for k, v in os.environ.items() if k not in ("DB_POOL_MODE", "DB_PREPARED_STATEMENTS",
                                                                    "DJANGO_ALLOW_ASYNC_UNSAFE", "CACHE_URL")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings_production", SECRET_KEY=secrets.token_urlsafe(64),
                       ALLOWED_HOSTS="assets.example.gov.cn", **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_db_pool_mode_transaction_turns_off_what_cannot_cross_transactions():
    plain = json.loads(settings_of().stdout)
    assert plain["default"]["OPTIONS"]["prepare_threshold"] == 1_000_000
    assert not plain["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    pooled = json.loads(settings_of(DB_POOL_MODE="transaction").stdout)
    assert set(pooled) == {"default", "cache"}
    for alias in pooled.values():
        assert alias["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert "prepare_threshold" not in alias["OPTIONS"]
    assert pooled["cache"]["ATOMIC_REQUESTS"] is False and pooled["default"]["ATOMIC_REQUESTS"] is True
    # pgbouncer >= 1.21 with max_prepared_statements keeps them: the operator says so
    kept = json.loads(settings_of(DB_POOL_MODE="transaction", DB_PREPARED_STATEMENTS="true").stdout)
    assert kept["default"]["OPTIONS"]["prepare_threshold"] == 1_000_000


def test_statement_pooling_is_refused_at_start_with_a_clear_message():
    result = settings_of(DB_POOL_MODE="statement")
    assert result.returncode != 0
    assert "DB_POOL_MODE='statement' is not supported" in result.stderr
    assert "transaction" in result.stderr


def test_check_deploy_is_clean_behind_a_transaction_pooler():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings_production", SECRET_KEY=secrets.token_urlsafe(64),
               ALLOWED_HOSTS="assets.example.gov.cn", DB_POOL_MODE="transaction",
               DATABASE_URL=os.environ.get("DATABASE_URL", "postgis://assets@/assets?host=/nonexistent"))
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_import_worker_refuses_a_transaction_pooler_and_says_how_to_connect_it(settings, db):
    from django.core.management import CommandError, call_command

    settings.DB_POOL_MODE = "transaction"
    with pytest.raises(CommandError, match="DB_POOL_MODE=session"):
        call_command("importers_worker", "--once")
    settings.DB_POOL_MODE = "session"
    call_command("importers_worker", "--once")  # directly on PostgreSQL: runs (nothing waiting) and returns
