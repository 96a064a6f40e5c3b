"""What the map can show: each layer with its style, legend entry and the filters it accepts.

The map page reads this registry (as JSON) to build its layer control, legend and filter panel; the tile and
GeoJSON views read it to know which layers exist and which query parameters they accept. One place to change.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from geo_assets.taxonomy import CATEGORY_TYPES, AreaLevel, AssetStatus, AssetType, Category

# Filters accepted by the asset layer (tiles and API alike); see layers/filters.py.
ASSET_FILTERS = ("township", "village", "category", "type", "status", "year_min", "year_max", "verified", "project")
# Filters only staff accounts have (the public's map offers and accepts none of them: layers.filters).
STAFF_FILTERS = ("project",)
AREA_FILTERS = ("township",)

# Below this data zoom asset tiles carry grid clusters (count per cell) instead of geometries.
DETAIL_MIN_ZOOM = 12
# A tile touching more assets than this is served as clusters even at high zoom (checked before building it).
MAX_DETAIL_FEATURES = 4000
# Any tile bigger than this is rebuilt aggregated (guarantees the size bound at any density).
MAX_TILE_BYTES = 500 * 1024
# Boundary tiles below DETAIL_MIN_ZOOM carry outlines simplified for their zoom (layers.models.AreaOutline, kept by
# the triggers of migration layers/0002, which freezes the same values): from OUTLINE_MIN_ZOOM (tiles below read
# it) to OUTLINE_MAX_ZOOM, to OUTLINE_TOLERANCE_PX of a pixel. From DETAIL_MIN_ZOOM on, the full boundary.
OUTLINE_MIN_ZOOM = 6
OUTLINE_MAX_ZOOM = DETAIL_MIN_ZOOM - 1
OUTLINE_TOLERANCE_PX = 0.5
# Area names are drawn from this zoom on (map.js reads it from the layer's style); below it the boundary tiles
# leave out the `<layer>_labels` points (at z8 they were half of a village tile's bytes, never drawn).
LABEL_MIN_ZOOM: dict[str, int] = {AreaLevel.TOWNSHIP: 0, AreaLevel.VILLAGE: 11}
# The most cluster tiles one request of /api/v1/map/clusters/ may cover (a phone to a 4K screen, with a margin).
VIEW_CLUSTERS_MAX_TILES = 150
# Cluster cells per tile side at low zoom: 8 × 8 cells of 32 px on a 256 px tile (at most 64 features per tile).
CLUSTER_CELLS = 8
# The deepest zoom a desktop client (TileJSON `maxzoom`) asks for: the tiles go deeper (layers.tiles.MAX_ZOOM) but
# carry nothing finer; like the web map (maxDataZoom), clients overzoom beyond it.
DATA_MAX_ZOOM = 16

CATEGORY_COLOURS: dict[str, str] = {
    Category.PUBLIC_WELFARE: "#1f78b4",
    Category.OPERATING: "#e6550d",
    Category.HOUSEHOLD: "#31a354",
}

# How each type is drawn: a colour of its own, the usual geometry (the legend's swatch) and, for lines, a dash
# pattern in pixels (roads solid, canals dashed). Any type may still come as any geometry.
TYPE_STYLES: dict[str, dict] = {
    AssetType.ROAD: {"colour": "#a0522d", "shape": "line", "dash": []},
    AssetType.IRRIGATION: {"colour": "#1f78d1", "shape": "line", "dash": [7, 4]},
    AssetType.WATER_SUPPLY: {"colour": "#19a7ce", "shape": "point"},
    AssetType.SANITATION: {"colour": "#7d7d7d", "shape": "point"},
    AssetType.POWER: {"colour": "#5b4a9e", "shape": "point"},
    AssetType.EDUCATION: {"colour": "#2c4fa8", "shape": "point"},
    AssetType.CULTURE: {"colour": "#d66fa0", "shape": "polygon"},
    AssetType.SPORTS: {"colour": "#0a9a8f", "shape": "point"},
    AssetType.HEALTH: {"colour": "#d7191c", "shape": "point"},
    AssetType.GREENHOUSE: {"colour": "#86b300", "shape": "polygon"},
    AssetType.PLANTATION: {"colour": "#e8772e", "shape": "polygon"},
    AssetType.PROCESSING: {"colour": "#8c2d19", "shape": "polygon"},
    AssetType.TOURISM: {"colour": "#f08a9b", "shape": "point"},
    AssetType.WORKSHOP: {"colour": "#a3306b", "shape": "polygon"},
    AssetType.ECOMMERCE: {"colour": "#f28e00", "shape": "point"},
    AssetType.PV_STATION: {"colour": "#e3b600", "shape": "point"},
    AssetType.EQUITY: {"colour": "#4d5d2a", "shape": "point"},
    AssetType.DEBT: {"colour": "#b8a26a", "shape": "point"},
    AssetType.LIVESTOCK: {"colour": "#31a354", "shape": "point"},
    AssetType.HOUSEHOLD_FIXED: {"colour": "#00602a", "shape": "point"},
}
TYPE_COLOURS: dict[str, str] = {t: style["colour"] for t, style in TYPE_STYLES.items()}


@dataclass(frozen=True)
class Layer:
    name: str
    label: str
    kind: str  # "areas" or "assets"
    style: dict
    filters: tuple[str, ...] = ()
    legend: list = field(default_factory=list)
    level: str | None = None
    visible: bool = True
    # offered to staff accounts only (registry, tiles, TileJSON and style alike): the public never learns of it
    staff_only: bool = False

    def offered(self, *, staff: bool) -> bool:
        return staff or not self.staff_only

    def as_json(self, *, staff_filters: bool = True) -> dict:
        return {
            "name": self.name, "label": str(self.label), "kind": self.kind, "style": self.style,
            "filters": [f for f in self.filters if staff_filters or f not in STAFF_FILTERS], "visible": self.visible,
            "legend": [{**item, "label": str(item["label"])} for item in self.legend],  # in the reader's language
            "tiles": f"/tiles/{self.name}/{{z}}/{{x}}/{{y}}.mvt",
        }


def _asset_legend() -> list[dict]:
    return [
        {
            "category": category, "label": str(Category(category).label), "colour": CATEGORY_COLOURS[category],
            "types": [
                {"type": t, "label": str(AssetType(t).label), "dash": [], **TYPE_STYLES[t]} for t in types
            ],
        }
        for category, types in CATEGORY_TYPES.items()
    ]


LAYERS: dict[str, Layer] = {
    "townships": Layer(
        name="townships", label=_("Township boundaries"), kind="areas", level=AreaLevel.TOWNSHIP,
        style={"stroke": "#7a0019", "width": 2.2, "fill": "#7a0019", "fillOpacity": 0.03, "label": "#7a0019",
               "labelMinZoom": LABEL_MIN_ZOOM[AreaLevel.TOWNSHIP]},
        legend=[{"label": _("Township boundary"), "colour": "#7a0019", "shape": "line"}],
    ),
    "villages": Layer(
        name="villages", label=_("Village boundaries"), kind="areas", level=AreaLevel.VILLAGE,
        filters=AREA_FILTERS,
        style={"stroke": "#555555", "width": 0.8, "fill": "#fafaf5", "fillOpacity": 0.25, "label": "#333333",
               "labelMinZoom": LABEL_MIN_ZOOM[AreaLevel.VILLAGE]},
        legend=[{"label": _("Village boundary"), "colour": "#555555", "shape": "line"}],
    ),
    "assets": Layer(
        name="assets", label=_("Assets"), kind="assets", filters=ASSET_FILTERS,
        style={"typeColours": TYPE_COLOURS, "categoryColours": CATEGORY_COLOURS, "cluster": "#9b1c1c",
               "detailMinZoom": DETAIL_MIN_ZOOM},
        legend=_asset_legend(),
    ),
}


def layer_get(name: str, *, staff: bool = True) -> Layer | None:
    """The layer of this name, if the caller is offered it (`staff`: layers.filters.projects_offered)."""
    layer = LAYERS.get(name)
    return layer if layer is not None and layer.offered(staff=staff) else None


def layers_offered(*, staff: bool) -> list[Layer]:
    return [layer for layer in LAYERS.values() if layer.offered(staff=staff)]


def registry_json(*, staff_filters: bool = True) -> dict:
    """Everything the map page needs to draw layers, legend and filter choices (for the public: without the
    filters only staff accounts have)."""
    return {
        "layers": [layer.as_json(staff_filters=staff_filters) for layer in layers_offered(staff=staff_filters)],
        "statuses": [{"value": v, "label": str(label)} for v, label in AssetStatus.choices],
        "categories": _asset_legend(),
        "detailMinZoom": DETAIL_MIN_ZOOM,
    }
