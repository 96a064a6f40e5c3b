"""Query-parameter filters shared by the tiles, the GeoJSON API and the cluster tiles: the one rule place of the map.

The register's filters (area, category, type, status, year, verification, bbox) are geo_assets.filters, where the
ledger export (importers) uses them too. The map adds the **project** filter here, where the project ledgers may be
read: `project=<code>[,<code>…]` keeps the assets formed by those projects — among the projects the caller may see
(Project.objects.visible_to: a village clerk's are the projects serving its village), and always within the assets
the caller may see (the querysets these filters narrow are role-scoped already). An unknown or invisible project
code selects nothing, whichever it is. The public (anonymous, or an account without a role) has no project filter:
the parameter is refused (400), and no project data is shown to it anywhere on the map.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from geo_assets import filters as register_filters
from geo_assets.access import PUBLIC_SCOPE, Scope, scope_for
from geo_assets.filters import CODE_RE, MAX_VALUES, AssetFilters
from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from projects.access import scope_projects_q
from projects.models import Project, ProjectAsset

__all__ = ["CODE_RE", "MAX_VALUES", "PROJECT_CODE_RE", "AssetFilters", "MapFilters", "asset_filters_apply",
           "asset_filters_parse", "projects_offered", "projects_visible"]

# A project code as the ledgers write it (the national system's code, or the county's own): no spaces or commas.
PROJECT_CODE_RE = re.compile(r"^[^\s,]{1,40}$")


@dataclass(frozen=True)
class MapFilters(AssetFilters):
    projects: tuple[str, ...] = ()
    # whose projects the codes are looked up among; set together with `projects` (else the default, so that the
    # precomputed cluster table, which knows nothing of projects, still serves the other filters)
    project_scope: Scope | None = None


def projects_offered(user) -> bool:
    """Staff roles filter the map by project and see an asset's projects; the public never does."""
    return _offered(scope_for(user))


def _offered(scope: Scope) -> bool:
    return scope.role != Role.PUBLIC


def projects_visible(user):
    """The projects a user may pick on the map (the project ledgers' own rule, projects.access)."""
    return Project.objects.visible_to(user)


def _projects(params, scope: Scope) -> tuple[str, ...]:
    raw = params.getlist("project") if hasattr(params, "getlist") else [params.get("project", "")]
    values = [v.strip() for item in raw for v in (item or "").split(",") if v.strip()]
    if values and not _offered(scope):
        raise ValidationError({"project": _("Filtering by project is open to staff accounts only.")})
    if len(values) > MAX_VALUES:
        raise ValidationError({"project": _("Too many values.")})
    bad = [v for v in values if not PROJECT_CODE_RE.match(v)]
    if bad:
        raise ValidationError({"project": _("Not a project code: %(value)s") % {"value": bad[0][:60]}})
    return tuple(dict.fromkeys(values))


def asset_filters_parse(params, *, user=None) -> MapFilters:
    """Read the filters from query parameters for this user; raise ValidationError (→ 400) on anything unknown."""
    base = register_filters.asset_filters_parse(params)
    scope = scope_for(user) if user is not None else PUBLIC_SCOPE
    projects = _projects(params, scope)
    return MapFilters(**{name: getattr(base, name) for name in base.__dataclass_fields__},
                      projects=projects, project_scope=scope if projects else None)


def asset_filters_apply(qs: QuerySet[Asset], filters: AssetFilters) -> QuerySet[Asset]:
    """Narrow an (already role-scoped) asset queryset by the filters: the register's, then the project."""
    qs = register_filters.asset_filters_apply(qs, filters)
    projects = getattr(filters, "projects", ())
    if projects:
        chosen = Project.objects.filter(code__in=projects)
        where = scope_projects_q(filters.project_scope or PUBLIC_SCOPE, for_edit=False)
        if where is not None:
            chosen = chosen.filter(where)
        qs = qs.filter(pk__in=ProjectAsset.objects.filter(project__in=chosen.values("pk")).values("asset_id"))
    return qs
