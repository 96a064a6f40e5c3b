"""Issue 11 benchmark of the reports (`manage.py bench --only reports`).

Two measurements on the loaded data, each in a process of its own so that its peak memory is its own:

* **figures** — `reports.figures.report_figures` for every village's report, one village after the other, as the
  village report view computes them (PDF, tables and map excluded), through the role-scoped querysets;
* **anchor** — ONE hand-written SQL statement computing the same figures for all those villages at once (totals by
  category, type and unit, funding, ownership, custody, contracts, income and plans, verification coverage and
  findings, alerts, publicity, the asset list), streamed from a server-side cursor. Its alert part embeds the rules'
  own SQL (reports.alerts) over all villages at once; everything else is written here, independently of figures.py.

Both reduce their result to the same per-village digest; the two must agree (that check is also a correctness test of
the figures). Rows: the wall time of every village's figures vs the anchor (target ≤ 1.2 ×), and the p95 of one
village's figures (target ≤ 50 ms). Viewer: a county-wide administrator (sees every asset).
"""

import datetime
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ALL_VILLAGES_TARGET = 1.2  # wall time of every village's figures ≤ 1.2 × the one SQL statement
VILLAGE_P95_MS = 50.0  # one village's figures, p95 over the villages (issue 11's budget, printed for information)
VILLAGE_RATIO_TARGET = 1.2  # issue 22: one village's figures ÷ the same statement for that village alone, p95
QUICK_VILLAGES = 3
ANCHOR_PLANNER = {"jit": "off", "random_page_cost": "1.1", "enable_mergejoin": "off", "work_mem": "'256MB'"}


# ---------------------------------------------------------------- child processes (shared with bench/verification.py)


def database_url() -> str:
    """This process's database as a URL (a test run's too), for the measuring child processes."""
    from django.db import connection

    from config.env import local_database_url

    url = urlsplit(os.environ.get("DATABASE_URL") or local_database_url())
    return url._replace(path=f"/{connection.settings_dict['NAME']}").geturl()


def run_child(module: str, task: dict, env: dict | None = None) -> dict:
    """Run `python -m module` with the task as JSON on stdin; its last output line is its JSON result. Adds the
    child's peak RSS (VmHWM, sampled every 10 ms and read at its end) as rss_mb."""
    from django.conf import settings

    from bench.kit import peak_rss_mb

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or "config.settings",
           "DATABASE_URL": database_url(), **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as stdin:
        json.dump(task, stdin)
        stdin.seek(0)
        process = subprocess.Popen([sys.executable, "-m", module], stdin=stdin, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, text=True, env=env, cwd=settings.BASE_DIR)
        rss = 0.0
        while process.poll() is None:
            rss = max(rss, peak_rss_mb(process.pid) or 0)
            time.sleep(0.01)
        out.seek(0)
        output = out.read()
    if process.returncode:
        raise RuntimeError(f"{module} failed ({process.returncode}): {output[-3000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    result["rss_mb"] = round(max(rss, result.get("rss_mb") or 0), 1)
    return result


def child_main(measures: dict) -> None:
    """The body of `python -m bench.reports` (and bench.verification): set Django up as in production (DEBUG off:
    no statement log), run the measure the task names, print its JSON result as the last line."""
    import django

    sys.path.insert(0, os.getcwd())
    django.setup()
    from django.conf import settings

    from bench.kit import peak_rss_mb
    from config.process import web_process_ready

    settings.DEBUG = False
    web_process_ready()  # as a web worker (config/wsgi.py): the loaded objects frozen, the collector's thresholds
    task = json.load(sys.stdin)
    result = measures[task["measure"]](task)
    result["rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str))


def backend_rss_mb() -> float | None:
    """Peak RSS of this connection's PostgreSQL backend (same machine only; includes the shared buffers it touched)."""
    from django.db import connection

    from bench.kit import peak_rss_mb

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return peak_rss_mb(cursor.fetchone()[0])


# ---------------------------------------------------------------- the digest both sides reduce to


def _n(value) -> str | None:
    """A number as exact text (Decimal('10.5000') and 10.5 alike → '10.5')."""
    if value is None:
        return None
    return f"{Decimal(str(value)).normalize():f}"


def figures_digest(fig: dict) -> dict:
    """What a village report shows, reduced to comparable values (ids, counts, exact sums; no labels or rates)."""
    t = fig["totals"]
    v = fig["verification"]
    return {
        "by_type": sorted([r["category"], r["asset_type"], r["unit"], r["count"], _n(r["quantity"]),
                           _n(r["investment"])] for r in t["by_type"]),
        "totals": [t["count"], _n(t["investment"]), t["disposed"], _n(t["funded"])],
        "funding": sorted([r["source"], c, _n(r[c])] for r in t["funding"] for c in r
                          if c not in ("source", "total", "share") and r[c]),
        "categories": sorted([o["category"], o["total"], o["registered"], o["pending"], c["custodian"], c["person"],
                              c["letter"], c["post"], _n(c["funding"])]
                             for o, c in zip(fig["ownership"], fig["custody"], strict=True)
                             if o["category"] and o["total"]),
        "contracts": [sorted([r["asset"].pk, r["number"], r["state"], _n(r["yearly_due"])]
                             for r in fig["contracts"]["rows"]), _n(fig["contracts"]["yearly_due"])],
        "income": [_n(fig["income"]["amount"]), fig["income"]["assets"],
                   sorted([p.pk, _n(p.total), sorted(i.pk for i in p.item_list)] for p in fig["income"]["plans"]),
                   _n(fig["income"]["planned"])],
        "verification": [v["total"], v["ever"], v["recent"], v["this_year"], v["pending"],
                         sorted([f["finding"], f["count"]] for f in v["findings"] if f["count"]),
                         sorted(p.pk for p in v["problems"])],
        "alerts": sorted([a.rule, a.asset_id or 0, a.area_id or 0, a.evidence] for a in fig["alerts"]["list"]),
        "publicity": sorted([s["stage"], s["villages"], s["count"], s["latest"].pk, s["state"], s["objections"],
                             s["unanswered"]] for s in fig["publicity"]["stages"] if s["count"]),
        "assets": [[a.pk, a.code] for a in fig["assets"]],
    }


def digest_hashes(digest: dict) -> dict[str, str]:
    return {k: hashlib.sha256(json.dumps(v, ensure_ascii=False).encode()).hexdigest()[:16] for k, v in digest.items()}


# ---------------------------------------------------------------- the anchor: one hand-written statement

ANCHOR_SQL = """
WITH
v AS (SELECT id, parent_id FROM geo_assets_adminarea WHERE level = 'village' AND id = ANY(%(villages)s)),
act AS MATERIALIZED (
    SELECT id, village_id, category, asset_type, unit, quantity, total_investment, custody_funding,
           registration_status, custodian_unit, custodian_person, last_verified_at
    FROM geo_assets_asset WHERE status <> 'disposed' AND village_id = ANY(%(villages)s)),
by_type AS (
    SELECT village_id, json_agg(json_build_array(category, asset_type, unit, n, qty, inv)) AS j, sum(n) AS n,
           sum(inv) AS investment
    FROM (SELECT village_id, category, asset_type, unit, count(*) AS n, sum(quantity) AS qty,
                 coalesce(sum(total_investment), 0) AS inv FROM act GROUP BY 1, 2, 3, 4) s
    GROUP BY 1),
disposed AS (
    SELECT village_id, count(*) AS n FROM geo_assets_asset
    WHERE status = 'disposed' AND village_id = ANY(%(villages)s) GROUP BY 1),
funding AS (
    SELECT village_id, json_agg(json_build_array(source, category, amount)) FILTER (WHERE amount <> 0) AS j,
           sum(amount) AS funded
    FROM (SELECT a.village_id, f.source, a.category, sum(f.amount) AS amount
          FROM geo_assets_fundingline f JOIN act a ON a.id = f.asset_id GROUP BY 1, 2, 3) s
    GROUP BY 1),
by_category AS (
    SELECT village_id, json_agg(json_build_array(category, total, registered, pending, custodian, person, letter,
                                                 post, funding)) AS j
    FROM (SELECT village_id, category, count(*) AS total,
                 count(*) FILTER (WHERE registration_status = 'registered') AS registered,
                 count(*) FILTER (WHERE id IN (SELECT asset_id FROM geo_assets_ownershipregistration
                                               WHERE step = 'submitted')) AS pending,
                 count(*) FILTER (WHERE custodian_unit <> '') AS custodian,
                 count(*) FILTER (WHERE custodian_person <> '') AS person,
                 count(*) FILTER (WHERE id IN (SELECT asset_id FROM geo_assets_handoverletter)) AS letter,
                 count(*) FILTER (WHERE id IN (SELECT asset_id FROM geo_assets_publicwelfarepost
                                               WHERE starts_on <= %(today)s
                                                 AND (ends_on IS NULL OR ends_on >= %(today)s))) AS post,
                 coalesce(sum(custody_funding), 0) AS funding
          FROM act GROUP BY 1, 2) s
    GROUP BY 1),
latest_contract AS (
    SELECT DISTINCT ON (c.asset_id) c.asset_id, c.number, c.ends_on, c.yearly_due
    FROM geo_assets_operationcontract c
    WHERE NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract r WHERE r.renews_id = c.id)
    ORDER BY c.asset_id, c.ends_on DESC),
contracts AS (
    SELECT a.village_id,
           json_agg(json_build_array(a.id, coalesce(c.number, ''),
                                     CASE WHEN c.ends_on IS NULL THEN '无合同' WHEN c.ends_on < %(today)s THEN '已到期'
                                          WHEN c.ends_on <= %(warning)s THEN '即将到期' ELSE '有效' END,
                                     c.yearly_due)) AS j,
           coalesce(sum(c.yearly_due) FILTER (WHERE c.ends_on >= %(today)s), 0) AS yearly_due
    FROM act a LEFT JOIN latest_contract c ON c.asset_id = a.id
    WHERE a.category = 'operating'
      AND (c.asset_id IS NOT NULL OR (a.asset_type NOT IN ('equity', 'debt')
                                      AND a.id NOT IN (SELECT asset_id FROM geo_assets_operationcontract)))
    GROUP BY 1),
income AS (
    SELECT a.village_id, sum(i.amount) AS amount, count(DISTINCT i.asset_id) AS assets
    FROM geo_assets_incomerecord i JOIN act a ON a.id = i.asset_id WHERE i.year = %(year)s GROUP BY 1),
plans AS (
    SELECT p.village_id,
           json_agg(json_build_array(p.id, p.total, ARRAY(SELECT d.id FROM geo_assets_distributionitem d
                                                           WHERE d.plan_id = p.id ORDER BY d.id))) AS j,
           sum(p.total) AS planned
    FROM geo_assets_distributionplan p JOIN v ON v.id = p.village_id WHERE p.year = %(year)s GROUP BY 1),
coverage AS (
    SELECT village_id, count(*) AS total, count(last_verified_at) AS ever,
           count(*) FILTER (WHERE last_verified_at >= %(year_ago)s) AS recent,
           count(*) FILTER (WHERE last_verified_at >= %(year_start)s AND last_verified_at < %(next_year)s) AS this_year
    FROM act GROUP BY 1),
latest_check AS (
    SELECT DISTINCT ON (x.asset_id) x.id, x.asset_id, x.finding FROM verification_verification x
    WHERE x.review IN ('accepted', 'approved') ORDER BY x.asset_id, x.observed_at DESC, x.id DESC),
findings AS (
    SELECT village_id, json_agg(json_build_array(finding, n)) AS j,
           json_agg(problem_ids) FILTER (WHERE problem_ids IS NOT NULL) AS problems
    FROM (SELECT a.village_id, l.finding, count(*) AS n,
                 json_agg(l.id) FILTER (WHERE l.finding <> 'intact') AS problem_ids
          FROM latest_check l JOIN act a ON a.id = l.asset_id GROUP BY 1, 2) s
    GROUP BY 1),
pending AS (
    SELECT a.village_id, count(*) AS n FROM verification_verification x JOIN act a ON a.id = x.asset_id
    WHERE x.review = 'pending' GROUP BY 1),
visible AS (SELECT {columns} FROM geo_assets_asset WHERE village_id = ANY(%(villages)s)),
a AS MATERIALIZED (SELECT {columns} FROM geo_assets_asset WHERE status <> 'disposed' AND village_id = ANY(%(villages)s)),
checked AS ({checked}),
villages AS MATERIALIZED (SELECT id, code, name, level, parent_id FROM geo_assets_adminarea
                          WHERE level = 'village' AND id = ANY(%(villages)s)),
alert AS ({alert_union}),
alerts AS (
    SELECT coalesce(x.village_id, al.area_id) AS village_id,
           json_agg(json_build_array(al.rule, coalesce(al.asset_id, 0), coalesce(al.area_id, 0), al.evidence)) AS j
    FROM alert al LEFT JOIN geo_assets_asset x ON x.id = al.asset_id GROUP BY 1),
covering AS (
    SELECT v.id AS village_id, n.id, n.stage, n.starts_on, n.ends_on,
           (SELECT count(*) FROM geo_assets_objection o WHERE o.notice_id = n.id) AS objections,
           (SELECT count(*) FROM geo_assets_objection o WHERE o.notice_id = n.id AND o.answered_at IS NULL) AS unanswered
    FROM v LEFT JOIN geo_assets_adminarea township ON township.id = v.parent_id
         JOIN geo_assets_publicitynotice n
           ON n.area_id = v.id OR n.area_id = township.id OR n.area_id = township.parent_id),
publicity AS (
    SELECT village_id, json_agg(json_build_array(stage, 1, n, latest_id,
                                CASE WHEN latest_starts > %(today)s THEN '待公示'
                                     WHEN latest_ends >= %(today)s THEN '公示中' ELSE '已公示' END,
                                objections, unanswered)) AS j
    FROM (SELECT DISTINCT ON (village_id, stage) village_id, stage, count(*) OVER w AS n,
                 sum(objections) OVER w AS objections, sum(unanswered) OVER w AS unanswered, id AS latest_id,
                 starts_on AS latest_starts, ends_on AS latest_ends
          FROM covering WINDOW w AS (PARTITION BY village_id, stage)
          ORDER BY village_id, stage, starts_on DESC, id DESC) s
    GROUP BY 1),
listing AS (
    SELECT village_id, json_agg(json_build_array(id, code, name, asset_type, status, total_investment,
                                                 registration_status, custodian_unit, last_verified_at)
                                ORDER BY category, asset_type, code) AS j
    FROM geo_assets_asset WHERE village_id = ANY(%(villages)s) GROUP BY 1)
SELECT v.id, bt.j::text, bt.n, bt.investment, d.n, f.j::text, f.funded, bc.j::text, c.j::text, c.yearly_due,
       i.amount, i.assets, p.j::text, p.planned, cv.total, cv.ever, cv.recent, cv.this_year, pe.n, fi.j::text,
       fi.problems::text, al.j::text, pu.j::text, li.j::text
FROM v LEFT JOIN by_type bt ON bt.village_id = v.id LEFT JOIN disposed d ON d.village_id = v.id
     LEFT JOIN funding f ON f.village_id = v.id LEFT JOIN by_category bc ON bc.village_id = v.id
     LEFT JOIN contracts c ON c.village_id = v.id LEFT JOIN income i ON i.village_id = v.id
     LEFT JOIN plans p ON p.village_id = v.id LEFT JOIN coverage cv ON cv.village_id = v.id
     LEFT JOIN pending pe ON pe.village_id = v.id LEFT JOIN findings fi ON fi.village_id = v.id
     LEFT JOIN alerts al ON al.village_id = v.id
     LEFT JOIN publicity pu ON pu.village_id = v.id LEFT JOIN listing li ON li.village_id = v.id
ORDER BY v.id
"""


def anchor_statement(village_ids: list[int], year: int) -> tuple[str, dict]:
    """The anchor SQL and its parameters; the alert rules' own statements are inlined as one UNION ALL."""
    from django.utils import timezone

    from geo_assets.models import Asset
    from reports import figures
    from reports.alerts import AREA_RULES, CHECKED, GEOMETRY_COLUMNS, RULES, _named, _params

    rule_params = _params()
    # our own rule codes and SQL (reports.alerts), their values quoted by the database adapter
    parts = [f"SELECT '{r.code}'::text AS rule, r.id::bigint AS asset_id, NULL::bigint AS area_id, "  # noqa: S608
             f"r.ev::text AS evidence FROM ({_named(r.sql, rule_params)}) r(id, ev)" for r in RULES]
    parts += [f"SELECT '{r.code}'::text, NULL::bigint, r.id::bigint, r.ev::text "  # noqa: S608
              f"FROM ({_named(r.sql, rule_params)}) r(id, ev)" for r in AREA_RULES]
    now = timezone.now()
    this_year = timezone.localtime(now).year
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    params = {"villages": list(village_ids), "year": year, "today": today,
              "warning": today + datetime.timedelta(days=figures.CONTRACT_WARNING_DAYS),
              "year_ago": figures.year_ago(),
              "year_start": datetime.datetime(this_year, 1, 1, tzinfo=tz),
              "next_year": datetime.datetime(this_year + 1, 1, 1, tzinfo=tz)}
    columns = ", ".join(f.column for f in Asset._meta.concrete_fields if f.column not in GEOMETRY_COLUMNS)
    sql = (ANCHOR_SQL.replace("{alert_union}", "\n    UNION ALL ".join(parts)).replace("{columns}", columns)
           .replace("{checked}", CHECKED))
    return sql, params


def _json(text):
    return json.loads(text, parse_float=Decimal) if text else []


def anchor_row_parse(row) -> tuple[int, dict]:
    """One row of the anchor (a village) as Python values: its JSON columns parsed exactly (Decimal, not float)."""
    (vid, by_type, count, investment, disposed, funding, funded, categories, contracts, yearly_due, income, income_assets,
     plans, planned, total, ever, recent, this_year, pending, findings, problems, alerts, publicity, listing) = row
    return vid, {"by_type": _json(by_type), "count": count, "investment": investment, "disposed": disposed,
                 "funding": _json(funding), "funded": funded, "categories": _json(categories),
                 "contracts": _json(contracts), "yearly_due": yearly_due, "income": income,
                 "income_assets": income_assets, "plans": _json(plans), "planned": planned, "total": total,
                 "ever": ever, "recent": recent, "this_year": this_year, "pending": pending,
                 "findings": _json(findings), "problems": _json(problems), "alerts": _json(alerts),
                 "publicity": _json(publicity), "listing": _json(listing)}


def anchor_digest(r: dict, viewer=None) -> dict:
    """The anchor's figures of one village in the shape of figures_digest; the alerts' evidence written for
    `viewer` (reports.alerts.evidence_write; a county-wide reader by default, as the bench's user)."""
    from geo_assets.access import Scope
    from geo_assets.taxonomy import Role
    from reports.alerts import evidence_write

    viewer = viewer or Scope(role=Role.COUNTY_ADMIN)
    zero = Decimal(0)
    return {
        "by_type": sorted([c, t, u, n, _n(q), _n(i)] for c, t, u, n, q, i in r["by_type"]),
        "totals": [int(r["count"] or 0), _n(r["investment"] or zero), r["disposed"] or 0, _n(r["funded"] or zero)],
        "funding": sorted([s, c, _n(a)] for s, c, a in r["funding"]),
        "categories": sorted([c[0], *c[1:8], _n(c[8])] for c in r["categories"]),
        "contracts": [sorted([a, n, s, _n(d)] for a, n, s, d in r["contracts"]), _n(r["yearly_due"] or zero)],
        "income": [_n(r["income"] or zero), r["income_assets"] or 0,
                   sorted([p, _n(t), sorted(items)] for p, t, items in r["plans"]), _n(r["planned"] or zero)],
        "verification": [r["total"] or 0, r["ever"] or 0, r["recent"] or 0, r["this_year"] or 0, r["pending"] or 0,
                         sorted([f, n] for f, n in r["findings"]), sorted(i for ids in r["problems"] for i in ids)],
        "alerts": sorted([rule, a, v, e] for (rule, a, v, _raw), e in zip(
            r["alerts"], evidence_write([(rule, raw) for rule, _a, _v, raw in r["alerts"]], viewer), strict=True)),
        "publicity": sorted(r["publicity"]),
        "assets": [[a[0], a[1]] for a in r["listing"]],
    }


# ---------------------------------------------------------------- what each child process measures


def _query_counter():
    counter = {"n": 0}

    def count(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    return counter, count


class _DigestFile:
    """Digests written one village per line as they come (the full digests of 1.25M assets would not fit beside the
    measured work in memory); nothing when the task names no file."""

    def __init__(self, path: str | None):
        self.file = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115 - closed in close()

    def write(self, village_id: int, digest: dict) -> None:
        if self.file:
            self.file.write(json.dumps([village_id, digest], default=str, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.file:
            self.file.close()


def measure_figures(task: dict) -> dict:
    """Every village's report figures, one after the other; per village: seconds, statements, digest hashes."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from geo_assets.models import AdminArea
    from reports import figures

    user = get_user_model().objects.get(pk=task["user"])
    # the villages without their boundaries (the figures do not read them; 560 polygons would weigh on memory)
    villages = list(AdminArea.objects.filter(pk__in=task["villages"]).defer("geom", "geom_web").order_by("code"))
    times, statements, hashes = {}, {}, {}
    counter, count = _query_counter()
    out = _DigestFile(task.get("digests"))
    if villages:  # one report untimed first, as a worker has served others (the anchor's statements run warm too:
        # each village's after the all-village one): a process's first report compiles what every later one reuses
        figures.report_figures(figures.area_scope(user, villages[-1]), task["year"])
    for village in villages:
        with connection.execute_wrapper(count):
            before = counter["n"]
            started = time.perf_counter()
            fig = figures.report_figures(figures.area_scope(user, village), task["year"])
            times[village.pk] = time.perf_counter() - started
            statements[village.pk] = counter["n"] - before
        digest = figures_digest(fig)  # not timed
        hashes[village.pk] = digest_hashes(digest)
        out.write(village.pk, digest)
        del fig, digest
    out.close()
    return {"seconds": sum(times.values()), "times": times, "statements": statements, "hashes": hashes,
            "db_rss_mb": backend_rss_mb()}


def measure_anchor(task: dict) -> dict:
    """The one statement, streamed from a server-side cursor; timed: execute, fetch and JSON parsing."""
    from django.db import connections, router, transaction

    from geo_assets.models import Asset

    alias = router.db_for_read(Asset)
    connection = connections[alias]
    sql, params = anchor_statement(task["villages"], task["year"])
    hashes, seconds = {}, 0.0
    out = _DigestFile(task.get("digests"))
    with transaction.atomic(using=alias):
        connection.ensure_connection()
        with connection.cursor() as plain:  # the product's planner settings (figures.REPORT_PLANNER, the alerts'),
            # and the memory a big one-off aggregation is given: a fair, strong anchor
            plain.execute("; ".join(f"SET LOCAL {k} = {v}" for k, v in ANCHOR_PLANNER.items()))
        with connection.connection.cursor(name="reports_anchor") as cursor:
            cursor.itersize = 20
            started = time.perf_counter()
            cursor.execute(sql, params)
            while True:
                rows = cursor.fetchmany(20)
                parsed = [anchor_row_parse(row) for row in rows]
                seconds += time.perf_counter() - started
                if not parsed:
                    break
                for vid, figures in parsed:  # not timed
                    digest = anchor_digest(figures)
                    hashes[vid] = digest_hashes(digest)
                    out.write(vid, digest)
                del parsed, rows
                started = time.perf_counter()
        per_village = _anchor_per_village(connection, task, hashes) if task.get("per_village") else {}
    out.close()
    return {"seconds": seconds, "hashes": hashes, "times": per_village, "db_rss_mb": backend_rss_mb()}


def _anchor_per_village(connection, task: dict, hashes: dict) -> dict:
    """The same statement for one village at a time (in the same transaction and planner settings): per village,
    seconds of execute, fetch and parsing. Its digest must be the all-village statement's."""
    sql, params = anchor_statement(task["villages"][:1], task["year"])
    times = {}
    with connection.connection.cursor() as cursor:
        for vid in task["villages"]:
            started = time.perf_counter()
            cursor.execute(sql, {**params, "villages": [vid]})
            rows = [anchor_row_parse(row) for row in cursor.fetchall()]
            times[vid] = time.perf_counter() - started
            if len(rows) != 1 or rows[0][0] != vid:
                raise AssertionError(f"the anchor for village {vid} returned {[r[0] for r in rows]}")
            if digest_hashes(anchor_digest(rows[0][1])) != hashes[vid]:
                raise AssertionError(f"the anchor for village {vid} alone disagrees with the all-village statement")
    return times


MEASURES = {"figures": measure_figures, "anchor": measure_anchor}


# ---------------------------------------------------------------- the benchmark


def village_ids(options) -> list[int]:
    from geo_assets.models import AdminArea

    ids = list(AdminArea.objects.villages().order_by("code").values_list("pk", flat=True))
    if options.quick:
        return ids[:QUICK_VILLAGES]
    return ids[: max(1, math.ceil(len(ids) * min(options.scale, 1.0)))]


def digests_compare(figures_path: Path, anchor_path: Path, limit: int = 3) -> list[str]:
    """Where the two digests differ: village, section, and both values (shortened)."""
    def load(path):
        with open(path, encoding="utf-8") as lines:
            return {str(vid): digest for vid, digest in map(json.loads, lines)}

    ours, theirs = load(figures_path), load(anchor_path)
    out = []
    for vid in sorted(set(ours) | set(theirs), key=int):
        a, b = ours.get(vid, {}), theirs.get(vid, {})
        for section in sorted(set(a) | set(b)):
            if a.get(section) != b.get(section):
                out.append(f"village {vid} {section}: figures {str(a.get(section))[:300]} ≠ SQL {str(b.get(section))[:300]}")
                if len(out) >= limit:
                    return out
    return out


def reports_benchmark(options, log=print) -> list[dict]:
    """Every village's figures vs one SQL statement (≤ 1.2 ×), and the p95 of one village's figures (≤ 50 ms)."""
    from django.db.models import Count
    from django.utils import timezone

    from bench.kit import bench_user, median, percentile, row
    from geo_assets.models import Asset

    ids = village_ids(options)
    user = bench_user()
    year = timezone.localdate().year - 1
    assets = Asset.objects.filter(village_id__in=ids).aggregate(n=Count("id"))["n"]
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        for run in range(max(1, options.repeat)):
            first = run == 0
            task = {"user": user.pk, "villages": ids, "year": year}
            fig = run_child("bench.reports", {**task, "measure": "figures",
                                              **({"digests": f"{tmp}/figures.json"} if first else {})})
            log(f"  figures of {len(ids)} villages ({assets:,} assets): {fig['seconds']:.2f} s, "
                f"peak RSS {fig['rss_mb']:.0f} MB")
            anchor = run_child("bench.reports", {**task, "measure": "anchor", "per_village": True,
                                                 **({"digests": f"{tmp}/anchor.json"} if first else {})})
            log(f"  one SQL statement: {anchor['seconds']:.2f} s, peak RSS {anchor['rss_mb']:.0f} MB")
            if fig["hashes"] != anchor["hashes"]:
                differences = digests_compare(Path(tmp) / "figures.json", Path(tmp) / "anchor.json") if first else []
                raise AssertionError("report figures and the SQL anchor disagree:\n" + "\n".join(differences))
            runs.append((fig, anchor))
    per_village = [median([f["times"][str(v)] if str(v) in f["times"] else f["times"][v] for f, _a in runs])
                   for v in ids]
    anchor_village = [median([a["times"][str(v)] if str(v) in a["times"] else a["times"][v] for _f, a in runs])
                      for v in ids]
    ratios = [f / a for f, a in zip(per_village, anchor_village, strict=True)]
    worst = max(range(len(ids)), key=ratios.__getitem__)
    figures_s = median([f["seconds"] for f, _a in runs])
    anchor_s = median([a["seconds"] for _f, a in runs])
    statements = [s for s in runs[0][0]["statements"].values()]
    fig0, anchor0 = runs[0]
    quick = options.quick
    p95 = percentile(per_village, 95) * 1000
    return [
        row(f"reports: figures of all {len(ids)} villages vs one SQL", round(figures_s, 3), "s", round(anchor_s, 3),
            "one hand-written SQL statement, same figures", None if quick else ALL_VILLAGES_TARGET,
            higher_is_better=False, agree=True, villages=len(ids), assets=assets,
            rss_mb=fig0["rss_mb"], anchor_rss_mb=anchor0["rss_mb"], db_rss_mb=fig0["db_rss_mb"],
            anchor_db_rss_mb=anchor0["db_rss_mb"], statements_per_village=[min(statements), max(statements)]),
        row("reports: one village's figures vs its own SQL, p95 of the ratios", round(percentile(ratios, 95), 3),
            "×", 1.0, "the anchor statement for that village alone (ratio per village)",
            None if quick else VILLAGE_RATIO_TARGET, higher_is_better=False,
            p50_ratio=round(percentile(ratios, 50), 3), max_ratio=round(ratios[worst], 3), worst_village=ids[worst],
            # the tail: the villages above the p95, with their medians (figures, anchor) in ms
            tail=[[ids[i], round(ratios[i], 3), round(per_village[i] * 1000, 1), round(anchor_village[i] * 1000, 1)]
                  for i in sorted(range(len(ids)), key=ratios.__getitem__)[-max(1, len(ids) // 20):]],
            p95_ms=round(p95, 2), anchor_p95_ms=round(percentile(anchor_village, 95) * 1000, 2),
            p50_ms=round(percentile(per_village, 50) * 1000, 2),
            anchor_p50_ms=round(percentile(anchor_village, 50) * 1000, 2), rss_mb=fig0["rss_mb"]),
        row("reports: one village's figures, p95 over the villages", round(p95, 2), "ms", VILLAGE_P95_MS,
            "budget of issue 11 (50 ms), for information", None, higher_is_better=False,
            p50_ms=round(percentile(per_village, 50) * 1000, 2), max_ms=round(max(per_village) * 1000, 2),
            anchor_share_ms=round(anchor_s / len(ids) * 1000, 2), rss_mb=fig0["rss_mb"]),
    ]


if __name__ == "__main__":
    child_main(MEASURES)
