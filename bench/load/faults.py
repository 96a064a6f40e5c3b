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

import os
import signal
import time
from pathlib import Path
from urllib.parse import quote

from bench.load.runner import figures, locust_start, requests_read, serving, writes_check

# in-flight requests of a killed worker appear as failures up to this long after the kill (the client sees the
# connection reset at once; a request queued behind it waits for its timeout)
SETTLE_S = 5.0


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
        start = time.time()
        locust = locust_start(server, plan, out, users=users, seconds=seconds)
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


FAULTS = {"worker_kill": worker_kill}


def table(rows: list[dict]) -> str:
    lines = [f"  {'fault':12} {'ok':3} {'requests':>8} {'failed before/during/after':>27} {'lost':>4} {'dup':>4}  figure"]
    for r in rows:
        lines.append(f"  {r['fault']:12} {'yes' if r['ok'] else 'NO':3} {r['requests']:8d} "
                     f"{r['failed_before']:>9}/{r['failed_during']}/{r['failed_after']:<10} {r['lost']:4d} "
                     f"{r['duplicates']:4d}  {r['figure']}")
    return "\n".join(lines)

