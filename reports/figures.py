"""The figures of a report (村 / 乡镇 / 县 / 行业部门) and of the work-plan dashboard.

Every figure is a set-based query over the assets the viewer's role sees (`Asset.objects.visible_to`), grouped in
the database: a report costs a fixed number of statements whatever the size of its area. Rules that already exist
are called, never rewritten: risk alerts come from reports.alerts, the privacy rule from geo_assets.privacy.

At province scale (issue 11, docs/performance.md) a village holds up to ~13,000 assets: the counts and sums of the
totals, funding, ownership, custody, contracts and verification sections come from ONE statement (`SECTIONS_SQL`),
written on the role-scoped queryset compiled once per report (`_assets_sql`) rather than built as a queryset per
section, and the rows a report lists are read as `AssetRow` tuples (no model instance, no geometry).
"""

import datetime
import gc
import json
import re
from collections import Counter, defaultdict, namedtuple
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial, reduce
from itertools import count, groupby
from operator import itemgetter, or_
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geo_assets.access import PUBLIC_SCOPE, scope_for
from geo_assets.access import Scope as Viewer
from geo_assets.dbrouting import read_cursor, reads_ahead
from geo_assets.models import (
    AdminArea,
    Asset,
    Department,
    DistributionItem,
    DistributionPlan,
    FundingLine,
    PublicityNotice,
)
from geo_assets.models.register import asset_url
from geo_assets.querysets import verified_q, without_boundaries
from geo_assets.taxonomy import (
    CATEGORY_TYPES,
    AreaLevel,
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    PlanPurpose,
    PlanStatus,
    PublicityStage,
    RegistrationStatus,
    Role,
    county_code_of,
)
from projects.reconciliation import Accounted, funds_accounted
from reports.alerts import (
    ALERTS_PLANNER,
    ALL_RULES,
    BLUE,
    RED,
    YELLOW,
    Alert,
    alerts_compute,
    alerts_of_rows,
    alerts_statement,
    asset_rows_sql,
    planner_settings,
)
from reports.selectors import alert_counts
from verification.models import Verification
from verification.taxonomy import Finding, Review

ZERO = Decimal("0")
COUNTED = (Review.ACCEPTED, Review.APPROVED)
NO_CONTRACT_TYPES = (AssetType.EQUITY, AssetType.DEBT)  # as the no_contract alert: shares, not operated
CONTRACT_WARNING_DAYS = 90
TYPE_ORDER = {t: i for i, t in enumerate(t for types in CATEGORY_TYPES.values() for t in types)}
CATEGORY_ORDER = {c: i for i, c in enumerate(Category.values)}
LEVELS = (RED, YELLOW, BLUE)
RULE_RANK = {code: i for i, code in enumerate(sorted(ALL_RULES, key=lambda c: (LEVELS.index(ALL_RULES[c].level), c)))}
WORKPLAN_TASKS = {  # the work plan's steps (三、实施步骤) the dashboard follows
    "inventory": gettext_lazy("Inventory"), "ownership": gettext_lazy("Ownership registration"),
    "publicity": gettext_lazy("Publicity"), "verification": gettext_lazy("Verification"),
}
# A contract's state (contract_key): its label is what a report shows and counts by.
CONTRACT_STATES = {"valid": gettext_lazy("valid"), "expiring": gettext_lazy("expiring soon"),
                   "expired": gettext_lazy("expired"), "none": gettext_lazy("no contract")}


# For every report's statements (reports.alerts.planner_settings), set once per report: the alerts' (no JIT — at
# province scale compiling cost more than running; no merge joins — see ALERTS_PLANNER), and index probes priced as
# what they are here, pages in memory (PostgreSQL's default random_page_cost = 4 assumes spinning disks and made
# the planner read all 1.25M funding lines for one village).
REPORT_PLANNER = {**ALERTS_PLANNER, "random_page_cost": "1.1"}
# A village's or a township's report: no parallel workers either. Its statements are short (a few thousand assets),
# and starting two workers took ~25 ms on a loaded machine where the work they shared took 5 (issue 11: the funding
# lines of a 5,000-asset village, 33 ms parallel, ~8 ms not). County-wide statements may still use them.
AREA_PLANNER = {**REPORT_PLANNER, "max_parallel_workers_per_gather": "0"}


def pct(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def year_ago():
    """The same cut-off as the not_verified_12_months alert."""
    return timezone.now() - datetime.timedelta(days=365)


# ---------------------------------------------------------------- what a report covers


@dataclass(frozen=True)
class Scope:
    kind: str  # village | township | county | department
    name: str
    assets: QuerySet  # every asset of the report that the viewer sees, disposed ones included
    villages: QuerySet | None  # villages whose publicity and distribution plans the report covers
    role_label: str
    area: AdminArea | None = None
    department: Department | None = None
    viewer: Viewer = PUBLIC_SCOPE  # whose report: the alerts' evidence names only what this viewer may see
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # what several sections share

    @property
    def active(self) -> QuerySet:
        return self.assets.exclude(status=AssetStatus.DISPOSED)


def _role_label(user) -> str:
    return str(Role(scope_for(user).role).label)


def area_scope(user, area: AdminArea) -> Scope:
    villages = {AreaLevel.VILLAGE: AdminArea.objects.filter(pk=area.pk),
                AreaLevel.TOWNSHIP: AdminArea.objects.villages().filter(parent=area)}.get(
        area.level, AdminArea.objects.villages().filter(code__startswith=area_prefix(area)))
    return Scope(area.level, area.name, Asset.objects.visible_to(user).in_area(area), villages, _role_label(user),
                 area=area, viewer=scope_for(user))


def area_prefix(area: AdminArea) -> str:
    """The leading digits every area code below `area` shares (national division codes nest)."""
    return area.code[:{AreaLevel.PROVINCE: 2, AreaLevel.PREFECTURE: 4, AreaLevel.COUNTY: 6,
                       AreaLevel.TOWNSHIP: 9}.get(area.level, 12)]


def county_codes(scope: Scope) -> list[str] | None:
    """The county bound of the report's plans and notices: the county its area lies in, else the viewer's counties
    (None: not bound)."""
    code = scope.area is not None and county_code_of(scope.area.code)
    return [code] if code else scope.viewer.counties


def county_bound(scope: Scope, field: str = "county") -> Q | None:
    """county_codes as a filter on a field holding the county code."""
    codes = county_codes(scope)
    if codes is None:
        return None
    return Q(**{field: codes[0]}) if len(codes) == 1 else Q(**{f"{field}__in": codes})


def department_scope(user, department: Department) -> Scope:
    return Scope("department", department.name, Asset.objects.visible_to(user).filter(department=department), None,
                 _role_label(user), department=department, viewer=scope_for(user))


# ---------------------------------------------------------------- the assets a report lists

ASSET_ROW_FIELDS = ("id", "code", "name", "public_name", "category", "asset_type", "status", "total_investment",
                    "registration_status", "custodian_unit", "custodian_person", "operator", "last_verified_at",
                    "village_id", "village__name")
_TYPE_LABELS, _STATUS_LABELS, _REGISTRATION_LABELS = (dict(c.choices) for c in (AssetType, AssetStatus,
                                                                                 RegistrationStatus))


class _Village(namedtuple("_Village", "id name")):
    pass


class AssetRow(namedtuple("AssetRow", [f.replace("__", "_") for f in ASSET_ROW_FIELDS])):
    """An asset as a report lists it (asset list, contracts, alerts): one values_list row — no model instance, no
    geometry — with what the tables and the privacy rule (Redactor.asset_name) read of an Asset."""

    __slots__ = ()

    @property
    def pk(self) -> int:
        return self.id

    @property
    def village(self) -> _Village | None:
        return _Village(self.village_id, self.village_name) if self.village_id else None

    def get_absolute_url(self) -> str:
        return asset_url(self.code)

    def get_asset_type_display(self) -> str:
        return str(_TYPE_LABELS.get(self.asset_type, self.asset_type))

    def get_status_display(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    def get_registration_status_display(self) -> str:
        return str(_REGISTRATION_LABELS.get(self.registration_status, self.registration_status))


PROBLEM_ASSET = ("code", "name", "public_name", "category", "asset_type", "custodian_person", "village_id")


def asset_rows(assets: QuerySet, *order) -> list[AssetRow]:
    return [AssetRow._make(r) for r in assets.order_by(*order).values_list(*ASSET_ROW_FIELDS)]


def _assets_sql(scope: Scope) -> tuple[str, list]:
    """The report's assets (disposed included) as SQL with every column but the geometry — the role-scoped
    queryset's own WHERE (reports.alerts.asset_rows_sql) — compiled once per report: the sections' statements are
    written on it, so a report no longer builds and compiles a queryset per section (issue 11)."""
    if "assets_sql" not in scope.memo:
        try:
            sql, params = asset_rows_sql(scope.assets)
        except EmptyResultSet:  # the viewer sees nothing
            sql, params = asset_rows_sql(Asset.objects.filter(pk__isnull=True))
        scope.memo["assets_sql"] = (sql, list(params))
    return scope.memo["assets_sql"]


_ASSETS_SLOT = re.compile(r"\{assets\}|\{active\}|%s")


def _bound(scope: Scope, sql: str, *params) -> tuple[str, list]:
    """One of our statements on the report's assets, with its parameters: `{assets}` in it stands for them,
    `{active}` for the active ones, `%s` for `params` in order."""
    assets, assets_params = _assets_sql(scope)
    values, given = [], iter(params)

    def slot(match) -> str:
        if match[0] == "%s":
            values.append(next(given))
            return "%s"
        values.extend(assets_params)
        if match[0] == "{assets}":
            return f"({assets})"
        return f"(SELECT * FROM ({assets}) x WHERE x.status <> 'disposed')"  # noqa: S608 - compiled SQL

    # the role's WHERE as Django compiled it, and our own statements; the values stay parameters
    return _ASSETS_SLOT.sub(slot, sql), values


def _read(scope: Scope, key: str, model, statement: Callable[[], tuple[str, list]]) -> list[tuple]:
    """The rows of one of the report's statements: sent ahead with the others under `key` (_send_ahead), or run
    now (`statement()`: its SQL and parameters) on the database that reads `model`."""
    ahead = scope.memo.get(_AHEAD)
    rows = ahead.rows(key) if ahead is not None else None
    return rows if rows is not None else _run(model, statement, prepared=scope.kind == "village")


def _run(model, statement: Callable[[], tuple[str, list]], *, prepared: bool = False) -> list[tuple]:
    """The rows of `statement()` (its SQL and parameters), run now on the database that reads `model`."""
    sql, params = statement()
    with read_cursor(model, prepared=prepared) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# ONE statement for the counts and sums of the totals, ownership, custody and verification sections (`groups`: per
# category, type and unit, the active assets' figures and the disposed count), the funding by source and category,
# the operating assets' latest contract or none, and the latest counted finding of each active asset with the ids
# of the problems: the report's assets are read once (`s`), each part returned as JSON text (numbers as text where
# they are decimals, parsed exactly). Reviews still waiting: `pending`.
SECTIONS_SQL = """
WITH s AS MATERIALIZED (
    SELECT a.id, a.category, a.asset_type, a.unit, a.status, a.quantity, a.total_investment, a.registration_status,
           a.custodian_unit, a.custodian_person, a.custody_funding, a.last_verified_at FROM {assets} a),
act AS (SELECT * FROM s WHERE s.status <> 'disposed'),
ops AS (SELECT act.id, act.asset_type FROM act WHERE act.category = 'operating')
SELECT
  (SELECT json_agg(g)::text FROM (
     SELECT a.category, a.asset_type, a.unit, count(*) FILTER (WHERE a.status <> 'disposed') AS "count",
            (sum(a.quantity) FILTER (WHERE a.status <> 'disposed'))::text AS quantity,
            (sum(a.total_investment) FILTER (WHERE a.status <> 'disposed'))::text AS investment,
            count(*) FILTER (WHERE a.status = 'disposed') AS disposed,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.registration_status = 'registered') AS registered,
            count(*) FILTER (WHERE a.status <> 'disposed' AND EXISTS (
                SELECT 1 FROM geo_assets_ownershipregistration r WHERE r.asset_id = a.id AND r.step = 'submitted'))
              AS pending,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.custodian_unit <> '') AS custodian,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.custodian_person <> '') AS person,
            count(*) FILTER (WHERE a.status <> 'disposed' AND EXISTS (
                SELECT 1 FROM geo_assets_handoverletter h WHERE h.asset_id = a.id)) AS letter,
            count(*) FILTER (WHERE a.status <> 'disposed' AND EXISTS (
                SELECT 1 FROM geo_assets_publicwelfarepost p WHERE p.asset_id = a.id AND p.starts_on <= %s
                   AND (p.ends_on IS NULL OR p.ends_on >= %s))) AS post,
            (sum(a.custody_funding) FILTER (WHERE a.status <> 'disposed'))::text AS funding,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.last_verified_at IS NOT NULL) AS ever,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.last_verified_at >= %s) AS recent,
            count(*) FILTER (WHERE a.status <> 'disposed' AND a.last_verified_at >= %s AND a.last_verified_at < %s)
              AS this_year
     FROM s a GROUP BY 1, 2, 3) g),
  (SELECT json_agg(json_build_array(x.source, x.category, x.amount::text))::text FROM (
     SELECT f.source, a.category, sum(f.amount) AS amount
     FROM act a JOIN geo_assets_fundingline f ON f.asset_id = a.id GROUP BY 1, 2) x),
  (SELECT json_agg(json_build_array(o.id, l.asset_id IS NOT NULL, l.operator, l.number, l.starts_on, l.ends_on,
                                    l.yearly_due::text, l.mechanism))::text
   FROM ops o LEFT JOIN (
       SELECT DISTINCT ON (c.asset_id) c.asset_id, c.operator, c.number, c.starts_on, c.ends_on, c.yearly_due,
              c.mechanism
       FROM geo_assets_operationcontract c
       WHERE c.asset_id IN (SELECT ops.id FROM ops)
         AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract r WHERE r.renews_id = c.id)
       ORDER BY c.asset_id, c.ends_on DESC) l ON l.asset_id = o.id
   WHERE l.asset_id IS NOT NULL
      OR (o.asset_type NOT IN ('equity', 'debt')
          AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract c WHERE c.asset_id = o.id))),
  (SELECT json_agg(json_build_array(x.finding, x.n, x.ids))::text FROM (
     SELECT l.finding, count(*) AS n, coalesce(array_agg(l.id) FILTER (WHERE l.finding <> 'intact'), '{}') AS ids
     FROM (SELECT DISTINCT ON (v.asset_id) v.id, v.finding FROM verification_verification v
           WHERE v.asset_id IN (SELECT act.id FROM act) AND v.review IN ('accepted', 'approved')
           ORDER BY v.asset_id, v.observed_at DESC, v.id DESC) l
     GROUP BY 1) x),
  (SELECT count(*) FROM verification_verification v
   WHERE v.review = 'pending' AND v.asset_id IN (SELECT act.id FROM act))"""
_DECIMAL_GROUP_KEYS = ("quantity", "investment", "funding")


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _day(text: str | None) -> datetime.date | None:
    return None if text is None else datetime.date.fromisoformat(text)


def _sections_statement(scope: Scope) -> tuple[str, list]:
    today = timezone.localdate()
    year = timezone.localtime().year  # as a `__year` lookup: the current time zone's calendar year
    starts = datetime.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())
    return _bound(scope, SECTIONS_SQL, today, today, year_ago(), starts, starts.replace(year=year + 1))


def _sections(scope: Scope) -> dict:
    """SECTIONS_SQL for the report, parsed (numbers exactly: Decimal from their text, counts as int)."""
    if "sections" not in scope.memo:
        ((groups, funding, contracts, findings, pending),) = _read(scope, "sections", Asset,
                                                                   lambda: _sections_statement(scope))
        groups = json.loads(groups) if groups else []
        for g in groups:
            for key in _DECIMAL_GROUP_KEYS:
                g[key] = _decimal(g[key])
        scope.memo["sections"] = {
            "groups": groups,
            "funding": [(source, category, Decimal(amount)) for source, category, amount in
                        (json.loads(funding) if funding else [])],
            "contracts": [(pk, signed, operator, number, _day(starts_on), _day(ends_on), _decimal(due), mechanism)
                          for pk, signed, operator, number, starts_on, ends_on, due, mechanism in
                          (json.loads(contracts) if contracts else [])],
            "findings": json.loads(findings) if findings else [], "pending": pending}
    return scope.memo["sections"]


def _groups(scope: Scope) -> list[dict]:
    """Per category, type and unit, every count and sum of the totals, ownership, custody and verification
    sections (active assets), and the disposed ones (SECTIONS_SQL)."""
    return _sections(scope)["groups"]


def _per_category(scope: Scope, keys) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for g in _groups(scope):
        if g["count"]:
            row = out.setdefault(g["category"], dict.fromkeys(keys))
            for k in keys:
                if g[k] is not None:
                    row[k] = (row[k] or 0) + g[k]
    return out


# ---------------------------------------------------------------- sections


def totals(scope: Scope) -> dict:
    """Count, quantity (per unit), investment by category and type; funding by source and category."""
    rows = [{"category": g["category"], "asset_type": g["asset_type"], "unit": g["unit"], "count": g["count"],
             "quantity": g["quantity"], "investment": g["investment"]} for g in _groups(scope) if g["count"]]
    rows.sort(key=lambda r: (CATEGORY_ORDER[r["category"]], TYPE_ORDER[r["asset_type"]], r["unit"]))
    by_category = {c: {"category": c, "count": 0, "investment": ZERO} for c in Category.values}
    for r in rows:
        r["investment"] = r["investment"] or ZERO
        by_category[r["category"]]["count"] += r["count"]
        by_category[r["category"]]["investment"] += r["investment"]
    funding = defaultdict(lambda: dict.fromkeys(Category.values, ZERO))
    # from the assets' side: the report's own filter on the register, then each asset's funding lines
    for source, category, amount in _sections(scope)["funding"]:
        funding[source][category] += amount
    funded = sum((sum(v.values()) for v in funding.values()), ZERO)
    return {
        "by_type": rows, "by_category": list(by_category.values()),
        "count": sum(r["count"] for r in rows), "investment": sum((r["investment"] for r in rows), ZERO),
        "disposed": sum(g["disposed"] for g in _groups(scope)),
        "funding": [{"source": s, **funding[s], "total": sum(funding[s].values()),
                     "share": pct(sum(funding[s].values()), funded)} for s in FundingSourceKind.values if s in funding],
        "funded": funded,
    }


def ownership(scope: Scope) -> list[dict]:
    """Registration status by category, with registrations waiting for the department."""
    keys = ("total", "registered", "pending")
    return _by_category(_per_category(scope, ("count", *keys[1:])), keys, rate=("registered", "total"))


def custody(scope: Scope) -> list[dict]:
    """Custody coverage by category: custodian unit and person recorded, signed letter, current welfare post."""
    keys = ("total", "custodian", "person", "letter", "post", "funding")
    return _by_category(_per_category(scope, ("count", *keys[1:])), keys, rate=("custodian", "total"))


def _by_category(rows: dict, keys, rate) -> list[dict]:
    for r in rows.values():
        r["total"] = r.pop("count")
    out = [{"category": c, **{k: rows.get(c, {}).get(k) or 0 for k in keys}} for c in Category.values]
    out.append({"category": None, **{k: sum(r[k] for r in out) for k in keys}})
    for r in out:
        r["rate"] = pct(r[rate[0]], r[rate[1]])
    return out


def contract_key(ends_on: datetime.date | None, today: datetime.date) -> str:
    """A contract's state (a key of CONTRACT_STATES) on a day."""
    if ends_on is None:
        return "none"
    if ends_on < today:
        return "expired"
    return "expiring" if ends_on <= today + datetime.timedelta(days=CONTRACT_WARNING_DAYS) else "valid"


def contracts(scope: Scope) -> dict:
    """Operating assets: the latest contract of each (not renewed), and those with none (NO_CONTRACT_TYPES
    excepted, as the no_contract alert)."""
    today = timezone.localdate()
    found = _sections(scope)["contracts"]
    listed = scope.memo.get("assets_by_id")  # a village report's asset list
    if listed is None:
        listed = {a.id: a for a in asset_rows(scope.active.filter(category=Category.OPERATING))} if found else {}
    label = {key: str(text) for key, text in CONTRACT_STATES.items()}  # translated once, not once a row
    rows = []
    for pk, signed, operator, number, starts_on, ends_on, yearly_due, mechanism in found:
        if signed:
            rows.append({"asset": listed[pk], "operator": operator, "number": number, "starts_on": starts_on,
                         "ends_on": ends_on, "yearly_due": yearly_due, "mechanism": mechanism,
                         "state": label[contract_key(ends_on, today)]})
        else:
            rows.append({"asset": listed[pk], "operator": listed[pk].operator, "number": "", "starts_on": None,
                         "ends_on": None, "yearly_due": None, "mechanism": "", "state": label["none"]})
    rows.sort(key=lambda r: r["asset"].code)
    states = Counter(r["state"] for r in rows)
    labels = list(label.values())
    expired = label["expired"]
    return {"rows": rows, "states": [{"state": s, "count": states[s]} for s in labels],
            "yearly_due": sum((r["yearly_due"] for r in rows if r["yearly_due"] and r["state"] != expired), ZERO)}


INCOME_SQL = """SELECT a.village_id, sum(i.amount), count(DISTINCT i.asset_id)
    FROM geo_assets_incomerecord i JOIN {active} a ON a.id = i.asset_id WHERE i.year = %s GROUP BY 1"""


def _columns(model, attnames: tuple[str, ...] | None = None) -> list:
    """A model's fields to read by hand (all, or those named), in its own order: what Model.from_db expects."""
    return [f for f in model._meta.concrete_fields if attnames is None or f.attname in attnames]


_PLAN_FIELDS = _columns(DistributionPlan)
_ITEM_FIELDS = _columns(DistributionItem, ("id", "plan_id", "purpose", "amount", "recipient", "asset_id"))
_PLAN_NAMES, _ITEM_NAMES = [f.attname for f in _PLAN_FIELDS], [f.attname for f in _ITEM_FIELDS]
# A village's plan of the year (one at most) and its current items with their assets' codes: the village report's,
# one statement and no queryset compiled (the querysets of `income` cost it ~1 ms of Python).
VILLAGE_PLAN_SQL = f"""
SELECT {", ".join(f"p.{f.column}" for f in _PLAN_FIELDS)}, {", ".join(f"i.{f.column}" for f in _ITEM_FIELDS)}, a.code
FROM geo_assets_distributionplan p
LEFT JOIN geo_assets_distributionitem i ON i.plan_id = p.id AND NOT i.withdrawn
LEFT JOIN geo_assets_asset a ON a.id = i.asset_id
WHERE p.village_id = %s AND p.year = %s AND (%s::text[] IS NULL OR p.county_code = ANY(%s::text[]))
ORDER BY p.id, i.id"""  # noqa: S608 - the models' column names


def _village_plans_statement(scope: Scope, year: int) -> tuple[str, list]:
    codes = county_codes(scope)
    return VILLAGE_PLAN_SQL, [scope.area.pk, year, codes, codes]


def _village_plans(scope: Scope, year: int) -> list[DistributionPlan]:
    alias = router.db_for_read(DistributionPlan)
    plans: dict[int, DistributionPlan] = {}
    for row in _read(scope, "plans", DistributionPlan, lambda: _village_plans_statement(scope, year)):
        plan_row, item_row, code = row[:len(_PLAN_NAMES)], row[len(_PLAN_NAMES):-1], row[-1]
        plan = plans.get(plan_row[0])
        if plan is None:
            plan = plans[plan_row[0]] = DistributionPlan.from_db(alias, _PLAN_NAMES, plan_row)
            plan.village = scope.area
            plan.item_list = []
        if item_row[0] is not None:
            item = DistributionItem.from_db(alias, _ITEM_NAMES, item_row)
            item.plan = plan
            if item.asset_id is not None:
                item.asset = Asset.from_db(alias, ["id", "code"], [item.asset_id, code])
            plan.item_list.append(item)
    return list(plans.values())


def income(scope: Scope, year: int) -> dict:
    """The year's income recorded on the assets, per village, and the villages' distribution plans and items."""
    per_village = {village: {"asset__village_id": village, "amount": amount, "assets": assets}
                   for village, amount, assets in _read(scope, "income", Asset,
                                                        lambda: _bound(scope, INCOME_SQL, year))}
    plans = []
    if scope.kind == "village" and scope.area is not None:
        plans = _village_plans(scope, year)
    elif scope.villages is not None:
        plans = list(DistributionPlan.objects.filter(county_bound(scope) or Q(), village__in=scope.villages, year=year)
                     .select_related("village").defer(*without_boundaries("village")).order_by("village__code"))
        items = defaultdict(list)
        listed = (DistributionItem.objects.filter(county_bound(scope, "plan__county") or Q(),
                                                  plan__in=[p.pk for p in plans]).select_related("asset")
                  .only("plan_id", "purpose", "amount", "recipient", "asset__code").order_by("plan_id", "pk")
                  if plans else ())
        for item in listed:
            items[item.plan_id].append(item)
        for plan in plans:
            plan.item_list = items[plan.pk]
    for plan in plans:
        plan.by_purpose = {p: sum((i.amount for i in plan.item_list if i.purpose == p), ZERO)
                           for p in PlanPurpose.values}
    return {"year": year, "per_village": per_village,
            "amount": sum((r["amount"] for r in per_village.values()), ZERO),
            "assets": sum(r["assets"] for r in per_village.values()), "plans": plans,
            "planned": sum((p.total for p in plans), ZERO)}


def verification(scope: Scope) -> dict:
    """Coverage (ever, last 12 months, this year), the latest counted finding per asset, and reviews waiting."""
    coverage = {k: sum(g[k] for g in _groups(scope)) for k in ("ever", "recent", "this_year")}
    coverage = {"total": sum(g["count"] for g in _groups(scope)), **coverage}
    counted, pending = _sections(scope)["findings"], _sections(scope)["pending"]
    findings = Counter({finding: n for finding, n, _ids in counted})
    # a village report lists the problems: their ids come with the counts
    ids = [pk for _f, _n, some in counted for pk in some] if scope.kind == "village" else []
    problems = list(Verification.objects.filter(pk__in=ids).select_related("asset")
                    .only("finding", "observed_at", *(f"asset__{f}" for f in PROBLEM_ASSET))
                    .order_by("asset__code")) if ids else []
    return {**coverage, "ever_rate": pct(coverage["ever"], coverage["total"]),
            "recent_rate": pct(coverage["recent"], coverage["total"]),
            "findings": [{"finding": f, "count": findings[f]} for f in Finding.values],
            "problems": problems, "pending": pending}


def alerts(scope: Scope) -> dict:
    """Open risk alerts of the report's assets and villages (reports.alerts), counted by level and rule."""
    known = scope.memo.get("assets_by_id")  # a village report's own asset rows
    ahead = scope.memo.get(_AHEAD)
    rows = ahead.rows("alerts") if ahead is not None else None
    found = (alerts_of_rows(rows, scope.viewer, known) if rows is not None else
             alerts_compute(assets=scope.assets, villages=scope.villages, viewer=scope.viewer, known=known,
                            compiled=_assets_sql(scope)))
    by_rule = Counter(map(itemgetter(0), found))  # Alert.rule
    return {"list": found, "levels": {level: sum(n for r, n in by_rule.items() if ALL_RULES[r].level == level)
                                      for level in LEVELS},
            "rules": [{"rule": r, "level": ALL_RULES[r].level, "title": str(ALL_RULES[r].title), "count": n}
                      for r, n in sorted(by_rule.items(), key=lambda x: RULE_RANK[x[0]])],
            "total": len(found)}


def notice_state(notice, today: datetime.date) -> str:
    if notice is None:
        return _("not publicised")
    if notice.starts_on > today:
        return _("to be publicised")
    return _("being publicised") if notice.ends_on >= today else _("publicised")


# The notices that cover each village — its own, its township's and its county's (village → township → county; a
# notice lists every asset of its area: lifecycle.services._snapshot) — with their objections counted, newest first.
_NOTICE_FIELDS = _columns(PublicityNotice, ("id", "area_id", "stage", "title", "starts_on", "ends_on"))
_NOTICE_NAMES = [f.attname for f in _NOTICE_FIELDS]
NOTICES_SQL = f"""
SELECT v.id, {", ".join(f"n.{f.column}" for f in _NOTICE_FIELDS)},
       count(o.id), count(o.id) FILTER (WHERE o.answered_at IS NULL)
FROM geo_assets_adminarea v
LEFT JOIN geo_assets_adminarea t ON t.id = v.parent_id
JOIN geo_assets_publicitynotice n ON n.area_id IN (v.id, v.parent_id, t.parent_id)
LEFT JOIN geo_assets_objection o ON o.notice_id = n.id
WHERE v.id = ANY(%s) AND (%s::text[] IS NULL OR n.county_code = ANY(%s::text[]))
GROUP BY v.id, n.id
ORDER BY n.starts_on DESC, n.id DESC"""  # noqa: S608 - the model's column names


def notices_by_village(villages: QuerySet, counties: list[str] | None = None, *, village: AdminArea | None = None,
                       rows: Callable[[Callable], list[tuple]] | None = None) -> dict[int, dict[str, list]]:
    """Per village and stage, the notices that cover it (NOTICES_SQL), of the given counties (codes; None: any),
    each with `objections_total` and `unanswered`; the other fields of a notice are loaded only if asked for.
    `village`: `villages` is that one village (a village report): one statement, no queryset compiled. `rows`:
    reads the statement's rows given how to make it (a report's _read), instead of running it here."""
    ids = [village.pk] if village is not None else list(villages.order_by().values_list("id", flat=True))
    covered: dict[int, dict[str, list]] = {pk: defaultdict(list) for pk in ids}
    if not ids:
        return covered
    counties = list(counties) if counties is not None else None
    alias = router.db_for_read(PublicityNotice)
    notices: dict[int, PublicityNotice] = {}  # one instance per notice, in every village it covers
    statement = partial(_notices_statement, ids, counties)
    for row in rows(statement) if rows is not None else _run(PublicityNotice, statement):
        notice = notices.get(row[1])
        if notice is None:
            notice = notices[row[1]] = PublicityNotice.from_db(alias, _NOTICE_NAMES, row[1:7])
            notice.objections_total, notice.unanswered = row[7], row[8]
        covered[row[0]][notice.stage].append(notice)
    return covered


def _notices_statement(ids: list[int], counties: list[str] | None) -> tuple[str, list]:
    return NOTICES_SQL, [ids, counties, counties]


def publicity(scope: Scope) -> dict:
    """Per stage: villages covered by a notice, notices, the latest one and its state, objections and unanswered."""
    if scope.villages is None:
        return {"stages": [], "villages": {}}
    today = timezone.localdate()
    one = scope.area if scope.kind == "village" and scope.area is not None else None
    covered = notices_by_village(scope.villages, county_codes(scope), village=one,
                                 rows=partial(_read, scope, "notices", PublicityNotice))
    stages = []
    for stage in PublicityStage.values:
        notices = {n.pk: n for per_stage in covered.values() for n in per_stage.get(stage, [])}.values()
        latest = max(notices, key=lambda n: (n.starts_on, n.pk), default=None)
        stages.append({"stage": stage, "villages": sum(1 for c in covered.values() if c.get(stage)),
                       "of": len(covered), "count": len(notices), "latest": latest,
                       "state": notice_state(latest, today) if scope.kind == "village" else "",
                       "objections": sum(n.objections_total for n in notices),
                       "unanswered": sum(n.unanswered for n in notices)})
    return {"stages": stages, "villages": covered}


def both_posted(stages: dict, today: datetime.date) -> bool:
    """公示 done: the inventory ledger and the ownership results were both posted (their period has begun)."""
    return all(any(n.starts_on <= today for n in stages.get(s, ())) for s in (PublicityStage.INVENTORY,
                                                                              PublicityStage.OWNERSHIP))


def breakdown(scope: Scope, alerts_found: list[Alert], income_rows: dict, notices: dict) -> list[dict]:
    """Township report: one row per village; county and department reports: one row per township."""
    key = "village_id" if scope.kind == "township" else "township_id"
    if scope.kind == "township":
        areas = scope.villages
    elif scope.area is not None:  # the county's own townships (another county's have the same names)
        areas = AdminArea.objects.townships().filter(code__startswith=area_prefix(scope.area))
    else:  # a department: the townships of the viewer's counties
        codes = county_codes(scope)
        areas = AdminArea.objects.townships().filter(
            reduce(or_, (Q(code__startswith=c[:6]) for c in codes)) if codes else Q())
    areas = areas.order_by("code")
    rows = {r[key]: r for r in scope.active.order_by().values(key).annotate(
        count=Count("id"), investment=Sum("total_investment"),
        registered=Count("id", filter=Q(registration_status=RegistrationStatus.REGISTERED)),
        custodian=Count("id", filter=~Q(custodian_unit="")),
        verified=Count("id", filter=verified_q(since=year_ago())))}
    owner = dict(scope.assets.values_list("id", key))
    village_parent = dict(AdminArea.objects.villages().values_list("id", "parent_id"))
    by_area: dict[int, Counter] = defaultdict(Counter)
    for a in alerts_found:
        area_id = owner.get(a.asset_id) if a.asset_id else (a.area_id if key == "village_id"
                                                            else village_parent.get(a.area_id))
        by_area[area_id][a.level] += 1
    income_by_area: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for village_id, r in income_rows.items():
        income_by_area[village_id if key == "village_id" else village_parent.get(village_id)] += r["amount"]
    posted = defaultdict(int)
    today = timezone.localdate()
    for village_id, stages in notices.items():
        if both_posted(stages, today):
            posted[village_id if key == "village_id" else village_parent.get(village_id)] += 1
    villages_of = Counter(village_parent.values())
    out = []
    for area in areas:
        r = rows.get(area.pk, {})
        count = r.get("count", 0)
        out.append({"area": area, "count": count, "investment": r.get("investment") or ZERO,
                    "registered_rate": pct(r.get("registered", 0), count),
                    "custody_rate": pct(r.get("custodian", 0), count),
                    "verified_rate": pct(r.get("verified", 0), count),
                    "income": income_by_area[area.pk],
                    "posted": posted[area.pk] if key == "township_id" else (1 if posted[area.pk] else 0),
                    "of": villages_of[area.pk] if key == "township_id" else 1,
                    **{level: by_area[area.pk][level] for level in LEVELS}})
    return out


# The timestamps as UTC wall time (`timestamp`, read by psycopg's C loader) and made aware here: Django's loader of
# `timestamptz` is pure Python and cost ~10 ms for a 5,000-asset village.
ASSET_LIST_SQL = """SELECT a.id, a.code, a.name, a.public_name, a.category, a.asset_type, a.status, a.total_investment,
       a.registration_status, a.custodian_unit, a.custodian_person, a.operator, a.last_verified_at AT TIME ZONE %s,
       a.village_id, v.name
FROM {assets} a LEFT JOIN geo_assets_adminarea v ON v.id = a.village_id"""
ASSET_LIST_ORDER = " ORDER BY a.category, a.asset_type, a.code"
_SORT_KEY = itemgetter(4, 5, 1)  # category, asset_type, code
_VERIFIED = ASSET_ROW_FIELDS.index("last_verified_at")


def _orders_by_code_point(connection) -> bool:
    """Whether the database sorts text by code point (collation C, POSIX or C.UTF-8), as Python sorts str: then
    a report's rows are sorted here, where the database's C.UTF-8 comparisons (strcoll) cost ~9 ms for a
    5,000-asset village. Asked once per connection."""
    known = getattr(connection, "_reports_code_point_order", None)
    if known is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            known = cursor.fetchone()[0].lower().replace("-", "") in ("c", "posix", "c.utf8")
        connection._reports_code_point_order = known
    return known


def _asset_list_statement(scope: Scope) -> tuple[str, list]:
    connection = connections[router.db_for_read(Asset)]
    in_python = _orders_by_code_point(connection)
    return _bound(scope, ASSET_LIST_SQL + ("" if in_python else ASSET_LIST_ORDER), connection.timezone_name)


def asset_list(scope: Scope) -> list[AssetRow]:
    """The report's assets (ASSET_ROW_FIELDS), by category, type and code: the rows straight from the cursor."""
    connection = connections[router.db_for_read(Asset)]
    rows = _read(scope, "assets", Asset, lambda: _asset_list_statement(scope))
    if _orders_by_code_point(connection):
        rows.sort(key=_SORT_KEY)
    tz, at, new = connection.timezone, _VERIFIED, tuple.__new__  # the rows' fields in order: no _make's length check
    return [new(AssetRow, r) if r[at] is None else new(AssetRow, (*r[:at], r[at].replace(tzinfo=tz), *r[at + 1:]))
            for r in rows]


@contextmanager
def _collector_paused():
    """No cyclic garbage collection while a report builds its rows: they form no cycles (reference counting frees
    them), but a village's ~100,000 new tuples and dicts set off full sweeps of the whole heap that cost more than
    building them (a 13,000-asset village: 650 → 380 ms)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class AlertRow(NamedTuple):
    """A line of a village's detailed alerts: the alert and its asset's row (None: the village's own alert)."""

    alert: Alert
    asset: AssetRow | None


_CODE, _ASSET_ID = itemgetter(1), itemgetter(4)  # AssetRow.code, Alert.asset_id
_ALERT_ROW = partial(tuple.__new__, AlertRow)


def alert_rows(found: list[Alert], assets: list[AssetRow], by_id: dict) -> list[AlertRow]:
    """A village's alerts by level, rule and asset code. `found` comes rule by rule (alerts_compute): the rules'
    runs are put in order and each run sorted by its assets' places in code order — sorts of ints and rows made
    by zip and map, not 80,000 keyed tuples."""
    place = dict(zip(map(itemgetter(0), sorted(assets, key=_CODE)), count()))  # AssetRow.id
    by_rule: dict[str, list] = {}
    for rule, run in groupby(found, key=itemgetter(0)):  # a rule's alerts together even if they came apart
        by_rule.setdefault(rule, []).extend(run)
    out = []
    for _rank, run in sorted((RULE_RANK[rule], run) for rule, run in by_rule.items()):
        keys = list(map(place.get, map(_ASSET_ID, run)))
        if None not in keys:  # stable: an asset's alerts of one rule stay in the order they came
            run = [run[n] for n in sorted(range(len(run)), key=keys.__getitem__)]
        elif any(k is not None for k in keys):  # an alert without a listed asset first, as code ""
            keyed = sorted((-1 if k is None else k, n, a) for n, (k, a) in enumerate(zip(keys, run, strict=True)))
            run = [a for _k, _n, a in keyed]
        out += map(_ALERT_ROW, zip(run, map(by_id.get, map(_ASSET_ID, run)), strict=True))
    return out


def report_figures(scope: Scope, year: int | None = None, *, read_ahead: bool = True) -> dict:
    """Everything a report shows, for the HTML page, the PDF and the workbook alike. A village's statements are
    sent ahead of the Python that reads them (_send_ahead) unless `read_ahead` is false (one by one: the same
    figures; for measurements)."""
    year = year or timezone.localdate().year - 1
    planner = AREA_PLANNER if scope.kind in ("village", "township") else REPORT_PLANNER
    with planner_settings(**planner), _collector_paused():
        fig = {"scope": scope, "year": year, "generated": timezone.localtime()}
        if scope.kind != "village":
            _sections_of(scope, year, fig)
            fig["breakdown"] = breakdown(scope, fig["alerts"]["list"], fig["income"]["per_village"],
                                         fig["publicity"]["villages"])
            return fig
        with reads_ahead(Asset, prepared=True) if read_ahead else nullcontext() as send:
            if send is not None:
                _send_ahead(scope, year, send)
            try:
                _assets_listed(scope, fig)  # first: the contract and alert rows point to these rows
                fig["alerts"] = alerts(scope)  # read ahead: its evidence is written while the server runs the rest
                fig["alert_rows"] = alert_rows(fig["alerts"]["list"], fig["assets"], scope.memo["assets_by_id"])
                _sections_of(scope, year, fig)
            finally:
                scope.memo.pop(_AHEAD, None)
    return fig


def _assets_listed(scope: Scope, fig: dict) -> None:
    fig["assets"] = asset_list(scope)
    ids = map(itemgetter(0), fig["assets"])  # AssetRow.id
    scope.memo["assets_by_id"] = dict(zip(ids, fig["assets"], strict=True))


def _sections_of(scope: Scope, year: int, fig: dict) -> None:
    fig.update({"totals": totals(scope), "ownership": ownership(scope), "custody": custody(scope),
                "contracts": contracts(scope), "income": income(scope, year), "verification": verification(scope),
                "alerts": fig["alerts"] if "alerts" in fig else alerts(scope), "publicity": publicity(scope)})


_AHEAD = "ahead"  # Scope.memo: a village report's _Ahead


class _Ahead:
    """A village report's statements sent a stage ahead of the Python that reads them (dbrouting.reads_ahead):
    reading a stage's rows sends the next stage, which the server runs while Python shapes these rows. (psycopg
    reads the rows of every statement sent before the one asked for: all sent at once, the first read would wait
    for the last.)"""

    def __init__(self, send, stages: list[list[tuple[str, Callable]]]):
        self.send, self.sent = send, {}
        first, *later = stages
        self._send([(key, statement()) for key, statement in first])
        # the later stages' SQL, made while the server runs the first
        self.stages = [[(key, statement()) for key, statement in stage] for stage in later]

    def _send(self, stage: list[tuple[str, tuple | None]]) -> None:
        for key, made in stage:
            if made is not None:
                self.sent[key] = self.send(*made)

    def _next(self) -> None:
        if self.stages:
            self._send(self.stages.pop(0))

    def rows(self, key: str) -> list[tuple] | None:
        """The statement's rows (None: not sent ahead, to be run by the caller)."""
        while key not in self.sent and any(key == k for stage in self.stages for k, _s in stage):
            self._next()  # read out of order: its stage is sent now
        read = self.sent.pop(key, None)
        if read is None:
            return None
        rows = read()
        self._next()
        return rows


def _send_ahead(scope: Scope, year: int, send) -> None:
    """A village report's statements, in the order it reads them (_Ahead): the asset rows; then the alerts, the
    longest statement, run while Python shapes the asset rows; then the sections, the income, the plan and the
    notices, run while Python writes the alerts' evidence. The report takes about the time of its statements and
    the Python of its last stage, not the sum of all. Only the statements on the assets' database."""
    alias = router.db_for_read(Asset)

    def on(model, statement):
        return statement if router.db_for_read(model) == alias else lambda: None

    scope.memo[_AHEAD] = _Ahead(send, [
        [("assets", lambda: _asset_list_statement(scope))],
        [("alerts", lambda: alerts_statement(assets=scope.assets, villages=scope.villages,
                                             compiled=_assets_sql(scope)))],
        [("sections", lambda: _sections_statement(scope)), ("income", lambda: _bound(scope, INCOME_SQL, year)),
         ("plans", on(DistributionPlan, lambda: _village_plans_statement(scope, year) if scope.area else None)),
         ("notices", on(PublicityNotice, lambda: _notices_statement([scope.area.pk], county_codes(scope))
                        if scope.area and scope.villages is not None else None))],
    ])


# ---------------------------------------------------------------- work-plan dashboard


def workplan_deadlines() -> dict[str, datetime.date]:
    return {task: datetime.date.fromisoformat(str(value)) for task, value in settings.WORKPLAN_DEADLINES.items()}


def villages_in_scope(user) -> QuerySet[AdminArea]:
    """The villages the user's reports cover, without their boundaries (a province's 560 villages and their
    townships' boundaries cost hundreds of megabytes per request; maps draw them in SQL)."""
    return AdminArea.objects.villages_worked_on_by(user).defer("geom", "geom_web")


def with_townships(villages: QuerySet[AdminArea]) -> QuerySet[AdminArea]:
    """The villages with their townships (`parent`), neither with its boundaries."""
    return villages.with_parent()


def workplan_progress(user, *, with_alerts: bool = True, within: AdminArea | None = None) -> dict:
    """The dashboard's figures (_workplan_progress) with the reports' planner settings; `within`: only the
    villages below that area (the oversight report of one prefecture below a province)."""
    with planner_settings(**REPORT_PLANNER), _collector_paused():
        return _workplan_progress(user, with_alerts=with_alerts, within=within)


def _workplan_progress(user, *, with_alerts: bool = True, within: AdminArea | None = None) -> dict:
    """Rates of the work plan's four tasks per village and township, over what the user sees:
    清产核资 — 账账相符 (projects.reconciliation.funds_accounted): the share of the in-scope money disbursed by the
    projects of the area (a village: the projects serving it alone; a township: all of its projects; the county:
    all) that the register accounts for — formed into assets, up to what each project disbursed, or spent on what
    forms no asset (explained) — with no rate (—) before any in-scope fund line is entered; the count `inventory`
    still says how many active assets have investment and funding recorded and were verified at least once;
    确权登记 — registered; 公示 — both the inventory ledger and the ownership results were posted for the village
    (on its own board, its township's or the county's); 核查 — verified in the last 12 months."""
    scoped = villages_in_scope(user)
    if within is not None:
        scoped = scoped.filter(code__startswith=area_prefix(within))
    villages = list(with_townships(scoped).order_by("code"))
    assets = Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED).filter(village__in=villages)
    funded = FundingLine.objects.filter(asset=OuterRef("pk"), amount__gt=0)
    counts = {r["village_id"]: r for r in assets.order_by().values("village_id").annotate(
        total=Count("id"),
        inventory=Count("id", filter=Q(total_investment__gt=0) & verified_q() & Exists(funded)),
        ownership=Count("id", filter=Q(registration_status=RegistrationStatus.REGISTERED)),
        verification=Count("id", filter=verified_q(since=year_ago())), investment=Sum("total_investment"))}
    today = timezone.localdate()
    covered = notices_by_village(scoped, scope_for(user).counties)
    funds = funds_accounted(user)
    by_level: dict[int, Counter] = defaultdict(Counter)
    alert_rules: dict[int, Counter] = defaultdict(Counter)
    alerts_as_of = None
    if with_alerts:  # counted in the database: a province has millions of alerts, none of them shown here
        counted, alerts_as_of = alert_counts(viewer=scope_for(user), assets=assets, villages=scoped)
        for (village, rule, level), n in counted.items():
            by_level[village][level] += n
            alert_rules[village][rule] += n
    rows, townships = [], {}
    for v in villages:
        c = counts.get(v.pk, {"total": 0, "inventory": 0, "ownership": 0, "verification": 0, "investment": ZERO})
        row = {"village": v, "township": v.parent, "total": c["total"], "investment": c["investment"] or ZERO,
               "rules": alert_rules[v.pk],
               "inventory": c["inventory"],
               "ownership": c["ownership"], "verification": c["verification"],
               "publicity": int(both_posted(covered[v.pk], today)), "funds": funds.villages.get(v.pk, [ZERO, ZERO]),
               **{level: by_level[v.pk][level] for level in LEVELS}}
        rows.append(row)
        t = townships.setdefault(v.parent_id, {"township": v.parent, "villages": 0, "rules": Counter(),
                                               "funds": funds.townships.get(v.parent_id, [ZERO, ZERO]), **dict.fromkeys(
            ("total", "investment", "inventory", "ownership", "verification", "publicity", *LEVELS), 0)})
        t["villages"] += 1
        t["rules"].update(row["rules"])
        for k in ("total", "investment", "inventory", "ownership", "verification", "publicity", *LEVELS):
            t[k] += row[k]
    county = {"villages": len(rows), "funds": funds.county, **{k: sum(t[k] for t in townships.values()) for k in (
        "total", "investment", "inventory", "ownership", "verification", "publicity", *LEVELS)}}
    counties = _counties_compared(townships.values())
    for row in [*rows, *townships.values(), *counties, county]:
        _rate(row)
    states = {"done": _("done"), "late": _("overdue, not done"), "open": _("in progress"),
              "none": _("nothing to measure yet")}  # a rate of nothing (no fund lines yet): neither done nor late
    tasks = [{"task": task, "label": str(label), "due": due, "rate": county["rates"][task],
              "days_left": (due - today).days, "days_late": max(0, (today - due).days), "status": status,
              "state": states[status]}
             for (task, label), due in zip(WORKPLAN_TASKS.items(), workplan_deadlines().values(), strict=True)
             for status in ["none" if county["rates"][task] is None else "done" if county["rates"][task] == 100
                            else ("late" if due < today else "open")]]
    return {"villages": rows, "townships": list(townships.values()), "county": county, "tasks": tasks,
            "today": today, "counties": counties if len(counties) > 1 else [], "by_county": counties,
            "alerts_as_of": alerts_as_of}


def _rate(row: dict) -> dict:
    """A progress row's rates of the four tasks and their mean (`overall`), set on the row."""
    row["rates"] = {"inventory": Accounted.rate(row["funds"]), "ownership": pct(row["ownership"], row["total"]),
                    "publicity": pct(row["publicity"], row.get("villages", 1)),
                    "verification": pct(row["verification"], row["total"])}
    rates = [r for r in row["rates"].values() if r is not None]
    row["overall"] = round(sum(rates) / len(rates), 1) if rates else None
    return row


def _counties_compared(townships) -> list[dict]:
    """The township rows summed per county (a prefecture's or province's bureau sees its counties side by side);
    a county's money: what its townships' projects disbursed and the register accounts for."""
    keys = ("total", "investment", "inventory", "ownership", "verification", "publicity", "villages", *LEVELS)
    by_code: dict[str, dict] = {}
    for t in townships:
        code = t["township"].code[:6] + "000000"
        c = by_code.setdefault(code, {"code": code, "funds": [ZERO, ZERO], "rules": Counter(),
                                      **dict.fromkeys(keys, 0)})
        for k in keys:
            c[k] += t[k]
        c["rules"].update(t["rules"])
        c["funds"] = [c["funds"][0] + t["funds"][0], c["funds"][1] + t["funds"][1]]
    names = dict(AdminArea.objects.filter(code__in=by_code).values_list("code", "name"))
    for code, c in by_code.items():
        c["name"] = names.get(code, code)
    if len(by_code) > 1:  # two counties each have a 城关镇: each township row says its county
        for t in townships:
            t["county_name"] = names.get(t["township"].code[:6] + "000000", "")
    return [by_code[code] for code in sorted(by_code)]


# ---------------------------------------------------------------- oversight report (prefecture, province)

COUNTY_KEYS = ("total", "investment", "inventory", "ownership", "verification", "publicity", "villages", *LEVELS)


def oversight_figures(user, area: AdminArea) -> dict:
    """The counties below a prefecture or province side by side: the dashboard's county rows (one pass of
    workplan_progress over the area's villages), their sum over the area, and the alerts per rule and county (the
    same pass's counts: the bureaus read the alert tally, `alerts_as_of` its time; a superuser counts live)."""
    progress = workplan_progress(user, within=area)
    counties = progress["by_county"]
    total = {"funds": [ZERO, ZERO], **dict.fromkeys(COUNTY_KEYS, 0)}
    for c in counties:
        for k in COUNTY_KEYS:
            total[k] += c[k]
        total["funds"] = [total["funds"][0] + c["funds"][0], total["funds"][1] + c["funds"][1]]
    _rate(total)
    rules = [{"code": code, "title": str(ALL_RULES[code].title), "level": ALL_RULES[code].level,
              "counts": [c["rules"][code] for c in counties], "total": sum(c["rules"][code] for c in counties)}
             for code in sorted(ALL_RULES, key=RULE_RANK.get)]
    return {"area": area, "counties": counties, "total": total, "rules": rules, "today": progress["today"],
            "generated": timezone.localtime(), "alerts_as_of": progress["alerts_as_of"]}


def public_village(village: AdminArea) -> dict:
    """What the villagers' page shows: published active assets under their public names, and how the latest
    publicised or paid income plan shares the money — by purpose and amount, naming no one."""
    from geo_assets.access import PUBLIC_SCOPE
    from geo_assets.privacy import Redactor

    public = Redactor(PUBLIC_SCOPE)
    assets = list(Asset.objects.in_area(village).filter(is_published=True).exclude(status=AssetStatus.DISPOSED)
                  .order_by("category", "asset_type", "code"))
    rows = [{"code": a.code, "name": public.asset_name(a), "type": a.get_asset_type_display(),
             "category": a.get_category_display(), "year": a.year_built, "investment": a.total_investment,
             "status": a.get_status_display(), "asset_type": a.asset_type} for a in assets]
    plan = (DistributionPlan.objects.of_area(village).filter(village=village, status__in=[PlanStatus.PUBLICISED,
                                                                                           PlanStatus.PAID])
            .order_by("-year").first())
    items = []
    if plan is not None:
        items = [{"purpose": PlanPurpose(r["purpose"]).label, "amount": r["amount"], "lines": r["lines"],
                  "share": pct(r["amount"], plan.total)}
                 for r in plan.items.order_by().values("purpose").annotate(amount=Sum("amount"), lines=Count("id"))
                 .order_by("-amount")]
    return {"assets": rows, "asset_ids": [a.pk for a in assets],
            "investment": sum((a.total_investment for a in assets), ZERO), "plan": plan, "items": items,
            "notice": plan.notices.order_by("-starts_on").first() if plan else None}
