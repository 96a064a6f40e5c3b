"""The backup drill (issue 20): point-in-time recovery of the database and the media, measured.

A private cluster made by scripts/localdb.sh (LOCALDB_VAR, LOCALDB_PORT: a temp folder and a free port, never the
shared cluster on 54329), migrated as `make migrate` does, archived by pgBackRest into its own repository through
scripts/backup.py — the code `make backup` / `make restore` / `make backup-check` run, given --var. A small county is
written through the factories and services in three rounds, each in a Django process of its own against that cluster:

    A  assets, verifications with photos, a handover letter, maintenance photos, a paper notice and its PDF
       -> backup.py backup (base backup + media snapshot)
    B  more of the same (in the WAL and in MEDIA_ROOT only: no base backup, no media snapshot after it)
       -> T
    C  more of the same
       -> backup.py restore T --into-var (another folder, another port)

The restored cluster must hold exactly the rows it held at T (every table's content hashed, A and B in, C out), the
restored media exactly the files of T byte for byte (sha256), and serve: gunicorn and the import worker against it,
/readyz 200, a login, an asset page of round B and a photo of round A, served, equal to what was uploaded.
Figures (RPO: the archive lag of the last commit; RTO: restore + start) are printed: `pytest tests/test_backup.py -s`.
"""

import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "scripts" / "backup.py"
BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1] \
    if Path("/usr/lib/postgresql").exists() else None
ARCHIVE_TIMEOUT = 5  # the drill's archive_timeout (the local cluster's: 60 s): its bound on the archive lag
ROUNDS = {"A": (8, 3), "B": (5, 2), "C": (4, 2)}  # assets, verifications with a photo


# ------------------------------------------------------------------------------------------------ the writer

def drill_write(round_name: str) -> None:
    """One round of writes, in a Django process against the drill's cluster (DATABASE_URL, MEDIA_ROOT): prints the
    asset codes, photo ids and media names it made, as JSON."""
    import datetime
    from decimal import Decimal

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from geo_assets.models import AdminArea, Asset
    from geo_assets.taxonomy import AssetType, Role
    from lifecycle import services as lifecycle_services
    from tests import factories as f
    from verification.models import Photo

    seed = {"A": 100, "B": 200, "C": 300}[round_name]
    if round_name == "A":
        areas = f.make_areas()
        admin = f.make_admin()
        f.make_user("verifier", Role.VILLAGE, area=areas.west_south)
    village = AdminArea.objects.get(code="410324101001")
    admin = get_user_model().objects.get(username="county")
    verifier = get_user_model().objects.get(username="verifier")
    n_assets, n_verified = ROUNDS[round_name]
    today = datetime.date.today()
    assets = [f.make_asset(actor=admin, area=village, name=f"演练{round_name}{i}",
                           asset_type=AssetType.HEALTH if i % 2 else AssetType.ROAD) for i in range(n_assets)]
    assets = [Asset.objects.get(pk=asset.pk) for asset in assets]  # with their derived location
    photos = []
    for i, asset in enumerate(assets[:n_verified]):
        verification = f.record(verifier, asset, photo_seed=seed + i)
        photos += list(Photo.objects.filter(verification=verification).values_list("pk", flat=True))
    pdf = b"%PDF-1.4\n% drill " + round_name.encode() + b"\n%%EOF\n"
    lifecycle_services.handover_record(actor=admin, asset=assets[0], signed_on=today, handed_over_by="镇",
                                       received_by="村", custodian="村委会", scan=(f"{round_name}.pdf", pdf))
    lifecycle_services.maintenance_record(
        actor=admin, asset=assets[1], done_on=today, kind="repair", cost=Decimal("0.2"), done_by="村委会",
        description=f"演练{round_name}", photos=[(f"m{round_name}{k}.jpg", f.photo(seed + 50 + k)) for k in range(2)])
    notice = f.paper_notice(actor=admin, stage="inventory", scope="village_board", area=village,
                            starts_on=today - datetime.timedelta(days=20 + seed % 7),
                            ends_on=today - datetime.timedelta(days=10), title=f"演练公示{round_name}")
    generated = Client(HTTP_HOST="localhost").get(f"/notices/{notice.token}.pdf")  # the notice PDF, kept in media
    assert generated.status_code == 200, generated.status_code
    print(json.dumps({"assets": [a.code for a in assets], "photos": photos}))


# ------------------------------------------------------------------------------------------------ helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_pg(cmd: list) -> list:
    return ["runuser", "-u", "postgres", "--", *map(str, cmd)] if os.geteuid() == 0 else list(map(str, cmd))


def psql(var: Path, port: int, sql: str, database: str = "assets") -> str:
    result = subprocess.run(as_pg([BIN / "psql", "-h", var / "run", "-p", port, "-U", "postgres", "-d", database,
                                   "-v", "ON_ERROR_STOP=1", "-qtAX", "-c", sql]), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def database_fingerprint(var: Path, port: int) -> dict:
    """Every table of the schema: its row count and the md5 of its rows (as text, sorted)."""
    # unlogged tables (the shared cache, config/cache) are empty after a crash or a restore, by design
    tables = psql(var, port, "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                  "where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relpersistence = 'p' "
                  "order by 1").split()
    row = "select '{0}', count(*), coalesce(md5(string_agg(r::text, E'\\n' order by r::text)), '') from public.\"{0}\" r"
    sql = " union all ".join(row.format(t) for t in tables)  # the schema's own table names
    return {name: (int(count), digest) for name, count, digest in
            (line.split("|") for line in psql(var, port, sql).splitlines())}


def media_fingerprint(media: Path) -> dict:
    return {p.relative_to(media).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(media.rglob("*")) if p.is_file()}


def backup_py(var: Path, port: int, *args: str, env: dict) -> tuple[str, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(BACKUP), "--var", str(var), "--port", str(port), *args],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, time.monotonic() - started


def figures_of(output: str) -> dict:
    return json.loads(re.search(r"^figures (.*)$", output, re.M).group(1))


def wait_archived(var: Path, port: int, lsn: str, timeout: float = 120) -> None:
    """Until the WAL segment holding `lsn` is in the repository (pg_stat_archiver)."""
    segment = psql(var, port, f"select pg_walfile_name('{lsn}')")
    deadline = time.monotonic() + timeout
    while psql(var, port, "select coalesce(last_archived_wal, '') from pg_stat_archiver") < segment:
        assert time.monotonic() < deadline, f"{segment} not archived after {timeout} s"
        time.sleep(0.05)


class Served:
    """gunicorn and the import worker (what `make serve` runs) against the restored cluster."""

    def __init__(self, env: dict, port: int):
        self.port = port
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "2",
                              "config.wsgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True),
            subprocess.Popen([sys.executable, "manage.py", "importers_worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True),
        ]
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, data: dict | None = None, **headers) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=120) as response:  # a loaded machine: slow, not broken
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_ready(self, timeout: float = 180) -> float:
        started = time.monotonic()
        while True:
            try:
                status, _ = self.get("/readyz")
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            assert self.processes[0].poll() is None, self.processes[0].stderr.read().decode()[-2000:]
            assert time.monotonic() - started < timeout, "/readyz not 200 in time"
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


# ------------------------------------------------------------------------------------------------ the drill

@pytest.fixture
def drill_folder():
    """A temp folder the postgres user can reach; both clusters in it are stopped and it is deleted afterwards."""
    if shutil.which("pgbackrest") is None or BIN is None:
        pytest.fail("pgbackrest / PostgreSQL not installed: scripts/sysdeps.sh installs them (make sysdeps)")
    folder = Path(tempfile.mkdtemp(prefix="assets-drill-"))
    folder.chmod(0o755)
    yield folder
    for data in folder.glob("*/pgdata"):
        subprocess.run(as_pg([BIN / "pg_ctl", "-D", data, "stop", "-m", "immediate"]), capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_backup_drill_restores_to_a_point_in_time_byte_for_byte_and_serves(drill_folder):
    clock = time.monotonic()
    var, restored = drill_folder / "var", drill_folder / "restored"
    port, restored_port, web_port = free_port(), free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PYTEST_", "TEST_DATABASE"))}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT))

    def django_env(where: Path, at_port: int) -> dict:
        url = f"postgis://assets@/assets?host={where / 'run'}&port={at_port}"
        return {**base, "DATABASE_URL": url, "DATABASE_OWNER_URL": url.replace("assets@", "assets_owner@", 1),
                "MEDIA_ROOT": str(where / "media"), "WORKER_HEARTBEAT_FILE": str(where / "worker-heartbeat")}

    env = django_env(var, port)

    def write(round_name: str) -> dict:
        result = subprocess.run([sys.executable, "-c", f"from tests.test_backup import drill_write; "
                                 f"drill_write({round_name!r})"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    # the private cluster, as scripts/localdb.sh makes the local one (archiving on), migrated
    made = subprocess.run(["bash", str(ROOT / "scripts" / "localdb.sh")], capture_output=True, text=True,  # noqa: S607
                          env={**base, "LOCALDB_VAR": str(var), "LOCALDB_PORT": str(port),
                               "BACKUP_ARCHIVE_TIMEOUT": str(ARCHIVE_TIMEOUT)}, timeout=300)
    assert made.returncode == 0, made.stderr
    assert psql(var, port, "show archive_mode") == "on"
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    setup_s = time.monotonic() - clock

    a = write("A")
    backup_out, backup_s = backup_py(var, port, "backup", env=env)
    assert re.search(r"database: full backup \S+F in", backup_out), backup_out
    at_backup = media_fingerprint(var / "media")
    b = write("B")
    time.sleep(0.05)
    at_t = {"db": database_fingerprint(var, port), "media": media_fingerprint(var / "media")}
    target = psql(var, port, "select clock_timestamp()")
    time.sleep(0.05)
    c = write("C")
    # RPO: a commit's WAL record (a transactional message: no table changes), until its segment is archived
    last_commit = time.monotonic()
    wait_archived(var, port, psql(var, port, "select pg_logical_emit_message(true, 'drill', 'rpo')"))
    archive_lag_s = time.monotonic() - last_commit
    archived, failed = psql(var, port, "select archived_count, failed_count from pg_stat_archiver").split("|")
    after_c = {"db": database_fingerprint(var, port), "media": media_fingerprint(var / "media")}

    restore_out, _ = backup_py(var, port, "restore", target, "--into-var", str(restored), "--into-port",
                               str(restored_port), env=env)
    figures = figures_of(restore_out)

    # the rows of T, all of them, and nothing else; the media of T, byte for byte
    assert database_fingerprint(restored, restored_port) == at_t["db"]
    codes = set(psql(restored, restored_port, "select code from geo_assets_asset").split())
    assert set(a["assets"]) | set(b["assets"]) <= codes
    assert not set(c["assets"]) & codes
    restored_media = media_fingerprint(restored / "media")
    assert restored_media == at_t["media"]
    written_after = set(after_c["media"]) - set(at_t["media"])
    assert written_after and not written_after & set(restored_media)
    # round B's files: written after the base backup and its media snapshot, restored all the same
    assert set(at_t["media"]) - set(at_backup)

    # the restored system serves
    serve_started = time.monotonic()
    served = Served(django_env(restored, restored_port), web_port)
    try:
        ready_s = served.wait_ready()
        status, page = served.get("/admin/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, _ = served.get("/admin/login/", {"csrfmiddlewaretoken": token, "username": "county",
                                                 "password": "pw-county", "next": "/"},
                               Referer=f"http://127.0.0.1:{web_port}/admin/login/")
        assert status == 200
        status, page = served.get(f"/assets/{b['assets'][0]}/")
        assert status == 200 and b["assets"][0].encode() in page
        assert served.get(f"/assets/{c['assets'][0]}/")[0] == 404
        status, original = served.get(f"/field/photos/{a['photos'][0]}/original")
        assert status == 200
        assert hashlib.sha256(original).hexdigest() in at_t["media"].values()
    finally:
        served.stop()
    smoke_s = time.monotonic() - serve_started

    check_out, check_s = backup_py(var, port, "check", env=env)
    assert "backup check: ok" in check_out

    # `make restore` without TARGET: in place, to the end of the archive; the old folders kept aside; the media
    # owned by the media folder's owner (on a server the application's user, not root who restores)
    if os.geteuid() == 0:
        os.chown(var / "media", 65534, 65534)
    latest_out, _ = backup_py(var, port, "restore", env=env)
    if os.geteuid() == 0:
        assert {p.stat().st_uid for p in [var / "media", *(var / "media").rglob("*")]} == {65534}
    assert database_fingerprint(var, port) == after_c["db"]
    assert media_fingerprint(var / "media") == after_c["media"]
    kept = sorted(p.name.split(".")[0] for p in var.glob("*.before-restore-*"))
    assert kept == ["media", "pgdata"], latest_out
    assert psql(var, port, "select pg_is_in_recovery()") == "f"
    latest = figures_of(latest_out)
    rows = sum(count for count, _ in at_t["db"].values())
    print(f"\nbackup drill: {len(a['assets']) + len(b['assets'])} assets, {rows} rows in {len(at_t['db'])} tables and "
          f"{len(at_t['media'])} media files at T; {len(c['assets'])} assets and {len(written_after)} files after T")
    print(f"  set-up (cluster + migrate) {setup_s:.1f} s; base backup + media snapshot {backup_s:.1f} s")
    print(f"  RPO: archive lag of the last commit {archive_lag_s:.1f} s (archive_timeout {ARCHIVE_TIMEOUT} s here, "
          f"60 s on the local cluster); {archived} segments archived, {failed} failed attempts")
    print(f"  RTO: {figures['rto_s']:.1f} s = database restore {figures['db_restore_s']:.1f} s + media "
          f"{figures['media_restore_s']:.2f} s + start and promote {figures['start_promote_s']:.1f} s (+ snapshot "
          f"and checks); serving (/readyz 200) {ready_s:.1f} s later, smoke test {smoke_s:.1f} s")
    print(f"  backup-check {check_s:.1f} s; restore in place to the latest: RTO {latest['rto_s']:.1f} s; "
          f"drill {time.monotonic() - clock:.1f} s")
    steps = re.compile(r"interrupted|starting point-in-time|consistent recovery|recovery stopping|ready to accept conn")
    log = (restored / "log" / "postgresql.log").read_text(errors="replace").splitlines()
    print("  the restored cluster's start:\n" + "\n".join(f"    {line[11:23]} {line.split('LOG:  ')[-1][:70]}"
                                                       for line in log if steps.search(line)))


def test_a_cluster_made_before_archiving_gets_it_with_one_restart_said(drill_folder):
    """scripts/localdb.sh on an existing cluster sets the archive_command with a reload and never restarts it;
    the first backup restarts it once (archive_mode), says so, and the next backup neither restarts nor takes a full."""
    var, port = drill_folder / "var", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    localdb = ["bash", str(ROOT / "scripts" / "localdb.sh")]
    env_db = {**env, "LOCALDB_VAR": str(var), "LOCALDB_PORT": str(port)}
    assert subprocess.run(localdb, env=env_db, capture_output=True, timeout=300).returncode == 0
    # as a cluster made before: no archiving (postgresql.auto.conf overrides postgresql.conf)
    psql(var, port, "alter system set archive_mode = off", "postgres")
    psql(var, port, "alter system set archive_command = ''", "postgres")
    subprocess.run(as_pg([BIN / "pg_ctl", "-D", var / "pgdata", "-w", "restart", "-m", "fast", "-l",
                          var / "log" / "postgresql.log"]), check=True, capture_output=True)
    started = psql(var, port, "select pg_postmaster_start_time()", "postgres")

    again = subprocess.run(localdb, env=env_db, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "WAL archiving command set" in again.stderr and "archive_mode turns on at its next restart" in again.stderr
    assert psql(var, port, "select setting from pg_file_settings where name = 'archive_command' order by seqno desc "
                "limit 1", "postgres").endswith("archive-push %p")
    assert psql(var, port, "show archive_mode", "postgres") == "off"
    third = subprocess.run(localdb, env=env_db, capture_output=True, text=True, timeout=300)
    assert "WAL archiving command set" not in third.stderr  # set once
    assert psql(var, port, "select pg_postmaster_start_time()", "postgres") == started  # reloaded, not restarted

    first, _ = backup_py(var, port, "backup", env=env)
    assert "archive_mode is off; restarting the cluster" in first
    assert "full backup" in first
    assert psql(var, port, "show archive_mode", "postgres") == "on"
    assert psql(var, port, "show archive_command", "postgres").endswith("archive-push %p")
    restarted = psql(var, port, "select pg_postmaster_start_time()", "postgres")
    assert restarted != started
    second, _ = backup_py(var, port, "backup", env=env)
    assert "restarting" not in second and "diff backup" in second, second
    assert psql(var, port, "select pg_postmaster_start_time()", "postgres") == restarted


def test_the_backup_units_verify_and_run_the_script(tmp_path):
    """deploy/systemd's backup units: a daily backup and check, a media snapshot every minute, both through
    scripts/backup.py with the server's settings (deploy/backup.env.example)."""
    names = ("assets-backup.service", "assets-backup.timer", "assets-media-backup.service", "assets-media-backup.timer")
    for name in names:
        (tmp_path / name).write_text((ROOT / "deploy" / "systemd" / name).read_text().replace("/srv/assets", str(ROOT)))
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in names)],  # noqa: S607
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    backup = (ROOT / "deploy" / "systemd" / "assets-backup.service").read_text()
    assert "scripts/backup.py backup" in backup and "scripts/backup.py check" in backup
    assert "scripts/backup.py media-push" in (ROOT / "deploy" / "systemd" / "assets-media-backup.service").read_text()
    settings = dict(line.split("=", 1) for line in (ROOT / "deploy" / "backup.env.example").read_text().splitlines()
                    if line and not line.startswith("#"))
    assert {"BACKUP_PGDATA", "BACKUP_PGSOCKET", "PGPORT", "BACKUP_SERVICE", "BACKUP_REPO"} <= set(settings)


def load_backup_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("backup_script", BACKUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_media_snapshots_give_each_file_as_of_a_moment_and_expire_with_the_backups(tmp_path):
    """scripts/backup.py's media part alone: a file as of T is the version written (mtime) at or before T, whether a
    snapshot was taken between or only after; deleted files leave later states; retention keeps the snapshot that
    holds the state at the oldest backup and every object a kept snapshot names."""
    backup = load_backup_module()
    media = tmp_path / "media"
    repo = backup.Repo(tmp_path / "repo", media, 2)
    (media / "a").mkdir(parents=True)

    def write(name: str, content: bytes, at_ns: int) -> None:
        (media / name).write_bytes(content)
        os.utime(media / name, ns=(at_ns, at_ns))

    s = 10**18  # moments, ns since the epoch
    write("a/one.jpg", b"one v1", s + 1)
    write("a/gone.pdf", b"gone", s + 2)
    first = backup.media_push(repo)
    assert (first["files"], first["copied"], first["manifest"]) == (2, 2, True)
    assert backup.media_push(repo)["manifest"] is False  # nothing changed: no new snapshot
    t1 = time.time_ns()
    write("a/one.jpg", b"one v2", t1 + 10)  # rewritten after t1
    write("b.png", b"bee", t1 + 5)  # new after t1
    (media / "a" / "gone.pdf").unlink()
    t2 = t1 + 7  # between the two writes
    second = backup.media_push(repo)
    assert (second["files"], second["copied"]) == (2, 2)

    def content(state: dict) -> dict:
        return {name: backup.object_path(repo, entry[0]).read_bytes() for name, entry in state.items()}

    assert content(backup.media_state(repo, s)) == {}  # before the first snapshot
    assert content(backup.media_state(repo, t1)) == {"a/one.jpg": b"one v1", "a/gone.pdf": b"gone"}
    # the second snapshot was taken after t2: what it holds written by t2 is added, the deleted file kept
    assert content(backup.media_state(repo, t2)) == {"a/one.jpg": b"one v1", "a/gone.pdf": b"gone", "b.png": b"bee"}
    assert content(backup.media_state(repo, None)) == {"a/one.jpg": b"one v2", "b.png": b"bee"}
    restored = backup.media_restore(repo, backup.media_state(repo, t2), tmp_path / "restored")
    assert restored["files"] == 3 and (tmp_path / "restored" / "a" / "gone.pdf").read_bytes() == b"gone"
    assert (tmp_path / "restored" / "b.png").stat().st_mtime_ns == t1 + 5
    # a damaged object is found by the check, and refused by a restore
    assert backup.media_verify(repo) == (4, [])
    damaged = backup.object_path(repo, backup.media_state(repo, None)["b.png"][0])
    damaged.chmod(0o644)
    damaged.write_bytes(b"bit rot")
    assert backup.media_verify(repo)[1] == [f"damaged {damaged.name}"]
    with pytest.raises(SystemExit):
        backup.media_restore(repo, backup.media_state(repo, None), tmp_path / "again")
    # retention: the oldest backup kept started after the second snapshot; the first goes with its own objects
    third_at = time.time_ns()
    write("c.txt", b"sea", third_at)
    backup.media_push(repo)
    assert backup.media_expire(repo, third_at + 1) == 2  # "one v1" and "gone": in the first snapshot only
    assert len(backup.manifest_list(repo)) == 2
    assert set(content(backup.media_state(repo, None))) == {"a/one.jpg", "b.png", "c.txt"}
