"""Who may see and change what: roles scoped by area and sector. Used by querysets and services only."""

from dataclasses import dataclass

from geo_assets.taxonomy import Role

FULL_READ_ROLES = frozenset({Role.COUNTY_ADMIN, Role.INSPECTOR})


@dataclass(frozen=True)
class Scope:
    role: str
    area_id: int | None = None
    area_level: str | None = None
    asset_types: tuple[str, ...] = ()

    @property
    def reads_everything(self) -> bool:
        return self.role in FULL_READ_ROLES

    @property
    def is_county_admin(self) -> bool:
        return self.role == Role.COUNTY_ADMIN


PUBLIC_SCOPE = Scope(role=Role.PUBLIC)


def scope_for(user) -> Scope:
    """The scope of a user; anonymous users and users without a membership are the public."""
    if user is None or not user.is_authenticated or not user.is_active:
        return PUBLIC_SCOPE
    if user.is_superuser:
        return Scope(role=Role.COUNTY_ADMIN)
    cached = getattr(user, "_asset_scope", None)
    if cached is not None:
        return cached
    from geo_assets.models import Membership

    membership = Membership.objects.select_related("area", "department").filter(user=user).first()
    if membership is None:
        scope = PUBLIC_SCOPE
    else:
        scope = Scope(
            role=membership.role,
            area_id=membership.area_id,
            area_level=membership.area.level if membership.area else None,
            asset_types=tuple(membership.department.asset_types) if membership.department else (),
        )
    user._asset_scope = scope
    return scope
