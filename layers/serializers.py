"""GeoJSON serializers with explicit fields (no `__all__`: new model fields are not published by accident)."""

import json

from django.contrib.auth import get_user_model
from django.db.models import Count, Window
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_gis import build_geometry_geo_schema
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo_assets.access import PUBLIC_SCOPE, scope_for
from geo_assets.models import AdminArea, Asset
from geo_assets.models.register import asset_url
from geo_assets.privacy import Redactor
from layers.filters import projects_offered, projects_visible
from projects.taxonomy import ProjectKind

HISTORY_LIMIT = 20
PROJECT_FIELDS = ("code", "name", "year", "kind")


def project_json(project: dict) -> dict:
    """A project as the map shows it (values of PROJECT_FIELDS): code, name, year, kind and its page."""
    kind = project["kind"]
    return {"code": project["code"], "name": project["name"], "year": project["year"],
            "kind_label": str(ProjectKind(kind).label) if kind in ProjectKind.values else kind,
            "url": f"/projects/{project['code']}/"}


@extend_schema_field(build_geometry_geo_schema())
class AnyGeometryField(GeometryField):
    """A GeoJSON geometry of any type (documented as such in the OpenAPI schema)."""

HISTORY_TYPES = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


def redactor_for(context) -> Redactor:
    """The viewer's privacy rule (geo_assets.privacy), computed once per response."""
    if "redactor" not in context:
        request = context.get("request")
        context["redactor"] = Redactor(scope_for(request.user) if request is not None else PUBLIC_SCOPE)
    return context["redactor"]


class AssetFeatureSerializer(GeoFeatureModelSerializer):
    # The asset's one concrete geometry (point, line or polygon, EPSG:4490 ≈ WGS84): the model's `geometry`
    # property. layers/schema.py documents it for OpenAPI (it is not a model column).
    geometry = AnyGeometryField(read_only=True, precision=6)
    name = serializers.SerializerMethodField()
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    type = serializers.CharField(source="asset_type", read_only=True)
    type_label = serializers.CharField(source="get_asset_type_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    village_code = serializers.CharField(source="village.code", read_only=True, default=None)
    village_name = serializers.CharField(source="village.name", read_only=True, default=None)
    township_code = serializers.CharField(source="township.code", read_only=True, default=None)
    township_name = serializers.CharField(source="township.name", read_only=True, default=None)

    class Meta:
        model = Asset
        geo_field = "geometry"
        id_field = "code"
        fields = (
            "code", "name", "category", "category_label", "type", "type_label", "status", "status_label",
            "village_code", "village_name", "township_code", "township_name", "year_built", "total_investment",
            "last_verified_at",
        )

    @extend_schema_field(serializers.CharField())
    def get_name(self, asset) -> str:
        """The public sees household assets under a neutral name and individuals' names masked."""
        return redactor_for(self.context).asset_name(asset)


class FundingLineSerializer(serializers.Serializer):
    source = serializers.CharField()
    source_label = serializers.CharField(source="get_source_display")
    amount = serializers.DecimalField(max_digits=14, decimal_places=4)


class OwnerShareSerializer(serializers.Serializer):
    owner_name = serializers.CharField()
    owner_kind = serializers.CharField()
    owner_kind_label = serializers.CharField(source="get_owner_kind_display")
    share = serializers.DecimalField(max_digits=6, decimal_places=3)


class AssetDetailSerializer(AssetFeatureSerializer):
    department = serializers.CharField(source="department.name", read_only=True, default=None)
    ownership = serializers.SerializerMethodField()
    owners = serializers.SerializerMethodField()
    custody = serializers.SerializerMethodField()
    funding = serializers.SerializerMethodField()
    disposal = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    latest_verification = serializers.SerializerMethodField()
    projects = serializers.SerializerMethodField()

    class Meta(AssetFeatureSerializer.Meta):
        fields = (
            *AssetFeatureSerializer.Meta.fields,
            "project_name", "implementing_unit", "department", "quantity", "unit", "operator", "is_published",
            "ownership", "owners", "custody", "funding", "disposal", "history", "page_url", "latest_verification",
            "projects",
        )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data["properties"].get("projects") is None:  # the public: no project data at all
            data["properties"].pop("projects", None)
        return data

    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_projects(self, asset):
        """The projects that formed the asset, among those the viewer may see (staff only; absent for the public)."""
        request = self.context.get("request")
        if request is None or not projects_offered(request.user):
            return None
        rows = (projects_visible(request.user).filter(links__asset=asset).order_by("-year", "code")
                .values(*PROJECT_FIELDS))
        return [project_json(row) for row in rows]

    @extend_schema_field(serializers.DictField())
    def get_ownership(self, asset):
        return {
            "owner_kind": asset.owner_kind, "owner_kind_label": asset.get_owner_kind_display(),
            "registration_status": asset.registration_status,
            "registration_status_label": asset.get_registration_status_display(),
            "registration_date": asset.registration_date,
        }

    @extend_schema_field(OwnerShareSerializer(many=True))
    def get_owners(self, asset):
        redactor = redactor_for(self.context)
        rows = OwnerShareSerializer([o for o in asset.owners.all() if o.share > 0], many=True).data
        for row in rows:
            row["owner_name"] = redactor.owner_name(row["owner_name"], row["owner_kind"])
        return rows

    @extend_schema_field(serializers.DictField())
    def get_custody(self, asset):
        redactor = redactor_for(self.context)
        return {
            "unit": asset.custodian_unit, "person": redactor.person(asset.custodian_person),
            "phone": redactor.phone(asset.custodian_phone),
            "method": asset.custody_method, "method_label": asset.get_custody_method_display(),
            "yearly_funding": asset.custody_funding,
        }

    @extend_schema_field(FundingLineSerializer(many=True))
    def get_funding(self, asset):
        return FundingLineSerializer([f for f in asset.funding.all() if f.amount > 0], many=True).data

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_disposal(self, asset):
        disposal = getattr(asset, "disposal", None) if hasattr(asset, "disposal") else None
        if disposal is None:
            return None
        return {"method": disposal.get_method_display(), "approval_reference": disposal.approval_reference,
                "approved_on": disposal.approved_on, "proceeds": disposal.proceeds}

    @extend_schema_field(serializers.DictField())
    def get_history(self, asset):
        """The number of history entries and the latest HISTORY_LIMIT: one statement, the entries' own columns only
        (a historical row carries the asset's geometries too)."""
        request = self.context.get("request")
        staff = request is not None and scope_for(request.user).sees_change_authors
        author = f"history_user__{get_user_model().USERNAME_FIELD}"
        rows = list(asset.history.order_by("-history_date").annotate(total=Window(Count("pk")))
                    .values_list("history_date", "history_type", "history_change_reason", author, "total")
                    [:HISTORY_LIMIT])
        return {
            "count": rows[0][4] if rows else 0,
            "recent": [
                {
                    "date": date, "type": str(HISTORY_TYPES.get(kind, kind)),
                    "user": user if staff else None,
                    "reason": (reason or "") if staff else "",
                }
                for date, kind, reason, user, _total in rows
            ],
        }

    @extend_schema_field(serializers.CharField())
    def get_page_url(self, asset):
        return asset_url(asset.code)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_latest_verification(self, asset):
        """Finding, date and public photo thumbnails; staff also get the review, flags and verifier."""
        from verification.selectors import latest_verification_data

        request = self.context.get("request")
        return latest_verification_data(asset, request.user if request is not None else None)


class AreaFeatureSerializer(GeoFeatureModelSerializer):
    geom = GeometryField(read_only=True, precision=6)
    parent_code = serializers.CharField(source="parent.code", read_only=True, default=None)
    level_label = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = AdminArea
        geo_field = "geom"
        id_field = "code"
        fields = ("code", "name", "level", "level_label", "parent_code")


class GeoJsonTextField(serializers.Field):
    """A geometry the database already wrote as GeoJSON text (no GEOS object, no second rounding in Python)."""

    def to_representation(self, value):
        return None if value is None else json.loads(value)


class AreaOutlineFeatureSerializer(AreaFeatureSerializer):
    """An area with its boundary simplified for a zoom (layers.services.areas_outlined), under the same key."""

    geom = GeoJsonTextField(source="outline_geojson", read_only=True)
