"""Shared helpers of the benchmarks (issue 11, `make bench`): result rows, percentiles, peak memory, the table of
results and the county-level user a benchmark logs in as.

A benchmark is a function `(options) -> list[dict]` registered in bench/registry.py (run by `manage.py bench`); options has `quick` (tiny data,
no targets: the test suite's smoke run), `repeat` (runs per measurement, medians reported) and `scale`.
Every row names its anchor, measured in the same run on the same machine.
"""

import statistics
import time
from pathlib import Path

# where `manage.py bench` writes results.json, results.txt and the browser benchmark's files (var/ is not versioned)
RESULTS = Path(__file__).resolve().parent.parent / "var" / "bench"


def row(name: str, value: float | None, unit: str, anchor: float | None, anchor_name: str, target: float | None, *,
        higher_is_better: bool = True, **extra) -> dict:
    """One line of bench/results.json: the figure, its anchor, value ÷ anchor and whether the target holds."""
    ratio = value / anchor if anchor and value is not None else None
    passed = None if target is None or ratio is None else (ratio >= target if higher_is_better else ratio <= target)
    return {"name": name, "value": value, "unit": unit, "anchor": anchor, "anchor_name": anchor_name,
            "ratio": None if ratio is None else round(ratio, 3),
            "target": None if target is None else f"{'≥' if higher_is_better else '≤'} {target}", "pass": passed,
            **extra}


def percentile(values, q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; the median for q=50."""
    data = sorted(values)
    if not data:
        raise ValueError("no values")
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)


def timed_median(work, repeat: int) -> float:
    """The median wall time of `repeat` calls of work(), in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory (VmHWM). Not getrusage: a child's ru_maxrss also counts the parent's pages
    it carried between fork and exec, so a small process started by a big one would look as big as its parent."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


def pressure_totals(root: str = "/proc/pressure") -> dict[str, int] | None:
    """The kernel's stall totals (µs some task waited for the CPU, memory, IO: PSI) since boot, or None where the
    kernel does not count them. Two readings around a benchmark say what it waited for beyond the load average."""
    totals = {}
    try:
        for resource in ("cpu", "memory", "io"):
            with open(f"{root}/{resource}", encoding="ascii") as f:
                some = next(line for line in f if line.startswith("some "))
            totals[resource] = int(some.rsplit("total=", 1)[1])
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return totals


def pressure_share(before: dict | None, after: dict | None, seconds: float) -> dict[str, float] | None:
    """Per resource, the share of `seconds` in which some task stalled on it (%), from two pressure_totals."""
    if not before or not after or seconds <= 0:
        return None
    return {k: round((after[k] - before[k]) / 1e6 / seconds * 100, 1) for k in before}


# A table with more dead rows than this, and more than 1 % of its live ones, is vacuumed before the next benchmark
SETTLE_DEAD_ROWS = 10_000
SETTLE_WAIT_S = 300  # at most this long for autovacuum workers still busy in the database


def settle(*, dead_rows: int = SETTLE_DEAD_ROWS, wait_s: float = SETTLE_WAIT_S) -> dict:
    """Before a benchmark, what the previous one left in the database cleared: the benchmarks roll back what they
    write (the import's million rows, ~1.3 M dead rows with their index entries), which autovacuum then cleans,
    throttled, for minutes, on the same two cores as whatever benchmark comes next (seen: the asset tables and the
    clusters vacuumed for 3 minutes after the million's rollback). Tables with dead rows are vacuumed here,
    unthrottled, and autovacuum workers still busy in the database are waited for (up to wait_s). Returns
    {"tables": [(table, dead rows)], "seconds": time taken, "autovacuum_busy": workers left at the end}."""
    from django.db import connection

    from geo_assets.dbroles import as_owner

    started = time.monotonic()
    if connection.in_atomic_block:  # a test's transaction (the smoke runs): VACUUM cannot run inside one
        return {"tables": [], "seconds": 0.0, "autovacuum_busy": 0}
    with as_owner(connection), connection.cursor() as cursor:  # only a table's owner may vacuum it
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this session's own counts first
        cursor.execute("SELECT format('%%I.%%I', schemaname, relname), n_dead_tup FROM pg_stat_user_tables "
                       "WHERE n_dead_tup > %s AND n_dead_tup > n_live_tup / 100 ORDER BY n_dead_tup DESC",
                       [dead_rows])
        tables = cursor.fetchall()
        for name, _dead in tables:
            cursor.execute(f"VACUUM (ANALYZE) {name}")  # noqa: S608 - a name format('%I') quoted
        busy = _autovacuum_workers(cursor)
        while busy and time.monotonic() - started < wait_s:
            time.sleep(1)
            busy = _autovacuum_workers(cursor)
    return {"tables": tables, "seconds": round(time.monotonic() - started, 1), "autovacuum_busy": busy}


def _autovacuum_workers(cursor) -> int:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                   "AND datname = current_database()")
    return cursor.fetchone()[0]


def table(results: list[dict]) -> str:
    """The rows of a run as the readable table `manage.py bench` prints and writes to results.txt."""
    def fmt(value):
        if value is None:
            return "—"
        if not isinstance(value, int | float):
            return str(value)
        # small values (ms of a request, a ratio of rates) keep their decimals: "7 / 6" would hide a 1.3 × ratio,
        # and their trailing zeros: 1.995 is "2.00", not "2" beside an anchor of 1
        return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:#.3g}"

    width = max([62, *(len(r["name"]) + 2 for r in results)])
    lines = [f"{'benchmark':<{width}}{'value':>12}{'anchor':>12}{'ratio':>8}  {'target':<8}{'pass':<5}{'runs':>5} load",
             "-" * (width + 60)]
    for r in results:
        passed = {True: "yes", False: "NO", None: "—"}[r["pass"]]
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}"
        load = r.get("load_average")
        lines.append(f"{r['name']:<{width}}{fmt(r['value']):>12}{fmt(r['anchor']):>12}{ratio:>8}  "
                     f"{r['target'] or '—':<8}{passed:<5}{r.get('runs') or '—':>5} "
                     f"{f'{load[0]}→{load[1]}' if load else ''}".rstrip())
    return "\n".join(lines)


def bench_user(role: str | None = None, area=None, *, superuser_first: bool = True):
    """The user a benchmark logs in as. Without a role: a county-level user (every asset) — the first active
    superuser, then the first county administrator (`superuser_first=False`: the county administrator first, as the
    browser benchmark has always done; same scope). With a role (and area), or when there is no such user: a
    `bench-<role>[-<area code>]` account with that membership is created once (the only thing the benchmarks write
    besides their sessions)."""
    from django.contrib.auth import get_user_model

    from geo_assets.models import Membership
    from geo_assets.taxonomy import Role

    if role is None:
        superusers = get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk")
        admins = get_user_model().objects.filter(
            pk__in=Membership.objects.filter(role=Role.COUNTY_ADMIN, user__is_active=True).values("user_id")
        ).order_by("pk")
        for users in ((superusers, admins) if superuser_first else (admins, superusers)):
            user = users.first()
            if user is not None:
                return user
        role = Role.COUNTY_ADMIN
    name = f"bench-{role}" + (f"-{area.code}" if area is not None else "")
    user, created = get_user_model().objects.get_or_create(username=name, defaults={"is_staff": True})
    if created:
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, role=role, area=area)
    return user
