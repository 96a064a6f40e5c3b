"""The demo county's project and fund ledgers (issue 17): 2024–2026 projects and fund lines that match its assets,
a few traced earlier projects, a relocation project (excluded), spending that forms no asset, and deliberately one
or more findings of every kind the reconciliation lists — so that a new user opening it sees each one populated.

Written through projects.services — the projects one by one, their fund lines and links by the bulk path of
`_bulk_write` (the same rules and bounds, each row with its history; the demo county's 330 projects load in
10–14 s instead of 24 s) — deterministic
(seeded, dates fixed by the year, never after today) and loaded once: when the county has projects, nothing is
written. The assets' projects are drawn from the assets themselves — a project per year, township and line of
work (roads, water, industry, …), serving the villages of its assets, funded by what their funding lines say.

What is deliberately wrong (DemoFindings, returned and printed by `load_demo_projects`):
- accepted projects that formed no registered asset (an accepted drinking-water and a road project);
- 2024–2026 assets left without a project (one in sixteen, at least one);
- projects whose assets' investment exceeds what they disbursed (disbursed 70 % of it);
- projects partly formed: 135 % of their assets' investment disbursed, far above the county's tolerance;
- fund lines without a document number (文号).
"""

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from geo_assets.demo import COUNTY_CODE
from geo_assets.models import Asset, Department, FundingLine
from geo_assets.refusals import enforce
from geo_assets.taxonomy import AssetType, FundingSourceKind
from geo_assets.validation import amount_check
from projects import rules, services
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from projects.taxonomy import LinkOrigin, ProjectKind, ProjectStatus

SEED = 17
REASON = "演示数据"
FIRST_YEAR = 2024  # the work plan's: funds since 2024 are inventoried (LedgerPolicy.first_year)
YEARS = (2024, 2025, 2026)
TRACED_YEARS = (2021, 2022, 2023)
TRACED_PROJECTS = 6
UNLINKED_EVERY = 16  # one in-scope asset in sixteen is left without a project
Q4 = Decimal("0.0001")

# Each asset type's line of work: the project's name and kind (work plan 二(一)).
LINES: dict[str, tuple[str, str]] = {
    AssetType.ROAD: ("村组道路建设项目", ProjectKind.INFRASTRUCTURE),
    AssetType.WATER_SUPPLY: ("农村饮水安全及农田水利项目", ProjectKind.INFRASTRUCTURE),
    AssetType.IRRIGATION: ("农村饮水安全及农田水利项目", ProjectKind.INFRASTRUCTURE),
    AssetType.SANITATION: ("农村人居环境整治项目", ProjectKind.INFRASTRUCTURE),
    AssetType.POWER: ("农村电网改造项目", ProjectKind.INFRASTRUCTURE),
    AssetType.EDUCATION: ("教育设施改善项目", ProjectKind.EDUCATION),
    AssetType.HEALTH: ("村卫生室标准化建设项目", ProjectKind.HEALTH),
    AssetType.CULTURE: ("文化体育设施项目", ProjectKind.CULTURE),
    AssetType.SPORTS: ("文化体育设施项目", ProjectKind.CULTURE),
    AssetType.GREENHOUSE: ("村集体经济产业基地项目", ProjectKind.COLLECTIVE),
    AssetType.PLANTATION: ("村集体经济产业基地项目", ProjectKind.COLLECTIVE),
    AssetType.PROCESSING: ("特色产业发展项目", ProjectKind.INDUSTRY),
    AssetType.TOURISM: ("特色产业发展项目", ProjectKind.INDUSTRY),
    AssetType.ECOMMERCE: ("特色产业发展项目", ProjectKind.INDUSTRY),
    AssetType.WORKSHOP: ("扶贫车间建设项目", ProjectKind.EMPLOYMENT),
    AssetType.PV_STATION: ("光伏扶贫电站项目", ProjectKind.PV),
    AssetType.EQUITY: ("资产收益扶贫项目", ProjectKind.EQUITY),
    AssetType.DEBT: ("资产收益扶贫项目", ProjectKind.EQUITY),
    AssetType.LIVESTOCK: ("到户产业扶持项目", ProjectKind.HOUSEHOLD),
    AssetType.HOUSEHOLD_FIXED: ("到户产业扶持项目", ProjectKind.HOUSEHOLD),
}

# The documents (文号) that allocate each source, a few a year: {year} and a number.
DOCUMENTS: dict[str, str] = {
    FundingSourceKind.CENTRAL: "豫财农〔{year}〕{n}号",
    FundingSourceKind.PROVINCIAL: "豫财扶〔{year}〕{n}号",
    FundingSourceKind.MUNICIPAL: "洛财农〔{year}〕{n}号",
    FundingSourceKind.COUNTY: "栾财预〔{year}〕{n}号",
    FundingSourceKind.SPECIAL_UNSTATED: "栾财扶〔{year}〕{n}号",
    FundingSourceKind.INTEGRATED: "栾政文〔{year}〕{n}号",
    FundingSourceKind.SOCIAL: "栾扶办〔{year}〕{n}号",
    FundingSourceKind.DONATION: "栾扶捐〔{year}〕{n}号",
    FundingSourceKind.SECTOR: "栾行扶〔{year}〕{n}号",
    FundingSourceKind.OTHER: "栾财〔{year}〕{n}号",
}

# Spending that forms no asset (work plan 二(二)), each year: kind, name, department, amount (10k yuan), source.
NO_ASSET = [
    (ProjectKind.INTEREST_SUBSIDY, "扶贫小额信贷贴息", "扶贫办", Decimal("86.4"), FundingSourceKind.CENTRAL),
    (ProjectKind.INSURANCE, "防贫保险保费补贴", "扶贫办", Decimal("45"), FundingSourceKind.COUNTY),
    (ProjectKind.GUARANTEE, "扶贫小额信贷风险补偿金", "财政局", Decimal("200"), FundingSourceKind.PROVINCIAL),
    (ProjectKind.DIRECT_SUBSIDY, "雨露计划职业教育补助", "教体局", Decimal("38.25"), FundingSourceKind.CENTRAL),
]


@dataclass
class Plan:
    """A project to write: its fields, its villages, its fund lines by source and the assets it formed."""

    year: int
    name: str
    kind: str
    township: object | None
    department: object | None
    villages: list = field(default_factory=list)
    parts: list = field(default_factory=list)  # (asset, {source: amount}, stated: bool)
    township_seat: bool = False
    status: str = ProjectStatus.ACCEPTED
    funds: dict = field(default_factory=dict)  # source → (allocated, disbursed); from the parts unless set
    note: str = ""

    def formed(self) -> Decimal:
        return sum((sum(by_source.values(), Decimal(0)) for _a, by_source, _s in self.parts), Decimal(0))


@dataclass
class DemoFindings:
    """What the demo made deliberately wrong (project and asset codes), and what else it wrote."""

    projects: int = 0
    fund_lines: int = 0
    links: int = 0
    accepted_without_assets: list = field(default_factory=list)
    assets_without_project: list = field(default_factory=list)
    formed_beyond: list = field(default_factory=list)
    partly_formed: list = field(default_factory=list)
    lines_without_document: list = field(default_factory=list)
    traced: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    no_asset: list = field(default_factory=list)


def demo_projects_loaded() -> bool:
    return Project.objects.exists()


def _funding_of(asset) -> dict[str, Decimal]:
    return {line.source: line.amount for line in asset.funding.all() if line.amount > 0}


def _scaled(amount: Decimal, factor: str) -> Decimal:
    return (amount * Decimal(factor)).quantize(Q4)


def _day(rng: random.Random, year: int, first: int, last: int, today: datetime.date) -> datetime.date:
    """A day of `year` between months first and last, never after today."""
    day = datetime.date(year, rng.randint(first, last), rng.randint(1, 28))
    return min(day, today)


def _groups(assets) -> dict[tuple, list]:
    """In-scope assets by (year, township, line of work): one project each."""
    groups: dict[tuple, list] = {}
    for asset in assets:
        line = LINES[asset.asset_type][0]
        groups.setdefault((asset.year_built, asset.township.code, line), []).append(asset)
    return groups


def _plan_for(key: tuple, assets: list) -> Plan:
    year, _township, line = key
    kind = LINES[assets[0].asset_type][1]
    township = assets[0].township
    departments = Counter(a.department_id for a in assets if a.department_id)
    department = min(departments, key=lambda d: (-departments[d], d)) if departments else None
    villages = sorted({a.village for a in assets}, key=lambda v: v.code)
    return Plan(year=year, name=f"{year}年{township.name}{line}", kind=kind, township=township,
                department=department, villages=villages,
                parts=[(a, _funding_of(a), False) for a in sorted(assets, key=lambda a: a.code)],
                township_seat=kind == ProjectKind.EMPLOYMENT,
                # the 2026 assets are under construction: their projects are under way
                status=ProjectStatus.UNDER_WAY if year >= 2026 else ProjectStatus.ACCEPTED)


def _lines_of(plan: Plan) -> dict[str, tuple[Decimal, Decimal]]:
    if plan.funds:
        return plan.funds
    by_source: dict[str, Decimal] = {}
    for _asset, amounts, _stated in plan.parts:
        for source, amount in amounts.items():
            by_source[source] = by_source.get(source, Decimal(0)) + amount
    return {source: (amount, amount) for source, amount in sorted(by_source.items())}


def _co_funded(plans: list[Plan]) -> Plan | None:
    """Exceptionally an asset comes from two projects: the social funds of one multi-source asset become a project
    of the poverty office's own (the amount each contributed stated on both links)."""
    for plan in plans:
        for index, (asset, amounts, _stated) in enumerate(plan.parts):
            social = amounts.get(FundingSourceKind.SOCIAL)
            if social and len(amounts) > 1 and plan.kind != ProjectKind.HOUSEHOLD:
                rest = {s: a for s, a in amounts.items() if s != FundingSourceKind.SOCIAL}
                plan.parts[index] = (asset, rest, True)
                return Plan(year=plan.year, name=f"{plan.year}年{asset.village.name}社会帮扶共建项目",
                            kind=plan.kind, township=plan.township,
                            department=Department.objects.filter(name="扶贫办").values_list("pk", flat=True).first(),
                            villages=[asset.village], parts=[(asset, {FundingSourceKind.SOCIAL: social}, True)])
    return None


@transaction.atomic
def demo_projects_load(*, actor) -> DemoFindings | None:
    """Load the demo project and fund ledgers once; None when there is nothing to do (loaded, or no assets)."""
    if demo_projects_loaded() or not Asset.objects.exists():
        return None
    rng, today, found = random.Random(SEED), timezone.localdate(), DemoFindings()
    if not LedgerPolicy.objects.exists():
        services.policy_save(actor=actor, policy=LedgerPolicy(first_year=FIRST_YEAR), reason=REASON)
    assets = list(Asset.objects.filter(year_built__isnull=False, county=f"{COUNTY_CODE}000000")
                  .select_related("village", "township")
                  .prefetch_related(Prefetch("funding", queryset=FundingLine.objects.order_by("source")))
                  .order_by("code"))

    # 2024–2026: nearly every asset in a project of its year, township and line of work; a few left out
    in_scope = [a for a in assets if a.year_built in YEARS]
    unlinked = [a for a in in_scope if rng.randrange(UNLINKED_EVERY) == 0] or in_scope[:1]
    found.assets_without_project = [a.code for a in unlinked]
    skip = {a.pk for a in unlinked}
    groups = _groups(a for a in in_scope if a.pk not in skip)
    plans = [_plan_for(key, groups[key]) for key in sorted(groups)]
    co_funded = _co_funded([p for p in plans if p.status == ProjectStatus.ACCEPTED])
    shared = {id(plan) for plan in plans if any(stated for _a, _m, stated in plan.parts)}

    # the deliberate differences, on projects big enough to be above any tolerance the county sets low
    big = [p for p in plans if p.formed() >= 20 and id(p) not in shared]
    rng.shuffle(big)
    singles = [p for p in big if len(p.parts) == 1] + [p for p in big if len(p.parts) > 1]
    beyond = singles[:max(1, len(plans) // 40)]
    partly = [p for p in big if p not in beyond and len(p.parts) > 1][:max(1, len(plans) // 30)] or \
        [p for p in big if p not in beyond][:1]
    for plan in beyond:
        plan.funds = {s: (_scaled(a, "0.7"),) * 2 for s, (a, _d) in _lines_of(plan).items()}
        plan.note = "资金拨付少于所形成资产的投资（演示：待核实）"
    for plan in partly:
        plan.funds = {s: (_scaled(a, "1.35"),) * 2 for s, (a, _d) in _lines_of(plan).items()}
        plan.note = "部分资金未形成登记资产（演示：待核实）"
    # projects under way: more allocated than disbursed so far (not a difference)
    for plan in plans:
        if plan.status == ProjectStatus.UNDER_WAY and not plan.funds:
            plan.funds = {s: (_scaled(d, "1.2"), d) for s, (_a, d) in _lines_of(plan).items()}
    if co_funded is not None:
        plans.append(co_funded)
    others = [p for p in plans if p not in beyond and p not in partly]
    undocumented = {id(p) for p in rng.sample(others, k=min(len(others), max(2, len(plans) // 25)))}

    # accepted projects that formed no registered asset
    villages = sorted({a.village for a in in_scope}, key=lambda v: v.code)
    for year, line, amount in ((2024, "农村饮水安全巩固提升工程", Decimal("36.5")),
                               (2025, "产业路硬化工程", Decimal("58"))):
        village = villages[rng.randrange(len(villages))]
        plans.append(Plan(year=year, name=f"{year}年{village.name}{line}", kind=ProjectKind.INFRASTRUCTURE,
                          township=village.parent, department=None, villages=[village],
                          funds={FundingSourceKind.INTEGRATED: (amount, amount)},
                          note="已竣工验收，资产尚未登记（演示：待核实）"))
        found.accepted_without_assets.append(plans[-1])

    # a few earlier projects, traced (追溯): the first one could not find all it formed (shown, never a finding)
    old = _groups(a for a in assets if a.year_built in TRACED_YEARS)
    keys = sorted(old)
    traced = [_plan_for(key, old[key]) for key in sorted(rng.sample(keys, k=min(TRACED_PROJECTS, len(keys))))]
    if traced:
        first = traced[0]
        first.funds = {s: (_scaled(a, "1.25"),) * 2 for s, (a, _d) in _lines_of(first).items()}
        first.note = "追溯项目：部分资产未能查实"
    plans += traced

    # relocation (excluded for now) and, each year, the spending that forms no asset
    plans.append(Plan(year=2024, name="2024年易地扶贫搬迁后续扶持项目", kind=ProjectKind.RELOCATION, township=None,
                      department=Department.objects.filter(name="发改委").values_list("pk", flat=True).first(),
                      funds={FundingSourceKind.CENTRAL: (Decimal("320"), Decimal("320"))},
                      note="易地扶贫搬迁资金暂不纳入清产核资"))
    excluded = plans[-1]
    no_asset = []
    for year in YEARS:
        for kind, name, department, amount, source in NO_ASSET:
            plans.append(Plan(year=year, name=f"{year}年{name}", kind=kind, township=None,
                              department=Department.objects.filter(name=department).values_list("pk", flat=True).first(),
                              funds={source: (amount, amount if year < 2026 else _scaled(amount, "0.6"))},
                              status=ProjectStatus.ACCEPTED if year < 2026 else ProjectStatus.UNDER_WAY))
            no_asset.append(plans[-1])

    # write them, year by year in a fixed order, numbered like the national system's codes
    plans.sort(key=lambda p: (p.year, p.kind in (ProjectKind.RELOCATION, *(k for k, *_r in NO_ASSET)), p.name))
    numbers: Counter = Counter()
    written: dict[int, Project] = {}
    lines: list[FundLine] = []
    links: list[ProjectAsset] = []
    for plan in plans:
        numbers[plan.year] += 1
        code = f"{COUNTY_CODE}{plan.year}{numbers[plan.year]:04d}"
        written[id(plan)] = _write(actor, plan, code, rng, today, undocumented=id(plan) in undocumented, found=found,
                                   lines=lines, links=links)
    _bulk_write(actor, lines, links)
    found.fund_lines, found.links = len(lines), len(links)
    found.accepted_without_assets = [written[id(p)].code for p in found.accepted_without_assets]
    found.formed_beyond = [written[id(p)].code for p in beyond]
    found.partly_formed = [written[id(p)].code for p in partly]
    found.traced = [written[id(p)].code for p in traced]
    found.excluded = [written[id(excluded)].code]
    found.no_asset = [written[id(p)].code for p in no_asset]
    return found


def _write(actor, plan: Plan, code: str, rng: random.Random, today: datetime.date, *, undocumented: bool,
           found: DemoFindings, lines: list, links: list) -> Project:
    """The project through projects.services; its fund lines and links collected for the bulk path (_bulk_write)."""
    year = plan.year
    started = _day(rng, year, 3, 5, today)
    completed = accepted = None
    if plan.status == ProjectStatus.ACCEPTED:
        completed = max(_day(rng, year, 9, 11, today), started)
        accepted = min(completed + datetime.timedelta(days=rng.randint(15, 40)), today)
    number = rng.randint(10, 99)
    project = services.project_save(actor=actor, reason=REASON, villages=plan.villages, project=Project(
        code=code, name=plan.name, year=year, kind=plan.kind, county_id=f"{COUNTY_CODE}000000",
        implementing_unit=f"{plan.township.name}人民政府" if plan.township else "栾川县乡村振兴局",
        department_id=plan.department, township=plan.township, township_seat=plan.township_seat,
        approval_document=f"栾乡振〔{year}〕{number}号", started_on=started, completed_on=completed,
        accepted_on=accepted, acceptance_document=f"栾乡振验〔{year}〕{number}号" if accepted else "",
        status=plan.status, note=plan.note))
    found.projects += 1
    for index, (source, (allocated, disbursed)) in enumerate(sorted(_lines_of(plan).items())):
        document = DOCUMENTS[source].format(year=year, n=rng.choice((12, 35, 58)))  # three allocations a year
        if undocumented and index == 0:
            document = ""
            found.lines_without_document.append(f"{code}/{source}")
        lines.append(FundLine(project=project, source=source, document_number=document, year=year,
                              allocated=allocated, disbursed=disbursed, recorded_by=actor,
                              note="" if document else "文号待补（演示）"))
    for asset, amounts, stated in plan.parts:
        links.append(ProjectAsset(project=project, asset=asset, origin=LinkOrigin.LEDGER, linked_by=actor,
                                  amount=sum(amounts.values(), Decimal(0)) if stated else None))
    return project


def _bulk_write(actor, lines: list[FundLine], links: list[ProjectAsset]) -> None:
    """The bulk path of the demo's fund lines and links (one statement each, and one for their history rows, with
    the actor and the reason as the services write them): one by one through fund_line_save and
    project_asset_link the demo county's 1,700 rows took about 14 of the 24 s its projects took, nearly all of it
    database round trips (15 statements a row). The same rules
    apply: who may keep the funds and link (projects.rules, per project), the bounds on every year and amount
    (geo_assets.validation, via services.year_check), the fields' own validation, disbursed within the allocation,
    the amounts stated never above what the project disbursed; the uniqueness is the database's constraints."""
    projects = {line.project_id: line.project for line in lines} | {link.project_id: link.project for link in links}
    editable = set(Asset.objects.editable_by(actor).filter(pk__in={link.asset_id for link in links})
                   .values_list("pk", flat=True))
    for project in projects.values():
        enforce(rules.may_edit_funds(actor, project))
    disbursed: dict[int, Decimal] = {}
    for line in lines:
        services.year_check(line.year)
        amount_check(line.allocated, field="allocated")
        amount_check(line.disbursed, field="disbursed")
        line.full_clean(exclude=["project", "recorded_by"], validate_unique=False, validate_constraints=False)
        if line.disbursed > line.allocated:
            raise ValidationError({"disbursed": _("More cannot be disbursed than was allocated.")})
        disbursed[line.project_id] = disbursed.get(line.project_id, Decimal(0)) + line.disbursed
    stated: dict[int, Decimal] = {}
    checked: set[int] = set()
    for link in links:
        if link.project_id not in checked:
            enforce(rules.may_link(actor, link.project, link.asset, asset_editable=link.asset_id in editable))
            checked.add(link.project_id)
        elif link.asset_id not in editable:
            enforce(rules.may_link(actor, link.project, link.asset, asset_editable=False))
        link.full_clean(exclude=["project", "asset", "linked_by"], validate_unique=False, validate_constraints=False)
        if link.amount is not None:
            amount_check(link.amount, field="amount")
            stated[link.project_id] = stated.get(link.project_id, Decimal(0)) + link.amount
            if stated[link.project_id] > disbursed.get(link.project_id, Decimal(0)):
                raise ValidationError({"amount": _(
                    "The amounts stated for this project's assets would reach %(total)s (10k yuan), more than the "
                    "%(disbursed)s it disbursed.") % {"total": stated[link.project_id],
                                                      "disbursed": disbursed.get(link.project_id, Decimal(0))}})
    bulk_create_with_history(lines, FundLine, batch_size=1000, default_user=actor, default_change_reason=REASON)
    bulk_create_with_history(links, ProjectAsset, batch_size=1000, default_user=actor, default_change_reason=REASON)
