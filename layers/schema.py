"""OpenAPI: the asset feature's geometry is a property (point, line or polygon), not a model column."""

from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.plumbing import build_object_type


class AssetFeatureSchema(GeoFeatureModelSerializerExtension):
    target_class = "layers.serializers.AssetFeatureSerializer"
    match_subclasses = True
    priority = 1

    def map_geo_feature_model_serializer(self, serializer, base_schema):
        properties = {"type": {"type": "string", "enum": ["Feature"]}}
        properties["id"] = base_schema["properties"].pop(serializer.Meta.id_field)
        properties["geometry"] = base_schema["properties"].pop(serializer.Meta.geo_field)
        base_schema.pop("description", None)
        base_schema.pop("required", None)
        properties["properties"] = base_schema
        return build_object_type(properties=properties)
