"""The work plan's rules for projects and funds, each a function (tested with a positive and a negative case):
which funds are in scope (二(一)), which spending forms no asset (二(二)), who owns what a project formed (二(四)),
and who may change a project, its funds and its links. Services and pages use the same functions."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from geo_assets.refusals import Refusal
from geo_assets.taxonomy import DEFAULT_OWNER_KIND, AssetType, OwnerKind
from projects import access
from projects.taxonomy import EXCLUDED_KINDS, NO_ASSET_KINDS, ProjectKind

# ---------------------------------------------------------------- scope of the inventory (work plan 二(一)(二))


def in_scope(project, *, first_year: int) -> bool:
    """Funds since the first year (2024) are inventoried; relocation is excluded for now."""
    return project.year >= first_year and not is_excluded(project)


def is_traced(project, *, first_year: int) -> bool:
    """Earlier projects are traced where possible (追溯): shown, flagged, never counted as a discrepancy."""
    return project.year < first_year and not is_excluded(project)


def is_excluded(project) -> bool:
    """易地扶贫搬迁 funds are outside the register (暂时不包括)."""
    return project.kind in EXCLUDED_KINDS


def forms_no_asset(project) -> bool:
    """Interest subsidies, insurance, guarantee funds and direct subsidies form no asset: explained, not missing."""
    return project.kind in NO_ASSET_KINDS


def tolerance(disbursed: Decimal, *, percent: Decimal, amount: Decimal) -> Decimal:
    """The difference a county accepts before a project counts as partly formed: the larger of the two settings."""
    return max(disbursed * percent / Decimal(100), amount)


def partly_formed(*, disbursed: Decimal, formed: Decimal, percent: Decimal, amount: Decimal) -> bool:
    """Some assets were formed but the disbursement exceeds them by more than the tolerance."""
    return formed > 0 and disbursed - formed > tolerance(disbursed, percent=percent, amount=amount)


def formed_beyond(*, disbursed: Decimal, formed: Decimal, percent: Decimal, amount: Decimal) -> bool:
    """The assets' investment exceeds what the project disbursed by more than the tolerance."""
    return formed - disbursed > tolerance(disbursed, percent=percent, amount=amount)


def apportion(total: Decimal, weights: dict, *, places: Decimal = Decimal("0.0001")) -> dict:
    """Split `total` over the keys in proportion to their weights; the last key takes the rounding remainder, so the
    parts sum exactly to the total (never to more)."""
    keys = [k for k, w in weights.items() if w and w > 0]
    whole = sum((weights[k] for k in keys), Decimal(0))
    if not keys or whole <= 0:
        return {}
    parts, given = {}, Decimal(0)
    for key in keys[:-1]:
        parts[key] = (total * weights[key] / whole).quantize(places)
        given += parts[key]
    parts[keys[-1]] = total - given
    return parts


# ---------------------------------------------------------------- ownership (work plan 二(四))


@dataclass(frozen=True)
class Proposal:
    owner_kind: str
    owners: tuple = field(default_factory=tuple)  # (name, kind, share %) — empty when the beneficiaries are named later
    reason: str = ""
    needs_review: bool = False  # equity: the department reviews every owner's share

    @property
    def owner_kind_label(self) -> str:
        return str(OwnerKind(self.owner_kind).label) if self.owner_kind in OwnerKind.values else self.owner_kind


def village_collective(name: str) -> str:
    return _("%(village)s village collective") % {"village": name}


def owner_proposal(*, project, asset) -> Proposal:
    """The default owner of an asset a project formed, by the plan's rules, with the rule that gave it."""
    villages = list(project.villages.all()) if project.pk else []
    if project.kind == ProjectKind.HOUSEHOLD or asset.asset_type in (AssetType.LIVESTOCK, AssetType.HOUSEHOLD_FIXED):
        return Proposal(OwnerKind.HOUSEHOLD, reason=_(
            "Project %(code)s supported households directly (到户): the asset belongs to the beneficiary household.")
            % {"code": project.code})
    if project.kind == ProjectKind.EQUITY or asset.asset_type in (AssetType.EQUITY, AssetType.DEBT):
        owners = ()
        if villages:
            shares = apportion(Decimal(100), {v.name: Decimal(1) for v in villages}, places=Decimal("0.001"))
            owners = tuple((village_collective(name), OwnerKind.VILLAGE_COLLECTIVE, share)
                           for name, share in shares.items())
        return Proposal(OwnerKind.ENTERPRISE, owners, _(
            "Project %(code)s put funds into an enterprise or cooperative: every owner and share must be named and "
            "reviewed by the line department.") % {"code": project.code}, needs_review=True)
    if project.kind in (ProjectKind.EDUCATION, ProjectKind.HEALTH) or asset.asset_type in (AssetType.EDUCATION,
                                                                                            AssetType.HEALTH):
        name = project.department.name if project.department_id else ""
        return Proposal(OwnerKind.STATE, ((name, OwnerKind.STATE, Decimal(100)),) if name else (), _(
            "Project %(code)s is an education or health project: ownership follows the sector's rules.")
            % {"code": project.code})
    township = project.township.name if project.township_id else (asset.township.name if asset.township_id else "")
    if len(villages) > 1 or project.township_seat or project.kind in (ProjectKind.EMPLOYMENT, ProjectKind.CARE):
        return Proposal(OwnerKind.TOWNSHIP, ((township, OwnerKind.TOWNSHIP, Decimal(100)),) if township else (), _(
            "Project %(code)s served several villages or the township seat: the township registers the asset.")
            % {"code": project.code})
    village = villages[0].name if villages else (asset.village.name if asset.village_id else "")
    kind = DEFAULT_OWNER_KIND.get(asset.asset_type, OwnerKind.VILLAGE_COLLECTIVE)
    if kind == OwnerKind.VILLAGE_COLLECTIVE and village:
        return Proposal(kind, ((village_collective(village), kind, Decimal(100)),), _(
            "Project %(code)s served one village: the asset belongs to the village collective.")
            % {"code": project.code})
    if kind == OwnerKind.TOWNSHIP and township:  # a workshop: township-seat special funds
        return Proposal(kind, ((township, kind, Decimal(100)),), _(
            "Project %(code)s formed a workshop or care centre: the township registers the asset.")
            % {"code": project.code})
    return Proposal(kind, (), _("The asset type's default owner (project %(code)s).") % {"code": project.code})


# ---------------------------------------------------------------- who may act


def _other_county(actor, project) -> Refusal | None:
    if project is not None and not access.of_counties(actor, project):
        return Refusal(_("The project belongs to another county."), who=True)
    return None


def may_edit_project(actor, project) -> Refusal | None:
    if (refusal := _other_county(actor, project)) is not None:
        return refusal
    if project is None or project.pk is None:
        if not access.creates_projects(actor):
            return Refusal(_("Projects are entered by their lead department or a county administrator."), who=True)
        if project is not None and not access.edits_project(actor, project):
            return Refusal(_("A line department enters only the projects it leads."), who=True)
        return None
    if access.edits_project(actor, project):
        return None
    return Refusal(_("Only the project's lead department or a county administrator may change it."), who=True)


def may_edit_funds(actor, project) -> Refusal | None:
    if (refusal := _other_county(actor, project)) is not None:
        return refusal
    if access.edits_funds(actor, project):
        return None
    return Refusal(_("Fund lines are kept by the finance bureau, the project's lead department or a county "
                     "administrator."), who=True)


def may_link_some(actor, project) -> Refusal | None:
    """May the actor link any asset to this project (the page's link form)? Whoever sees the project and edits
    assets somewhere (their own area or sector), or the project's lead department. Which asset: may_link."""
    if not project.__class__.objects.visible_to(actor).filter(pk=project.pk).exists():
        return Refusal(_("You may not see this project."), who=True)
    if access.edits_project(actor, project) or access.edits_assets(actor):
        return None
    return Refusal(_("Assets are linked to a project by its lead department, a county administrator, or whoever "
                     "keeps the asset (its village, township or line department)."), who=True)


def may_link(actor, project, asset, *, asset_editable: bool) -> Refusal | None:
    """Linking an asset to a project: whoever may change the asset, or the project's lead department."""
    refusal = may_link_some(actor, project)
    if refusal is not None:
        return refusal
    if asset_editable or access.edits_project(actor, project):
        return None
    return Refusal(_("You may not link assets outside your area or sector to this project."), who=True)
