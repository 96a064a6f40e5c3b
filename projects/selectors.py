"""Reads of the project ledgers: what each project contributed to each asset, an asset's funding as it follows
from its projects, a project's summary, and which projects could have formed an unlinked asset."""

from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

from django.db.models import Q, Sum

from geo_assets.models import Asset
from projects import rules
from projects.models import FundLine, Project, ProjectAsset

ZERO = Decimal(0)


def _disbursed_by_project(project_ids) -> dict[int, Decimal]:
    rows = (FundLine.objects.filter(project_id__in=project_ids).values("project_id")
            .annotate(s=Sum("disbursed")).values_list("project_id", "s"))
    return {pid: s or ZERO for pid, s in rows}


def contributions(links) -> dict[tuple[int, int], Decimal]:
    """(project_id, asset_id) → what the project put into the asset: the stated amount, else the asset's
    investment apportioned over its projects by what each disbursed (equally when none disbursed anything).

    `links` are (project_id, asset_id, amount, asset_investment) for every link of the assets concerned."""
    links = list(links)
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


def links_of(*, projects=None, assets=None):
    """Every link touching the assets of the given projects (or the given assets), as contributions() reads them."""
    if projects is not None:
        assets = ProjectAsset.objects.filter(project__in=projects).values("asset_id")
    qs = ProjectAsset.objects.filter(asset_id__in=assets)
    return qs.values_list("project_id", "asset_id", "amount", "asset__total_investment")


def asset_funding_derived(asset: Asset) -> list[tuple[str, Decimal]]:
    """The asset's funding lines as they follow from its projects: each project's contribution split over the
    project's sources by what each disbursed (sums to the contribution, never more than the project disbursed)."""
    shares = contributions(links_of(assets=[asset.pk]))
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


def link_suggestions(asset: Asset, *, user, limit: int = 5) -> list[tuple[Project, float]]:
    """Projects that may have formed an unlinked asset: same village (or its township's cross-village projects),
    year within one of the asset's, then ranked by name similarity (the asset's project name, else its name)."""
    candidates = Project.objects.visible_to(user).exclude(links__asset=asset)
    place = Q(villages=asset.village_id) if asset.village_id else Q(pk__in=[])
    if asset.township_id:
        place |= Q(township_id=asset.township_id, villages__isnull=True)
    candidates = candidates.filter(place)
    if asset.year_built:
        candidates = candidates.filter(year__gte=asset.year_built - 1, year__lte=asset.year_built + 1)
    wanted = asset.project_name or asset.name
    scored = [(p, _similar(wanted, p.name) + (0.2 if asset.project_name and asset.project_name == p.name else 0))
              for p in candidates.distinct()[:200]]
    scored.sort(key=lambda item: (-item[1], item[0].code))
    return scored[:limit]
