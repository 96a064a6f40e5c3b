"""Who may see and change what: roles scoped by area and sector — the one definition, used by the querysets,
the services, the importers and the admin."""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q

from geo_assets.taxonomy import OVERSIGHT_LEVEL, OVERSIGHT_ROLES, AreaLevel, Role

FULL_READ_ROLES = frozenset({Role.COUNTY_ADMIN, Role.INSPECTOR, Role.FINANCE, *OVERSIGHT_ROLES})
EDITING_ROLES = frozenset({Role.COUNTY_ADMIN, Role.DEPARTMENT, Role.TOWNSHIP, Role.VILLAGE})


@dataclass(frozen=True)
class Scope:
    role: str
    area_id: int | None = None
    area_level: str | None = None
    asset_types: tuple[str, ...] = ()
    department_id: int | None = None
    # The codes of the counties the scope lies in: one for a county's bodies, those below the area for the
    # prefecture's and province's bureaus; None (not bound to counties) only for a superuser and for a county
    # body of a one-county register granted before counties were recorded.
    counties: tuple[str, ...] | None = None
    area_code: str | None = None

    @property
    def reads_everything(self) -> bool:
        """Reads every asset of its counties (county-wide readers and the oversight bureaus above them)."""
        return self.role in FULL_READ_ROLES

    @property
    def oversees(self) -> bool:
        """A prefecture's or province's bureau: reads and reports on its counties, edits none of their registers."""
        return self.role in OVERSIGHT_ROLES

    def counties_q(self, field: str = "county") -> Q | None:
        """The rows of this scope's counties, by a field holding the county code; None means no bound."""
        if self.counties is None:
            return None
        if len(self.counties) == 1:
            return Q(**{field: self.counties[0]})
        return Q(**{f"{field}__in": self.counties})

    def reaches_county(self, code: str | None) -> bool:
        """Is a record of this county (by its code; None: not recorded) inside this scope's counties?"""
        return self.counties is None or code in self.counties

    def reaches_area(self, code: str) -> bool:
        """Does an area (by its code) lie inside this scope's counties? Above the county level: only the
        prefecture or province an oversight bureau oversees, and what lies below it."""
        if self.counties is None:
            return True
        if code[4:6] != "00":
            return code[:6] + "000000" in self.counties
        own = (self.area_code or "")[: 4 if self.area_level == AreaLevel.PREFECTURE else 2]
        return self.oversees and bool(own) and code.startswith(own) and (
            code[2:4] != "00" or self.area_level == AreaLevel.PROVINCE)

    def areas_q(self, field: str = "code") -> Q | None:
        """Administrative areas inside this scope's counties (by their code's first six digits), and the
        counties themselves; None means no bound."""
        if self.counties is None:
            return None
        q = Q(pk__in=[])
        for code in self.counties:
            q |= Q(**{f"{field}__startswith": code[:6]})
        return q

    @property
    def is_county_admin(self) -> bool:
        return self.role == Role.COUNTY_ADMIN

    @property
    def sees_change_authors(self) -> bool:
        """Who changed a record and why (user names, file names, notes) is for staff roles, not the public."""
        return self.role != Role.PUBLIC

    @property
    def sees_personal_data(self) -> bool:
        """Names, phone numbers and notes of individuals: staff roles only (geo_assets.privacy)."""
        return self.role != Role.PUBLIC

    @property
    def edits_anything(self) -> bool:
        return self.role in EDITING_ROLES

    @property
    def reads_whole_counties(self) -> bool:
        """Reads every asset of its counties (county administrator, inspector, finance bureau, oversight)."""
        return self._own_assets_q(for_edit=False) is None

    def assets_q(self, *, for_edit: bool) -> Q | None:
        """The assets this scope sees (or changes) as a filter; None means all."""
        own = self._own_assets_q(for_edit=for_edit)
        counties = self.counties_q()
        if counties is None:
            return own
        return counties if own is None else counties & own

    def _own_assets_q(self, *, for_edit: bool) -> Q | None:
        if self.oversees:
            return Q(pk__in=[]) if for_edit else None
        if self.is_county_admin:
            return None
        if self.role == Role.DEPARTMENT:
            return Q(asset_type__in=self.asset_types)
        if self.role == Role.TOWNSHIP:
            return Q(township_id=self.area_id)
        if self.role == Role.VILLAGE:
            return Q(village_id=self.area_id)
        if self.reads_everything and not for_edit:  # inspector, finance bureau
            return None
        return Q(pk__in=[]) if for_edit else Q(is_published=True)

    def covers(self, *, asset_type: str, village_id: int | None, township_id: int | None,
               county: str | None = None) -> bool:
        """Would an asset with these values be editable in this scope? (The in-memory twin of assets_q.)"""
        if self.counties is not None and county not in self.counties:
            return False
        if self.is_county_admin:
            return True
        if self.role == Role.DEPARTMENT:
            return asset_type in self.asset_types
        if self.role == Role.TOWNSHIP:
            return township_id is not None and township_id == self.area_id
        if self.role == Role.VILLAGE:
            return village_id is not None and village_id == self.area_id
        return False


PUBLIC_SCOPE = Scope(role=Role.PUBLIC)


# The four values a scope needs, as lookups from the user (reverse one-to-one to Membership): the area's boundary
# (thousands of vertices) is never loaded per request.
SCOPE_LOOKUPS = {"scope_role": "membership__role", "scope_area_id": "membership__area_id",
                 "scope_area_level": "membership__area__level",
                 "scope_asset_types": "membership__department__asset_types",
                 "scope_department_id": "membership__department_id",
                 "scope_county": "membership__county_id", "scope_area_code": "membership__area__code"}


def current_membership():
    """`membership` on a users queryset: the one membership the user acts in now (Membership.current)."""
    from django.db.models import FilteredRelation

    return FilteredRelation("memberships", condition=Q(memberships__current=True))


def scope_from_values(role: str | None, area_id: int | None, area_level: str | None, asset_types,
                      department_id: int | None = None, county: str | None = None,
                      area_code: str | None = None) -> Scope:
    if role is None:
        return PUBLIC_SCOPE
    if role in OVERSIGHT_ROLES:
        counties = oversight_counties(area_code or "", area_level) if area_level == OVERSIGHT_LEVEL[role] else ()
    else:
        counties = (county,) if county else None
    return Scope(role=role, area_id=area_id, area_level=area_level, asset_types=tuple(asset_types or ()),
                 department_id=department_id, counties=counties, area_code=area_code)


def oversight_counties(area_code: str, level: str) -> tuple[str, ...]:
    """The codes of the counties below a prefecture's or province's area (none when the area is of another level)."""
    prefix = {AreaLevel.PREFECTURE: area_code[:4], AreaLevel.PROVINCE: area_code[:2]}.get(level)
    if not prefix or len(area_code) != 12:
        return ()
    AdminArea = apps.get_model("geo_assets", "AdminArea")
    return tuple(AdminArea.objects.filter(level=AreaLevel.COUNTY, code__startswith=prefix)
                 .order_by("code").values_list("code", flat=True))


def viewer_of(user, asset):
    """Whom an asset of `Asset.objects.openable_by(user)` is shown to: the user, if it is in their scope; else the
    public (an anonymous user) — staff outside an asset's scope see its public version, never less."""
    from django.contrib.auth.models import AnonymousUser

    return user if getattr(asset, "in_scope", True) else AnonymousUser()


def scope_for(user) -> Scope:
    """The scope of a user; anonymous users and users without a membership are the public."""
    if user is None or not user.is_authenticated or not user.is_active:
        return PUBLIC_SCOPE
    if user.is_superuser:
        return Scope(role=Role.COUNTY_ADMIN)
    cached = getattr(user, "_asset_scope", None)
    if cached is not None:
        return cached
    # by the app registry, not an import: the models' managers use this module (no import circle)
    membership = (apps.get_model("geo_assets", "Membership").objects.filter(user=user, current=True)
                  .values_list(*(v.removeprefix("membership__") for v in SCOPE_LOOKUPS.values())).first())
    scope = scope_from_values(*(membership or (None,) * len(SCOPE_LOOKUPS)))
    user._asset_scope = scope
    return scope
