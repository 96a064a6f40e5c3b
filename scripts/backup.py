#!/usr/bin/env python3
"""Backups with point-in-time recovery of the local cluster (scripts/localdb.sh) and of the media files (issue 20).

    backup.py backup                 WAL archiving on (a restart only if archive_mode is off, said), pgBackRest base
                                     backup (full when none is younger than BACKUP_FULL_DAYS, else differential), a
                                     media snapshot, retention applied to both
    backup.py media-push             a media snapshot only (a timer runs it every minute: the media's RPO)
    backup.py restore [TARGET]       the database and the media as of TARGET ('2026-12-05 10:00:00+08'; none: the
                                     latest), in place (the old folders kept aside) or --into-var DIR --into-port N
    backup.py check                  pgBackRest check (a WAL segment archived now) and verify, every media object's
                                     checksum, the ages of the newest backup and media snapshot
    backup.py info                   what the repository holds

Database: pgBackRest, stanza "assets", its configuration written beside the data folder (var/pgbackrest.conf), which
the cluster's archive_command names (scripts/localdb.sh). Media: a content-addressed copy (objects/<sha256>) and a
manifest per snapshot (every file: sha256, size, mtime); restoring to T gives each file as of T: the snapshot before
T, plus files of the next snapshot written (mtime) before T. Files written after the last snapshot are not in the
repository until the next one: `restore` takes one first when MEDIA_ROOT is still there.

Standard library only, no Django: it must run while the database is down, as root or as the server's user, before
the virtualenv exists. The cluster is the local one (var/pgdata, socket var/run, port 54329) or the one given by
--var/--port (the drill's, tests/test_backup.py: the same code on a private cluster).
"""

import argparse
import datetime
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
STANZA = "assets"  # the archive_command of scripts/localdb.sh names it
CHUNK = 1024 * 1024


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str, code: int = 1):
    print(f"backup: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def is_root() -> bool:
    return os.geteuid() == 0


def as_pg(cmd: list[str]) -> list[str]:
    """PostgreSQL and pgBackRest run as the server's OS user: postgres when we are root (as scripts/localdb.sh)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def chown_pg(*paths: Path) -> None:
    if is_root():
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        fail("PostgreSQL server binaries not found (run: make sysdeps)")
    return found[-1]


def run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - an argument list, no shell
    if check and result.returncode != 0:
        fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr.strip() or result.stdout.strip()}")
    return result


class Cluster:
    """A cluster laid out as scripts/localdb.sh makes it: VAR/pgdata, socket VAR/run, log VAR/log, PORT; or a
    server's (BACKUP_PGDATA, BACKUP_PGSOCKET, PGPORT) started and stopped by systemd (BACKUP_SERVICE, e.g.
    postgresql@15-main). pgBackRest's configuration lies beside the data folder."""

    def __init__(self, var: Path, port: int, data: Path | None = None, socket: Path | None = None,
                 service: str = ""):
        self.var, self.port, self.service = var, port, service
        self.data, self.socket = data or var / "pgdata", socket or var / "run"
        self.log = var / "log" / "postgresql.log"
        self.config = self.data.parent / "pgbackrest.conf"

    @property
    def archive_command(self) -> str:  # the same string as scripts/localdb.sh's
        return f"test ! -f {self.config} || pgbackrest --config={self.config} --stanza={STANZA} archive-push %p"

    def psql(self, sql: str, *, database: str = "postgres", check: bool = True) -> str:
        cmd = as_pg([str(bindir() / "psql"), "-h", str(self.socket), "-p", str(self.port), "-U", "postgres",
                     "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAX", "-c", sql])
        return run(cmd, check=check).stdout.strip()

    def running(self) -> bool:
        return (self.data / "PG_VERSION").exists() and run(
            as_pg([str(bindir() / "pg_ctl"), "-D", str(self.data), "status"]), check=False).returncode == 0

    def pg_ctl(self, *args: str) -> None:
        if self.service:  # start, stop, restart through systemd (a server's cluster, configured in /etc)
            run(["systemctl", args[0], self.service])
            return
        result = run(as_pg([str(bindir() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "600",
                            *args]), check=False)
        if result.returncode:
            tail = self.log.read_text(errors="replace").splitlines()[-15:] if self.log.exists() else []
            fail(f"pg_ctl {' '.join(args)} failed for {self.data}; the end of {self.log}:\n" + "\n".join(tail))


class Repo:
    def __init__(self, path: Path, media_root: Path, retention_full: int):
        self.path, self.media_root, self.retention_full = path, media_root, retention_full
        self.pgbackrest = path / "pgbackrest"
        self.media = path / "media"
        self.objects, self.manifests = self.media / "objects", self.media / "manifests"


# ------------------------------------------------------------------------------------------------ pgBackRest

def write_config(cluster: Cluster, repo: Repo) -> None:
    """pgBackRest's configuration beside the data folder; the archive_command reads it for every WAL segment."""
    for folder in (repo.path, repo.pgbackrest, repo.path / "log", repo.path / "lock"):
        folder.mkdir(parents=True, exist_ok=True)
        if folder != repo.path:
            chown_pg(folder)
    text = f"""# written by scripts/backup.py (each run): the cluster's archive_command reads it
[global]
repo1-path={repo.pgbackrest}
repo1-retention-full={repo.retention_full}
start-fast=y
compress-type=zst
compress-level=3
process-max=2
archive-timeout=120
log-path={repo.path / "log"}
lock-path={repo.path / "lock"}
log-level-console=warn
log-level-file=info

[{STANZA}]
pg1-path={cluster.data}
pg1-port={cluster.port}
pg1-socket-path={cluster.socket}
pg1-user=postgres
"""
    if not cluster.config.exists() or cluster.config.read_text() != text:
        tmp = cluster.config.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        tmp.replace(cluster.config)


def pgbackrest(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(as_pg(["pgbackrest", f"--config={cluster.config}", f"--stanza={STANZA}", *args]), check=check)


def backups(cluster: Cluster) -> list[dict]:
    if not cluster.config.exists():
        return []
    result = pgbackrest(cluster, "info", "--output=json", check=False)
    if result.returncode != 0:
        return []
    stanzas = json.loads(result.stdout or "[]")
    return stanzas[0].get("backup", []) if stanzas else []


def ensure_archiving(cluster: Cluster) -> None:
    """archive_command (a reload) and archive_mode (a restart: only when it is off, said) as scripts/localdb.sh sets
    them for a new cluster."""
    if not cluster.running():
        fail(f"the cluster at {cluster.data} is not running (make db starts it)")
    configured = cluster.psql("select setting from pg_file_settings where name = 'archive_command' "
                              "order by seqno desc limit 1")  # (`show` says "(disabled)" while archive_mode is off)
    if configured != cluster.archive_command:
        say("WAL archiving: archive_command set (reload)")
        cluster.psql(f"alter system set archive_command = $${cluster.archive_command}$$")
        cluster.psql("select pg_reload_conf()")
    if cluster.psql("show archive_mode") == "off":
        say(f"WAL archiving: archive_mode is off; restarting the cluster at {cluster.data} once to turn it on")
        cluster.psql("alter system set archive_mode = on")
        cluster.pg_ctl("restart", "-m", "fast")


# ------------------------------------------------------------------------------------------------ media

@contextmanager
def media_lock(repo: Repo):
    import fcntl

    repo.media.mkdir(parents=True, exist_ok=True)
    with open(repo.media / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def manifest_list(repo: Repo) -> list[Path]:
    return sorted(repo.manifests.glob("*.json.gz")) if repo.manifests.exists() else []


def manifest_read(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def manifest_time(path: Path) -> int:
    return int(path.name.split(".")[0].split("-")[-1])  # <UTC stamp>-<ns since the epoch>.json.gz


def object_path(repo: Repo, digest: str) -> Path:
    return repo.objects / digest[:2] / digest


def store(repo: Repo, source: Path) -> str | None:
    """Copy one file into the content-addressed store, hashing as it goes; None when it changed while read."""
    before = source.stat()
    repo.objects.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=repo.objects, prefix=".in-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return None  # being written: the next snapshot takes it
        target = object_path(repo, digest.hexdigest())
        if target.exists():
            return digest.hexdigest()
        target.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        return digest.hexdigest()
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def media_push(repo: Repo) -> dict:
    """A snapshot of MEDIA_ROOT: new or changed files copied (sha256), a manifest written when anything changed."""
    started = time.monotonic()
    with media_lock(repo):
        scan_ns = time.time_ns()
        latest = manifest_list(repo)
        previous = manifest_read(latest[-1])["files"] if latest else {}
        files, copied, copied_bytes = {}, 0, 0
        root = repo.media_root
        skip = {repo.path.resolve()}
        if root.is_dir():
            for folder, subfolders, names in os.walk(root):
                subfolders[:] = [s for s in subfolders if (Path(folder) / s).resolve() not in skip]
                for name in names:
                    path = Path(folder) / name
                    stat = path.lstat()
                    if not path.is_file() or path.is_symlink():
                        continue
                    relative = path.relative_to(root).as_posix()
                    known = previous.get(relative)
                    if known and known[1] == stat.st_size and known[2] == stat.st_mtime_ns \
                            and object_path(repo, known[0]).exists():
                        files[relative] = known
                        continue
                    digest = store(repo, path)
                    if digest is None:
                        continue
                    files[relative] = [digest, stat.st_size, stat.st_mtime_ns]
                    copied += 1
                    copied_bytes += stat.st_size
        changed = files != previous
        if changed:
            repo.manifests.mkdir(parents=True, exist_ok=True)
            stamp = datetime.datetime.fromtimestamp(scan_ns / 1e9, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
            target = repo.manifests / f"{stamp}-{scan_ns}.json.gz"
            tmp = target.with_suffix(".tmp")
            with gzip.open(tmp, "wt", encoding="utf-8") as handle:
                json.dump({"time_ns": scan_ns, "media_root": str(root), "files": files}, handle, sort_keys=True)
            os.replace(tmp, target)
        (repo.media / "last-push").write_text(f"{scan_ns}\n")
    return {"files": len(files), "bytes": sum(f[1] for f in files.values()), "copied": copied,
            "copied_bytes": copied_bytes, "manifest": changed, "seconds": time.monotonic() - started}


def media_state(repo: Repo, target_ns: int | None) -> dict:
    """Each file as of target_ns (None: the latest snapshot): the last snapshot taken at or before it, then the files
    of the first snapshot after it whose mtime is not after it (written between the two)."""
    manifests = manifest_list(repo)
    if target_ns is None:
        return manifest_read(manifests[-1])["files"] if manifests else {}
    state: dict = {}
    for path in manifests:
        files = manifest_read(path)["files"]
        if manifest_time(path) <= target_ns:
            state = {name: entry for name, entry in files.items() if entry[2] <= target_ns}
            continue
        for name, entry in files.items():
            if entry[2] <= target_ns and (name not in state or entry[2] >= state[name][2]):
                state[name] = entry
        break
    return state


def media_restore(repo: Repo, state: dict, destination: Path) -> dict:
    """The files of `state` into an empty `destination`, each checked against its sha256, mtime kept."""
    started = time.monotonic()
    destination.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, (digest, size, mtime_ns) in sorted(state.items()):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = object_path(repo, digest)
        check = hashlib.sha256()
        with open(source, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(CHUNK):
                check.update(chunk)
                out.write(chunk)
        if check.hexdigest() != digest or target.stat().st_size != size:
            fail(f"media object {digest} of {name} is damaged (checksum differs)")
        os.utime(target, ns=(mtime_ns, mtime_ns))
        total += size
    return {"files": len(state), "bytes": total, "seconds": time.monotonic() - started}


def media_verify(repo: Repo) -> tuple[int, list[str]]:
    """Every object every kept manifest names: present, and its content's sha256 its name."""
    needed = set()
    for path in manifest_list(repo):
        needed.update(entry[0] for entry in manifest_read(path)["files"].values())
    problems = []
    for digest in sorted(needed):
        source = object_path(repo, digest)
        if not source.exists():
            problems.append(f"missing {digest}")
            continue
        check = hashlib.sha256()
        with open(source, "rb") as src:
            while chunk := src.read(CHUNK):
                check.update(chunk)
        if check.hexdigest() != digest:
            problems.append(f"damaged {digest}")
    return len(needed), problems


def media_expire(repo: Repo, oldest_backup_ns: int | None) -> int:
    """Retention as the database's: snapshots from the oldest kept base backup on (and the one before it, the
    state at that backup); objects no kept snapshot names are deleted."""
    if oldest_backup_ns is None:
        return 0
    with media_lock(repo):
        manifests = manifest_list(repo)
        before = [m for m in manifests if manifest_time(m) < oldest_backup_ns]
        for path in before[:-1]:
            path.unlink()
        needed = set()
        for path in manifest_list(repo):
            needed.update(entry[0] for entry in manifest_read(path)["files"].values())
        removed = 0
        if repo.objects.exists():
            for source in repo.objects.glob("*/*"):
                if source.name not in needed and not source.name.startswith("."):
                    source.unlink()
                    removed += 1
    return removed


# ------------------------------------------------------------------------------------------------ commands

def parse_target(target: str | None) -> tuple[str | None, int | None]:
    """TARGET as pgBackRest takes it, and in ns since the epoch for the media; a time zone is required."""
    if not target:
        return None, None
    try:
        moment = datetime.datetime.fromisoformat(target.strip())
    except ValueError:
        fail(f"TARGET {target!r} is not a time such as '2026-12-05 10:00:00+08'")
    if moment.tzinfo is None:
        fail(f"TARGET {target!r} has no time zone: add it, e.g. '{target}+08'")
    seconds = moment.timestamp()
    return moment.isoformat(sep=" "), int(round(seconds * 1e6)) * 1000


def oldest_backup_ns(cluster: Cluster) -> int | None:
    kept = backups(cluster)
    return min(b["timestamp"]["start"] for b in kept) * 10**9 if kept else None


def command_backup(cluster: Cluster, repo: Repo, args) -> None:
    started = time.monotonic()
    write_config(cluster, repo)
    ensure_archiving(cluster)
    pgbackrest(cluster, "stanza-create")
    kind = os.environ.get("BACKUP_TYPE", "")
    if kind not in ("full", "diff", "incr"):
        full_days = float(os.environ.get("BACKUP_FULL_DAYS", "7"))
        fulls = [b for b in backups(cluster) if b["type"] == "full"]
        fresh = fulls and time.time() - fulls[-1]["timestamp"]["stop"] < full_days * 86400
        kind = "diff" if fresh else "full"
    db_started = time.monotonic()
    pgbackrest(cluster, "backup", f"--type={kind}")
    db_seconds = time.monotonic() - db_started
    newest = backups(cluster)[-1]
    media = media_push(repo)
    removed = media_expire(repo, oldest_backup_ns(cluster))
    kept = backups(cluster)
    say(f"database: {kind} backup {newest['label']} in {db_seconds:.1f} s, "
        f"{newest['info']['size'] / 1e6:.1f} MB ({newest['info']['repository']['delta'] / 1e6:.1f} MB stored); "
        f"{len(kept)} backups kept ({sum(b['type'] == 'full' for b in kept)} full, retention "
        f"{repo.retention_full} full)")
    say(f"media: {media['files']} files, {media['bytes'] / 1e6:.1f} MB, {media['copied']} new "
        f"({media['copied_bytes'] / 1e6:.1f} MB) in {media['seconds']:.1f} s"
        + (f"; {removed} objects past retention removed" if removed else ""))
    say(f"backup done in {time.monotonic() - started:.1f} s; repository {repo.path}")


def command_media_push(cluster: Cluster, repo: Repo, args) -> None:
    media = media_push(repo)
    say(f"media: {media['files']} files, {media['bytes'] / 1e6:.1f} MB, {media['copied']} new "
        f"({media['copied_bytes'] / 1e6:.1f} MB) in {media['seconds']:.2f} s"
        + ("" if media["manifest"] else " (unchanged)"))


def command_restore(cluster: Cluster, repo: Repo, args) -> None:
    target, target_ns = parse_target(args.target)
    write_config(cluster, repo)  # (lost with the data folder's disk: the repository is all a restore needs)
    if not backups(cluster):
        fail(f"no backup in {repo.pgbackrest} (make backup takes one)")
    started = time.monotonic()
    if cluster.running():  # the WAL written since the last segment switch, while the cluster is still there
        pgbackrest(cluster, "check")
        say("database: current WAL segment archived before restoring")
    if repo.media_root.is_dir():  # the files written since the last snapshot, while the folder is still there
        pushed = media_push(repo)
        say(f"media: snapshot before restoring, {pushed['copied']} new files")
    in_place = args.into_var is None
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    if in_place:
        restored = cluster
        media_destination = repo.media_root
        if cluster.running():
            say(f"stopping the cluster at {cluster.data}")
            cluster.pg_ctl("stop", "-m", "fast")
        if cluster.var == TOP / "var" and (cluster.var / "pgreplica").exists():
            say("removing the hot standby var/pgreplica (a copy of the cluster before the restore; "
                "make db-replica makes a new one)")
            run(["bash", str(TOP / "scripts" / "replica.sh"), "remove"])
        # the restored media belong to whoever owned the folder (the application's user on a server)
        owner = (media_destination if media_destination.exists() else media_destination.parent).stat()
        for old in (cluster.data, media_destination):
            if old.exists():
                aside = old.with_name(f"{old.name}.before-restore-{stamp}")
                say(f"keeping {old} as {aside}")
                old.rename(aside)
    else:
        restored = Cluster(Path(args.into_var).resolve(), args.into_port or cluster.port)
        media_destination = restored.var / "media"
        owner = None
        for folder in (restored.data, media_destination):
            if folder.exists() and any(folder.iterdir()):
                fail(f"{folder} is not empty")
    for folder in (restored.data, restored.socket, restored.log.parent):
        folder.mkdir(parents=True, exist_ok=True)
        chown_pg(folder)
    restored.data.chmod(0o700)
    # syncfs: the restored folder synced at start in one call instead of file by file (5 s -> 0.1 s measured here)
    options = [f"--pg1-path={restored.data}", "--recovery-option=recovery_init_sync_method=syncfs"]
    options += ["--type=time", f"--target={target}", "--target-action=promote"] if target else []
    if not in_place:
        options.append("--archive-mode=off")  # a copy beside the cluster: it must not push WAL into its stanza
    db_started = time.monotonic()
    pgbackrest(cluster, "restore", *options)
    if not in_place:  # its own port and socket
        with open(restored.data / "postgresql.auto.conf", "a") as conf:
            conf.write(f"# scripts/backup.py restore --into-var\nport = {restored.port}\n"
                       f"unix_socket_directories = '{restored.socket}'\n")
    db_seconds = time.monotonic() - db_started
    state = media_state(repo, target_ns)
    media = media_restore(repo, state, media_destination)
    if owner is not None and is_root() and (owner.st_uid, owner.st_gid) != (0, 0):
        for path in [media_destination, *media_destination.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid)
    start_started = time.monotonic()
    restored.pg_ctl("start")
    deadline = time.monotonic() + 600
    while restored.psql("select pg_is_in_recovery()", check=False) != "f":
        if time.monotonic() > deadline:
            fail(f"the restored cluster is still recovering after 600 s; see {restored.log}")
        time.sleep(0.1)
    start_seconds = time.monotonic() - start_started
    total = time.monotonic() - started
    say(f"database: restored to {target or 'the end of the archive'} in {db_seconds:.1f} s, started and promoted "
        f"in {start_seconds:.1f} s")
    say(f"media: {media['files']} files, {media['bytes'] / 1e6:.1f} MB restored and checked in "
        f"{media['seconds']:.1f} s into {media_destination}")
    say(f"restore done in {total:.1f} s (RTO); the cluster runs at {restored.socket} port {restored.port}")
    if in_place:
        say("take a new backup now (make backup): the restored cluster continues on a new timeline")
    figures = {"target": target, "db_restore_s": round(db_seconds, 2), "media_restore_s": round(media["seconds"], 2),
               "start_promote_s": round(start_seconds, 2), "rto_s": round(total, 2), "media_files": media["files"]}
    say("figures " + json.dumps(figures))


def command_check(cluster: Cluster, repo: Repo, args) -> None:
    problems = []
    if not cluster.config.exists():
        fail(f"no backup configuration ({cluster.config}): make backup first")
    write_config(cluster, repo)
    started = time.monotonic()
    result = pgbackrest(cluster, "check", check=False)
    if result.returncode:
        problems.append(f"pgbackrest check: {result.stderr.strip() or result.stdout.strip()}")
    else:
        say(f"WAL archiving: a segment switched and archived in {time.monotonic() - started:.1f} s")
    result = pgbackrest(cluster, "verify", check=False)
    if result.returncode:
        problems.append(f"pgbackrest verify: {result.stderr.strip() or result.stdout.strip()}")
    else:
        say("database repository: every backup file and WAL segment checked (pgbackrest verify)")
    kept = backups(cluster)
    if not kept:
        problems.append("no database backup")
    else:
        age = (time.time() - kept[-1]["timestamp"]["stop"]) / 3600
        say(f"database: {len(kept)} backups, the newest {kept[-1]['label']} ({age:.1f} h old); recovery possible to "
            f"any time since {datetime.datetime.fromtimestamp(kept[0]['timestamp']['stop']).astimezone():%Y-%m-%d %H:%M:%S%z}")
    count, media_problems = media_verify(repo)
    problems += media_problems
    last = repo.media / "last-push"
    if last.exists():
        age = time.time() - int(last.read_text()) / 1e9
        say(f"media: {count} objects checked (sha256), {len(media_problems)} problems; last snapshot {age:.0f} s ago")
    else:
        problems.append("no media snapshot")
    if problems:
        fail("\n".join(problems))
    say("backup check: ok")


def command_info(cluster: Cluster, repo: Repo, args) -> None:
    if cluster.config.exists():
        print(pgbackrest(cluster, "info", check=False).stdout, end="")
    manifests = manifest_list(repo)
    say(f"media: {len(manifests)} snapshots" + (f", newest {manifests[-1].name}" if manifests else ""))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var", help="the cluster's folder as scripts/localdb.sh lays it out (default: var/, "
                                      "LOCALDB_VAR)")
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("LOCALDB_PORT") or os.environ.get("PGPORT") or "54329"))
    parser.add_argument("--repo", help="the repository (BACKUP_REPO; default: <var>/backup)")
    parser.add_argument("--media", help="the media folder (MEDIA_ROOT; default: <var>/media)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup")
    commands.add_parser("media-push")
    restore = commands.add_parser("restore")
    restore.add_argument("target", nargs="?", help="a time with its zone, e.g. '2026-12-05 10:00:00+08'")
    restore.add_argument("--into-var", help="restore into this folder (pgdata, run, log, media) instead of in place")
    restore.add_argument("--into-port", type=int)
    commands.add_parser("check")
    commands.add_parser("info")
    args = parser.parse_args(argv)
    given = args.var or os.environ.get("LOCALDB_VAR")
    if not (given or os.environ.get("BACKUP_PGDATA")) and os.environ.get("DATABASE_URL"):
        fail("DATABASE_URL is set: this backs up the local cluster unless told which (--var, or BACKUP_PGDATA on "
             "the database's host: deploy/README.md, Backups)")
    var = Path(given or TOP / "var").resolve()
    repo = Repo(Path(args.repo or os.environ.get("BACKUP_REPO") or var / "backup").resolve(),
                Path(args.media or os.environ.get("MEDIA_ROOT") or var / "media").resolve(),
                int(os.environ.get("BACKUP_RETENTION_FULL", "2")))
    if shutil.which("pgbackrest") is None:
        fail("pgbackrest is not installed (make sysdeps)")
    handler = {"backup": command_backup, "media-push": command_media_push, "restore": command_restore,
               "check": command_check, "info": command_info}[args.command]
    data, sockets = os.environ.get("BACKUP_PGDATA"), os.environ.get("BACKUP_PGSOCKET")
    cluster = Cluster(var, args.port, Path(data) if data else None, Path(sockets) if sockets else None,
                      os.environ.get("BACKUP_SERVICE", ""))
    handler(cluster, repo, args)


if __name__ == "__main__":
    main()
