"""Reusable filters. Visibility and editability by role are defined here once."""

from django.contrib.gis.db import models
from django.db.models import Lookup, Q

from geo_assets.access import scope_for
from geo_assets.errors import DeletionForbidden
from geo_assets.taxonomy import AreaLevel, Role, county_code_of


@models.Field.register_lookup
class AnyOf(Lookup):
    """`field__any=[…]`: `field = ANY(%s)`, the values as ONE array parameter, where `__in` writes a placeholder per
    value (the ORM and the driver spent ~10 ms on the 2,252 ids of one village's alert evidence)."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        prep = self.lhs.output_field.get_prep_value
        return [prep(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]


class RegisterQuerySet(models.QuerySet):
    def delete(self):
        raise DeletionForbidden("Records of the asset register cannot be deleted.")

    # The county bound (issue 19, docs/scaling.md): for the models with a `county` (county_code), so that a
    # statement names the county even where another filter (an asset's or a plan's id) already decides the rows.
    def in_county(self, code: str | None, field: str = "county"):
        """The rows of one county, by its code (in `field`: e.g. "plan__county" for a plan's items); a record not
        bound to a county (None) bounds nothing."""
        return self if code is None else self.filter(**{field: code})

    def of(self, record):
        """The rows of a record's county (an asset, a plan, a notice: anything with a county_id)."""
        return self.in_county(getattr(record, "county_id", None))

    def of_area(self, area):
        """The rows of the county an area lies in (by its code; an area above the county level bounds nothing)."""
        return self.in_county(county_code_of(area.code))

    def for_scope(self, scope):
        """The rows of a scope's counties (Scope.counties_q); a scope not bound to counties bounds nothing."""
        q = scope.counties_q("county")
        return self if q is None else self.filter(q)


def verified_q(since=None, prefix: str = "") -> Q:
    """THE definition of "verified", for every page, report, filter and the dashboard: an asset is verified since
    a moment when a verification that counts — accepted without flags, or flagged and then approved; never one
    waiting for review or rejected — was observed at or after it (ever, without `since`).

    `Asset.last_verified_at` is that verification's time: the observed_at of the asset's latest counting
    verification, written only by the verification services (geo_assets.services.asset_verified_mark, never by a
    form, an import or the demo; asset_save refuses any other change) and rebuilt from the verifications by
    migration verification 0003. Reports that read assets in raw SQL use the same column the same way."""
    field = prefix + "last_verified_at"
    return Q(**{f"{field}__isnull": False}) if since is None else Q(**{f"{field}__gte": since})


AREA_GEOMETRIES = ("geom", "geom_web")


def without_boundaries(*relations: str) -> list[str]:
    """The boundary fields of related areas (`village`, `asset__village`, `notice__area`…), for `.defer()`: an area
    joined to each row (select_related) brings its polygon — a township's weighs tens of kilobytes, read and parsed
    again for every row — where a page or a file shows its code and name. tests/test_county_statements.py checks
    that no route reads the boundary of an area it joins."""
    return [f"{relation}__{name}" for relation in relations for name in AREA_GEOMETRIES]


class AssetQuerySet(RegisterQuerySet):
    def with_areas(self, *related: str):
        """Each asset with its village and township (and `related`) in the same statement, without the areas'
        boundaries (without_boundaries: an asset's document spent 4 of its 7 ms in the database reading them)."""
        return self.select_related("village", "township", *related).defer(*without_boundaries("village", "township"))

    def verified(self, since=None):
        """The assets verified (verified_q) ever or since a moment."""
        return self.filter(verified_q(since))

    def unverified(self, since=None):
        return self.exclude(verified_q(since))

    def visible_to(self, user):
        q = scope_for(user).assets_q(for_edit=False)
        return self if q is None else self.filter(q)

    def openable_by(self, user):
        """The assets a user may open, each with `in_scope`: those of the user's scope (in full), and — staff see at
        least what the public sees — the published rest, shown as the public sees it (geo_assets.access.viewer_of).
        For anyone else an unpublished asset is exactly as absent as a missing one."""
        from django.db.models import BooleanField, ExpressionWrapper, Value

        q = scope_for(user).assets_q(for_edit=False)
        if q is None:
            return self.annotate(in_scope=Value(True, output_field=BooleanField()))
        return self.filter(q | Q(is_published=True)).annotate(
            in_scope=ExpressionWrapper(q, output_field=BooleanField()))

    def editable_by(self, user):
        q = scope_for(user).assets_q(for_edit=True)
        return self if q is None else self.filter(q)

    def active(self):
        from geo_assets.taxonomy import AssetStatus

        return self.exclude(status=AssetStatus.DISPOSED)

    def in_area(self, area):
        # a village's or township's assets also by their county (its code's first six digits): the county bound
        if area.level == AreaLevel.VILLAGE:
            return self.filter(village=area).of_area(area)
        if area.level == AreaLevel.TOWNSHIP:
            return self.filter(township=area).of_area(area)
        if area.level == AreaLevel.COUNTY:
            return self.filter(county=area.code)
        if area.level == AreaLevel.PREFECTURE:
            return self.filter(county__code__startswith=area.code[:4])
        return self.filter(county__code__startswith=area.code[:2])


class AdminAreaQuerySet(RegisterQuerySet):
    def with_parent(self):
        """Each area with its parent's code and name, not its parent's boundary (without_boundaries)."""
        return self.select_related("parent").defer(*without_boundaries("parent"))

    def with_box(self):
        """Each area with `box`, its boundary's bounding box made by the database, without reading the boundary (a
        township's is ~190 KB)."""
        from django.contrib.gis.db.models.functions import Envelope

        return self.defer("geom", "geom_web").annotate(box=Envelope("geom"))

    def with_shape_geojson(self, *, metres: float):
        """Each area with `shape_geojson`: its boundary simplified to about `metres` on the ground (each area on its
        own), as GeoJSON text in the storage SRID, without reading the full boundary into Python. Simplified in web
        mercator, where a ground metre is 1/cos(latitude) = cosh(y / R) units (y: the mercator northing)."""
        from django.conf import settings

        template = (f"ST_AsGeoJSON(ST_Multi(ST_Transform(ST_SimplifyPreserveTopology(%(expressions)s, "
                    f"{float(metres)!r} * cosh((ST_YMin(%(expressions)s) + ST_YMax(%(expressions)s)) / 2 / 6378137.0)), "
                    f"{int(settings.STORAGE_SRID)})), 6, 0)")
        return self.defer("geom", "geom_web").annotate(shape_geojson=models.Func(
            models.F("geom_web"), template=template, output_field=models.TextField()))

    def townships(self):
        return self.filter(level=AreaLevel.TOWNSHIP)

    def villages(self):
        return self.filter(level=AreaLevel.VILLAGE)

    def covering(self, point):
        return self.filter(geom__covers=point)

    def in_counties_of(self, user):
        """The areas inside the user's counties (all of them for a scope not bound to counties)."""
        q = scope_for(user).areas_q()
        return self if q is None else self.filter(q)

    def editable_by(self, user):
        return self.in_counties_of(user) if scope_for(user).is_county_admin else self.none()

    def within_scope_of(self, user):
        """Villages and townships a user's role is scoped to (for choosing an asset's village)."""
        scope = scope_for(user)
        if scope.is_county_admin or scope.role == Role.DEPARTMENT:
            return self.in_counties_of(user)
        if scope.role == Role.TOWNSHIP:
            return self.filter(Q(pk=scope.area_id) | Q(parent_id=scope.area_id))
        if scope.role == Role.VILLAGE:
            return self.filter(pk=scope.area_id)
        return self.none()

    def villages_worked_on_by(self, user):
        """The villages a role works on (reports, the village page): all for county-wide readers and departments,
        its own for clerks, none for the public."""
        scope = scope_for(user)
        villages = self.villages()
        if scope.role == Role.TOWNSHIP:
            return villages.filter(parent_id=scope.area_id)
        if scope.role == Role.VILLAGE:
            return villages.filter(pk=scope.area_id)
        return villages.in_counties_of(user) if scope.sees_personal_data else villages.none()
