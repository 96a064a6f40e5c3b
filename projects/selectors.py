"""Reads of the project ledgers: what each project contributed to each asset, an asset's funding as it follows
from its projects, a project's summary, and which projects could have formed an unlinked asset."""

from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from geo_assets.models import Asset
from geo_assets.models.register import asset_url
from geo_assets.querysets import without_boundaries
from geo_assets.taxonomy import FundingSourceKind
from projects import access, rules
from projects.models import FundLine, Project, ProjectAsset
from projects.services import policy_current
from projects.taxonomy import EXCLUDED_KINDS, KIND_ASSET_TYPES, NO_ASSET_KINDS, LinkOrigin, ProjectStatus

ZERO = Decimal(0)


def _disbursed_by_project(project_ids) -> dict[int, Decimal]:
    rows = (FundLine.objects.filter(project_id__in=project_ids).values("project_id")
            .annotate(s=Sum("disbursed")).values_list("project_id", "s"))
    return {pid: s or ZERO for pid, s in rows}


def contributions(links, *, disbursed: dict[int, Decimal] | None = None) -> dict[tuple[int, int], Decimal]:
    """(project_id, asset_id) → what the project put into the asset: the stated amount, else the asset's
    investment apportioned over its projects by what each disbursed (equally when none disbursed anything).

    `links` are (project_id, asset_id, amount, asset_investment) for every link of the assets concerned;
    `disbursed` (project_id → sum disbursed), when the caller already read it for every project of the links."""
    links = list(links)
    if disbursed is None:
        disbursed = _disbursed_by_project({p for p, _a, _m, _i in links})
    by_asset: dict[int, list] = {}
    for link in links:
        by_asset.setdefault(link[1], []).append(link)
    result = {}
    for asset_id, rows in by_asset.items():
        investment = rows[0][3] or ZERO
        stated = sum((m for _p, _a, m, _i in rows if m is not None), ZERO)
        open_rows = [r for r in rows if r[2] is None]
        for p, _a, m, _i in rows:
            if m is not None:
                result[(p, asset_id)] = m
        if open_rows:
            rest = max(investment - stated, ZERO)
            weights = {r[0]: disbursed.get(r[0], ZERO) for r in open_rows}
            if not any(weights.values()):
                weights = {r[0]: Decimal(1) for r in open_rows}
            parts = rules.apportion(rest, weights)
            for r in open_rows:
                result[(r[0], asset_id)] = parts.get(r[0], ZERO)
    return result


def links_of(*, projects=None, assets=None, county: str | None = None):
    """Every link touching the assets of the given projects (or the given assets), as contributions() reads them;
    with `county`, only its assets' links (the county bound of one asset's links)."""
    if projects is not None:
        assets = ProjectAsset.objects.filter(project__in=projects).values("asset_id")
    qs = ProjectAsset.objects.filter(asset_id__in=assets)
    if county is not None:
        qs = qs.filter(asset__county=county)
    return qs.values_list("project_id", "asset_id", "amount", "asset__total_investment")


def asset_funding_derived(asset: Asset) -> list[tuple[str, Decimal]]:
    """The asset's funding lines as they follow from its projects: each project's contribution split over the
    project's sources by what each disbursed (sums to the contribution, never more than the project disbursed)."""
    shares = contributions(links_of(assets=[asset.pk], county=asset.county_id))
    by_source: dict[str, Decimal] = {}
    for (project_id, _asset), amount in shares.items():
        sources = dict(FundLine.objects.filter(project_id=project_id).values("source")
                       .annotate(s=Sum("disbursed")).values_list("source", "s"))
        disbursed = sum(sources.values(), ZERO)
        amount = min(amount, disbursed) if disbursed else amount
        for source, part in rules.apportion(amount, sources).items():
            by_source[source] = by_source.get(source, ZERO) + part
    return sorted(by_source.items())


@dataclass(frozen=True)
class ProjectSummary:
    allocated: Decimal
    disbursed: Decimal
    formed: Decimal
    asset_count: int
    no_asset: Decimal  # spending that forms no asset by its nature (explained)
    difference: Decimal  # disbursed − formed − no_asset


def project_summary(project: Project) -> ProjectSummary:
    totals = project.funds.aggregate(a=Sum("allocated"), d=Sum("disbursed"))
    allocated, disbursed = totals["a"] or ZERO, totals["d"] or ZERO
    shares = contributions(links_of(projects=[project.pk]))
    mine = {a: v for (p, a), v in shares.items() if p == project.pk}
    formed = sum(mine.values(), ZERO)
    no_asset = disbursed if rules.forms_no_asset(project) else ZERO
    return ProjectSummary(allocated, disbursed, formed, len(mine), no_asset, disbursed - formed - no_asset)


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def link_score(asset: Asset, project: Project) -> float:
    """How likely the project formed the asset (0 … ~1.6), for ranking only: name similarity (the asset's own
    project name, else its name, against the project's name), +0.2 when the asset's ledger names the project
    exactly, +0.3 when the asset's type is one the project's kind forms (projects.taxonomy.KIND_ASSET_TYPES),
    −0.3 when the kind forms other types, +0.1 for the same year built."""
    wanted = asset.project_name or asset.name
    score = _similar(wanted, project.name)
    if asset.project_name and asset.project_name.strip() == project.name.strip():
        score += 0.2
    types = KIND_ASSET_TYPES.get(project.kind)
    if types is not None:
        score += 0.3 if asset.asset_type in types else -0.3
    if asset.year_built and asset.year_built == project.year:
        score += 0.1
    return round(score, 4)


def _formable(qs):
    """Projects that can form assets: not excluded (relocation) and not spending that forms none."""
    return qs.exclude(kind__in=[*EXCLUDED_KINDS, *NO_ASSET_KINDS]).exclude(status=ProjectStatus.CANCELLED)


def link_suggestions(asset: Asset, *, user, limit: int = 5) -> list[tuple[Project, float]]:
    """Projects that may have formed an unlinked asset: same village (or its township's cross-village projects),
    year within one of the asset's, that can form assets at all; ranked by link_score (name similarity, asset
    type ↔ project kind, year)."""
    candidates = _formable(Project.objects.visible_to(user).exclude(links__asset=asset))
    place = Q(villages=asset.village_id) if asset.village_id else Q(pk__in=[])
    if asset.township_id:
        place |= Q(township_id=asset.township_id, villages__isnull=True)
    candidates = candidates.filter(place)
    if asset.year_built:
        candidates = candidates.filter(year__gte=asset.year_built - 1, year__lte=asset.year_built + 1)
    scored = [(p, link_score(asset, p)) for p in candidates.distinct().select_related("department")[:200]]
    scored = [item for item in scored if item[1] > 0]
    scored.sort(key=lambda item: (-item[1], item[0].code))
    return scored[:limit]


def asset_suggestions(project: Project, *, user, limit: int = 8) -> list[tuple[Asset, float]]:
    """The reverse of link_suggestions, for a project's page: assets the user sees that no project formed yet, in
    the project's villages (or its township when it names none), built within a year of the project's year;
    ranked by link_score. None for projects that form no asset."""
    if rules.forms_no_asset(project) or rules.is_excluded(project):
        return []
    villages = list(project.villages.values_list("pk", flat=True))
    if villages:
        place = Q(village_id__in=villages)
    elif project.township_id:
        place = Q(township_id=project.township_id)
    else:
        return []
    candidates = (Asset.objects.visible_to(user).filter(place).filter(project_links__isnull=True)
                  .filter(Q(year_built__isnull=True) | Q(year_built__gte=project.year - 1,
                                                          year_built__lte=project.year + 1))
                  .with_areas())
    scored = [(a, link_score(a, project)) for a in candidates.order_by("code")[:500]]
    scored = [item for item in scored if item[1] > 0]
    scored.sort(key=lambda item: (-item[1], item[0].code))
    return scored[:limit]


# ---------------------------------------------------------------- the pages: list, project, its assets


def project_list(user, *, year=None, kind: str = "", department=None, township=None, status: str = "",
                 search: str = ""):
    """The projects the user sees, filtered, each with its allocated and disbursed totals and its asset count
    (sub-queries: one statement whatever the page size)."""
    from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    qs = Project.objects.visible_to(user)
    if year:
        qs = qs.filter(year=year)
    if kind:
        qs = qs.filter(kind=kind)
    if department:
        qs = qs.filter(department=department)
    if township:
        qs = qs.filter(Q(township=township) | Q(villages__parent=township)).distinct()
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(Q(code__icontains=search) | Q(name__icontains=search))
    money = DecimalField(max_digits=16, decimal_places=4)
    funds = FundLine.objects.filter(project=OuterRef("pk")).values("project")
    links = ProjectAsset.objects.filter(project=OuterRef("pk")).values("project")
    return (qs.select_related("department", "township")
            .annotate(allocated=Coalesce(Subquery(funds.annotate(s=Sum("allocated")).values("s")), Value(ZERO),
                                         output_field=money),
                      disbursed=Coalesce(Subquery(funds.annotate(s=Sum("disbursed")).values("s")), Value(ZERO),
                                         output_field=money),
                      asset_count=Coalesce(Subquery(links.annotate(n=Count("pk")).values("n")), Value(0),
                                           output_field=IntegerField()))
            .order_by("-year", "code"))


@dataclass(frozen=True)
class FormedAsset:
    asset: Asset
    contribution: Decimal  # what this project put into the asset (stated, else apportioned)
    stated: bool  # the amount was stated on the link
    origin: str

    @property
    def origin_label(self) -> str:
        return str(LinkOrigin(self.origin).label) if self.origin in LinkOrigin.values else self.origin


def project_assets(project: Project, *, user) -> tuple[list[FormedAsset], int]:
    """The assets the project formed that the user sees, with the project's contribution to each; and how many
    more it formed outside the user's scope (counted, never shown)."""
    shares = contributions(links_of(projects=[project.pk]))
    links = list(project.links.select_related("asset__village", "asset__township")
                 .defer(*without_boundaries("asset__village", "asset__township")).order_by("asset__code"))
    visible = set(Asset.objects.visible_to(user).filter(pk__in=[link.asset_id for link in links])
                  .values_list("pk", flat=True))
    rows = [FormedAsset(link.asset, shares.get((project.pk, link.asset_id), ZERO), link.amount is not None,
                        link.origin) for link in links if link.asset_id in visible]
    return rows, len(links) - len(rows)


def project_assets_geojson(project: Project, *, user) -> dict:
    """The project's assets the user sees as a GeoJSON FeatureCollection (CGCS2000 ≈ WGS84 at map scale), with what
    a popup shows. The names are the user's view of them (geo_assets.privacy.Redactor)."""
    import json

    from geo_assets.access import scope_for
    from geo_assets.privacy import Redactor

    redactor = Redactor(scope_for(user))
    rows, _hidden = project_assets(project, user=user)
    features = []
    for row in rows:
        asset = row.asset
        geometry = asset.geometry
        if geometry is None:
            continue
        features.append({"type": "Feature", "geometry": json.loads(geometry.geojson), "properties": {
            "code": asset.code, "name": redactor.asset_name(asset), "type": asset.get_asset_type_display(),
            "status": asset.get_status_display(), "village": asset.village.name if asset.village_id else "",
            "investment": format(asset.total_investment, "f"), "contribution": format(row.contribution, "f"),
            "url": asset_url(asset.code)}})
    return {"type": "FeatureCollection", "features": features}


def asset_projects(asset: Asset, *, user) -> list[tuple[Project, Decimal, str]]:
    """The projects that formed the asset and that the user sees: (project, its contribution, link origin),
    largest contribution first."""
    shares = contributions(links_of(assets=[asset.pk], county=asset.county_id))
    visible = Project.objects.visible_to(user).values("pk")
    links = (ProjectAsset.objects.in_county(asset.county_id, "asset__county").filter(asset=asset, project__in=visible).select_related("project")
             .order_by("project__code"))
    rows = [(link.project, shares.get((link.project_id, asset.pk), ZERO), link.origin) for link in links]
    rows.sort(key=lambda row: (-row[1], row[0].code))
    return rows


def ownership_proposal(asset: Asset):
    """Where the asset's ownership registration starts (work plan 二(四): by the funding and the implementing
    unit of the project that formed it): (project, rules.Proposal) of the project that put the most into it, or
    None when no project formed it (the register's default owner kind applies)."""
    shares = contributions(links_of(assets=[asset.pk], county=asset.county_id))
    links = list(ProjectAsset.objects.in_county(asset.county_id, "asset__county").filter(asset=asset).select_related(
        "project__department", "project__township").defer(*without_boundaries("project__township"))
                 .order_by("project__code"))
    if not links:
        return None
    link = max(links, key=lambda item: (shares.get((item.project_id, asset.pk), ZERO), -item.pk))
    return link.project, rules.owner_proposal(project=link.project, asset=asset)


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    level: str  # "info" (explained), "warn" (a finding)


def project_flags(project: Project, summary: ProjectSummary) -> list[Flag]:
    """The plan's flags on one project, each from its rule (projects.rules): traced (追溯), excluded (relocation),
    spending that forms no asset (explained), partly formed and formed beyond the disbursement (findings)."""
    policy = policy_current()
    flags = []
    if rules.is_excluded(project):
        flags.append(Flag("excluded", _("Excluded: relocation funds are outside the register for now"), "info"))
    elif rules.is_traced(project, first_year=policy.first_year):
        flags.append(Flag("traced", _("Traced (追溯): funds from before %(year)s, shown where they can be traced")
                          % {"year": policy.first_year}, "info"))
    if rules.forms_no_asset(project):
        flags.append(Flag("no_asset", _("Forms no asset by its nature (explained, not a discrepancy)"), "info"))
    tolerance = {"percent": policy.tolerance_percent, "amount": policy.tolerance_amount}
    if not rules.forms_no_asset(project) and not rules.is_excluded(project):
        if rules.partly_formed(disbursed=summary.disbursed, formed=summary.formed, **tolerance):
            flags.append(Flag("partly_formed", _("Partly formed: the disbursement exceeds the assets formed by more "
                                                 "than the tolerance"), "warn"))
        if rules.formed_beyond(disbursed=summary.disbursed, formed=summary.formed, **tolerance):
            flags.append(Flag("formed_beyond", _("The assets' investment exceeds what the project disbursed"), "warn"))
        if summary.asset_count == 0 and project.status in (ProjectStatus.COMPLETED, ProjectStatus.ACCEPTED):
            flags.append(Flag("without_assets", _("Completed or accepted, but no asset is linked to it"), "warn"))
    return flags


def asset_project_section(asset: Asset, *, user) -> dict | None:
    """The asset page's "projects" section: the projects that formed the asset (those the user sees) and, for an
    asset no project formed yet, the projects that may have (link_suggestions) that the user may link it to
    (rules.may_link). None for the public: the project ledgers are for staff."""
    if not access.sees_money(user):
        return None
    projects = asset_projects(asset, user=user)
    suggestions = []
    if not ProjectAsset.objects.in_county(asset.county_id, "asset__county").filter(asset=asset).exists():
        editable = Asset.objects.editable_by(user).filter(pk=asset.pk).exists()
        suggestions = [(project, score) for project, score in link_suggestions(asset, user=user)
                       if rules.may_link(user, project, asset, asset_editable=editable) is None]
    funding = []
    if projects:
        labels = dict(FundingSourceKind.choices)
        funding = [(labels.get(source, source), amount) for source, amount in asset_funding_derived(asset)]
    return {"projects": projects, "suggestions": suggestions, "funding": funding}
