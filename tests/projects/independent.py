"""An independent aggregation of the project and fund ledgers, written by hand in SQL over projects_fundline,
projects_projectasset and geo_assets_asset — not through projects.reconciliation or projects.selectors — and the
check that a reconciliation agrees with it figure by figure and finding by finding (tests/projects: the ledger world
and the demo county)."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection

from projects.models import LedgerPolicy
from projects.reconciliation import KINDS

Q4 = Decimal("0.0001")


INDEPENDENT_SQL = """
WITH fl AS (SELECT project_id, sum(allocated) AS a, sum(disbursed) AS d FROM projects_fundline GROUP BY project_id),
lk AS (SELECT l.project_id, l.asset_id, l.amount, x.total_investment AS inv
       FROM projects_projectasset l JOIN geo_assets_asset x ON x.id = l.asset_id
       WHERE l.amount IS NULL OR l.amount > 0),
per_asset AS (SELECT lk.asset_id, coalesce(sum(lk.amount), 0) AS stated,
                     sum(CASE WHEN lk.amount IS NULL THEN coalesce(fl.d, 0) ELSE 0 END) AS open_d,
                     count(*) FILTER (WHERE lk.amount IS NULL) AS open_n
              FROM lk LEFT JOIN fl ON fl.project_id = lk.project_id GROUP BY lk.asset_id),
contrib AS (SELECT lk.project_id, lk.asset_id,
                   CASE WHEN lk.amount IS NOT NULL THEN lk.amount
                        WHEN pa.open_d > 0 THEN greatest(lk.inv - pa.stated, 0) * coalesce(fl.d, 0) / pa.open_d
                        ELSE greatest(lk.inv - pa.stated, 0) / pa.open_n END AS c
            FROM lk JOIN per_asset pa ON pa.asset_id = lk.asset_id LEFT JOIN fl ON fl.project_id = lk.project_id)
SELECT p.code, p.year, p.kind, p.status, p.department_id,
       coalesce(p.township_id, (SELECT min(v.parent_id) FROM projects_project_villages pv
                                JOIN geo_assets_adminarea v ON v.id = pv.adminarea_id WHERE pv.project_id = p.id)),
       CASE WHEN p.kind = 'relocation' THEN 'excluded' WHEN p.year < %(first_year)s THEN 'traced' ELSE 'in_scope' END,
       coalesce(fl.a, 0), coalesce(fl.d, 0),
       coalesce((SELECT sum(c.c) FROM contrib c WHERE c.project_id = p.id), 0),
       (SELECT count(*) FROM contrib c WHERE c.project_id = p.id),
       (SELECT count(*) FROM projects_fundline f WHERE f.project_id = p.id AND f.document_number = '')
FROM projects_project p LEFT JOIN fl ON fl.project_id = p.id ORDER BY p.code"""

BY_SOURCE_SQL = """
SELECT p.code, f.source, sum(f.allocated), sum(f.disbursed) FROM projects_fundline f
JOIN projects_project p ON p.id = f.project_id GROUP BY p.code, f.source"""

UNLINKED_SQL = """
SELECT x.code FROM geo_assets_asset x
WHERE x.status <> 'disposed' AND (x.year_built IS NULL OR x.year_built >= %(first_year)s)
  AND NOT EXISTS (SELECT 1 FROM projects_projectasset l WHERE l.asset_id = x.id AND (l.amount IS NULL OR l.amount > 0))"""

# an asset several projects formed, whose investment exceeds what they disbursed together beyond the tolerance
SHARED_SQL = """
WITH fl AS (SELECT project_id, sum(disbursed) AS d FROM projects_fundline GROUP BY project_id),
shared AS (SELECT l.asset_id, sum(coalesce(fl.d, 0)) AS d, count(*) AS n,
                  bool_or(p.year >= %(first_year)s AND p.kind <> 'relocation') AS in_scope
           FROM projects_projectasset l JOIN projects_project p ON p.id = l.project_id
                LEFT JOIN fl ON fl.project_id = l.project_id
           WHERE l.amount IS NULL OR l.amount > 0 GROUP BY l.asset_id)
SELECT x.code FROM shared JOIN geo_assets_asset x ON x.id = shared.asset_id
WHERE shared.n > 1 AND shared.in_scope
  AND x.total_investment - shared.d > greatest(shared.d * %(percent)s / 100, %(amount)s)"""

NO_ASSET = {"interest_subsidy", "insurance", "guarantee", "direct_subsidy"}


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def found(rec, kind: str) -> set[str]:
    """The findings of a kind: project codes, or asset codes for findings about an asset alone."""
    return {i.project.code if i.project and KINDS[kind].subject != "asset" else ",".join(a.code for a in i.assets)
            for i in rec.findings[kind]}


def check(rec) -> dict[str, set[str]]:
    """Assert that the reconciliation `rec` of a county-wide viewer, unfiltered, equals the hand-written SQL: every
    project's class and figures, the totals of each class, each group's money, each kind's findings. Returns the
    findings the SQL expects, by kind."""
    policy = LedgerPolicy.objects.order_by("pk").first() or LedgerPolicy()
    params = {"first_year": policy.first_year, "percent": policy.tolerance_percent,
              "amount": policy.tolerance_amount}
    lines = {p.code: p for p in rec.projects}
    raw = sql(INDEPENDENT_SQL, params)
    assert set(lines) == {r[0] for r in raw}
    expected_totals = defaultdict(lambda: defaultdict(Decimal))
    expected_groups = defaultdict(lambda: defaultdict(Decimal))
    by_source = defaultdict(dict)
    for project_code, source, allocated, disbursed in sql(BY_SOURCE_SQL):
        by_source[project_code][source] = (allocated, disbursed)
    expected = {"accepted_without_assets": set(), "partly_formed": set(), "asset_exceeds_disbursement": set(),
                "fund_line_without_document": set()}
    for (project_code, year, kind, status, department, township, klass, allocated, disbursed, formed, assets,
         undocumented) in raw:
        line = lines[project_code]
        no_asset = max(disbursed - formed, 0) if kind in NO_ASSET else 0
        assert (line.klass, line.whole.allocated, line.whole.disbursed, line.whole.asset_count) == (
            klass, allocated, disbursed, assets), project_code
        assert line.whole.formed == Decimal(formed).quantize(Q4), project_code
        assert line.whole.no_asset == no_asset and line.whole.difference == disbursed - line.whole.formed - no_asset
        totals = expected_totals[klass]
        totals["allocated"] += allocated
        totals["disbursed"] += disbursed
        totals["formed"] += formed
        totals["no_asset"] += no_asset
        sources = by_source[project_code]
        weights = {s: d for s, (_a, d) in sources.items() if d > 0} or {s: a for s, (a, _d) in sources.items() if a > 0}
        whole = sum(weights.values(), Decimal(0))
        for source, (s_allocated, s_disbursed) in sources.items():
            group = expected_groups[(klass, year, source, department, township)]
            group["allocated"] += s_allocated
            group["disbursed"] += s_disbursed
            group["formed"] += formed * weights.get(source, 0) / whole if whole else 0
        if not sources or (formed and not whole):
            expected_groups[(klass, year, "", department, township)]["formed"] += formed
        tolerance = max(disbursed * policy.tolerance_percent / 100, policy.tolerance_amount)
        if klass == "in_scope":
            forms = kind not in NO_ASSET
            expected["accepted_without_assets"] |= {project_code} if status == "accepted" and forms and not assets \
                else set()
            expected["partly_formed"] |= {project_code} if forms and formed > 0 and disbursed - formed > tolerance \
                else set()
            expected["fund_line_without_document"] |= {project_code} if undocumented else set()
            if assets and formed - disbursed > tolerance:
                expected["asset_exceeds_disbursement"].add(project_code)
    for klass, totals in expected_totals.items():
        got = rec.totals[klass]
        assert (got.allocated, got.disbursed, got.no_asset) == (totals["allocated"], totals["disbursed"],
                                                                totals["no_asset"]), klass
        assert abs(got.formed - totals["formed"]) < Decimal("0.001") * max(1, len(raw)), klass
    groups = {(g.klass, g.year, g.source, g.department_id, g.township_id): g.figures for g in rec.groups}
    assert set(groups) == set(expected_groups)
    for key, values in expected_groups.items():
        assert (groups[key].allocated, groups[key].disbursed) == (values["allocated"], values["disbursed"]), key
        assert abs(groups[key].formed - values["formed"]) < Decimal("0.001") * max(1, len(raw)), key
    for kind, codes in expected.items():
        projects = {i.project.code for i in rec.findings[kind] if "projects" not in i.values}
        assert projects == codes, kind
    expected["shared_asset_exceeds"] = {r[0] for r in sql(SHARED_SQL, params)}
    assert {i.assets[0].code for i in rec.findings["asset_exceeds_disbursement"] if "projects" in i.values} == \
        expected["shared_asset_exceeds"]
    expected["asset_without_project"] = {r[0] for r in sql(UNLINKED_SQL, params)}
    assert found(rec, "asset_without_project") == expected["asset_without_project"]
    return expected


