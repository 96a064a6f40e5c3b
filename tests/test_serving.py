"""Serving (issue 20): the probes (/healthz, /readyz), the request id, the JSON log lines, `make serve`'s stack
(scripts/serve_production.sh: gunicorn + the worker, production settings, WhiteNoise) on a free port, and the files of
deploy/ (systemd units verified by systemd-analyze, the nginx example by `nginx -t`, its upload limits against the
app's)."""

import contextlib
import gzip
import http.client
import json
import logging
import os
import re
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import URLResolver, get_resolver

from config import health, jsonlog
from config.middleware import request_id_for
from geo_assets.uploads import FORM_OVERHEAD, rule_of
from importers.heartbeat import heartbeat_age, heartbeat_write
from tests.stacks import free_port, production_stack

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


@pytest.fixture
def ready(settings, tmp_path, monkeypatch):
    """Everything /readyz asks for, in a test's own places: a fresh heartbeat, media on a disk with room."""
    settings.WORKER_HEARTBEAT_FILE = tmp_path / "worker-heartbeat"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_MIN_FREE_MB = 1
    monkeypatch.setattr(health, "_migrations_ok_until", 0.0)  # no answer kept from another test
    heartbeat_write()
    return tmp_path


def readyz(client=None, **headers):
    response = (client or Client()).get("/readyz", **headers)
    return response, json.loads(response.content)


# ------------------------------------------------------------------------------------------------ /healthz

def test_healthz_answers_without_the_database_for_any_host_over_plain_http(settings):
    """No `db` fixture: any query would fail the test."""
    settings.SECURE_SSL_REDIRECT = True  # production's: every other plain-HTTP request is redirected
    settings.ALLOWED_HOSTS = ["assets.example.gov.cn"]
    response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"] == "no-store"
    # the same settings send any other page to HTTPS, and refuse an unknown host
    assert Client().get("/healthzz", HTTP_HOST="assets.example.gov.cn").status_code == 301
    assert Client().get("/", HTTP_HOST="127.0.0.1:8000", secure=True).status_code == 400


def test_probes_are_not_rate_limited(settings, ready, db):
    settings.PAGE_RATE_ANON = "1/hour"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "1/hour", "user": "1/hour"}}
    client = Client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/readyz").status_code for _ in range(5)] == [200] * 5


def test_only_get_and_head_are_probes(db):
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 404  # not a probe: the URL does not exist for a POST


# ------------------------------------------------------------------------------------------------ /readyz

def test_readyz_is_200_with_each_check_when_all_pass(ready, db):
    response, body = readyz()
    assert response.status_code == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "worker": "ok",
                                               "media_disk": "ok", "cache": "ok"}}
    assert "Retry-After" not in response
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_503_with_retry_after_when_the_worker_heartbeat_is_stale(ready, settings, db, caplog):
    old = time.time() - settings.WORKER_HEARTBEAT_MAX_AGE - 5
    os.utime(settings.WORKER_HEARTBEAT_FILE, (old, old))
    with caplog.at_level(logging.WARNING, logger="assets.health"):
        response, body = readyz()
    assert response.status_code == 503
    assert response["Retry-After"] == str(health.RETRY_AFTER)
    assert body == {"status": "fail", "checks": {"database": "ok", "migrations": "ok", "worker": "fail",
                                                 "media_disk": "ok", "cache": "ok"}}
    # the reason goes to the log, not to the anonymous caller: no path, no age
    assert str(ready) not in response.content.decode()
    assert "heartbeat" not in response.content.decode()
    assert any("worker: heartbeat" in record.getMessage() for record in caplog.records)


def test_readyz_fails_when_the_worker_never_beat(ready, settings, db):
    Path(settings.WORKER_HEARTBEAT_FILE).unlink()
    assert heartbeat_age() is None
    response, body = readyz()
    assert response.status_code == 503
    assert body["checks"]["worker"] == "fail"


def test_the_worker_beats_in_the_background(settings, tmp_path):
    """importers_worker starts the heartbeat thread (importers/heartbeat.py): its file is renewed on its own."""
    from importers.heartbeat import heartbeat_start

    settings.WORKER_HEARTBEAT_FILE = tmp_path / "sub" / "beat"
    heartbeat_start(interval=0.05)
    first = Path(settings.WORKER_HEARTBEAT_FILE).stat().st_mtime_ns
    deadline = time.monotonic() + 5
    while Path(settings.WORKER_HEARTBEAT_FILE).stat().st_mtime_ns == first and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Path(settings.WORKER_HEARTBEAT_FILE).stat().st_mtime_ns > first
    assert heartbeat_age() < 1


def test_readyz_fails_when_the_media_disk_is_short_of_space(ready, settings, db):
    free_mb = shutil.disk_usage(ready).free // (1024 * 1024)
    settings.MEDIA_MIN_FREE_MB = free_mb + 1024
    response, body = readyz()
    assert response.status_code == 503
    assert body["checks"]["media_disk"] == "fail"
    assert body["checks"]["worker"] == "ok"
    settings.MEDIA_MIN_FREE_MB = max(free_mb - 100, 1)
    assert readyz()[0].status_code == 200  # media folder not created yet: its parent's disk is measured


def test_readyz_fails_when_the_shared_cache_does_not_answer(ready, settings, db):
    """The rate limits count in the shared cache: a Redis that is down fails the probe (the reason is logged)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    response, body = readyz()
    assert response.status_code == 503 and body["checks"]["cache"] == "fail"
    assert {name for name, state in body["checks"].items() if state == "fail"} == {"cache"}


def test_database_check_fails_on_an_unreachable_database(settings, db):
    assert health.database_check() is None
    unreachable = type(connections["default"])({**connection.settings_dict, "HOST": "/nonexistent", "PORT": "1"},
                                       alias="default")  # an alias the test may use
    try:
        assert health.database_check(unreachable) == "OperationalError"
    finally:
        unreachable.close()


def test_readyz_with_the_database_down_fails_database_and_migrations(ready, db, monkeypatch):
    monkeypatch.setattr(health, "database_check", lambda connection=None: "OperationalError")
    response, body = readyz()
    assert response.status_code == 503
    assert body["checks"] == {"database": "fail", "migrations": "fail", "worker": "ok", "media_disk": "ok",
                              "cache": "ok"}


def test_readyz_fails_while_a_migration_is_not_applied(ready, db, monkeypatch):
    """The application's role may not touch django_migrations: the recorder forgets the last migration applied."""
    assert health.migrations_pending() == []
    applied = MigrationRecorder(connection).applied_migrations()
    last = max(applied.values(), key=lambda migration: migration.id)
    monkeypatch.setattr(MigrationRecorder, "applied_migrations",
                        lambda self: {key: value for key, value in applied.items() if value.id != last.id})
    assert health.migrations_pending() == [f"{last.app}.{last.name}"]
    response, body = readyz()
    assert response.status_code == 503
    assert body["checks"]["migrations"] == "fail"
    assert body["checks"]["database"] == "ok"
    monkeypatch.undo()
    monkeypatch.setattr(health, "_migrations_ok_until", 0.0)
    assert readyz()[0].status_code == 200


# ------------------------------------------------------------------------------------------------ request id

def test_request_id_from_the_proxy_is_echoed_when_sane(ready, db):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="0f3c9a1e-7b2d.nginx:42")
    assert response["X-Request-ID"] == "0f3c9a1e-7b2d.nginx:42"


@pytest.mark.parametrize("header", [None, "", "has space", 'quote"d', "x" * 129, "-leading-dash", "é-non-ascii",
                                    "a\tb", "id;drop"])
def test_request_id_is_generated_when_missing_or_not_a_plain_token(header, db):
    headers = {} if header is None else {"HTTP_X_REQUEST_ID": header}
    response = Client().get("/healthz", **headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert response["X-Request-ID"] != header
    assert request_id_for(header) != request_id_for(header)  # a new one each time


# ------------------------------------------------------------------------------------------------ JSON log lines

class Lines(logging.Handler):
    """The JSON lines production's handler would write (config.jsonlog.JsonFormatter)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(jsonlog.JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        text = self.format(record)
        assert "\n" not in text
        self.lines.append(json.loads(text))


@pytest.fixture
def log_lines():
    handler = Lines()
    loggers = [logging.getLogger(name) for name in ("assets.request", "assets.health")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler.lines
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_one_json_line_per_request_with_its_fields_and_no_secrets(log_lines, db):
    response = Client().get("/no-such-page/?token=s3cr3t-t0ken&phone=13800138000",
                            HTTP_X_REQUEST_ID="req-1234", HTTP_AUTHORIZATION="Token abcdef0123456789",
                            HTTP_COOKIE="sessionid=cookie-secret")
    assert response.status_code == 404
    assert len(log_lines) == 1
    line = log_lines[0]
    assert line["request_id"] == "req-1234" == response["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["path"] == "/no-such-page/"
    assert line["status"] == 404
    assert line["user"] == "-"
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "GET /no-such-page/ 404" in line["message"]
    text = json.dumps(line)
    for secret in ("s3cr3t", "13800138000", "abcdef0123456789", "cookie-secret", "Authorization"):
        assert secret not in text


def test_the_log_line_names_the_logged_in_user_by_id(log_lines, db, django_user_model):
    user = django_user_model.objects.create_user("logged", password="x-Pass-123456")  # noqa: S106
    client = Client()
    client.force_login(user)
    client.get("/admin/")  # the admin looks at the user: a staff page refuses this one
    assert [line["user"] for line in log_lines] == [user.pk]
    assert "logged" not in json.dumps(log_lines)  # the id, not the user name


def test_successful_probes_are_not_logged_failing_ones_are_with_the_request_id(log_lines, ready, settings, db):
    Client().get("/healthz")
    readyz()
    assert log_lines == []
    Path(settings.WORKER_HEARTBEAT_FILE).unlink()
    response, _body = readyz(HTTP_X_REQUEST_ID="probe-7")
    assert [(line["logger"], line["request_id"]) for line in log_lines] == [("assets.health", "probe-7"),
                                                                            ("assets.request", "probe-7")]
    assert log_lines[1]["status"] == 503
    assert response["X-Request-ID"] == "probe-7"


def test_a_record_outside_a_request_and_an_exception_are_json_too():
    formatter = jsonlog.JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed %s", ("job",),
                                                   sys.exc_info())
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "-"
    assert line["message"] == "failed job"
    assert "ValueError: boom" in line["exception"]


def test_production_logs_json_and_development_keeps_console_lines():
    code = ("import django.conf, json; from django.conf import settings; "
            "print(json.dumps(settings.LOGGING, default=str))")
    outputs = {}
    for module in ("config.settings", "config.settings_production"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": module, "SECRET_KEY": "k" * 20 + "-real-random-secret-" + "x" * 30,
               "ALLOWED_HOSTS": "x.example"}
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60, check=True)
        outputs[module] = json.loads(result.stdout)
    assert "formatters" not in outputs["config.settings"]
    assert outputs["config.settings_production"]["formatters"]["json"]["()"] == "config.jsonlog.JsonFormatter"
    assert outputs["config.settings_production"]["loggers"]["assets.request"]["level"] == "INFO"


# ------------------------------------------------------------------------------------------------ gunicorn settings

def gunicorn_settings(**env) -> dict:
    saved = dict(os.environ)
    try:
        for name in ("HOST", "PORT", "WEB_WORKERS", "WEB_THREADS", "WEB_WORKERS_MAX"):
            os.environ.pop(name, None)
        os.environ.update(env)
        return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_gunicorn_workers_are_sized_to_the_cores_capped_and_overridable():
    cores = len(os.sched_getaffinity(0))
    default = gunicorn_settings()
    assert default["workers"] == min(2 * cores + 1, 8)
    assert default["worker_class"] == "gthread" and default["threads"] == 4
    assert default["bind"] == "127.0.0.1:8000"
    assert gunicorn_settings(WEB_WORKERS_MAX="2")["workers"] == min(2 * cores + 1, 2)
    given = gunicorn_settings(WEB_WORKERS="3", WEB_THREADS="6", HOST="0.0.0.0", PORT="9123")  # noqa: S104
    assert (given["workers"], given["threads"], given["bind"]) == (3, 6, "0.0.0.0:9123")


# ------------------------------------------------------------------------------------------------ make serve

def get(port: int, path: str, **headers) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a local URL
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def serving(tmp_path):
    """scripts/serve_production.sh — what `make serve` runs after its set-up — on a free port, against the test
    database, with two workers of two threads and the settings it makes itself (a secret key, the hosts)."""
    with production_stack(tmp_path, drop=("SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT")) as server:
        yield server


@pytest.fixture
def served(db, tmp_path):
    with serving(tmp_path) as server:
        yield server


@pytest.fixture
def served_committed(transactional_db, tmp_path):
    """The same, for a test whose rows the server must see (committed; the database is flushed afterwards)."""
    with serving(tmp_path) as server:
        yield server


def test_make_serve_runs_gunicorn_and_the_worker_with_production_settings(served):
    port, process, logs = served
    assert get(port, "/healthz")[:3:2] == (200, b"ok")
    deadline = time.monotonic() + 30  # the worker's first beat
    while (status := get(port, "/readyz"))[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status[0] == 200, status
    assert json.loads(status[2])["checks"] == {"database": "ok", "migrations": "ok", "worker": "ok",
                                               "media_disk": "ok", "cache": "ok"}
    status, headers, body = get(port, "/", **{"X-Request-ID": "serve-test-1"})
    assert status == 200, body[:2000]
    assert headers["X-Request-ID"] == "serve-test-1"
    assert headers["X-Frame-Options"] == "DENY"  # production's settings
    static = re.search(rb'/static/[\w/.-]+\.[0-9a-f]{12}\.(?:css|js)', body)
    assert static, "no hashed static URL: collectstatic and the manifest storage of production"
    status, headers, _body = get(port, static.group().decode())
    assert status == 200 and "max-age=315360000" in headers["Cache-Control"]  # WhiteNoise, immutable file
    assert get(port, "/readyz", **{"Host": "elsewhere.example"})[0] == 200  # a probe needs no allowed host

    out = logs["out"].read_text()
    assert "Serving on http://127.0.0.1:" in out
    keyfile = ROOT / "var" / "secret-key.txt"
    assert "var/secret-key.txt" in out and keyfile.stat().st_mode & 0o077 == 0
    time.sleep(0.5)
    lines = [line for line in logs["err"].read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line gunicorn and Django wrote is JSON
    booted = [line for line in parsed if line["logger"] == "gunicorn.error" and "Booting worker" in line["message"]]
    assert len(booted) == 2
    requests = [line for line in parsed if line["logger"] == "assets.request"]
    page = [line for line in requests if line["request_id"] == "serve-test-1"]
    assert len(page) == 1 and page[0]["path"] == "/" and page[0]["status"] == 200 and page[0]["user"] == "-"
    # probes that passed are not logged (a /readyz before the worker's first beat may be, with its 503)
    assert not [line for line in requests if line["path"] in ("/healthz", "/readyz") and line["status"] == 200]


def test_make_serve_stops_both_processes_when_stopped(served):
    port, process, _logs = served
    members = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()  # noqa: S607
    assert len(members) >= 5  # the script, the worker, gunicorn's master and its two workers
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    assert process.wait(timeout=40) != 0
    with pytest.raises(OSError):
        get(port, "/healthz")
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).returncode == 0:  # noqa: S607
        assert time.monotonic() < deadline, "a process of `make serve` outlived it"
        time.sleep(0.2)


@pytest.mark.browser
def test_a_browser_logs_in_over_plain_http_to_make_serve(served_committed, browser, settings, django_user_model):
    """Production's cookies are Secure: a browser keeps them from http://127.0.0.1 (no proxy on a developer's
    machine), so logging in works on `make serve` as it is."""
    port, _process, logs = served_committed
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # production's
    password = "Serve-" + "x7Kq2mZ9"  # noqa: S105
    user = django_user_model.objects.create_superuser("serveadmin", password=password)
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/admin/login/?next=/admin/")
        page.fill("#id_username", "serveadmin")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"http://127.0.0.1:{port}/admin/")
        assert page.locator("#user-tools").count() == 1  # the logged-in admin's header
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]
    finally:
        context.close()
    time.sleep(0.3)
    lines = [json.loads(line) for line in logs["err"].read_text().splitlines() if line.strip()]
    admin = [line for line in lines if line.get("logger") == "assets.request" and line["path"] == "/admin/"]
    assert admin and admin[-1]["status"] == 200 and admin[-1]["user"] == user.pk


# ------------------------------------------------------------------------------------------------ deploy/

def test_the_systemd_units_verify_and_run_the_stack(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    units = []
    for name in ("assets-web.service", "assets-worker.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        for rule in ("Restart=on-failure", "User=assets", "EnvironmentFile=/etc/assets/assets.env",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "DJANGO_SETTINGS_MODULE=config.settings_production"):
            assert rule in text, (name, rule)
        (tmp_path / name).write_text(text.replace("/srv/assets", str(ROOT)))  # the paths of this checkout
        units.append(str(tmp_path / name))
    tally = (DEPLOY / "systemd" / "assets-alerts-tally.service").read_text()
    assert "manage.py alerts_tally" in tally and "User=assets" in tally and "NoNewPrivileges=yes" in tally
    for name in ("assets-alerts-tally.service", "assets-alerts-tally.timer"):
        (tmp_path / name).write_text((DEPLOY / "systemd" / name).read_text().replace("/srv/assets", str(ROOT)))
        units.append(str(tmp_path / name))
    assert "OnUnitInactiveSec=10min" in (DEPLOY / "systemd" / "assets-alerts-tally.timer").read_text()
    sessions = (DEPLOY / "systemd" / "assets-clearsessions.service").read_text()
    assert "manage.py clearsessions" in sessions and "User=assets" in sessions and "NoNewPrivileges=yes" in sessions
    for name in ("assets-clearsessions.service", "assets-clearsessions.timer"):
        (tmp_path / name).write_text((DEPLOY / "systemd" / name).read_text().replace("/srv/assets", str(ROOT)))
        units.append(str(tmp_path / name))
    assert "-c config/gunicorn.py config.wsgi:application" in (DEPLOY / "systemd" / "assets-web.service").read_text()
    assert "manage.py importers_worker" in (DEPLOY / "systemd" / "assets-worker.service").read_text()
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)  # noqa: S607
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    # and it does complain about a broken unit
    (tmp_path / "broken.service").write_text("[Service]\nExecStart=/nonexistent/gunicorn\nRestart=sometimes\n")
    broken = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "broken.service")], capture_output=True,  # noqa: S607
                            text=True, timeout=60)
    assert broken.returncode != 0 or broken.stderr.strip()


def nginx_binary() -> str:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light): the example is not checked here")
    return nginx


def nginx_config(tmp_path: Path, ports: tuple[int, int, int] | None = None) -> Path:
    """deploy/nginx/assets.conf inside a minimal nginx.conf of its own (a throw-away certificate, cache and temp
    folders under tmp_path); with `ports` (http, https, gunicorn's) listening on 127.0.0.1 and proxying to that
    gunicorn, to be run."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",  # noqa: S607
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / "assets.conf").read_text() \
        .replace("/etc/ssl/certs/assets.example.gov.cn.pem", str(tmp_path / "cert.pem")) \
        .replace("/etc/ssl/private/assets.example.gov.cn.key", str(tmp_path / "key.pem")) \
        .replace("/var/cache/nginx/assets_tiles", str(tmp_path / "tiles"))
    if ports:
        http, https, app = ports
        site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site).replace("listen 80;", f"listen 127.0.0.1:{http};") \
            .replace("listen 443 ssl", f"listen 127.0.0.1:{https} ssl").replace("127.0.0.1:8000", f"127.0.0.1:{app}")
    (tmp_path / "assets.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                               "scgi"))
    main = tmp_path / "nginx.conf"
    user = "user root;\n" if ports and os.geteuid() == 0 else ""  # the workers read the test's private folder
    main.write_text(f"{user}pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\nhttp {{\n"
                    f"    include /etc/nginx/mime.types;\n    access_log off;\n{temp}\n"
                    f"    include {tmp_path / 'assets.conf'};\n}}\n")
    return main


def test_the_nginx_example_parses(tmp_path):
    nginx = nginx_binary()
    main = nginx_config(tmp_path)
    result = subprocess.run([nginx, "-t", "-c", str(main), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    (tmp_path / "assets.conf").write_text((tmp_path / "assets.conf").read_text().replace("proxy_pass", "proxy_pas", 1))
    assert subprocess.run([nginx, "-t", "-c", str(main), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=60).returncode != 0


def nginx_body_limits() -> dict[str, int]:
    """client_max_body_size by location ("" for the server's own), in bytes."""
    limits, location = {}, ""
    for line in (DEPLOY / "nginx" / "assets.conf").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if match := re.match(r"location\s+(?:=\s*)?(\S+)\s*\{", line):
            location = match.group(1)
        elif line == "}":
            location = ""
        elif match := re.match(r"client_max_body_size\s+(\d+)([km]?);", line):
            limits[location] = int(match.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2)]
    return limits


def routes(resolver=None, prefix="/"):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def test_the_nginx_upload_limits_let_through_what_the_app_accepts_and_no_more():
    limits = nginx_body_limits()
    assert "" in limits and "/import/" in limits
    uploads = [(route, rule_of(view).body_bytes()) for route, view in routes() if rule_of(view)]
    assert uploads, "no upload route found"
    for route, body in uploads:
        location = max((loc for loc in limits if loc and route.startswith(loc)), key=len, default="")
        limit = limits[location]
        assert limit >= body, f"{route}: nginx allows {limit} bytes, the app accepts {body}"
    assert limits[""] >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE + FORM_OVERHEAD
    # no location allows more than the largest body its routes accept (+1 MB of rounding)
    for location, limit in limits.items():
        bodies = [body for route, body in uploads if (route.startswith(location) if location else True)]
        assert limit <= max(bodies) + 1024 * 1024, location


def https_request(port: int, method: str, path: str, headers: dict | None = None, *, tls: bool = True
                  ) -> tuple[int, dict, bytes]:
    """A request to nginx's HTTPS port (its throw-away certificate not verified; plain HTTP when not `tls`),
    headers only, redirects not followed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = (http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30) if tls
              else http.client.HTTPConnection("127.0.0.1", port, timeout=30))
    try:
        client.putrequest(method, path, skip_host=True, skip_accept_encoding="Accept-Encoding" in (headers or {}))
        for name, value in {"Host": "localhost", **(headers or {})}.items():
            client.putheader(name, value)
        client.endheaders()
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        client.close()


def test_nginx_in_front_of_make_serve(served, tmp_path):
    """The example config run for real in front of the stack: HTTPS to gunicorn with the request id, plain HTTP
    for /healthz only, no media from disk, the upload limit, and the public tile cache that never serves a
    logged-in user."""
    nginx = nginx_binary()
    app_port, _process, logs = served
    http_port, https_port = free_port(), free_port()
    main = nginx_config(tmp_path, (http_port, https_port, app_port))
    proxy = subprocess.Popen([nginx, "-c", str(main), "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),  # noqa: S603
                              "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if get(http_port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proxy.poll() is None and time.monotonic() < deadline, proxy.stderr.read() if proxy.stderr else ""
            time.sleep(0.2)
        status, headers, _body = https_request(https_port, "GET", "/")
        assert status == 200
        request_id = headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, passed to the app and back
        status, headers, _body = https_request(http_port, "GET", "/", tls=False)
        assert (status, headers["Location"]) == (301, "https://localhost/")  # plain HTTP: to HTTPS, but /healthz
        assert https_request(https_port, "GET", "/readyz")[0] == 200  # from the server itself
        assert https_request(https_port, "GET", "/media/verification/x.jpg")[0] == 404
        # pages and JSON compressed for a client that accepts it, plain for one that does not
        status, headers, body = https_request(https_port, "GET", "/", {"Accept-Encoding": "gzip"})
        assert (status, headers.get("Content-Encoding")) == (200, "gzip"), headers
        assert b"map-config" in gzip.decompress(body)
        assert "Content-Encoding" not in https_request(https_port, "GET", "/")[1]
        status, headers, body = https_request(https_port, "GET", "/api/v1/layers/", {"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip", (status, headers)
        assert json.loads(gzip.decompress(body))
        assert https_request(https_port, "POST", "/", {"Content-Length": str(122 * 1024 * 1024)})[0] == 413
        assert https_request(https_port, "POST", "/import/", {"Content-Length": str(202 * 1024 * 1024)})[0] == 413
        # (a 122 MB import is let through: nginx then waits for its body, which this test does not send)

        tile = "/tiles/assets/0/0/0.mvt"
        first = https_request(https_port, "GET", tile)
        second = https_request(https_port, "GET", tile)
        assert first[0] == second[0] == 200, first
        assert "public" in first[1]["Cache-Control"] and first[1].get("ETag")  # the app's, passed through
        assert (first[1]["X-Cache-Status"], second[1]["X-Cache-Status"]) == ("MISS", "HIT")
        logged_in = https_request(https_port, "GET", tile, {"Cookie": "sessionid=abc"})
        assert logged_in[1]["X-Cache-Status"] == "BYPASS"
        token = https_request(https_port, "GET", tile, {"Authorization": "Token abc"})
        assert token[1]["X-Cache-Status"] == "BYPASS"
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)
    time.sleep(0.3)
    lines = [json.loads(line) for line in logs["err"].read_text().splitlines() if line.strip()]
    assert [line["path"] for line in lines if line.get("request_id") == request_id] == ["/"]
