"""The figures of a report (村 / 乡镇 / 县 / 行业部门) and of the work-plan dashboard.

Every figure is a set-based query over the assets the viewer's role sees (`Asset.objects.visible_to`), grouped in
the database: a report costs a fixed number of statements whatever the size of its area. Rules that already exist
are called, never rewritten: risk alerts come from reports.alerts, the privacy rule from geo_assets.privacy.

At province scale (issue 11, docs/performance-reports.md) a village holds up to ~13,000 assets: the counts of the
totals, ownership, custody and verification sections come from ONE pass over the assets (`_groups`), and the rows a
report lists are read as `AssetRow` tuples (no model instance, no geometry).
"""

import datetime
import gc
from collections import Counter, defaultdict, namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.utils import timezone

from geo_assets.access import scope_for
from geo_assets.models import (
    AdminArea,
    Asset,
    Department,
    DistributionItem,
    DistributionPlan,
    FundingLine,
    HandoverLetter,
    IncomeRecord,
    OperationContract,
    OwnershipRegistration,
    PublicityNotice,
    PublicWelfarePost,
)
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
    RegistrationStep,
    Role,
)
from reports.alerts import ALERTS_PLANNER, ALL_RULES, BLUE, RED, YELLOW, Alert, alerts_compute, planner_settings
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
    "inventory": "清产核资", "ownership": "确权登记", "publicity": "公示", "verification": "核查",
}


# For every report's statements (reports.alerts.planner_settings), set once per report: the alerts' (no JIT — at
# province scale compiling cost more than running; no merge joins — see ALERTS_PLANNER), and index probes priced as
# what they are here, pages in memory (PostgreSQL's default random_page_cost = 4 assumes spinning disks and made
# the planner read all 1.25M funding lines for one village).
REPORT_PLANNER = {**ALERTS_PLANNER, "random_page_cost": "1.1"}


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
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # what several sections share

    @property
    def active(self) -> QuerySet:
        return self.assets.exclude(status=AssetStatus.DISPOSED)


def _role_label(user) -> str:
    return str(Role(scope_for(user).role).label)


def area_scope(user, area: AdminArea) -> Scope:
    villages = {AreaLevel.VILLAGE: AdminArea.objects.filter(pk=area.pk),
                AreaLevel.TOWNSHIP: AdminArea.objects.villages().filter(parent=area)}.get(
        area.level, AdminArea.objects.villages())
    return Scope(area.level, area.name, Asset.objects.visible_to(user).in_area(area), villages, _role_label(user),
                 area=area)


def department_scope(user, department: Department) -> Scope:
    return Scope("department", department.name, Asset.objects.visible_to(user).filter(department=department), None,
                 _role_label(user), department=department)


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

    def get_asset_type_display(self) -> str:
        return str(_TYPE_LABELS.get(self.asset_type, self.asset_type))

    def get_status_display(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    def get_registration_status_display(self) -> str:
        return str(_REGISTRATION_LABELS.get(self.registration_status, self.registration_status))


PROBLEM_ASSET = ("code", "name", "public_name", "category", "asset_type", "custodian_person", "village_id")


def _area_geometry(relation: str) -> tuple[str, str]:
    """A related area's boundaries, deferred: a county's polygon weighs megabytes and no table shows it."""
    return f"{relation}__geom", f"{relation}__geom_web"


def asset_rows(assets: QuerySet, *order) -> list[AssetRow]:
    return [AssetRow._make(r) for r in assets.order_by(*order).values_list(*ASSET_ROW_FIELDS)]


def _groups(scope: Scope) -> list[dict]:
    """ONE pass over the report's assets: per category, type and unit, every count and sum of the totals,
    ownership, custody and verification sections (active assets), and the disposed ones."""
    if "groups" not in scope.memo:
        today, now = timezone.localdate(), timezone.now()
        active = ~Q(status=AssetStatus.DISPOSED)
        pending = OwnershipRegistration.objects.filter(asset=OuterRef("pk"), step=RegistrationStep.SUBMITTED)
        letter = HandoverLetter.objects.filter(asset=OuterRef("pk"))
        post = PublicWelfarePost.objects.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today),
                                                asset=OuterRef("pk"), starts_on__lte=today)
        scope.memo["groups"] = list(scope.assets.order_by().values("category", "asset_type", "unit").annotate(
            count=Count("id", filter=active), quantity=Sum("quantity", filter=active),
            investment=Sum("total_investment", filter=active), disposed=Count("id", filter=~active),
            registered=Count("id", filter=active & Q(registration_status=RegistrationStatus.REGISTERED)),
            pending=Count("id", filter=active & Exists(pending)),
            custodian=Count("id", filter=active & ~Q(custodian_unit="")),
            person=Count("id", filter=active & ~Q(custodian_person="")),
            letter=Count("id", filter=active & Exists(letter)), post=Count("id", filter=active & Exists(post)),
            funding=Sum("custody_funding", filter=active),
            ever=Count("id", filter=active & Q(last_verified_at__isnull=False)),
            recent=Count("id", filter=active & Q(last_verified_at__gte=year_ago())),
            this_year=Count("id", filter=active & Q(last_verified_at__year=timezone.localtime(now).year))))
    return scope.memo["groups"]


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
    for r in scope.active.order_by().values("funding__source", "category").annotate(amount=Sum("funding__amount")):
        if r["funding__source"] is not None:  # assets without a funding line
            funding[r["funding__source"]][r["category"]] += r["amount"]
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


def contract_state(ends_on: datetime.date | None, today: datetime.date) -> str:
    if ends_on is None:
        return "无合同"
    if ends_on < today:
        return "已到期"
    return "即将到期" if ends_on <= today + datetime.timedelta(days=CONTRACT_WARNING_DAYS) else "有效"


def contracts(scope: Scope) -> dict:
    """Operating assets: the latest contract of each (not renewed), and those with none."""
    today = timezone.localdate()
    operating = scope.active.filter(category=Category.OPERATING)
    latest = list(OperationContract.objects.filter(asset__in=operating, renewed_by__isnull=True)
                  .order_by("asset_id", "-ends_on").distinct("asset_id")
                  .values("asset_id", "operator", "number", "starts_on", "ends_on", "yearly_due", "mechanism"))
    bare = list(operating.exclude(asset_type__in=NO_CONTRACT_TYPES).filter(
        ~Exists(OperationContract.objects.filter(asset=OuterRef("pk")))).order_by().values_list("id", flat=True))
    listed = scope.memo.get("assets_by_id")  # a village report's asset list
    if listed is None:
        listed = {a.id: a for a in asset_rows(operating)} if latest or bare else {}
    rows = [{"asset": listed[c["asset_id"]], "operator": c["operator"], "number": c["number"],
             "starts_on": c["starts_on"], "ends_on": c["ends_on"], "yearly_due": c["yearly_due"],
             "mechanism": c["mechanism"], "state": contract_state(c["ends_on"], today)} for c in latest]
    rows += [{"asset": listed[pk], "operator": listed[pk].operator, "number": "", "starts_on": None, "ends_on": None,
              "yearly_due": None, "mechanism": "", "state": "无合同"} for pk in bare]
    rows.sort(key=lambda r: r["asset"].code)
    states = Counter(r["state"] for r in rows)
    return {"rows": rows, "states": [{"state": s, "count": states[s]} for s in ("有效", "即将到期", "已到期", "无合同")],
            "yearly_due": sum((r["yearly_due"] for r in rows if r["yearly_due"] and r["state"] != "已到期"), ZERO)}


def income(scope: Scope, year: int) -> dict:
    """The year's income recorded on the assets, per village, and the villages' distribution plans and items."""
    per_village = {r["asset__village_id"]: r for r in IncomeRecord.objects.filter(
        asset__in=scope.active, year=year).order_by().values("asset__village_id").annotate(
        amount=Sum("amount"), assets=Count("asset", distinct=True))}
    plans = []
    if scope.villages is not None:
        plans = list(DistributionPlan.objects.filter(village__in=scope.villages, year=year)
                     .select_related("village").defer(*_area_geometry("village")).order_by("village__code"))
        items = defaultdict(list)
        for item in (DistributionItem.objects.filter(plan__in=[p.pk for p in plans]).select_related("asset")
                     .only("plan_id", "purpose", "amount", "recipient", "asset__code").order_by("plan_id", "pk")):
            items[item.plan_id].append(item)
        for plan in plans:
            plan.item_list = items[plan.pk]
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
    latest = (Verification.objects.filter(asset__in=scope.active, review__in=COUNTED)
              .order_by("asset_id", "-observed_at", "-pk").distinct("asset_id").values("pk"))
    listed = scope.kind == "village"  # a village report lists the problems: their ids come with the counts
    counted = Verification.objects.filter(pk__in=latest).order_by().values_list("finding")
    if listed:
        counted = list(counted.annotate(n=Count("id"), problems=ArrayAgg(
            "id", filter=~Q(finding=Finding.INTACT), default=Value([]))))
    else:
        counted = [(finding, n, []) for finding, n in counted.annotate(n=Count("id"))]
    findings = Counter({finding: n for finding, n, _ids in counted})
    ids = [pk for _f, _n, some in counted for pk in some]
    problems = list(Verification.objects.filter(pk__in=ids).select_related("asset")
                    .only("finding", "observed_at", *(f"asset__{f}" for f in PROBLEM_ASSET))
                    .order_by("asset__code")) if ids else []
    pending = Verification.objects.filter(asset__in=scope.active, review=Review.PENDING).count()
    return {**coverage, "ever_rate": pct(coverage["ever"], coverage["total"]),
            "recent_rate": pct(coverage["recent"], coverage["total"]),
            "findings": [{"finding": f, "count": findings[f]} for f in Finding.values],
            "problems": problems, "pending": pending}


def alerts(scope: Scope) -> dict:
    """Open risk alerts of the report's assets and villages (reports.alerts), counted by level and rule."""
    found = alerts_compute(assets=scope.assets, villages=scope.villages)
    by_rule = Counter(a.rule for a in found)
    return {"list": found, "levels": {level: sum(n for r, n in by_rule.items() if ALL_RULES[r].level == level)
                                      for level in LEVELS},
            "rules": [{"rule": r, "level": ALL_RULES[r].level, "title": ALL_RULES[r].title, "count": n}
                      for r, n in sorted(by_rule.items(), key=lambda x: RULE_RANK[x[0]])],
            "total": len(found)}


def notice_state(notice, today: datetime.date) -> str:
    if notice is None:
        return "未公示"
    if notice.starts_on > today:
        return "待公示"
    return "公示中" if notice.ends_on >= today else "已公示"


def notices_by_village(villages: QuerySet) -> dict[int, dict[str, list]]:
    """Per village and stage, the notices that cover it, newest first: its own, its township's and the county's (a
    notice lists every asset of its area: geo_assets.lifecycle._snapshot). Each notice counts its objections."""
    pairs = list(villages.order_by().values_list("id", "parent_id"))
    parents = {p for _v, p in pairs}
    notices = (PublicityNotice.objects.filter(Q(area_id__in=[v for v, _p in pairs]) | Q(area_id__in=parents)
                                              | Q(area__level=AreaLevel.COUNTY))
               .select_related("area").defer("snapshot", *_area_geometry("area"))
               .annotate(objections_total=Count("objections"),
                         unanswered=Count("objections", filter=Q(objections__answered_at__isnull=True)))
               .order_by("-starts_on", "-pk"))
    covered: dict[int, dict[str, list]] = {v: defaultdict(list) for v, _p in pairs}
    for n in notices:
        for village, parent in pairs:
            if n.area.level == AreaLevel.COUNTY or n.area_id in (village, parent):
                covered[village][n.stage].append(n)
    return covered


def publicity(scope: Scope) -> dict:
    """Per stage: villages covered by a notice, notices, the latest one and its state, objections and unanswered."""
    if scope.villages is None:
        return {"stages": [], "villages": {}}
    today = timezone.localdate()
    covered = notices_by_village(scope.villages)
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
    areas = (scope.villages if scope.kind == "township" else AdminArea.objects.townships()).order_by("code")
    rows = {r[key]: r for r in scope.active.order_by().values(key).annotate(
        count=Count("id"), investment=Sum("total_investment"),
        registered=Count("id", filter=Q(registration_status=RegistrationStatus.REGISTERED)),
        custodian=Count("id", filter=~Q(custodian_unit="")),
        verified=Count("id", filter=Q(last_verified_at__gte=year_ago())))}
    owner = dict(scope.assets.values_list("id", key))
    village_parent = dict(AdminArea.objects.villages().values_list("id", "parent_id"))
    alert_counts: dict[int, Counter] = defaultdict(Counter)
    for a in alerts_found:
        area_id = owner.get(a.asset_id) if a.asset_id else (a.area_id if key == "village_id"
                                                            else village_parent.get(a.area_id))
        alert_counts[area_id][a.level] += 1
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
                    **{level: alert_counts[area.pk][level] for level in LEVELS}})
    return out


def asset_list(scope: Scope) -> list[AssetRow]:
    return asset_rows(scope.assets, "category", "asset_type", "code")


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


def report_figures(scope: Scope, year: int | None = None) -> dict:
    """Everything a report shows, for the HTML page, the PDF and the workbook alike."""
    year = year or timezone.localdate().year - 1
    with planner_settings(**REPORT_PLANNER), _collector_paused():
        fig = {"scope": scope, "year": year, "generated": timezone.localtime()}
        if scope.kind == "village":  # listed first: the contract and alert rows point to these rows
            fig["assets"] = asset_list(scope)
            scope.memo["assets_by_id"] = {a.pk: a for a in fig["assets"]}
        fig.update({"totals": totals(scope), "ownership": ownership(scope), "custody": custody(scope),
                    "contracts": contracts(scope), "income": income(scope, year), "verification": verification(scope),
                    "alerts": alerts(scope), "publicity": publicity(scope)})
        if scope.kind != "village":
            fig["breakdown"] = breakdown(scope, fig["alerts"]["list"], fig["income"]["per_village"],
                                         fig["publicity"]["villages"])
        else:
            get = scope.memo["assets_by_id"].get
            rows = [{"alert": a, "asset": get(a.asset_id)} for a in fig["alerts"]["list"]]
            # by level, rule and asset code: two stable sorts with cheap keys (a village may have 80,000 alerts)
            rows.sort(key=lambda r: r["asset"].code if r["asset"] else "")
            rows.sort(key=lambda r: RULE_RANK[r["alert"].rule])
            fig["alert_rows"] = rows
    return fig


# ---------------------------------------------------------------- work-plan dashboard


def workplan_deadlines() -> dict[str, datetime.date]:
    return {task: datetime.date.fromisoformat(str(value)) for task, value in settings.WORKPLAN_DEADLINES.items()}


def villages_in_scope(user) -> QuerySet[AdminArea]:
    """The villages a role works on: all for county-wide readers and departments, its own for clerks."""
    scope = scope_for(user)
    villages = AdminArea.objects.villages()
    if scope.role == Role.TOWNSHIP:
        return villages.filter(parent_id=scope.area_id)
    if scope.role == Role.VILLAGE:
        return villages.filter(pk=scope.area_id)
    return villages if scope.sees_personal_data else villages.none()


def workplan_progress(user, *, with_alerts: bool = True) -> dict:
    """The dashboard's figures (_workplan_progress) with the reports' planner settings."""
    with planner_settings(**REPORT_PLANNER), _collector_paused():
        return _workplan_progress(user, with_alerts=with_alerts)


def _workplan_progress(user, *, with_alerts: bool = True) -> dict:
    """Rates of the work plan's four tasks per village and township, over the active assets the user sees:
    清产核资 — investment and funding recorded and verified at least once; 确权登记 — registered;
    公示 — both the inventory ledger and the ownership results were posted for the village (on its own board, its
    township's or the county's); 核查 — verified in the last 12 months."""
    villages = list(villages_in_scope(user).select_related("parent").order_by("code"))
    assets = Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED).filter(village__in=villages)
    funded = FundingLine.objects.filter(asset=OuterRef("pk"), amount__gt=0)
    counts = {r["village_id"]: r for r in assets.order_by().values("village_id").annotate(
        total=Count("id"),
        inventory=Count("id", filter=Q(total_investment__gt=0, last_verified_at__isnull=False) & Exists(funded)),
        ownership=Count("id", filter=Q(registration_status=RegistrationStatus.REGISTERED)),
        verification=Count("id", filter=Q(last_verified_at__gte=year_ago())))}
    today = timezone.localdate()
    covered = notices_by_village(villages_in_scope(user))
    alert_counts: dict[int, Counter] = defaultdict(Counter)
    if with_alerts:
        owner = dict(assets.values_list("id", "village_id"))
        for a in alerts_compute(assets=assets, villages=villages_in_scope(user)):
            alert_counts[owner.get(a.asset_id, a.area_id)][a.level] += 1
    rows, townships = [], {}
    for v in villages:
        c = counts.get(v.pk, {"total": 0, "inventory": 0, "ownership": 0, "verification": 0})
        row = {"village": v, "township": v.parent, "total": c["total"], "inventory": c["inventory"],
               "ownership": c["ownership"], "verification": c["verification"],
               "publicity": int(both_posted(covered[v.pk], today)),
               **{level: alert_counts[v.pk][level] for level in LEVELS}}
        rows.append(row)
        t = townships.setdefault(v.parent_id, {"township": v.parent, "villages": 0, **dict.fromkeys(
            ("total", "inventory", "ownership", "verification", "publicity", *LEVELS), 0)})
        t["villages"] += 1
        for k in ("total", "inventory", "ownership", "verification", "publicity", *LEVELS):
            t[k] += row[k]
    county = {"villages": len(rows), **{k: sum(t[k] for t in townships.values()) for k in (
        "total", "inventory", "ownership", "verification", "publicity", *LEVELS)}}
    for row in [*rows, *townships.values(), county]:
        row["rates"] = {"inventory": pct(row["inventory"], row["total"]), "ownership": pct(row["ownership"], row["total"]),
                        "publicity": pct(row["publicity"], row.get("villages", 1)),
                        "verification": pct(row["verification"], row["total"])}
        rates = [r for r in row["rates"].values() if r is not None]
        row["overall"] = round(sum(rates) / len(rates), 1) if rates else None
    tasks = [{"task": task, "label": label, "due": due, "rate": county["rates"][task],
              "days_left": (due - today).days, "days_late": max(0, (today - due).days),
              "state": "已完成" if county["rates"][task] == 100 else ("逾期未完成" if due < today else "进行中")}
             for (task, label), due in zip(WORKPLAN_TASKS.items(), workplan_deadlines().values(), strict=True)]
    return {"villages": rows, "townships": list(townships.values()), "county": county, "tasks": tasks,
            "today": today}


def public_village(village: AdminArea) -> dict:
    """What the villagers' page shows: published active assets under their public names, and how the latest
    publicised or paid income plan shares the money — by purpose and amount, naming no one."""
    from geo_assets.access import PUBLIC_SCOPE
    from geo_assets.privacy import Redactor

    public = Redactor(PUBLIC_SCOPE)
    assets = list(Asset.objects.filter(village=village, is_published=True).exclude(status=AssetStatus.DISPOSED)
                  .order_by("category", "asset_type", "code"))
    rows = [{"code": a.code, "name": public.asset_name(a), "type": a.get_asset_type_display(),
             "category": a.get_category_display(), "year": a.year_built, "investment": a.total_investment,
             "status": a.get_status_display(), "asset_type": a.asset_type} for a in assets]
    plan = (DistributionPlan.objects.filter(village=village, status__in=[PlanStatus.PUBLICISED, PlanStatus.PAID])
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
