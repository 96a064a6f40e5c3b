"""OGC API – Features under `/ogc/` (layers/ogc.py holds the logic). Views only translate: JSON, GeoJSON or a plain
HTML page (`?f=html` or a browser's Accept: text/html); authentication is the API's (session or
`Authorization: Token …`)."""

import json

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from geo_assets.dbrouting import NonAtomicReadMixin
from geo_assets.models import SRID
from layers import ogc, ogc_filter

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
_UNSET = object()  # collection_json without an extent worked out already


class _AnyAccept(BaseContentNegotiation):
    """The views choose their own format (`f`, Accept): DRF's negotiation must not answer 406 to a GIS client."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _wants_html(request) -> bool:
    f = request.GET.get("f")
    if f:
        return f == "html"
    accept = request.headers.get("Accept", "")
    return HTML in accept and "json" not in accept.split(HTML)[0]


def _json(data, *, status=200, content_type=JSON, headers=None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, ensure_ascii=False, default=str), status=status,
                            content_type=f"{content_type}; charset=utf-8" if ";" not in content_type else content_type)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _error(status: int, description, code: str) -> HttpResponse:
    return _json({"code": code, "description": description}, status=status)


def _message(exc: ValidationError) -> str:
    return " ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in exc.message_dict.items())


class OgcView(NonAtomicReadMixin, APIView):
    content_negotiation_class = _AnyAccept
    schema = None  # not part of /api/v1/schema/: /ogc/api is this API's own document

    def url(self, name: str, *args, **query) -> str:
        path = reverse(f"layers:{name}", args=args)
        return self.request.build_absolute_uri(path) + (("?" + urlencode(query)) if query else "")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ("Accept", "Cookie", "Authorization"))
        if request.user.is_authenticated:
            response["Cache-Control"] = "private, no-cache"
        return response

    def handle_exception(self, exc):
        if isinstance(exc, ValidationError):
            return _error(400, _message(exc), "InvalidParameterValue")
        return super().handle_exception(exc)

    def page(self, data: dict, *, title: str, json_type: str = JSON, headers=None) -> HttpResponse:
        if _wants_html(self.request):
            html = render_to_string("layers/ogc_page.html", {
                "title": title, "data": data, "links": [link for link in data.get("links", [])
                                                        if link.get("type") != HTML],
                "collections": data.get("collections", []),
                "features": data.get("features"),
                "body": json.dumps(data, ensure_ascii=False, indent=1, default=str),
            }, request=self.request)
            return HttpResponse(html, content_type="text/html; charset=utf-8", headers=headers)
        return _json(data, content_type=json_type, headers=headers)

    def links(self, name: str, *args, json_type: str = JSON, title: str = "") -> list[dict]:
        return [{"href": self.url(name, *args, f="json"), "rel": "self", "type": json_type, "title": title},
                {"href": self.url(name, *args, f="html"), "rel": "alternate", "type": HTML, "title": title}]

    def collection_json(self, collection: ogc.Collection, extent=_UNSET) -> dict:
        if extent is _UNSET:
            extent = ogc.collection_extent(collection, self.request.user)
        links = self.links("ogc-collection", collection.id, title=collection.title)
        links += [
            {"href": self.url("ogc-items", collection.id, f="json"), "rel": "items", "type": GEOJSON,
             "title": collection.title},
            {"href": self.url("ogc-items", collection.id, f="html"), "rel": "items", "type": HTML,
             "title": collection.title},
            {"href": self.url("ogc-queryables", collection.id), "type": "application/schema+json",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "title": _("Queryables")},
        ]
        found = {"id": collection.id, "title": collection.title, "itemType": "feature", "links": links,
                 "crs": ogc.crs_list(extent), "storageCrs": ogc.EPSG + str(SRID)}
        if extent:
            found["extent"] = {"spatial": {"bbox": [extent], "crs": ogc.CRS84}}
        return found


@extend_schema(exclude=True)
class LandingView(OgcView):
    def get(self, request):
        data = {
            "title": _("Poverty-alleviation assets: OGC API – Features"),
            "description": _("The assets and boundaries you may see on the map, for GIS clients."),
            "links": [
                *self.links("ogc-landing", title=_("This page")),
                {"href": self.url("ogc-api"), "rel": "service-desc", "type": OPENAPI, "title": _("API definition")},
                {"href": self.url("ogc-conformance"), "rel": "conformance", "type": JSON,
                 "title": _("Conformance classes")},
                {"href": self.url("ogc-collections", f="json"), "rel": "data", "type": JSON,
                 "title": _("Collections")},
            ],
        }
        return self.page(data, title=data["title"])


@extend_schema(exclude=True)
class ConformanceView(OgcView):
    def get(self, request):
        return self.page({"conformsTo": ogc.CONFORMANCE}, title=_("Conformance classes"))


@extend_schema(exclude=True)
class CollectionsView(OgcView):
    def get(self, request):
        found = ogc.collections(request.user)
        extents = ogc.collection_extents(found, request.user)
        data = {"links": self.links("ogc-collections", title=_("Collections")),
                "collections": [self.collection_json(c, extents[c.id]) for c in found],
                "crs": ogc.crs_list(None) + [ogc.EPSG + str(code) for code in ogc.GK_ZONES]}
        return self.page(data, title=_("Collections"))


def _collection_or_404(collection_id: str, user) -> ogc.Collection | HttpResponse:
    collection = ogc.collection_get(collection_id, user)
    if collection is None:
        return _error(404, _("There is no such collection."), "NotFound")
    return collection


@extend_schema(exclude=True)
class CollectionView(OgcView):
    def get(self, request, collection_id: str):
        collection = _collection_or_404(collection_id, request.user)
        if isinstance(collection, HttpResponse):
            return collection
        return self.page(self.collection_json(collection), title=collection.title)


@extend_schema(exclude=True)
class QueryablesView(OgcView):
    def get(self, request, collection_id: str):
        collection = _collection_or_404(collection_id, request.user)
        if isinstance(collection, HttpResponse):
            return collection
        data = ogc.queryables(collection, self.url("ogc-queryables", collection.id))
        return self.page(data, title=_("Queryables"), json_type="application/schema+json")


@extend_schema(exclude=True)
class ItemsView(OgcView):
    def get(self, request, collection_id: str):
        collection = _collection_or_404(collection_id, request.user)
        if isinstance(collection, HttpResponse):
            return collection
        query = ogc.items_query(collection, request.GET, request.user)
        html = _wants_html(request)
        # JSON: the asset pages come encoded by PostgreSQL (ogc.items_page_encoded); HTML pages (for people, small
        # limits) always state numberMatched
        found = None if html else ogc.items_page_served(collection, request.GET, request.user)
        if found is None:
            found = ogc.items_page(collection, query, request.user, count=True if html else None)
        kept = {k: v for k, v in request.GET.items() if k not in ("cursor", "f")}
        links = [{"href": self.url("ogc-items", collection.id, **kept, f="json"), "rel": "self", "type": GEOJSON},
                 {"href": self.url("ogc-items", collection.id, **kept, f="html"), "rel": "alternate", "type": HTML},
                 {"href": self.url("ogc-collection", collection.id), "rel": "collection", "type": JSON}]
        if found["next"]:
            links.append({"href": self.url("ogc-items", collection.id, **kept, cursor=found["next"], f="json"),
                          "rel": "next", "type": GEOJSON, "title": _("Next page")})
        if found["prev"]:
            links.append({"href": self.url("ogc-items", collection.id, **kept, cursor=found["prev"], f="json"),
                          "rel": "prev", "type": GEOJSON, "title": _("Previous page")})
        headers = {"Content-Crs": f"<{query.crs.uri}>"}
        tail = {"links": links}
        if found["numberMatched"] is not None:
            tail["numberMatched"] = found["numberMatched"]
        tail |= {"numberReturned": found["numberReturned"], "timeStamp": ogc.timezone.now().isoformat()}
        if isinstance(found["features"], bytes):  # already GeoJSON: written around, not parsed again
            head = b'{"type": "FeatureCollection", "features": ['
            rest = json.dumps(tail, ensure_ascii=False, default=str).encode()
            return HttpResponse(b"".join([head, found["features"], b"], ", rest[1:]]),
                                content_type=f"{GEOJSON}; charset=utf-8", headers=headers)
        data = {"type": "FeatureCollection", "features": found["features"], **tail}
        return self.page(data, title=collection.title, json_type=GEOJSON, headers=headers)


@extend_schema(exclude=True)
class ItemView(OgcView):
    def get(self, request, collection_id: str, feature_id: str):
        collection = _collection_or_404(collection_id, request.user)
        if isinstance(collection, HttpResponse):
            return collection
        crs = ogc.crs_get(request.GET.get("crs"))
        feature = ogc.item_get(collection, feature_id, crs, request.user)
        if feature is None:
            return _error(404, _("There is no such feature, or it is not yours to see."), "NotFound")
        feature["links"] = [
            {"href": self.url("ogc-item", collection.id, feature_id, f="json"), "rel": "self", "type": GEOJSON},
            {"href": self.url("ogc-collection", collection.id), "rel": "collection", "type": JSON},
        ]
        return self.page(feature, title=feature_id, json_type=GEOJSON, headers={"Content-Crs": f"<{crs.uri}>"})


def _parameter(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


@extend_schema(exclude=True)
class ApiView(OgcView):
    """A minimal OpenAPI 3.0 document of the paths above."""

    def get(self, request):
        crs = {"type": "string", "format": "uri"}
        item_parameters = [
            _parameter("limit", {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT,
                                 "default": ogc.DEFAULT_LIMIT}),
            _parameter("bbox", {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                       "lower corner, upper corner, in the axis order of bbox-crs"),
            _parameter("bbox-crs", crs), _parameter("crs", crs),
            _parameter("datetime", {"type": "string"}, "last change: an instant or an interval"),
            _parameter("cursor", {"type": "string"}, "opaque: follow the next link"),
            *[_parameter(name, {"type": "string"}) for name in ogc.PROPERTY_FILTERS],
            _parameter("filter", {"type": "string"}, "CQL2 on the collection's queryables (Part 3)"),
            _parameter("filter-lang", {"type": "string", "enum": [*ogc_filter.LANGS, *ogc_filter.LEGACY_LANGS],
                                       "default": "cql2-text"}),
            _parameter("filter-crs", crs, "CRS of the geometry literals (default CRS84)"),
        ]
        path_id = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
        feature_id = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}

        def operation(summary: str, media: str, parameters=()) -> dict:
            return {"get": {"summary": summary, "parameters": list(parameters), "responses": {
                "200": {"description": "OK", "content": {media: {"schema": {"type": "object"}}}},
                **({"400": {"description": "Bad request"}} if parameters else {}),
                "404": {"description": "Not found"}}}}

        prefix = reverse("layers:ogc-landing").rstrip("/")
        data = {
            "openapi": "3.0.3",
            "info": {"title": _("Poverty-alleviation assets: OGC API – Features"), "version": "1.0.0"},
            "servers": [{"url": request.build_absolute_uri(prefix)}],
            "paths": {
                "/": operation("Landing page", JSON),
                "/conformance": operation("Conformance classes", JSON),
                "/collections": operation("Collections", JSON),
                "/collections/{collectionId}": operation("A collection", JSON, [path_id]),
                "/collections/{collectionId}/queryables": operation("Queryables", "application/schema+json",
                                                                    [path_id]),
                "/collections/{collectionId}/items": operation("Features", GEOJSON, [path_id, *item_parameters]),
                "/collections/{collectionId}/items/{featureId}": operation(
                    "A feature", GEOJSON, [path_id, feature_id, _parameter("crs", crs)]),
                "/api": operation("This document", OPENAPI),
            },
        }
        return _json(data, content_type=OPENAPI)
