"""Who sees and changes projects and funds: the register's Scope (geo_assets.access), read for the ledgers.

County administrators, inspectors and the finance bureau see every project; a department the projects it leads
or whose assets are of its types; a township clerk its township's; a village clerk those serving the village; the
public none (the village ledger publishes a project's code and name only). Projects are edited by county
administrators and by their lead department; fund lines also by the finance bureau (which edits nothing else).
"""

from django.db.models import Q

from geo_assets.access import Scope, scope_for
from geo_assets.taxonomy import Role


def projects_q(user, *, for_edit: bool) -> Q | None:
    scope = scope_for(user)
    return scope_projects_q(scope, for_edit=for_edit)


def scope_projects_q(scope: Scope, *, for_edit: bool) -> Q | None:
    """The projects this scope sees (or edits) as a filter on Project; None means all."""
    own = _own_projects_q(scope, for_edit=for_edit)
    counties = scope.counties_q()
    if counties is None:
        return own
    return counties if own is None else counties & own


def of_counties(user, project) -> bool:
    """Is the project of the user's counties (or new, to be entered in the user's county)?"""
    return in_counties(scope_for(user), project)


def in_counties(scope: Scope, project) -> bool:
    """Is the project of the scope's counties? A new one is entered in the county of whoever enters it
    (projects.services.project_county)."""
    if scope.counties is None or (project is not None and project.pk is None and project.county_id is None):
        return True
    return project is not None and project.county_id in scope.counties


def _own_projects_q(scope: Scope, *, for_edit: bool) -> Q | None:
    if scope.oversees:
        return Q(pk__in=[]) if for_edit else None
    if scope.is_county_admin:
        return None
    if scope.role == Role.DEPARTMENT:
        own = Q(department_id=scope.department_id)
        return own if for_edit else own | Q(links__asset__asset_type__in=scope.asset_types)
    if for_edit:
        return Q(pk__in=[])
    if scope.reads_everything:
        return None
    if scope.role == Role.TOWNSHIP:
        return Q(township_id=scope.area_id) | Q(villages__parent_id=scope.area_id)
    if scope.role == Role.VILLAGE:
        return Q(villages=scope.area_id)
    return Q(pk__in=[])


def sees_money(user) -> bool:
    """The project ledgers and the reconciliation are for staff roles."""
    return scope_for(user).role != Role.PUBLIC


def funds_projects_q(user) -> Q | None:
    """The projects whose fund lines the user keeps, as a filter on Project; None means all (edits_funds's twin)."""
    scope = scope_for(user)
    if scope.is_county_admin or scope.role == Role.FINANCE:
        return scope.counties_q()
    if scope.role == Role.DEPARTMENT:
        counties = scope.counties_q()
        own = Q(department_id=scope.department_id)
        return own if counties is None else own & counties
    return Q(pk__in=[])


def keeps_funds(user) -> bool:
    """Does the user keep fund lines of some project (finance bureau, a line department, a county administrator)?"""
    return scope_for(user).role in (Role.COUNTY_ADMIN, Role.FINANCE, Role.DEPARTMENT)


def edits_funds(user, project) -> bool:
    scope = scope_for(user)
    if not in_counties(scope, project):
        return False
    if scope.is_county_admin or scope.role == Role.FINANCE:
        return True
    return scope.role == Role.DEPARTMENT and project.department_id == scope.department_id


def edits_project(user, project) -> bool:
    scope = scope_for(user)
    if not in_counties(scope, project):
        return False
    if scope.is_county_admin:
        return True
    return scope.role == Role.DEPARTMENT and project is not None and project.department_id == scope.department_id


def edits_assets(user) -> bool:
    """Does the user keep assets somewhere (a county administrator, a line department, a township or village)?"""
    return scope_for(user).edits_anything


def creates_projects(user) -> bool:
    return scope_for(user).role in (Role.COUNTY_ADMIN, Role.DEPARTMENT)
