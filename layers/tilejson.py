"""TileJSON 3.0.0 for each tile layer and one MapLibre/Mapbox GL style (v8) drawing them like the web map.

For desktop GIS (QGIS's vector tile connection: a tiles URL and a style URL; GDAL's MVT driver): the documents are
built from the registry (layers.registry: the colours, widths and label zooms the web map reads too) and the data
the caller may see (Asset.objects.visible_to: the bounds). They name no record; what they offer is what the tile
endpoints serve the same caller.
"""

import math

from django.contrib.gis.db.models import Extent
from django.utils.translation import gettext as _

from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AreaLevel
from layers.filters import asset_filters_apply
from layers.registry import (
    CATEGORY_COLOURS,
    DATA_MAX_ZOOM,
    DETAIL_MIN_ZOOM,
    LABEL_MIN_ZOOM,
    TYPE_STYLES,
    Layer,
)

TILEJSON_VERSION = "3.0.0"
WORLD = 20037508.342789244
WORLD_BOUNDS = [-180.0, -85.051129, 180.0, 85.051129]
# the web map's fallback colour of a type it does not know (map.js, typeColour)
UNKNOWN_COLOUR = "#666666"
# the web map draws lines 3.5 px wide (map.js: dashWidth); MapLibre's dashes are in line widths
ASSET_LINE_WIDTH = 3.5


def _lon_lat(x: float, y: float) -> tuple[float, float]:
    """EPSG:3857 metres → degrees (the spherical formula of Web Mercator, exact)."""
    return x / WORLD * 180.0, math.degrees(2 * math.atan(math.exp(y / WORLD * math.pi)) - math.pi / 2)


def layer_bounds(layer: Layer, *, user, filters=None, parent_codes: tuple[str, ...] = ()) -> list[float]:
    """[west, south, east, north] in degrees of what the caller may see of this layer under these filters (the
    world when nothing)."""
    if layer.kind == "assets":
        qs = Asset.objects.visible_to(user)
        if filters is not None:
            qs = asset_filters_apply(qs, filters)
        box = qs.aggregate(box=Extent("geom_web"))["box"]
    else:
        qs = AdminArea.objects.filter(level=layer.level)
        if parent_codes:
            qs = qs.filter(parent__code__in=parent_codes)
        box = qs.aggregate(box=Extent("geom_web"))["box"]
    if box is None:
        return list(WORLD_BOUNDS)
    west, south = _lon_lat(box[0], box[1])
    east, north = _lon_lat(box[2], box[3])
    return [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]


def _vector_layers(layer: Layer) -> list[dict]:
    if layer.kind == "assets":
        return [
            {"id": "assets", "description": _("Assets (from zoom %(z)s; denser tiles carry clusters)")
             % {"z": DETAIL_MIN_ZOOM}, "minzoom": DETAIL_MIN_ZOOM, "maxzoom": DATA_MAX_ZOOM,
             "fields": {"code": _("Asset code"), "name": _("Asset name (for the public: without personal names)"),
                        "category": _("Category (value)"), "type": _("Asset type (value)"),
                        "status": _("Status (value)")}},
            {"id": "clusters", "description": _("Assets counted per grid cell (below the detail zoom)"),
             "minzoom": 0, "maxzoom": DATA_MAX_ZOOM,
             "fields": {"count": _("Number of assets in the cell"), "label": _("The number as text"),
                        "category": _("The most frequent category in the cell")}},
        ]
    area = _("Township") if layer.level == AreaLevel.TOWNSHIP else _("Village")
    return [
        {"id": layer.name, "description": str(layer.label), "minzoom": 0, "maxzoom": DATA_MAX_ZOOM,
         "fields": {"code": _("Area code (12 digits)"), "name": _("%(area)s name") % {"area": area},
                    "parent": _("Code of the area it belongs to")}},
        {"id": f"{layer.name}_labels", "description": _("One label point per area"),
         "minzoom": LABEL_MIN_ZOOM.get(layer.level, 0), "maxzoom": DATA_MAX_ZOOM,
         "fields": {"code": _("Area code (12 digits)"), "name": _("%(area)s name") % {"area": area}}},
    ]


def tilejson(layer: Layer, *, user, tiles_url: str, query: str = "", filters=None,
             parent_codes: tuple[str, ...] = ()) -> dict:
    """The TileJSON of one layer for this caller; `tiles_url` is the absolute `/tiles/<layer>/` prefix, `query` the
    layer's filters as a query string, carried into the tiles URL (`filters`, `parent_codes`: the same, parsed)."""
    bounds = layer_bounds(layer, user=user, filters=filters, parent_codes=parent_codes)
    return {
        "tilejson": TILEJSON_VERSION,
        "name": str(layer.label),
        "description": _("Vector tiles of the asset register, as your account sees them"),
        "attribution": _("County asset register"),
        "scheme": "xyz",
        "tiles": [tiles_url + "{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")],
        "minzoom": 0,
        "maxzoom": DATA_MAX_ZOOM,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6), 10],
        "vector_layers": _vector_layers(layer),
    }


# ---------------------------------------------------------------- the style


def _match(prop: str, colours: dict[str, str], default: str) -> list:
    expression = ["match", ["get", prop]]
    for value, colour in colours.items():
        expression += [value, colour]
    return [*expression, default]


def _area_layers(layer: Layer) -> tuple[list[dict], list[dict], list[dict]]:
    """(fills, outlines, labels) of a boundary layer, drawn like map.js's areaLayer."""
    s, name = layer.style, layer.name
    township = layer.level == AreaLevel.TOWNSHIP
    fill = {"id": f"{name}-fill", "type": "fill", "source": name, "source-layer": name,
            "paint": {"fill-color": s["fill"], "fill-opacity": s["fillOpacity"]}}
    line = {"id": f"{name}-line", "type": "line", "source": name, "source-layer": name,
            "paint": {"line-color": s["stroke"], "line-width": s["width"]}}
    label = {"id": f"{name}-label", "type": "symbol", "source": name, "source-layer": f"{name}_labels",
             "minzoom": s.get("labelMinZoom", 0),
             "layout": {"text-field": ["get", "name"], "text-size": 14 if township else 12,
                        "text-font": ["Noto Sans CJK SC Bold" if township else "Noto Sans CJK SC Regular"],
                        "text-allow-overlap": False},
             "paint": {"text-color": s["label"], "text-halo-color": "#ffffff", "text-halo-width": 1.5}}
    return [fill], [line], [label]


def _asset_layers(layer: Layer) -> tuple[list[dict], list[dict]]:
    """(clusters, assets) drawn like map.js's assetLayer: clusters by dominant category, assets by type."""
    s, name = layer.style, layer.name
    type_colour = _match("type", {t: st["colour"] for t, st in TYPE_STYLES.items()}, UNKNOWN_COLOUR)
    clusters = [
        {"id": "assets-clusters", "type": "circle", "source": name, "source-layer": "clusters",
         "paint": {"circle-radius": ["+", 6, ["min", 9, ["*", 1.2, ["sqrt", ["get", "count"]]]]],
                   "circle-color": _match("category", CATEGORY_COLOURS, s["cluster"]), "circle-opacity": 0.8,
                   "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5}},
        {"id": "assets-clusters-count", "type": "symbol", "source": name, "source-layer": "clusters",
         "layout": {"text-field": ["get", "label"], "text-size": 11, "text-font": ["Noto Sans CJK SC Bold"],
                    "text-allow-overlap": True},
         "paint": {"text-color": "#ffffff"}},
    ]
    assets = [
        {"id": "assets-polygon-fill", "type": "fill", "source": name, "source-layer": "assets",
         "filter": ["==", "$type", "Polygon"],
         "paint": {"fill-color": type_colour, "fill-opacity": 0.55}},
        {"id": "assets-polygon-outline", "type": "line", "source": name, "source-layer": "assets",
         "filter": ["==", "$type", "Polygon"],
         "paint": {"line-color": type_colour, "line-width": 1}},
    ]
    # line-dasharray is not data-driven: one layer per dash pattern of the registry (solid first)
    patterns: dict[tuple, list[str]] = {}
    for t, st in TYPE_STYLES.items():
        patterns.setdefault(tuple(st.get("dash") or ()), []).append(t)
    dashed = [t for dash, types in patterns.items() if dash for t in types]
    for dash, types in sorted(patterns.items(), key=lambda item: len(item[0])):
        if dash:
            selector, suffix = ["in", "type", *types], "dash-" + "-".join(str(d) for d in dash)
        else:  # any type without a dash of its own, and types the registry does not know
            selector, suffix = ["!in", "type", *dashed], "solid"
        paint = {"line-color": type_colour, "line-width": ASSET_LINE_WIDTH}
        if dash:
            paint["line-dasharray"] = [round(d / ASSET_LINE_WIDTH, 3) for d in dash]
        assets.append({"id": f"assets-line-{suffix}", "type": "line", "source": name, "source-layer": "assets",
                       "filter": ["all", ["==", "$type", "LineString"], selector],
                       "layout": {"line-cap": "butt", "line-join": "round"}, "paint": paint})
    assets.append(
        {"id": "assets-point", "type": "circle", "source": name, "source-layer": "assets",
         "filter": ["==", "$type", "Point"],
         "paint": {"circle-radius": 5, "circle-color": type_colour, "circle-stroke-color": "#ffffff",
                   "circle-stroke-width": 1.5}})
    return clusters, assets


def style_json(layers: list[Layer], *, tilejson_url) -> dict:
    """The style of these layers (the ones the caller is offered); `tilejson_url(name)` is a layer's TileJSON URL.

    Order as the web map's panes: area fills and outlines (villages under townships), asset clusters, area names,
    then the assets themselves (a name never hides an asset)."""
    fills, lines, labels, clusters, assets = [], [], [], [], []
    for layer in sorted(layers, key=lambda item: item.level != AreaLevel.VILLAGE):
        if layer.kind == "assets":
            c, a = _asset_layers(layer)
            clusters += c
            assets += a
        else:
            f, li, la = _area_layers(layer)
            fills += f
            lines += li
            labels += la
    return {
        "version": 8,
        "name": _("Asset register"),
        "sources": {layer.name: {"type": "vector", "url": tilejson_url(layer.name)} for layer in layers},
        "layers": [*fills, *lines, *clusters, *labels, *assets],
    }
