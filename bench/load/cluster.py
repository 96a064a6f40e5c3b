"""A private PostgreSQL cluster for the database faults: made in a temporary folder, on its own port and socket,
with a copy of a database (pg_dump as its owner), the two roles of scripts/localdb.sh and the application's
privileges granted by `manage.py migrate`. Restarted and removed at will — never the shared cluster (54329) nor its
standby. Trust authentication on its socket only (no TCP)."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from bench.load.runner import ROOT, free_port

BINDIR = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]) \
    if Path("/usr/lib/postgresql").exists() else None


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: the postgres OS user then."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # noqa: S603


class PrivateCluster:
    def __init__(self):
        if BINDIR is None:
            raise RuntimeError("PostgreSQL server binaries not found (make sysdeps)")
        self.top = Path(tempfile.mkdtemp(prefix="assets-load-pg-"))
        self.top.chmod(0o755)
        self.data, self.run = self.top / "data", self.top / "run"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.top, "postgres")

    def url(self, role: str = "assets", database: str = "assets") -> str:
        return f"postgis://{role}@/{database}?host={quote(str(self.run), safe='/')}&port={self.port}"

    def psql(self, *args: str, role: str = "postgres", database: str = "postgres") -> str:
        return _as_postgres([str(BINDIR / "psql"), "-h", str(self.run), "-p", str(self.port), "-U", role, "-d",
                             database, "-qtAX", *args]).stdout

    def create(self) -> "PrivateCluster":
        _as_postgres([str(BINDIR / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                      "--auth-host=reject", "--encoding=UTF8", "--locale=C.UTF-8"])
        self.run.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.run, "postgres")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"listen_addresses = ''\nport = {self.port}\nunix_socket_directories = '{self.run}'\n"
                       "fsync = off\nshared_buffers = 64MB\nmax_connections = 60\njit = off\n")
        self.start()
        self.psql("-c", "create role assets_owner login createdb", "-c", "create role assets login",
                  "-c", "create database assets owner assets_owner")
        self.psql("-c", "create extension postgis", database="assets")
        return self

    def copy_from(self, *, host: str, port: int | str, database: str, owner: str) -> None:
        """The database's schema and rows, as its owner, owned here by assets_owner; then `migrate` (nothing to
        apply) grants the application's role its privileges, as on any server."""
        dump = self.top / "dump.sql"
        subprocess.run([str(BINDIR / "pg_dump"), "-h", host, "-p", str(port), "-U", owner, "-d", database,  # noqa: S603
                        "--no-owner", "--no-privileges", "-f", str(dump)], check=True, capture_output=True)
        dump.chmod(0o644)
        self.psql("-f", str(dump), role="assets_owner", database="assets")
        env = {**os.environ, "DATABASE_URL": self.url(), "DATABASE_OWNER_URL": self.url("assets_owner")}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--no-input", "-v", "0"],  # noqa: S603
                       cwd=ROOT, env=env, check=True, capture_output=True)

    def start(self) -> None:
        _as_postgres([str(BINDIR / "pg_ctl"), "-D", str(self.data), "-l", str(self.top / "log"), "-w", "-t", "60",
                      "start"])

    def stop(self, mode: str = "fast") -> None:
        _as_postgres([str(BINDIR / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.2)
        shutil.rmtree(self.top, ignore_errors=True)
