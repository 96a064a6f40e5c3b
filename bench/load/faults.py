"""Faults under load, each a function (database URL, a folder, the plan, users) -> one row of the fault table:
what was done, its figure, the requests and failures before / during / after, the writes lost and duplicated, and
whether it was survived (`ok`). Run by `manage.py load` after the sustained run and, on the test database, by
tests/test_faults.py.

  worker_kill   SIGKILL one gunicorn worker mid-load: the master starts another; only the requests that worker
                had in flight may fail; every accepted write is in the database.
  media_full    the media folder on a full disk (a tmpfs of a few MB, filled): uploads answer 507 with Retry-After,
                nothing half-saved; room made again, uploads work again without a restart.
  import_stop   the import worker killed mid-import: nothing of the import written; the job requeued and finished
                by the worker started again."""

import contextlib
import csv
import datetime
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

from bench.load.runner import ROOT, figures, http_get, locust_start, requests_read, serving, users_started, writes_check

# in-flight requests of a killed worker appear as failures up to this long after the kill (the client sees the
# connection reset at once; a request queued behind it waits for its timeout)
SETTLE_S = 5.0
RAMP_S = 5  # the users' logins, before the load the faults strike into


def url_of(connection) -> str:
    """A Django connection's database as a URL, for the server's processes."""
    info = connection.get_connection_params()
    auth = quote(info.get("user", ""), safe="") + (":" + quote(info["password"], safe="") if info.get("password") else "")
    query = "&".join(f"{k}={quote(str(info[k]), safe='/')}" for k in ("host", "port") if info.get(k))
    return f"postgis://{auth}@/{quote(info['dbname'])}" + (f"?{query}" if query else "")


def _wait(predicate, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def _phases(out: Path, start: float, fault: float, back: float, end: float) -> dict:
    rows = requests_read(out, start + 3, end)
    before = [r for r in rows if r[0] < fault]
    during = [r for r in rows if fault <= r[0] < back]
    after = [r for r in rows if r[0] >= back]
    return {"requests": len(rows), "failed_before": sum(not r[4] for r in before),
            "failed_during": sum(not r[4] for r in during), "failed_after": sum(not r[4] for r in after),
            "statuses_during": sorted({r[5] for r in during if not r[4]}),
            "after": figures(after, max(end - back, 1)).as_dict()}


def worker_kill(database_url: str, folder: Path, *, plan: Path, users: int = 8, seconds: float = 30,
                workers: int | None = 2, threads: int | None = 2) -> dict:
    out = folder / "locust"
    with serving(database_url, folder / "server", workers=workers, threads=threads) as server:
        master, before = server.gunicorn()
        locust = locust_start(server, plan, out, users=users, seconds=seconds + RAMP_S)
        start = users_started(out, users)
        time.sleep(seconds / 3)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.time()
        replaced = _wait(lambda: (lambda w: len(w) == len(before) and victim not in w)(server.gunicorn()[1]), 30)
        respawn_s = time.time() - killed
        locust.wait(timeout=seconds + 120)
        end = time.time()
        master_after, after = server.gunicorn()
    back = killed + respawn_s + SETTLE_S
    row = {"fault": "worker_kill", "done": f"SIGKILL gunicorn worker {victim} at {killed - start:.0f} s",
           "respawn_s": round(respawn_s, 2), "workers": [len(before), len(after)],
           "master_kept": master == master_after, **_phases(out, start, killed, back, end), **writes_check(out)}
    in_flight = (threads or 4)  # the killed worker's threads: at most that many requests were in it
    row["ok"] = bool(replaced and row["master_kept"] and row["failed_before"] == 0 and row["failed_after"] == 0
                     and row["failed_during"] <= in_flight and row["lost"] == 0 and row["duplicates"] == 0)
    row["figure"] = (f"new worker in {respawn_s:.1f} s; {row['failed_during']} in-flight request(s) failed, "
                     f"0 after: {row['failed_after'] == 0}")
    return row


def _multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="site.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def verification_post(server, plan: dict, client_id: str) -> tuple[int, dict, dict]:
    """One verification with a photo, as a phone sends it (the verifier's token)."""
    asset = plan["assets"][0]
    body, content_type = _multipart({
        "asset_code": asset["code"], "finding": "intact", "lon": asset["lon"], "lat": asset["lat"], "accuracy_m": 5,
        "observed_at": datetime.datetime.now(datetime.UTC).isoformat(), "client_id": client_id,
        "note": "load probe"}, Path(plan["photo"]).read_bytes())
    request = urllib.request.Request(  # noqa: S310 - a local URL
        server.url + "/api/v1/verifications/", data=body, method="POST", headers={
        "Content-Type": content_type, "Authorization": f"Token {plan['accounts']['load-verifier']['token']}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - a local URL
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def _media_consistent(media: Path, since: float) -> dict:
    """Every photo row received since then has its three files, whole; no photo file lies there without its row."""
    from verification.models import Photo

    referenced, missing = set(), 0
    received = datetime.datetime.fromtimestamp(since, tz=datetime.UTC)
    for photo in Photo.objects.filter(verification__received_at__gte=received):
        for field_file in (photo.original, photo.public, photo.thumbnail):
            path = media / field_file.name
            referenced.add(path)
            missing += not (path.is_file() and path.stat().st_size > 0)
    on_disk = {p for p in (media / "verification").rglob("*") if p.is_file()} if (media / "verification").exists() else set()
    return {"photo_files_missing": missing, "orphan_files": len(on_disk - referenced)}


def media_full(database_url: str, folder: Path, *, plan: Path, users: int = 8, seconds: float = 30,
               size_mb: int = 48) -> dict:
    """The media folder on a tmpfs of `size_mb` (root only: mount), filled to the last byte a third of the way
    in, emptied again at two thirds."""
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(media)],  # noqa: S603, S607
                   check=True, capture_output=True)
    out, details = folder / "locust", json.loads(plan.read_text(encoding="utf-8"))
    try:
        with serving(database_url, folder / "server", media_root=media) as server:
            launched = time.time()
            locust = locust_start(server, plan, out, users=users, seconds=seconds + RAMP_S)
            start = users_started(out, users)
            time.sleep(seconds / 3)
            full = time.time()  # uploads may fail from the moment the filling begins
            filler = media / "filler"
            with open(filler, "wb") as f, contextlib.suppress(OSError):  # ENOSPC: full
                while True:
                    f.write(b"\0" * 65536)
            with contextlib.suppress(OSError):
                with open(filler, "ab") as f:
                    while True:
                        f.write(b"\0")
                        f.flush()
            probe_id = str(uuid.uuid4())
            during = verification_post(server, details, probe_id)
            ready_during = http_get(server.url + "/readyz")
            time.sleep(max(0.0, start + 2 * seconds / 3 - time.time()))
            filler.unlink()
            freed = time.time()
            again = _wait(lambda: (lambda r: r if r[0] in (200, 201) else None)(
                verification_post(server, details, probe_id)), 30, every=0.5)
            back_s = time.time() - freed
            locust.wait(timeout=seconds + 120)
            end = time.time()
        phases = _phases(out, start, full, freed, end)
        rows = requests_read(out, full, freed)
        failed_groups = sorted({r[2] for r in rows if not r[4]})
        row = {"fault": "media_full", "done": f"media tmpfs filled at {full - start:.0f} s, freed at {freed - start:.0f} s",
               **phases, "failed_groups_during": failed_groups,
               "probe_during": [during[0], during[1].get("Retry-After"), during[2].get("detail", "")],
               "readyz_during": [ready_during[0], json.loads(ready_during[2] or b"{}").get("checks", {}).get("media_disk")],
               "probe_after": again[0] if again else None, "back_s": round(back_s, 2),
               **_media_consistent(media, launched - 1), **writes_check(out)}
    finally:
        subprocess.run(["umount", "-l", str(media)], check=False, capture_output=True)  # noqa: S603, S607
    from verification.models import Verification

    row["probe_records"] = Verification.objects.filter(client_id=probe_id).count()
    row["ok"] = bool(during[0] == 507 and during[1].get("Retry-After") and row["probe_after"] == 201
                     and row["probe_records"] == 1 and set(row["statuses_during"]) <= {507}
                     and set(failed_groups) <= {"verification"} and row["failed_before"] == 0
                     and row["failed_after"] == 0 and row["photo_files_missing"] == 0 and row["orphan_files"] == 0
                     and row["lost"] == 0 and row["duplicates"] == 0)
    row["figure"] = (f"uploads 507 + Retry-After {during[1].get('Retry-After')} while full ({phases['failed_during']}"
                     f" refused), other requests served; uploads back {back_s:.1f} s after room was made")
    return row


def _import_file(path: Path, plan: dict, rows: int, tag: str) -> None:
    """A ledger of `rows` wells beside the plan's assets (so inside the load accounts' county)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["资产名称", "资产类型", "资产类别", "资金来源", "投资金额（万元）", "经度", "纬度"])
        for i in range(rows):
            asset = plan["assets"][i % len(plan["assets"])]
            out.writerow([f"{tag}-{i}", "供水饮水", "公益性资产", "中央财政专项扶贫资金:10", "10",
                          round(asset["lon"] + (i % 7) * 0.0001, 6), round(asset["lat"] + (i % 5) * 0.0001, 6)])


def _worker_start(server, folder: Path) -> subprocess.Popen:
    """The import worker as its own process (its own systemd unit on a server), with the web's settings."""
    log = open(folder / "worker.log", "ab")  # noqa: SIM115
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "importers_worker",  # noqa: S603
                             "--sleep", "0.5"], cwd=ROOT, env=server.env, stdout=log, stderr=log,
                            start_new_session=True)


def import_stop(database_url: str, folder: Path, *, plan: Path, users: int = 4, seconds: float = 40,
                rows: int = 4000) -> dict:
    """The web without its worker (IMPORT_WORKER=off) under load; a worker of its own takes an import of `rows`
    rows and is killed (SIGKILL) while it writes them; a new worker is started."""
    from django.contrib.auth import get_user_model

    from geo_assets.models import Asset
    from importers.models import ImportJob

    out, details = folder / "locust", json.loads(plan.read_text(encoding="utf-8"))
    tag = f"负载导入{uuid.uuid4().hex[:6]}"
    with serving(database_url, folder / "server", extra_env={"IMPORT_WORKER": "off"}) as server:
        start = time.time()
        locust = locust_start(server, plan, out, users=users, seconds=seconds)
        media = Path(server.env["MEDIA_ROOT"])
        job = ImportJob.objects.create(user=get_user_model().objects.get(username="load-clerk"), original_name=f"{tag}.csv",
                                       status=ImportJob.Status.PENDING_IMPORT, skip_invalid=True)
        stored = media / "imports" / str(job.pk) / f"{tag}.csv"
        stored.parent.mkdir(parents=True, exist_ok=True)
        _import_file(stored, details, rows, tag)
        ImportJob.objects.filter(pk=job.pk).update(stored_path=str(stored), size=stored.stat().st_size)
        progress = stored.parent / "progress.json"

        def writing():
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(progress.read_text(encoding="utf-8"))
                return state if state.get("phase") == "write" and 0 < state["done"] < state["total"] else None
            return None

        worker = _worker_start(server, folder)
        state = _wait(writing, 120, every=0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        killed = time.time()
        time.sleep(1)
        job.refresh_from_db()
        status_after_kill = job.status
        written_after_kill = Asset.objects.filter(name__startswith=f"{tag}-").count()
        restarted = time.time()
        worker = _worker_start(server, folder)
        done = _wait(lambda: ImportJob.objects.filter(pk=job.pk, status__in=[ImportJob.Status.DONE,
                                                                             ImportJob.Status.FAILED]).first(), 180, 0.5)
        resumed_s = time.time() - restarted
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
        locust.wait(timeout=seconds + 120)
        end = time.time()
    job.refresh_from_db()
    imported = Asset.objects.filter(name__startswith=f"{tag}-").count()
    row = {"fault": "import_stop", "done": f"SIGKILL import worker at {killed - start:.0f} s, "
                                           f"{(state or {}).get('done')}/{rows} rows being written",
           "killed_mid_write": bool(state), "status_after_kill": status_after_kill,
           "written_after_kill": written_after_kill, "status": job.status, "message": job.message,
           "imported": imported, "rows": rows, "resumed_s": round(resumed_s, 1),
           **_phases(out, start, killed, killed, end), **writes_check(out)}
    row["ok"] = bool(state and done and written_after_kill == 0 and job.status == ImportJob.Status.DONE
                     and imported == rows and row["failed_before"] + row["failed_after"] == 0
                     and row["lost"] == 0 and row["duplicates"] == 0)
    row["figure"] = (f"{written_after_kill} rows written by the killed import; the new worker requeued it and "
                     f"imported {imported}/{rows} in {resumed_s:.1f} s")
    return row


def db_restart(database_url: str, folder: Path, *, plan: Path, users: int = 8, seconds: float = 30,
               down_s: float = 5) -> dict:
    """A private cluster (bench/load/cluster.py) holding a copy of the database; the stack served from it under
    load; the cluster stopped (fast: connections cut) a third of the way in, started again `down_s` later."""
    from django.conf import settings
    from django.db import connection

    from bench.load.cluster import PrivateCluster

    cluster = PrivateCluster().create()
    try:
        info = connection.get_connection_params()
        owner = (getattr(settings, "DATABASE_OWNER", None) or {}).get("USER") or info.get("user", "")
        cluster.copy_from(host=info.get("host", ""), port=info.get("port", 5432), database=info["dbname"], owner=owner)
        out, details = folder / "locust", json.loads(plan.read_text(encoding="utf-8"))
        with serving(cluster.url(), folder / "server") as server:
            locust = locust_start(server, plan, out, users=users, seconds=seconds + RAMP_S)
            start = users_started(out, users)
            time.sleep(seconds / 3)
            stopped = time.time()  # requests fail from the moment the shutdown begins
            cluster.stop("fast")
            probe_id = str(uuid.uuid4())
            during = verification_post(server, details, probe_id)
            ready_during = http_get(server.url + "/readyz")
            page_during = http_get(server.url + "/")
            time.sleep(max(0.0, stopped + down_s - time.time()))
            cluster.start()
            started = time.time()
            again = _wait(lambda: (lambda r: r if r[0] in (200, 201) else None)(
                verification_post(server, details, probe_id)), 60, every=0.5)
            back_s = time.time() - started
            locust.wait(timeout=seconds + 120)
            end = time.time()

        def query(sql, values):
            text = cluster.psql("-F", "\t", "-c", sql, database="assets")
            return [tuple(line.split("\t")) for line in text.splitlines() if line]

        probe_records = len(query(f"SELECT id FROM verification_verification WHERE client_id = '{probe_id}'", ()))  # noqa: S608 - our uuid4
        phases = _phases(out, start, stopped, started + back_s + SETTLE_S, end)
        row = {"fault": "db_restart", "done": f"private cluster stopped at {stopped - start:.0f} s for {down_s:.0f} s",
               **phases, "probe_during": [during[0], during[1].get("Retry-After"), during[2].get("detail", "")],
               "readyz_during": [ready_during[0], json.loads(ready_during[2] or b"{}").get("checks", {}).get("database")],
               "page_during": [page_during[0], page_during[1].get("Retry-After")],
               "probe_after": again[0] if again else None, "back_s": round(back_s, 2), "probe_records": probe_records,
               **writes_check(out, query)}
    finally:
        cluster.remove()
    row["ok"] = bool(during[0] == 503 and during[1].get("Retry-After") and row["probe_after"] == 201
                     and probe_records == 1 and set(row["statuses_during"]) <= {503}
                     and row["failed_before"] == 0 and row["failed_after"] == 0
                     and row["lost"] == 0 and row["duplicates"] == 0)
    row["figure"] = (f"503 + Retry-After {during[1].get('Retry-After')} while down ({phases['failed_during']} "
                     f"refused); served again {back_s:.1f} s after the database was back")
    return row


FAULTS = {"worker_kill": worker_kill, "media_full": media_full, "import_stop": import_stop, "db_restart": db_restart}
UNDER_MAKE_LOAD = ("worker_kill", "media_full", "import_stop")  # db_restart would copy the province (tests: test db)


def not_run(name: str, exc: Exception) -> dict:
    return {"fault": name, "ok": False, "requests": 0, "failed_before": 0, "failed_during": 0, "failed_after": 0,
            "lost": 0, "duplicates": 0, "figure": f"not run: {type(exc).__name__}: {str(exc)[:200]}"}


def table(rows: list[dict]) -> str:
    lines = [f"  {'fault':12} {'ok':3} {'requests':>8} {'failed before/during/after':>27} {'lost':>4} {'dup':>4}  figure"]
    for r in rows:
        lines.append(f"  {r['fault']:12} {'yes' if r['ok'] else 'NO':3} {r['requests']:8d} "
                     f"{r['failed_before']:>9}/{r['failed_during']}/{r['failed_after']:<10} {r['lost']:4d} "
                     f"{r['duplicates']:4d}  {r['figure']}")
    return "\n".join(lines)

