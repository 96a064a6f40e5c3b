"""The vocabularies of the project and fund ledgers (work plan 二(一)(二)(四))."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectKind(models.TextChoices):
    INFRASTRUCTURE = "infrastructure", _("village infrastructure")
    INDUSTRY = "industry", _("industry development")
    HOUSEHOLD = "household", _("household support (到户)")
    COLLECTIVE = "collective", _("village collective economy")
    PV = "pv", _("photovoltaic poverty alleviation")
    EMPLOYMENT = "employment", _("workshops and employment")
    EDUCATION = "education", _("education")
    HEALTH = "health", _("health")
    CULTURE = "culture", _("culture and sports")
    EQUITY = "equity", _("equity in enterprises or cooperatives")
    CARE = "care", _("disability care")
    RELOCATION = "relocation", _("relocation (易地扶贫搬迁)")
    INTEREST_SUBSIDY = "interest_subsidy", _("loan interest subsidy")
    INSURANCE = "insurance", _("insurance")
    GUARANTEE = "guarantee", _("risk guarantee fund")
    DIRECT_SUBSIDY = "direct_subsidy", _("direct subsidies to households")
    OTHER = "other", _("other")


# Spending that forms no asset (work plan 二(二), last sentence): recorded, explained, never a discrepancy.
NO_ASSET_KINDS = frozenset({ProjectKind.INTEREST_SUBSIDY, ProjectKind.INSURANCE, ProjectKind.GUARANTEE,
                            ProjectKind.DIRECT_SUBSIDY})
# Out of the register's scope for now (work plan 二(一): 暂时不包括易地扶贫搬迁资金).
EXCLUDED_KINDS = frozenset({ProjectKind.RELOCATION})


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    UNDER_WAY = "under_way", _("under way")
    COMPLETED = "completed", _("completed")
    ACCEPTED = "accepted", _("accepted")
    CANCELLED = "cancelled", _("cancelled")


class LinkOrigin(models.TextChoices):
    LEDGER = "ledger", _("named in the asset ledger")
    MANUAL = "manual", _("linked by hand")
    SUGGESTION = "suggestion", _("accepted suggestion")


# The asset types a project of each kind usually forms: a hint that ranks link suggestions (projects.selectors),
# never a rule that refuses a link. Kinds not listed (other) suggest any type.
KIND_ASSET_TYPES: dict[str, frozenset[str]] = {
    ProjectKind.INFRASTRUCTURE: frozenset({"road", "irrigation", "water_supply", "sanitation", "power"}),
    ProjectKind.INDUSTRY: frozenset({"greenhouse", "plantation", "processing", "tourism", "ecommerce", "workshop"}),
    ProjectKind.HOUSEHOLD: frozenset({"livestock", "household_fixed"}),
    ProjectKind.COLLECTIVE: frozenset({"greenhouse", "plantation", "processing", "tourism", "ecommerce", "workshop",
                                       "pv_station", "equity", "debt"}),
    ProjectKind.PV: frozenset({"pv_station"}),
    ProjectKind.EMPLOYMENT: frozenset({"workshop", "processing"}),
    ProjectKind.EDUCATION: frozenset({"education"}),
    ProjectKind.HEALTH: frozenset({"health"}),
    ProjectKind.CULTURE: frozenset({"culture", "sports"}),
    ProjectKind.EQUITY: frozenset({"equity", "debt"}),
    ProjectKind.CARE: frozenset({"health", "workshop"}),
}
