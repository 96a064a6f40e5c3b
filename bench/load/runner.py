"""The load test's harness: `make serve`'s stack (scripts/serve_production.sh) on a free port against a database,
Locust (bench/load/locustfile.py) as a child process at a number of users, the requests it logged read back into
figures (rate, p95 by group, errors), the peak resident memory of gunicorn and its workers, and the writes the
server accepted checked against the database. Used by `manage.py load` (`make load`), bench/load/faults.py and the
tests (tests/test_load.py, tests/test_faults.py)."""

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
TILE_P95_MS = 500.0
# One client address sends everything: the per-address limits would measure themselves, not the server.
UNLIMITED = {"API_RATE_ANON": "10000000/hour", "API_RATE_USER": "10000000/hour", "PAGE_RATE_ANON": "10000000/hour",
             "PAGE_RATE_USER": "10000000/hour", "EXPORT_RATE_ANON": "10000000/hour",
             "EXPORT_RATE_USER": "10000000/hour"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a local URL
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@dataclass
class Server:
    """scripts/serve_production.sh running in its own session: `pids()` are its processes."""

    process: subprocess.Popen
    port: int
    folder: Path
    env: dict

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[tuple[int, int, str]]:
        """(pid, parent pid, command line) of every process of the stack."""
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[3]) != self.process.pid:  # the session (serve_production.sh leads it)
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append((int(entry.name), int(fields[1]), cmdline))
            except (OSError, ValueError):
                continue
        return out

    def gunicorn(self) -> tuple[int | None, list[int]]:
        """gunicorn's master and its workers."""
        procs = [p for p in self.processes() if "gunicorn" in p[2]]
        masters = [pid for pid, parent, _cmd in procs if parent not in {p[0] for p in procs}]
        master = masters[0] if masters else None
        return master, sorted(pid for pid, parent, _cmd in procs if parent == master)

    def import_worker(self) -> int | None:
        return next((pid for pid, _parent, cmd in self.processes() if "importers_worker" in cmd), None)

    def rss_mb(self) -> float:
        """Resident memory of gunicorn's master and workers together (MB)."""
        master, workers = self.gunicorn()
        total = 0
        for pid in ([master] if master else []) + workers:
            with contextlib.suppress(OSError, StopIteration):
                with open(f"/proc/{pid}/status", encoding="ascii") as status:
                    total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return total / 1024


@contextlib.contextmanager
def serving(database_url: str, folder: Path, *, workers: int | None = None, threads: int | None = None,
            media_root: Path | None = None, extra_env: dict | None = None):
    """The production stack on a free port against `database_url`; stopped (its whole session) afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG",
                                                            "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT",
                                                            "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(UNLIMITED, DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port),
               MEDIA_ROOT=str(media_root or folder / "media"), WORKER_HEARTBEAT_FILE=str(folder / "heartbeat"),
               MEDIA_MIN_FREE_MB="1", GUNICORN_LOG_LEVEL="warning", REQUEST_LOG_LEVEL="WARNING")
    if workers:
        env["WEB_WORKERS"] = str(workers)
    if threads:
        env["WEB_THREADS"] = str(threads)
    env.update(extra_env or {})
    out, err = open(folder / "serve.out", "w+b"), open(folder / "serve.err", "w+b")  # noqa: SIM115
    process = subprocess.Popen(["bash", "scripts/serve_production.sh"], cwd=ROOT, env=env, stdout=out,  # noqa: S607
                               stderr=err, start_new_session=True)
    server = Server(process, port, folder, env)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError("make serve stopped: " + (folder / "serve.err").read_text()[-3000:])
            with contextlib.suppress(OSError):
                if http_get(server.url + "/healthz", timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("make serve did not answer /healthz in 180 s")
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        out.close()
        err.close()


class MemoryWatch:
    """Samples the stack's gunicorn RSS every `every` seconds while running; `peak_mb` is the highest sum seen."""

    def __init__(self, server: Server, every: float = 1.0):
        self.server, self.every, self.peak_mb = server, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.server.rss_mb())
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def locust_start(server: Server, plan: Path, out: Path, *, users: int, seconds: float, run: str = "",
                 classes: tuple[str, ...] = ()) -> subprocess.Popen:
    """Locust headless, as a child process (gevent patches the whole process: never imported here)."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LOAD_PLAN": str(plan), "LOAD_OUT": str(out), "LOAD_RUN": run or uuid.uuid4().hex[:8]}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", server.url,
               "-u", str(users), "-r", str(max(1, users)), "-t", f"{int(seconds)}s", "--stop-timeout", "10",
               "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0", *classes]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(out / "locust.out", "ab"),  # noqa: SIM115, S603
                            stderr=subprocess.STDOUT)


def users_started(out: Path, users: int, timeout: float = 90) -> float:
    """Waits until the locustfile's users have all started (logged in), and returns when: a fault struck during the
    logins would hit the accounts' first requests, not the load."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in out.glob("started-*.txt"))
        if lines >= users:
            break
        time.sleep(0.2)
    return time.time()


def locust_run(server: Server, plan: Path, out: Path, *, users: int, seconds: float, **kwargs) -> tuple[float, float]:
    start = time.time()
    process = locust_start(server, plan, out, users=users, seconds=seconds, **kwargs)
    if process.wait(timeout=seconds + 120) != 0:
        raise RuntimeError("locust failed: " + (out / "locust.out").read_text()[-3000:])
    return start, time.time()


@dataclass
class Figures:
    seconds: float
    requests: int = 0
    failures: int = 0
    statuses: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)  # "name status" -> count
    groups: dict = field(default_factory=dict)  # group -> {"requests", "failures", "p50", "p95"}

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def tile_p95(self) -> float | None:
        return self.groups.get("tile", {}).get("p95")

    def good(self) -> bool:
        return self.failures == 0 and self.tile_p95 is not None and self.tile_p95 <= TILE_P95_MS

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 1), "requests": self.requests, "rate": round(self.rate, 1),
                "failures": self.failures, "statuses": self.statuses, "failed": self.failed, "tile_p95_ms": self.tile_p95,
                "groups": self.groups}


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(share * len(values)))], 1)


def requests_read(out: Path, start: float = 0, end: float = float("inf")) -> list[tuple]:
    rows = []
    for path in out.glob("requests-*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for t, name, group, ms, ok, status, *who in csv.reader(f):
                if start <= float(t) < end:
                    rows.append((float(t), name, group, float(ms), ok == "1", int(status), who[0] if who else ""))
    return sorted(rows)


def figures(rows: list[tuple], seconds: float) -> Figures:
    result = Figures(seconds=seconds, requests=len(rows), failures=sum(not ok for _t, _n, _g, _ms, ok, *_r in rows))
    by_group: dict[str, list] = {}
    for _t, _name, group, ms, ok, status, _who in rows:
        by_group.setdefault(group, []).append((ms, ok))
        result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
    for _t, name, _group, _ms, ok, status, who in rows:
        if not ok:  # "panel assets/<code>/ 404 (load-map without a session)"
            key = f"{name} {status}" + (f" ({who})" if who else "")
            result.failed[key] = result.failed.get(key, 0) + 1
    for group, items in sorted(by_group.items()):
        times = [ms for ms, _ok in items]
        result.groups[group] = {"requests": len(items), "failures": sum(not ok for _ms, ok in items),
                                "p50": _percentile(times, 0.50), "p95": _percentile(times, 0.95)}
    return result


def accepted_read(out: Path) -> list[dict]:
    records = []
    for path in out.glob("accepted-*.jsonl"):
        records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return records


def writes_check(out: Path, query=None) -> dict:
    """Every write the server accepted (2xx/302 logged by Locust) is in the database, once; the same client_id
    sent again made no second record. `query(sql, values) -> rows` reads another database than Django's."""
    records = accepted_read(out)
    sent = {r["client_id"]: r["id"] for r in records if r["kind"] == "verification"}
    units = [r["unit"] for r in records if r["kind"] == "custodian"]
    if query is None:
        from geo_assets.models import CustodianChange
        from verification.models import Verification

        found = dict(Verification.objects.filter(client_id__in=list(sent)).values_list("client_id", "id"))
        saved_units = set(CustodianChange.objects.filter(unit__in=units).values_list("unit", flat=True))
    else:
        found = dict(query("SELECT client_id, id FROM verification_verification", ()))
        saved_units = {unit for (unit,) in query("SELECT unit FROM geo_assets_custodianchange", ())}
    found = {str(k): int(v) for k, v in found.items()}
    lost_verifications = [c for c in sent if c not in found]
    changed = [r for r in records if r["kind"] == "verification" and found.get(r["client_id"]) not in (None, r["id"])]
    lost_steps = [u for u in units if u not in saved_units]
    resends = sum(1 for r in records if r["kind"] == "verification" and r["status"] == 200)
    return {"verifications": len(sent), "resends_answered": resends, "lifecycle_steps": len(set(units)),
            "lost": len(lost_verifications) + len(lost_steps), "duplicates": len(changed),
            "lost_examples": (lost_verifications + lost_steps)[:5]}
