"""Reusable filters. Visibility and editability by role are defined here once."""

from django.contrib.gis.db import models
from django.db.models import Q

from geo_assets.access import scope_for
from geo_assets.errors import DeletionForbidden
from geo_assets.taxonomy import AreaLevel, Role


class RegisterQuerySet(models.QuerySet):
    def delete(self):
        raise DeletionForbidden("Records of the asset register cannot be deleted.")


class AssetQuerySet(RegisterQuerySet):
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
        if area.level == AreaLevel.VILLAGE:
            return self.filter(village=area)
        if area.level == AreaLevel.TOWNSHIP:
            return self.filter(township=area)
        return self


class AdminAreaQuerySet(RegisterQuerySet):
    def townships(self):
        return self.filter(level=AreaLevel.TOWNSHIP)

    def villages(self):
        return self.filter(level=AreaLevel.VILLAGE)

    def covering(self, point):
        return self.filter(geom__covers=point)

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
        return self if scope_for(user).is_county_admin else self.none()

    def within_scope_of(self, user):
        """Villages and townships a user's role is scoped to (for choosing an asset's village)."""
        scope = scope_for(user)
        if scope.is_county_admin or scope.role == Role.DEPARTMENT:
            return self
        if scope.role == Role.TOWNSHIP:
            return self.filter(Q(pk=scope.area_id) | Q(parent_id=scope.area_id))
        if scope.role == Role.VILLAGE:
            return self.filter(pk=scope.area_id)
        return self.none()
