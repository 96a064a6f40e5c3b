"""账账相符: the fund ledgers reconciled with the register (issue 17; work plan 二(一)(二), 三 1–2).

For the projects a viewer sees (`Project.objects.visible_to`), filtered by year, funding source, lead department
and township, it sets what each project disbursed against what it formed:

- **allocated** and **disbursed**: the sums of its fund lines (`FundLine`);
- **assets formed**: the assets linked to it (`ProjectAsset`; a link stating 0 is a corrected link and forms
  nothing) and what the project put into each (`projects.selectors.contributions`: the stated amount, else the
  asset's investment apportioned over its projects by what each disbursed). Disposed assets count: the money did
  become an asset;
- **not forming assets (explained)**: what a project of a kind that forms no asset disbursed (`rules.forms_no_asset`:
  interest subsidies, insurance, guarantee funds, direct subsidies), less any asset linked to it nevertheless;
- **difference** = disbursed − formed − not forming assets.

Projects outside the inventory's scope are shown apart, never as a discrepancy: **traced** (追溯) — before the
county's first year (`LedgerPolicy.first_year`, `rules.is_traced`) — and **excluded** — relocation
(`rules.is_excluded`). The year of a project is its ledger year (`Project.year`), the one the scope rules read.

By funding source, a project's formed and explained amounts are split over its sources by what each disbursed
(by what each was allocated when nothing was disbursed; under "no fund line" when it has none), as an asset's
funding follows from its projects (`selectors.asset_funding_derived`). With a source filter every figure is that
source's part; the findings still judge the whole project.

The findings are rules as values (`KINDS`, each with a stable code, a label and the function that finds it; the two
the risk alerts also raise carry their SQL, so both read one definition):

- `accepted_without_assets` — an in-scope project accepted (status 验收), of a kind that forms assets, with no asset
  linked;
- `asset_without_project` — an asset the viewer sees, not disposed, linked to no project, in scope by its year
  built (≥ the first year) or of unknown year (disposed assets left the register's active part; older ones are
  traced where possible, not required);
- `asset_exceeds_disbursement` — an in-scope project whose assets together exceed what it disbursed beyond the
  tolerance (`rules.formed_beyond`), or an asset formed by several projects whose investment exceeds what they
  disbursed together beyond the tolerance;
- `partly_formed` — an in-scope asset-forming project that formed some assets, but less than it disbursed beyond the
  tolerance (`rules.partly_formed`);
- `fund_line_without_document` — a fund line of an in-scope project with no document number (文号).

The tolerance is the county's (`LedgerPolicy`: the larger of a share of the disbursement and an amount).

Cost: a fixed number of statements whatever the number of projects (the policy, the projects, their villages,
their fund lines, the links of their assets and what those links' projects disbursed, the linked assets, the
unlinked assets): `python -m bench.reconciliation` measures it.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset, Department, FundingLine
from geo_assets.taxonomy import AssetStatus, FundingSourceKind
from geo_assets.validation import choice_key, choice_value
from geo_assets.vocab import FUNDING_LABELS
from projects import rules, selectors, services
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from projects.taxonomy import EXCLUDED_KINDS, NO_ASSET_KINDS, ProjectKind, ProjectStatus

ZERO = Decimal(0)
IN_SCOPE, TRACED, EXCLUDED = "in_scope", "traced", "excluded"
CLASSES = (IN_SCOPE, TRACED, EXCLUDED)
CLASS_LABELS = {IN_SCOPE: gettext_lazy("in scope"), TRACED: gettext_lazy("traced (before the first year)"),
                EXCLUDED: gettext_lazy("excluded (relocation)")}
NO_SOURCE = ""  # assets formed by a project without fund lines


def source_label(source: str) -> str:
    return str(FundingSourceKind(source).label) if source else _("no fund line")


# ---------------------------------------------------------------- the SQL the risk alerts share

FIRST_YEAR_DEFAULT = LedgerPolicy._meta.get_field("first_year").default
# The county's first year in scope, read in the statement (one row, or the model's default when none is saved).
FIRST_YEAR_SQL = ("(SELECT coalesce((SELECT lp.first_year FROM projects_ledgerpolicy lp ORDER BY lp.id LIMIT 1), "  # noqa: S608
                  + str(int(FIRST_YEAR_DEFAULT)) + "))")
# A link that forms the asset: one stating 0 is a corrected link (services.project_asset_link never removes one).
FORMING_LINK_SQL = "(l.amount IS NULL OR l.amount > 0)"


def _kinds_sql(kinds) -> str:
    return ", ".join(f"'{k}'" for k in sorted(kinds))  # our own vocabulary's codes, never user input


# `a`: the assets (id, year_built, status …) the alert looks at (reports.alerts' CTE of active visible assets).
ASSET_WITHOUT_PROJECT_SQL = f"""
    SELECT a.id, coalesce(a.year_built::text, '') FROM a
    WHERE a.status <> 'disposed' AND (a.year_built IS NULL OR a.year_built >= {FIRST_YEAR_SQL})
      AND NOT EXISTS (SELECT 1 FROM projects_projectasset l WHERE l.asset_id = a.id AND {FORMING_LINK_SQL})"""  # noqa: S608
# `villages`: the villages the alert looks at (reports.alerts' area CTE); one row per village and project served.
ACCEPTED_WITHOUT_ASSETS_SQL = f"""
    SELECT v.id, json_build_object('code', p.code, 'name', p.name, 'on', p.accepted_on)
    FROM villages v JOIN projects_project_villages pv ON pv.adminarea_id = v.id
         JOIN projects_project p ON p.id = pv.project_id
    WHERE p.status = '{ProjectStatus.ACCEPTED.value}' AND p.year >= {FIRST_YEAR_SQL}
      AND p.kind NOT IN ({_kinds_sql(EXCLUDED_KINDS | NO_ASSET_KINDS)})
      AND NOT EXISTS (SELECT 1 FROM projects_projectasset l WHERE l.project_id = p.id AND {FORMING_LINK_SQL})"""  # noqa: S608


def forming_links():
    """The links that form their asset, as a filter on ProjectAsset (FORMING_LINK_SQL)."""
    return Q(amount__isnull=True) | Q(amount__gt=0)


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    source: str | None = None
    department: Department | None = None
    township: AdminArea | None = None

    def query(self) -> dict[str, str]:
        """The filters as query values (codes), for links and the API's echo."""
        values = {"year": self.year or "", "source": self.source or "",
                  "department": self.department.pk if self.department else "",
                  "township": self.township.code if self.township else ""}
        return {k: str(v) for k, v in values.items() if v != ""}


def filters_parse(params) -> Filters:
    """The filters of a query (page or API): year as a number; source, department and township by code or by name
    (the source by its Chinese or English label, as geo_assets.validation.choice_value). A ValidationError names
    every bad value with what is accepted; nothing is half applied."""
    errors: dict[str, list[str]] = {}
    values = {}

    def value(name):
        raw = params.get(name)
        return str(raw).strip() if raw is not None and str(raw).strip() != "" else None

    if (raw := value("year")) is not None:
        try:
            values["year"] = services.year_check(raw)
        except ValidationError as exc:
            errors.setdefault("year", []).extend(exc.message_dict["year"])
    if (raw := value("source")) is not None:
        try:
            values["source"] = choice_value(raw, FundingSourceKind, field="source", aliases=FUNDING_LABELS)
        except ValidationError as exc:
            errors.setdefault("source", []).extend(exc.message_dict["source"])
    if (raw := value("department")) is not None:
        departments = list(Department.objects.order_by("name"))
        found = [d for d in departments if str(d.pk) == raw or choice_key(d.name) == choice_key(raw)]
        if found:
            values["department"] = found[0]
        else:
            errors["department"] = [_("“%(value)s” is not a department. Give its number or its name: %(accepted)s.")
                                    % {"value": raw[:40], "accepted": pgettext("list separator", ", ").join(
                                        _("%(code)s (%(label)s)") % {"code": d.pk, "label": d.name}
                                        for d in departments)}]
    if (raw := value("township")) is not None:
        townships = list(AdminArea.objects.townships().order_by("code").only("pk", "code", "name", "level"))
        found = [t for t in townships if t.code == raw or choice_key(t.name) == choice_key(raw)]
        if found:
            values["township"] = found[0]
        else:
            errors["township"] = [_("“%(value)s” is not a township. Give its code or its name: %(accepted)s.")
                                  % {"value": raw[:40], "accepted": pgettext("list separator", ", ").join(
                                      _("%(code)s (%(label)s)") % {"code": t.code, "label": t.name}
                                      for t in townships)}]
    if errors:
        raise ValidationError(errors)
    return Filters(**values)


# ---------------------------------------------------------------- figures


@dataclass
class Figures:
    """Money in 万元 and the assets formed, summed over projects (or one project's part)."""

    allocated: Decimal = ZERO
    disbursed: Decimal = ZERO
    formed: Decimal = ZERO
    no_asset: Decimal = ZERO
    assets: set = field(default_factory=set)  # ids of the assets formed
    projects: set = field(default_factory=set)

    @property
    def asset_count(self) -> int:
        return len(self.assets)

    @property
    def difference(self) -> Decimal:
        return self.disbursed - self.formed - self.no_asset

    def add(self, other: "Figures") -> None:
        self.allocated += other.allocated
        self.disbursed += other.disbursed
        self.formed += other.formed
        self.no_asset += other.no_asset
        self.assets |= other.assets
        self.projects |= other.projects


@dataclass
class AssetRef:
    id: int
    code: str
    name: str
    asset_type: str
    status: str
    investment: Decimal
    year_built: int | None
    village: str
    township_id: int | None
    visible: bool  # in the viewer's scope: named; else counted only


@dataclass
class FundLineRef:
    id: int
    project_id: int
    source: str
    document_number: str
    year: int
    allocated: Decimal
    disbursed: Decimal


@dataclass
class ProjectLine:
    id: int
    code: str
    name: str
    year: int
    kind: str
    status: str
    accepted_on: object
    department_id: int | None
    department: str
    township_id: int | None
    township: str
    klass: str = IN_SCOPE
    villages: list = field(default_factory=list)  # ids of the villages served
    township_seat: bool = False
    whole: Figures = field(default_factory=Figures)  # every source: what the findings judge
    parts: dict = field(default_factory=dict)  # source → Figures (formed and explained split by disbursement)
    shown: Figures = field(default_factory=Figures)  # the parts the source filter keeps
    contributions: dict = field(default_factory=dict)  # asset id → what the project put into it
    lines: list = field(default_factory=list)  # FundLineRef
    findings: list = field(default_factory=list)  # codes of KINDS

    @property
    def kind_label(self) -> str:
        return str(ProjectKind(self.kind).label) if self.kind in ProjectKind.values else self.kind

    @property
    def status_label(self) -> str:
        return str(ProjectStatus(self.status).label) if self.status in ProjectStatus.values else self.status

    @property
    def class_label(self) -> str:
        return str(CLASS_LABELS[self.klass])

    @property
    def forms_assets(self) -> bool:
        return not rules.forms_no_asset(self)

    @property
    def accounted(self) -> Decimal:
        """What the reconciliation explains of its disbursement: formed (up to what it disbursed) and explained."""
        whole = self.whole
        return min(whole.disbursed, whole.formed + whole.no_asset)


@dataclass(frozen=True)
class Item:
    """One finding: its kind, the project, the assets (the viewer's only are named), the fund line, the amount."""

    kind: str
    project: ProjectLine | None = None
    assets: tuple = ()  # AssetRef
    fund_line: FundLineRef | None = None
    amount: Decimal = ZERO  # the discrepancy (or the asset's investment, the line's disbursement)
    values: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return KINDS[self.kind].describe(self)


@dataclass
class Group:
    klass: str
    year: int
    source: str
    department_id: int | None
    department: str
    township_id: int | None
    township: str
    figures: Figures = field(default_factory=Figures)

    @property
    def source_label(self) -> str:
        return source_label(self.source)

    @property
    def class_label(self) -> str:
        return str(CLASS_LABELS[self.klass])


@dataclass
class Reconciliation:
    filters: Filters
    policy: LedgerPolicy
    projects: list[ProjectLine]
    groups: list[Group]
    totals: dict[str, Figures]  # per class
    findings: dict[str, list[Item]]  # per kind code, in KINDS' order
    unlinked: list[AssetRef]
    generated: object = None
    assets: dict = field(default_factory=dict, repr=False)  # id → AssetRef of every asset the projects formed
    asset_projects: dict = field(default_factory=dict, repr=False)  # asset id → ids of the projects forming it
    by_id: dict = field(default_factory=dict, repr=False)  # project id → ProjectLine
    disbursed: dict = field(default_factory=dict, repr=False)  # project id → disbursed, for every forming project

    def tolerance(self, disbursed: Decimal) -> Decimal:
        return rules.tolerance(disbursed, percent=self.policy.tolerance_percent, amount=self.policy.tolerance_amount)

    @property
    def finding_count(self) -> int:
        return sum(len(items) for items in self.findings.values())


# ---------------------------------------------------------------- the finding kinds (rules as values)


def _wan(amount: Decimal) -> str:
    from geo_assets.amounts import format_wan

    return format_wan(amount)


def _find_accepted_without_assets(rec: Reconciliation) -> list[Item]:
    return [Item("accepted_without_assets", p, amount=p.whole.disbursed)
            for p in rec.projects if p.klass == IN_SCOPE and p.status == ProjectStatus.ACCEPTED and p.forms_assets
            and not p.contributions]


def _find_asset_without_project(rec: Reconciliation) -> list[Item]:
    return [Item("asset_without_project", assets=(a,), amount=a.investment) for a in rec.unlinked]


def _find_asset_exceeds(rec: Reconciliation) -> list[Item]:
    found = []
    for p in rec.projects:
        if p.klass != IN_SCOPE or not p.contributions:
            continue
        w = p.whole
        if rules.formed_beyond(disbursed=w.disbursed, formed=w.formed, percent=rec.policy.tolerance_percent,
                               amount=rec.policy.tolerance_amount):
            assets = tuple(a for a in (rec.assets.get(i) for i in sorted(p.contributions)) if a and a.visible)
            found.append(Item("asset_exceeds_disbursement", p, assets, amount=w.formed - w.disbursed,
                              values={"formed": w.formed, "disbursed": w.disbursed}))
    # an asset of several projects: its investment against what they disbursed together
    for asset_id, projects in rec.asset_projects.items():
        asset = rec.assets.get(asset_id)
        if len(projects) < 2 or asset is None or not asset.visible:
            continue
        mine = [p for p in (rec.by_id.get(pid) for pid in projects) if p is not None and p.klass == IN_SCOPE]
        if not mine:
            continue
        disbursed = sum((rec.disbursed.get(pid, ZERO) for pid in projects), ZERO)
        if asset.investment - disbursed > rec.tolerance(disbursed):
            found.append(Item("asset_exceeds_disbursement", mine[0], (asset,), amount=asset.investment - disbursed,
                              values={"formed": asset.investment, "disbursed": disbursed,
                                      "projects": len(projects)}))
    return found


def _find_partly_formed(rec: Reconciliation) -> list[Item]:
    found = []
    for p in rec.projects:
        w = p.whole
        if p.klass == IN_SCOPE and p.forms_assets and rules.partly_formed(
                disbursed=w.disbursed, formed=w.formed, percent=rec.policy.tolerance_percent,
                amount=rec.policy.tolerance_amount):
            found.append(Item("partly_formed", p, amount=w.disbursed - w.formed,
                              values={"formed": w.formed, "disbursed": w.disbursed,
                                      "tolerance": rec.tolerance(w.disbursed)}))
    return found


def _find_no_document(rec: Reconciliation) -> list[Item]:
    return [Item("fund_line_without_document", p, fund_line=line, amount=line.disbursed)
            for p in rec.projects if p.klass == IN_SCOPE for line in p.lines if not line.document_number]


def _describe_accepted(item: Item) -> str:
    p = item.project
    return _("Accepted on %(date)s; disbursed %(disbursed)s 10k yuan; no asset is linked to it") % {
        "date": f"{p.accepted_on:%Y-%m-%d}" if p.accepted_on else "—", "disbursed": _wan(p.whole.disbursed)}


def _describe_unlinked(item: Item) -> str:
    a = item.assets[0]
    if a.year_built is None:
        return _("Year built unknown; investment %(investment)s 10k yuan; formed by no project") % {
            "investment": _wan(a.investment)}
    return _("Built in %(year)s; investment %(investment)s 10k yuan; formed by no project") % {
        "year": a.year_built, "investment": _wan(a.investment)}


def _describe_exceeds(item: Item) -> str:
    v = item.values
    if "projects" in v:
        return _("Investment %(formed)s 10k yuan; its %(n)s projects disbursed %(disbursed)s together "
                 "(%(excess)s over)") % {"formed": _wan(v["formed"]), "n": v["projects"],
                                         "disbursed": _wan(v["disbursed"]), "excess": _wan(item.amount)}
    return _("Assets formed %(formed)s 10k yuan; disbursed %(disbursed)s (%(excess)s over)") % {
        "formed": _wan(v["formed"]), "disbursed": _wan(v["disbursed"]), "excess": _wan(item.amount)}


def _describe_partly(item: Item) -> str:
    v = item.values
    return _("Disbursed %(disbursed)s 10k yuan; assets formed %(formed)s; %(gap)s not accounted for (tolerance "
             "%(tolerance)s)") % {"disbursed": _wan(v["disbursed"]), "formed": _wan(v["formed"]),
                                  "gap": _wan(item.amount), "tolerance": _wan(v["tolerance"])}


def _describe_no_document(item: Item) -> str:
    line = item.fund_line
    return _("%(source)s, %(year)s: allocated %(allocated)s 10k yuan, disbursed %(disbursed)s; no document "
             "number") % {"source": source_label(line.source), "year": line.year, "allocated": _wan(line.allocated),
                          "disbursed": _wan(line.disbursed)}


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # lazy
    subject: str  # project | asset | fund_line: what each finding points to first
    find: Callable[[Reconciliation], list[Item]]
    describe: Callable[[Item], str]
    sql: str = ""  # the same rule as one SQL statement, where the risk alerts raise it (reports.alerts)


KINDS = {k.code: k for k in (
    Kind("accepted_without_assets", gettext_lazy("Projects accepted but without assets"), "project",
         _find_accepted_without_assets, _describe_accepted, ACCEPTED_WITHOUT_ASSETS_SQL),
    Kind("asset_without_project", gettext_lazy("Assets without a project"), "asset", _find_asset_without_project,
         _describe_unlinked, ASSET_WITHOUT_PROJECT_SQL),
    Kind("asset_exceeds_disbursement", gettext_lazy("Assets whose investment exceeds their project's disbursement"),
         "project", _find_asset_exceeds, _describe_exceeds),
    Kind("partly_formed", gettext_lazy("Projects partly formed"), "project", _find_partly_formed, _describe_partly),
    Kind("fund_line_without_document", gettext_lazy("Fund lines without a document number"), "fund_line",
         _find_no_document, _describe_no_document),
)}


# ---------------------------------------------------------------- the computation


def projects_for(user, filters: Filters):
    """The projects of the reconciliation: those the viewer sees, filtered."""
    projects = Project.objects.visible_to(user)
    if filters.year:
        projects = projects.filter(year=filters.year)
    if filters.department:
        projects = projects.filter(department=filters.department)
    if filters.township:
        projects = projects.filter(Q(township=filters.township) | Q(villages__parent=filters.township)).distinct()
    if filters.source:
        projects = projects.filter(funds__source=filters.source).distinct()
    return projects


def unlinked_assets(user, filters: Filters, *, first_year: int):
    """asset_without_project as a queryset: the viewer's active assets in scope by year (or of unknown year) that
    no link forms (the Python twin of ASSET_WITHOUT_PROJECT_SQL)."""
    linked = ProjectAsset.objects.filter(forming_links(), asset=OuterRef("pk"))
    assets = (Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED).filter(~Exists(linked))
              .filter(Q(year_built__gte=first_year) | Q(year_built__isnull=True)))
    if filters.year:
        assets = assets.filter(year_built=filters.year)
    if filters.township:
        assets = assets.filter(township=filters.township)
    if filters.department:
        assets = assets.filter(department=filters.department)
    if filters.source:
        assets = assets.filter(Exists(FundingLine.objects.filter(asset=OuterRef("pk"), source=filters.source,
                                                                 amount__gt=0)))
    return assets


ASSET_FIELDS = ("id", "code", "name", "asset_type", "status", "total_investment", "year_built", "village__name",
                "township_id")


def _asset_refs(queryset, visible: bool | None = None) -> list[AssetRef]:
    fields = ASSET_FIELDS + (("in_scope",) if visible is None else ())
    refs = []
    for row in queryset.order_by("code").values_list(*fields):
        refs.append(AssetRef(*row[:7], row[7] or "", row[8], row[9] if visible is None else visible))
    return refs


def _weights(parts: dict) -> dict:
    """How a project's formed and explained amounts split over its sources: by disbursement, else allocation."""
    by_disbursed = {s: f.disbursed for s, f in parts.items() if f.disbursed > 0}
    if by_disbursed:
        return by_disbursed
    return {s: f.allocated for s, f in parts.items() if f.allocated > 0}


def reconcile(user, filters: Filters | None = None, *, policy: LedgerPolicy | None = None) -> Reconciliation:
    """The reconciliation of the projects `user` sees (filtered): per project, per group (class × year × source ×
    department × township), per class, and the findings of every kind."""
    filters = filters or Filters()
    policy = policy or services.policy_current()
    scope = scope_for(user)
    projects = projects_for(user, filters)
    ids = projects.order_by().values("id")
    lines = {}
    for row in projects.order_by("code").values_list(
            "id", "code", "name", "year", "kind", "status", "accepted_on", "department_id", "department__name",
            "township_id", "township__name", "township_seat"):
        p = ProjectLine(*row[:8], row[8] or "", row[9], row[10] or "", township_seat=row[11])
        p.klass = (EXCLUDED if rules.is_excluded(p) else TRACED if rules.is_traced(p, first_year=policy.first_year)
                   else IN_SCOPE)
        lines[p.id] = p
    for project_id, village_id, parent_id in Project.villages.through.objects.filter(project_id__in=ids).values_list(
            "project_id", "adminarea_id", "adminarea__parent_id"):
        p = lines[project_id]
        p.villages.append(village_id)
        if p.township_id is None and parent_id:  # a project named by its villages only: their township
            p.township_id = parent_id
    for row in FundLine.objects.filter(project_id__in=ids).order_by("year", "source", "id").values_list(
            "id", "project_id", "source", "document_number", "year", "allocated", "disbursed"):
        line = FundLineRef(*row)
        p = lines[line.project_id]
        p.lines.append(line)
        part = p.parts.setdefault(line.source, Figures())
        part.allocated += line.allocated
        part.disbursed += line.disbursed
    # every link of the assets these projects formed (other projects' too: an asset's investment is shared)
    links = list(selectors.links_of(projects=ids))
    forming = [(p, a, m, i) for p, a, m, i in links if m is None or m > 0]
    formers = ProjectAsset.objects.filter(asset_id__in=ProjectAsset.objects.filter(project_id__in=ids)
                                          .values("asset_id")).values("project_id")
    disbursed = dict(FundLine.objects.filter(project_id__in=formers).order_by().values("project_id")
                     .annotate(s=Sum("disbursed")).values_list("project_id", "s")) if forming else {}
    shares = selectors.contributions(forming, disbursed=disbursed)
    asset_projects: dict[int, list[int]] = defaultdict(list)
    for project_id, asset_id, _m, _i in forming:
        asset_projects[asset_id].append(project_id)
        if project_id in lines:
            lines[project_id].contributions[asset_id] = shares.get((project_id, asset_id), ZERO)
    q = scope.assets_q(for_edit=False)
    in_scope = Value(True) if q is None else ExpressionWrapper(q, output_field=BooleanField())
    assets = {a.id: a for a in _asset_refs(Asset.objects.filter(
        pk__in=ProjectAsset.objects.filter(forming_links(), project_id__in=ids).values("asset_id"))
        .annotate(in_scope=in_scope))}

    groups: dict[tuple, Group] = {}
    totals = {k: Figures() for k in CLASSES}
    for p in lines.values():
        formed = sum(p.contributions.values(), ZERO)
        paid = sum((f.disbursed for f in p.parts.values()), ZERO)
        explained = ZERO if p.forms_assets else max(paid - formed, ZERO)
        weights = _weights(p.parts)
        formed_parts = rules.apportion(formed, weights) if formed else {}
        explained_parts = rules.apportion(explained, weights) if explained else {}
        if formed and not formed_parts:  # formed without any money on the ledger
            p.parts.setdefault(NO_SOURCE, Figures())
            formed_parts = {NO_SOURCE: formed}
        if not p.parts:
            p.parts[NO_SOURCE] = Figures()
        for source, part in p.parts.items():
            part.formed = formed_parts.get(source, ZERO)
            part.no_asset = explained_parts.get(source, ZERO)
            part.assets = set(p.contributions) if (part.formed or source == NO_SOURCE or len(p.parts) == 1) \
                else set()
            part.projects = {p.id}
            p.whole.add(part)
            if filters.source and source != filters.source:
                continue
            p.shown.add(part)
            key = (p.klass, p.year, source, p.department_id, p.township_id)
            if key not in groups:
                groups[key] = Group(p.klass, p.year, source, p.department_id, p.department, p.township_id,
                                    p.township)
            groups[key].figures.add(part)
            totals[p.klass].add(part)
        p.whole.assets = set(p.contributions)
    _fill_township_names(groups.values(), lines.values())
    source_rank = {s: i for i, s in enumerate([*FundingSourceKind.values, NO_SOURCE])}
    ordered_groups = sorted(groups.values(), key=lambda g: (CLASSES.index(g.klass), g.year, source_rank[g.source],
                                                             g.department, g.township))
    rec = Reconciliation(filters=filters, policy=policy, projects=list(lines.values()), groups=ordered_groups,
                         totals=totals, findings={}, unlinked=[], generated=timezone.localtime(), assets=assets,
                         asset_projects=dict(asset_projects), by_id=lines, disbursed=disbursed)
    rec.unlinked = _asset_refs(unlinked_assets(user, filters, first_year=policy.first_year), visible=True)
    for code, kind in KINDS.items():
        items = kind.find(rec)
        rec.findings[code] = items
        for item in items:
            if item.project is not None and code not in item.project.findings:
                item.project.findings.append(code)
    return rec


def _fill_township_names(groups, projects) -> None:
    """A project named by its villages only takes their township (reconcile): its name for the group rows."""
    missing = {g.township_id for g in groups if g.township_id and not g.township}
    if not missing:
        return
    names = dict(AdminArea.objects.filter(pk__in=missing).values_list("pk", "name"))
    for g in groups:
        if g.township_id in names and not g.township:
            g.township = names[g.township_id]
    for p in projects:
        if p.township_id in names and not p.township:
            p.township = names[p.township_id]


# ---------------------------------------------------------------- the dashboard's 清产核资 rate


@dataclass
class Accounted:
    """In-scope money disbursed and accounted for (formed into assets, up to the disbursement, or explained as
    spending that forms no asset), by area: village (projects serving that one village), township (every project
    of the township) and the county (every project the viewer sees)."""

    villages: dict = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    townships: dict = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    county: list = field(default_factory=lambda: [ZERO, ZERO])

    @staticmethod
    def rate(pair) -> float | None:
        disbursed, accounted = pair
        return round(float(100 * accounted / disbursed), 1) if disbursed else None


def funds_accounted(user, *, rec: Reconciliation | None = None) -> Accounted:
    """The 清产核资 rate's figures (reports.figures' dashboard): for the in-scope projects the user sees, what they
    disbursed and how much of it the register accounts for. A project across several villages, or serving the
    township seat, counts for its township only (as it is the township's asset, rules.owner_proposal)."""
    rec = rec or reconcile(user)
    out = Accounted()
    for p in rec.projects:
        if p.klass != IN_SCOPE or not p.whole.disbursed:
            continue
        pair = (p.whole.disbursed, p.accounted)
        targets = [out.county]
        if p.township_id:
            targets.append(out.townships[p.township_id])
        if len(p.villages) == 1 and not p.township_seat:
            targets.append(out.villages[p.villages[0]])
        for target in targets:
            target[0] += pair[0]
            target[1] += pair[1]
    return out


# ---------------------------------------------------------------- as data (the API, the workbook)


def _money(value: Decimal) -> str:
    return f"{value:.4f}"


def figures_json(f: Figures) -> dict:
    return {"allocated": _money(f.allocated), "disbursed": _money(f.disbursed), "assets_formed": f.asset_count,
            "formed": _money(f.formed), "not_forming_assets": _money(f.no_asset), "difference": _money(f.difference),
            "projects": len(f.projects)}


def item_json(item: Item) -> dict:
    return {"kind": item.kind, "project": item.project.code if item.project else None,
            "assets": [a.code for a in item.assets if a.visible],
            "fund_line": ({"id": item.fund_line.id, "source": item.fund_line.source, "year": item.fund_line.year,
                           "allocated": _money(item.fund_line.allocated),
                           "disbursed": _money(item.fund_line.disbursed)} if item.fund_line else None),
            "amount": _money(item.amount), "text": item.text}


def as_json(rec: Reconciliation) -> dict:
    """The reconciliation for scripts: the filters, the policy, totals per class and group, projects, findings."""
    policy = rec.policy
    return {
        "filters": rec.filters.query(),
        "policy": {"first_year": policy.first_year, "tolerance_percent": str(policy.tolerance_percent),
                   "tolerance_amount": _money(policy.tolerance_amount)},
        "generated": rec.generated.isoformat() if rec.generated else None,
        "totals": {k: figures_json(f) for k, f in rec.totals.items()},
        "groups": [{"class": g.klass, "year": g.year, "source": g.source or None, "department": g.department or None,
                    "township": g.township or None, **figures_json(g.figures)} for g in rec.groups],
        "projects": [{"code": p.code, "name": p.name, "year": p.year, "kind": p.kind, "status": p.status,
                      "class": p.klass, **figures_json(p.shown), "findings": p.findings} for p in rec.projects],
        "findings": {code: {"label": str(KINDS[code].label), "count": len(items),
                            "items": [item_json(i) for i in items]} for code, items in rec.findings.items()},
    }


# ---------------------------------------------------------------- an asset's funds by source (the ledgers)


def funding_by_asset(assets) -> dict[int, dict[str, Decimal]]:
    """asset id → its funds by source, for the assets of a queryset at once (four statements whatever their
    number): as they follow from its projects when a project formed it (each project's contribution split over the
    project's sources by what each disbursed, never more than the project disbursed — selectors.asset_funding_derived
    for one asset), else its own recorded funding lines. NO_SOURCE holds what projects without fund lines formed."""
    ids = assets.order_by().values("id")
    forming = ProjectAsset.objects.filter(forming_links(), asset_id__in=ids)
    links = list(forming.values_list("project_id", "asset_id", "amount", "asset__total_investment"))
    sources: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for project_id, source, amount in (FundLine.objects.filter(project_id__in=forming.values("project_id"))
                                       .order_by().values("project_id", "source").annotate(s=Sum("disbursed"))
                                       .values_list("project_id", "source", "s")):
        sources[project_id][source] = amount or ZERO
    disbursed = {p: sum(by_source.values(), ZERO) for p, by_source in sources.items()}
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for (project_id, asset_id), amount in selectors.contributions(links, disbursed=disbursed).items():
        total = disbursed.get(project_id, ZERO)
        parts = rules.apportion(min(amount, total), sources[project_id]) if total else {}
        if not parts and amount:
            parts = {NO_SOURCE: amount}
        for source, part in parts.items():
            out[asset_id][source] += part
    for asset_id, source, amount in (FundingLine.objects.filter(asset_id__in=ids).exclude(
            asset_id__in=forming.values("asset_id")).values_list("asset_id", "source", "amount")):
        out[asset_id][source] += amount
    return {asset_id: dict(by_source) for asset_id, by_source in out.items()}


def project_codes_by_asset(assets) -> dict[int, list[str]]:
    """asset id → the codes of the projects that formed it (one statement)."""
    out: dict[int, list[str]] = defaultdict(list)
    for asset_id, code in (ProjectAsset.objects.filter(forming_links(), asset_id__in=assets.order_by().values("id"))
                           .order_by("project__code").values_list("asset_id", "project__code")):
        out[asset_id].append(code)
    return dict(out)
