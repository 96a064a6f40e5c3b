"""Vector tiles and the GeoJSON API. Views only translate: scope from geo_assets, filters from layers.filters."""

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination

from geo_assets.access import scope_for, viewer_of
from geo_assets.dbrouting import NonAtomicReadMixin
from geo_assets.guards import WindowCount
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel, AssetStatus, Category
from geo_assets.validation import choice_value
from layers.filters import CODE_RE, asset_filters_apply, asset_filters_parse, projects_offered, projects_visible
from layers.registry import (
    ASSET_FILTERS,
    DETAIL_MIN_ZOOM,
    OUTLINE_MAX_ZOOM,
    OUTLINE_MIN_ZOOM,
    VIEW_CLUSTERS_MAX_TILES,
    layer_get,
    layers_offered,
    registry_json,
)
from layers.serializers import (
    PROJECT_FIELDS,
    AreaFeatureSerializer,
    AreaOutlineFeatureSerializer,
    AssetDetailSerializer,
    AssetFeatureSerializer,
    project_json,
)
from layers.services import SEARCH_TRIGRAM, area_summary, areas_outlined, assets_searched
from layers.tilejson import style_json, tilejson
from layers.tiles import (
    TileId,
    TileQuery,
    area_tile_query,
    asset_tile_query,
    data_kind,
    data_version,
    tile_fetch,
    view_clusters,
)

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"

FILTER_PARAMETERS = [
    OpenApiParameter("township", OpenApiTypes.STR, description="township code(s), comma-separated"),
    OpenApiParameter("village", OpenApiTypes.STR, description="village code(s), comma-separated"),
    OpenApiParameter("category", OpenApiTypes.STR, description="category value(s): " + ", ".join(Category.values)),
    OpenApiParameter("type", OpenApiTypes.STR, description="asset type value(s), comma-separated"),
    OpenApiParameter("status", OpenApiTypes.STR, description="status value(s): " + ", ".join(AssetStatus.values)),
    OpenApiParameter("year_min", OpenApiTypes.INT, description="built in or after this year"),
    OpenApiParameter("year_max", OpenApiTypes.INT, description="built in or before this year"),
    OpenApiParameter("verified", OpenApiTypes.STR, enum=["yes", "no"], description="verified on site at least once"),
    OpenApiParameter("project", OpenApiTypes.STR,
                     description="project code(s), comma-separated: the assets they formed (staff accounts only)"),
]
BBOX_PARAMETER = OpenApiParameter("bbox", OpenApiTypes.STR, description="minx,miny,maxx,maxy in degrees")


def _filters(request, params=None):
    try:
        return asset_filters_parse(request.query_params if params is None else params, user=request.user)
    except ValidationError as exc:
        raise ApiValidationError(exc.message_dict)


def _scope_key(user) -> str:
    """What shapes a caller's asset tile, for its ETag: the whole scope (role, area, sector and counties: two
    counties' administrators see different tiles)."""
    return repr(scope_for(user))


class TileAnonThrottle(WindowCount, AnonRateThrottle):
    """The API's rates (`anon`, `user`), counted apart for tiles: a map view fetches dozens at a time."""

    window = "tiles"


class TileUserThrottle(WindowCount, UserRateThrottle):
    window = "tiles"


class TileView(NonAtomicReadMixin, APIView):
    """`/tiles/<layer>/<z>/<x>/<y>.mvt`: Mapbox vector tile, role-scoped and filtered, with ETag.

    One statement per tile (layers.tiles.TileQuery: the tile and the data version in one snapshot); a request
    with If-None-Match first reads the version alone and answers 304 when it still matches. Read-only, so no
    request transaction (ATOMIC_REQUESTS would add BEGIN and COMMIT round trips to every tile)."""

    throttle_classes = [TileAnonThrottle, TileUserThrottle]

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, MVT_CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request, layer: str, z: int, x: int, y: int):
        definition = layer_get(layer, staff=projects_offered(request.user))
        tile = TileId(z, x, y)
        if definition is None or not tile.valid():
            raise Http404
        params = {k: v for k, v in request.query_params.items() if k in definition.filters}
        # Only the layer's own filters count; anything else (e.g. a cache-buster) is ignored.
        query_key = "&".join(f"{k}={params[k]}" for k in sorted(params))
        scope_key = _scope_key(request.user) if definition.kind == "assets" else "all"

        def etag_for(version: str) -> str:
            key = f"{layer}/{z}/{x}/{y}?{query_key}|{version}|{scope_key}"
            return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

        # only the parameters that make up the ETag may shape the tile; bad values are a 400 before anything else
        filters = _filters(request, params) if definition.kind == "assets" else None
        if_none_match = [t.strip() for t in request.headers.get("If-None-Match", "").split(",") if t.strip()]
        kind = data_kind(filters) if definition.kind == "assets" else definition.kind
        current = etag_for(data_version(kind)) if if_none_match else None
        if current is not None and current in if_none_match:
            response = HttpResponseNotModified()
            response["ETag"] = current
        else:
            data, _mode, version = tile_fetch(self._query(request, definition, tile, params, filters))
            response = HttpResponse(data, content_type=MVT_CONTENT_TYPE)
            response["ETag"] = etag_for(version)
        if definition.kind == "assets" and request.user.is_authenticated:
            response["Cache-Control"] = "private, no-cache"
        else:
            response["Cache-Control"] = "public, max-age=60, must-revalidate"
        patch_vary_headers(response, ("Cookie", "Authorization"))
        return response

    def _query(self, request, definition, tile: TileId, params: dict, filters) -> TileQuery:
        if definition.kind == "assets":
            return asset_tile_query(tile, user=request.user, filters=filters)
        townships = ()
        if "township" in definition.filters:
            townships = tuple(v for v in params.get("township", "").split(",") if CODE_RE.match(v))
        return area_tile_query(level=definition.level, tile=tile, parent_codes=townships)


class ViewClustersView(NonAtomicReadMixin, APIView):
    """`/api/v1/map/clusters/?z=&x0=&y0=&x1=&y1=&<filters>`: the asset cluster tiles x0..x1 × y0..y1 of zoom z in
    one JSON document (layers.tiles.view_clusters), so that the map draws a view's clusters from one request
    instead of a round of tiles. `{"clusters": null}` when only the tiles can serve these filters. Counts and
    categories only, as the cluster tiles: nothing to redact."""

    throttle_classes = [TileAnonThrottle, TileUserThrottle]

    @extend_schema(parameters=FILTER_PARAMETERS + [
        OpenApiParameter(k, OpenApiTypes.INT, required=True) for k in ("z", "x0", "y0", "x1", "y1")],
        responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        try:
            z, x0, y0, x1, y1 = (int(request.query_params[k]) for k in ("z", "x0", "y0", "x1", "y1"))
        except (KeyError, ValueError):
            raise ApiValidationError({"z": _("z, x0, y0, x1 and y1 must be whole numbers.")}) from None
        if not (0 <= z < DETAIL_MIN_ZOOM and 0 <= x0 <= x1 < 2**z and 0 <= y0 <= y1 < 2**z
                and (x1 - x0 + 1) * (y1 - y0 + 1) <= VIEW_CLUSTERS_MAX_TILES):
            raise ApiValidationError({"z": _("Not a range of cluster tiles.")})
        params = {k: v for k, v in request.query_params.items() if k in ASSET_FILTERS}
        document = view_clusters(user=request.user, filters=_filters(request, params), z=z, x0=x0, y0=y0, x1=x1,
                                 y1=y1)
        response = HttpResponse(document or '{"clusters": null}', content_type="application/json")
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ("Cookie", "Authorization"))
        return response


def _per_caller(response, *, private: bool):
    """Cache headers of the documents that depend on the caller (TileJSON bounds, the layers offered)."""
    response["Cache-Control"] = "private, no-cache" if private else "public, max-age=60, must-revalidate"
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response


class TileJsonView(NonAtomicReadMixin, APIView):
    """`/tiles/<layer>.json`: TileJSON 3.0.0 of one tile layer for the caller: absolute tiles URL, zooms, the bounds
    of what the caller may see, the data layers with their fields; the layer's filters in the query are carried into
    the tiles URL and the bounds. 404 for a layer the caller is not offered."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, layer: str):
        definition = layer_get(layer, staff=projects_offered(request.user))
        if definition is None:
            raise Http404
        tiles_url = request.build_absolute_uri(reverse("layers:tilejson", args=[layer])[: -len(".json")] + "/")
        # the layer's filters, as the tiles take them (bad values: 400), carried into the tiles URL and the bounds
        params = {k: v for k, v in sorted(request.query_params.items()) if k in definition.filters}
        filters = _filters(request, params) if definition.kind == "assets" else None
        townships = tuple(v for v in params.get("township", "").split(",") if CODE_RE.match(v)) \
            if definition.kind != "assets" else ()
        doc = tilejson(definition, user=request.user, tiles_url=tiles_url, query=urlencode(params, safe=","),
                       filters=filters, parent_codes=townships)
        return _per_caller(Response(doc), private=request.user.is_authenticated)


class StyleView(NonAtomicReadMixin, APIView):
    """`/tiles/style.json`: a MapLibre/Mapbox GL style (v8) of the layers the caller is offered, drawn like the web
    map's legend (layers.registry); its sources are the layers' TileJSONs."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        layers = layers_offered(staff=projects_offered(request.user))
        style = style_json(layers, tilejson_url=lambda name: request.build_absolute_uri(
            reverse("layers:tilejson", args=[name])))
        return _per_caller(Response(style), private=request.user.is_authenticated)


class AssetPagination(GeoJsonPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema(parameters=[*FILTER_PARAMETERS, BBOX_PARAMETER])
class AssetListView(generics.ListAPIView):
    """Assets visible to the caller as GeoJSON features, filtered and paginated."""

    serializer_class = AssetFeatureSerializer
    pagination_class = AssetPagination

    def get_queryset(self):
        qs = Asset.objects.visible_to(self.request.user).with_areas()
        return asset_filters_apply(qs, _filters(self.request)).order_by("code")


class AssetDetailView(NonAtomicReadMixin, generics.RetrieveAPIView):
    """One asset with ownership, owners, custody, funding, last verification and history summary. Read-only: no
    request transaction (its BEGIN and COMMIT were two of the map panel's ten round trips)."""

    serializer_class = AssetDetailSerializer
    lookup_field = "code"

    def get_queryset(self):
        return (
            Asset.objects.openable_by(self.request.user)
            .with_areas("department", "disposal")
            .prefetch_related("funding", "owners")
        )

    def retrieve(self, request, *args, **kwargs):
        """Outside the user's scope, a published asset as the public sees it (geo_assets.access.viewer_of)."""
        asset = self.get_object()
        request.user = viewer_of(request.user, asset)
        return Response(self.get_serializer(asset).data)


# Areas a page of full boundaries holds at most (a county's is ~0.4 MB of GeoJSON on the benchmark province: a page
# of 1,000 villages was 28 MB and 19 s of a worker); with ?zoom= (the outlines for the map) as many as assets' pages.
AREA_FULL_PAGE_MAX = 20


class AreaPagination(AssetPagination):
    def get_page_size(self, request):
        size = super().get_page_size(request)
        return size if "zoom" in request.query_params else min(size, AREA_FULL_PAGE_MAX)


@extend_schema(parameters=[
    OpenApiParameter("level", OpenApiTypes.STR, enum=AreaLevel.values),
    OpenApiParameter("parent", OpenApiTypes.STR, description="parent area code"),
    OpenApiParameter("point", OpenApiTypes.STR, description="lon,lat: areas covering this point"),
    OpenApiParameter("zoom", OpenApiTypes.INT, description=(
        f"{OUTLINE_MIN_ZOOM}–{OUTLINE_MAX_ZOOM}: each boundary simplified for the map at this zoom (to half a pixel; "
        f"pages of up to {AssetPagination.max_page_size} areas); without it the full boundaries, "
        f"{AREA_FULL_PAGE_MAX} areas a page at most (one area's: /api/v1/areas/<code>/)")),
])
class AreaListView(generics.ListAPIView):
    """Administrative boundaries (public information)."""

    pagination_class = AreaPagination

    def _zoom(self) -> int | None:
        zoom = self.request.query_params.get("zoom")
        if zoom is None:
            return None
        if not zoom.isdigit() or not OUTLINE_MIN_ZOOM <= int(zoom) <= OUTLINE_MAX_ZOOM:
            raise ApiValidationError({"zoom": _("A whole number from %(min)s to %(max)s.")
                                      % {"min": OUTLINE_MIN_ZOOM, "max": OUTLINE_MAX_ZOOM}})
        return int(zoom)

    def get_serializer_class(self):
        return AreaFeatureSerializer if self._zoom() is None else AreaOutlineFeatureSerializer

    def get_queryset(self):
        qs = AdminArea.objects.with_parent().order_by("code")
        zoom = self._zoom()
        if zoom is not None:
            qs = areas_outlined(qs, zoom=zoom)
        level = self.request.query_params.get("level")
        if level:
            try:
                level = choice_value(level, AreaLevel, field="level")
            except ValidationError as exc:
                raise ApiValidationError(exc.message_dict)
            qs = qs.filter(level=level)
        parent = self.request.query_params.get("parent")
        if parent:
            qs = qs.filter(parent__code=parent)
        point = self.request.query_params.get("point")
        if point:
            try:
                lon, lat = (float(v) for v in point.split(","))
            except ValueError:
                raise ApiValidationError({"point": "lon,lat in degrees"})
            qs = qs.filter(geom__covers=Point(lon, lat, srid=settings.STORAGE_SRID))
        return qs


class AreaDetailView(generics.RetrieveAPIView):
    serializer_class = AreaFeatureSerializer
    lookup_field = "code"
    queryset = AdminArea.objects.with_parent()


class AreaSummaryView(APIView):
    """Counts and investment by category of the assets (visible to the caller) in one area."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        area = get_object_or_404(AdminArea.objects.with_parent().with_box(), code=code)
        return Response(area_summary(user=request.user, area=area))


class SearchView(APIView):
    """Search assets by code or name and areas by name or code; at most 10 of each. `complete` is false (with a
    `note`) when a short text could not be looked for in every asset's name in time (layers.services.assets_searched)."""

    limit = 10

    @extend_schema(parameters=[OpenApiParameter("q", OpenApiTypes.STR, required=True)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        q = (request.query_params.get("q") or "").strip()[:100]
        if not q:
            return Response({"results": []})
        results = []
        redactor = Redactor(scope_for(request.user))
        assets, complete = assets_searched(user=request.user, q=q, limit=self.limit)
        for asset in assets:
            name = redactor.asset_name(asset)
            results.append({
                "kind": "asset", "code": asset.code, "name": name,
                "label": _("%(name)s (%(village)s %(code)s)") % {
                    "name": name, "village": asset.village.name if asset.village else "", "code": asset.code},
                "point": [asset.location.x, asset.location.y] if asset.location else None,
            })
        areas = AdminArea.objects.filter(Q(name__icontains=q) | Q(code__startswith=q)).filter(
            level__in=(AreaLevel.TOWNSHIP, AreaLevel.VILLAGE))
        within = scope_for(request.user).areas_q()
        areas = ((areas if within is None else areas.filter(within)).only("code", "name", "level")
                 .with_box().order_by("level", "code")[: self.limit])
        for area in areas:
            results.append({
                "kind": area.level, "code": area.code, "name": area.name,
                "label": _("%(name)s (%(level)s)") % {"name": area.name, "level": area.get_level_display()},
                "bbox": list(area.box.extent),
            })
        body = {"results": results, "complete": complete}
        if not complete:
            body["note"] = _("Not every asset name was searched: type at least %(count)d characters.") % {
                "count": SEARCH_TRIGRAM}
        return Response(body)


def _staff_only(request) -> None:
    if not projects_offered(request.user):
        raise PermissionDenied(_("Projects are shown to staff accounts only."))


class MapProjectsView(APIView):
    """`/api/v1/map/projects/?q=`: the projects the caller may filter the map by (Project.objects.visible_to),
    searched by code or name, newest first, at most 30. Staff accounts only: the public has no project filter."""

    limit = 30

    @extend_schema(operation_id="api_v1_map_projects_list",
                   parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="part of a code or name")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        _staff_only(request)
        q = (request.query_params.get("q") or "").strip()[:100]
        projects = projects_visible(request.user)
        if q:
            projects = projects.filter(Q(code__icontains=q) | Q(name__icontains=q))
        rows = projects.order_by("-year", "code").values(*PROJECT_FIELDS)[: self.limit]
        return Response({"results": [project_json(row) for row in rows]})


class MapProjectView(APIView):
    """`/api/v1/map/projects/<code>/`: one project the caller may see, with how many of its assets the caller sees
    on the map and their extent (lon/lat) to move the map onto; 404 when the project is not the caller's to see."""

    @extend_schema(operation_id="api_v1_map_projects_retrieve", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        _staff_only(request)
        project = projects_visible(request.user).filter(code=code).values(*PROJECT_FIELDS).first()
        if project is None:
            raise Http404
        assets = asset_filters_apply(Asset.objects.visible_to(request.user),
                                     asset_filters_parse({"project": code}, user=request.user))
        found = assets.aggregate(count=Count("pk"), box=Extent("location"))
        return Response({**project_json(project), "asset_count": found["count"],
                         "bbox": list(found["box"]) if found["box"] else None})


class RegistryView(APIView):
    """The layer registry: styles, legend and accepted filters of each layer."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(registry_json(staff_filters=projects_offered(request.user)))
