"""Maps drawn on the server as SVG from the stored geometry: no tiles, no internet, the same drawing in the page and
the PDF. PostGIS moves the Web-Mercator copies (`geom_web`) into pixel space (ST_TransScale) and writes the path
data (ST_AsSVG); Python adds the styles, a scale bar in metres and a north arrow."""

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.dbrouting import read_cursor
from geo_assets.models import Asset
from layers.registry import TYPE_COLOURS
from reports.figures import area_prefix

WIDTH, HEIGHT = 720, 500
FONT = "Noto Sans CJK SC, sans-serif"
NICE_LENGTHS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
# Choropleth classes, light to dark (ColorBrewer YlGnBu); "no data" grey.
CLASS_COLOURS = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
NO_DATA = "#eeeeee"


@dataclass(frozen=True)
class Frame:
    """A Web-Mercator window fitted to WIDTH × HEIGHT pixels."""

    xmin: float
    ymax: float
    scale: float  # pixels per Mercator metre
    width: int = WIDTH
    height: int = HEIGHT

    @classmethod
    def around(cls, extent, pad: float = 0.08, width: int = WIDTH, height: int = HEIGHT) -> "Frame":
        x0, y0, x1, y1 = extent
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        scale = min(width / (w * (1 + 2 * pad)), height / (h * (1 + 2 * pad)))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return cls(cx - width / 2 / scale, cy + height / 2 / scale, scale, width, height)

    @property
    def envelope(self) -> tuple:
        return (self.xmin, self.ymax - self.height / self.scale, self.xmin + self.width / self.scale, self.ymax)

    def ground_metres_per_pixel(self) -> float:
        """Mercator stretches by 1/cos(latitude): the scale bar measures the ground at the map's centre."""
        y = self.ymax - self.height / 2 / self.scale
        latitude = math.degrees(2 * math.atan(math.exp(y / 6378137)) - math.pi / 2)
        return math.cos(math.radians(latitude)) / self.scale

    def sql(self, column: str, simplify: bool = True) -> str:
        """SQL that moves a 3857 geometry column into this frame's pixels (ST_AsSVG then flips y)."""
        geom = f"ST_SimplifyPreserveTopology({column}, {0.6 / self.scale!r})" if simplify else column
        return f"ST_TransScale({geom}, {-self.xmin!r}, {-self.ymax!r}, {self.scale!r}, {self.scale!r})"


def _rows(sql: str, params=()) -> list[tuple]:
    with read_cursor(Asset) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _areas(frame: Frame, where: str, params=()) -> list[tuple]:
    """(id, code, name, path, label x, label y) of the areas in the frame matching `where`."""
    env = "ST_MakeEnvelope(%s, %s, %s, %s, 3857)"
    sql = f"""
        SELECT id, code, name, ST_AsSVG({frame.sql('geom_web')}, 0, 1),
               ST_X(l.p), -ST_Y(l.p)
        FROM geo_assets_adminarea,
             LATERAL (SELECT {frame.sql(f'ST_PointOnSurface(ST_Intersection(geom_web, {env}))', False)} AS p) l
        WHERE geom_web && {env} AND {where} ORDER BY code"""  # noqa: S608 - numbers we computed; values are parameters
    return _rows(sql, (*frame.envelope, *frame.envelope, *params))


def _assets(frame: Frame, assets) -> list[tuple]:
    """(asset type, geometry type, path or None, x, y, public-safe title) of the given assets' geometry."""
    from django.core.exceptions import EmptyResultSet

    try:
        base, params = assets.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        return []
    sql = f"""
        SELECT asset_type, GeometryType(geom_web),
               CASE WHEN point IS NULL THEN ST_AsSVG({frame.sql('geom_web', False)}, 0, 1) END,
               ST_X({frame.sql('ST_PointOnSurface(geom_web)', False)}),
               -ST_Y({frame.sql('ST_PointOnSurface(geom_web)', False)}), code
        FROM geo_assets_asset WHERE id IN ({base})
        ORDER BY GeometryType(geom_web) DESC, code"""  # noqa: S608 - Django-compiled SQL, values are parameters
    return _rows(sql, params)


def _text(x: float, y: float, label: str, size: int = 12, anchor: str = "middle", weight: str = "normal") -> str:
    half = size * len(label) / 2 + 2  # keep labels of areas cut by the frame inside it
    x, y = min(max(x, half), WIDTH - half), min(max(y, size + 2), HEIGHT - 4)
    common = f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}"'
    return (f'<text {common} fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round">{escape(label)}</text>'
            f'<text {common} fill="#222">{escape(label)}</text>')


def _scale_bar(frame: Frame) -> str:
    mpp = frame.ground_metres_per_pixel()
    length = max([n for n in NICE_LENGTHS if n / mpp <= frame.width * 0.25] or [NICE_LENGTHS[0]])
    px = length / mpp
    x, y = 16, frame.height - 18
    label = _("%(n)s km") % {"n": length // 1000} if length >= 1000 else _("%(n)s m") % {"n": length}
    return (f'<g class="scale-bar"><rect x="{x - 6}" y="{y - 22}" width="{px + 12:.1f}" height="32" fill="#fff" '
            f'fill-opacity="0.8"/>'
            f'<path d="M{x} {y - 6} V{y} H{x + px:.1f} V{y - 6}" fill="none" stroke="#222" stroke-width="2"/>'
            f'<path d="M{x} {y} H{x + px / 2:.1f}" stroke="#222" stroke-width="5"/>'
            f'<text x="{x + px / 2:.1f}" y="{y - 9}" font-size="11" text-anchor="middle">{label}</text>'
            f'<text x="{x}" y="{y + 9}" font-size="9">0</text></g>')


def _north_arrow(frame: Frame) -> str:
    x, y = frame.width - 30, 20
    return (f'<g class="north-arrow"><circle cx="{x}" cy="{y + 20}" r="20" fill="#fff" fill-opacity="0.8"/>'
            f'<path d="M{x} {y + 2} L{x + 9} {y + 34} L{x} {y + 27} Z" fill="#222"/>'
            f'<path d="M{x} {y + 2} L{x - 9} {y + 34} L{x} {y + 27} Z" fill="#fff" stroke="#222"/>'
            f'<text x="{x}" y="{y + 52}" font-size="12" text-anchor="middle" font-weight="bold">'
            f'{escape(pgettext("north arrow", "N"))}</text></g>')


def _svg(frame: Frame, body: list[str], title: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every text is escaped above, the rest are numbers
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-map" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}"><title>{escape(title)}</title>'
        f'<rect width="{frame.width}" height="{frame.height}" fill="#f7f7f2"/>'
        + "".join(body) + _scale_bar(frame) + _north_arrow(frame)
        + f'<rect width="{frame.width}" height="{frame.height}" fill="none" stroke="#999"/></svg>')


def village_map(village, assets, title: str = "") -> SafeString:
    """The village, its neighbours' boundaries and names, and the given assets drawn by type."""
    frame = Frame.around(village.geom_web.extent)
    body = []
    areas = _areas(frame, "level = 'village'")
    labels = []
    for pk, _code, name, path, lx, ly in areas:
        own = pk == village.pk
        body.append(f'<path d="{path}" fill="{"#fff" if own else "#ecebe4"}" stroke="{"#9b1c1c" if own else "#999"}" '
                    f'stroke-width="{2.5 if own else 1}" stroke-linejoin="round"/>')
        if lx is not None and not own:
            labels.append(_text(lx, ly, name, 11))
    for asset_type, geometry, path, x, y, code in _assets(frame, assets):
        colour = TYPE_COLOURS.get(asset_type, "#555")
        tip = f"<title>{escape(code)}</title>"
        if path and "LINE" in geometry:
            body.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5">{tip}</path>')
        elif path and "POLYGON" in geometry:
            body.append(f'<path d="{path}" fill="{colour}" fill-opacity="0.55" stroke="{colour}">{tip}</path>')
        else:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" stroke="#fff" '
                        f'stroke-width="1.2">{tip}</circle>')
    body += labels
    own = next((a for a in areas if a[0] == village.pk), None)
    if own and own[4] is not None:
        body.append(_text(own[4], own[5], village.name, 15, weight="bold"))
    return _svg(frame, body, title or _("Map of the assets of %(name)s") % {"name": village.name})


def class_breaks(values: list[float], classes: int = len(CLASS_COLOURS)) -> list[float]:
    """Upper bounds of quantile classes of the positive values (the last is the maximum)."""
    ordered = sorted(v for v in values if v is not None and v > 0)
    if not ordered:
        return []
    breaks = [ordered[min(len(ordered) - 1, math.ceil(len(ordered) * (i + 1) / classes) - 1)] for i in range(classes)]
    return sorted(set(breaks))


def class_colour(value, breaks: list[float]) -> str:
    if value is None or not breaks or value <= 0:
        return NO_DATA
    index = next((i for i, b in enumerate(breaks) if value <= b), len(breaks) - 1)
    return CLASS_COLOURS[round(index * (len(CLASS_COLOURS) - 1) / max(len(breaks) - 1, 1))]


def choropleth(area, values: dict[str, float], title: str, *, outline_level: str | None = None) -> SafeString:
    """The villages inside `area` coloured by `values` (code → value, quantile classes); with `outline_level`
    ('township') those boundaries drawn on top with their names."""
    frame = Frame.around(area.geom_web.extent, pad=0.04)
    breaks = class_breaks(list(values.values()))
    body, labels = [], []
    below = f"{area_prefix(area)}%"  # the area's own villages and townships, not its neighbours (another county's)
    inside = ("level = 'village' AND parent_id = %s", (area.pk,)) if area.level == "township" else (
        "level = 'village' AND code LIKE %s", (below,))
    for _pk, code, name, path, lx, ly in _areas(frame, *inside):
        colour = class_colour(values.get(code), breaks)
        body.append(f'<path d="{path}" fill="{colour}" stroke="#fff" stroke-width="0.8"><title>{escape(name)}'
                    f'</title></path>')
        if outline_level is None and lx is not None:
            labels.append(_text(lx, ly, name, 10))
    if outline_level:
        for _pk, _code, name, path, lx, ly in _areas(frame, "level = %s AND code LIKE %s", (outline_level, below)):
            body.append(f'<path d="{path}" fill="none" stroke="#7a0019" stroke-width="1.6"/>')
            if lx is not None:
                labels.append(_text(lx, ly, name, 12, weight="bold"))
    own = _areas(frame, "id = %s", (area.pk,))
    body += [f'<path d="{a[3]}" fill="none" stroke="#333" stroke-width="2"/>' for a in own] + labels
    return _svg(frame, body, title)


def assets_map(area, assets, title: str) -> SafeString:
    """An area with its township outlines and the given assets as dots coloured by type (department views)."""
    frame = Frame.around(area.geom_web.extent, pad=0.04)
    body = [f'<path d="{a[3]}" fill="#fff" stroke="#999" stroke-width="0.8"/>'
            for a in _areas(frame, "level = 'township'")]
    for asset_type, _geometry, _path, x, y, code in _assets(frame, assets):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{TYPE_COLOURS.get(asset_type, "#555")}">'
                    f'<title>{escape(code)}</title></circle>')
    body += [_text(a[4], a[5], a[2], 11) for a in _areas(frame, "level = 'township'") if a[4] is not None]
    return _svg(frame, body, title)


def legend_classes(values: dict[str, float], fmt=lambda v: f"{v:,.0f}") -> list[dict]:
    """The choropleth's classes for an HTML legend: colour and range (`empty`: the class of areas without data)."""
    breaks = class_breaks(list(values.values()))
    rows, low = [], 0.0
    for b in breaks:
        rows.append({"colour": class_colour(b, breaks), "label": f"{fmt(low)} – {fmt(b)}", "empty": False})
        low = b
    return rows + [{"colour": NO_DATA, "label": _("None"), "empty": True}]


# The work-progress classes (as the dashboard's map, reports/static/reports/reports.js progressColour): lower bound
# of the class in percent, colour; "no rate" grey.
PROGRESS_CLASSES = [(100, "#1a9850"), (75, "#91cf60"), (50, "#fee08b"), (25, "#fc8d59"), (0, "#d73027")]
NO_RATE = "#dddddd"


def progress_colour(value: float | None) -> str:
    if value is None:
        return NO_RATE
    return next(colour for low, colour in PROGRESS_CLASSES if value >= low or low == 0)


def progress_legend() -> list[dict]:
    """The progress classes for a legend, lowest first, and "no rate"."""
    rows = []
    for (low, colour), (high, _upper) in zip(PROGRESS_CLASSES[1:], PROGRESS_CLASSES[:-1], strict=True):
        rows.append({"colour": colour, "label": f"{low}–{high - 1}%"})
    rows.reverse()
    return [*rows, {"colour": PROGRESS_CLASSES[0][1], "label": "100%"}, {"colour": NO_RATE, "label": _("No rate")}]


def counties_map(area, values: dict[str, float | None], title: str) -> SafeString:
    """The counties below a prefecture or province (`area`), each coloured by its rate in `values` (county code →
    percent, PROGRESS_CLASSES) and labelled with its name and rate; the area's own boundary on top."""
    prefix = area.code[:4] if area.level == "prefecture" else area.code[:2]
    where = ("level = 'county' AND code LIKE %s", (prefix + "%",))
    extent = _rows("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom_web) e "
                   "FROM geo_assets_adminarea WHERE id = %s OR (level = 'county' AND code LIKE %s)) x",
                   (area.pk, prefix + "%"))[0]
    if extent[0] is None:
        return mark_safe("")  # noqa: S308 - empty
    frame = Frame.around(extent, pad=0.04)
    body, labels = [], []
    counties = _areas(frame, *where)
    small = len(counties) > 12  # a province: names only, smaller
    for _pk, code, name, path, lx, ly in counties:
        value = values.get(code)
        rate = "—" if value is None else f"{value:g}%"
        body.append(f'<path class="county" data-code="{escape(code)}" d="{path}" fill="{progress_colour(value)}" '
                    f'stroke="#fff" stroke-width="1.5" stroke-linejoin="round"><title>{escape(name)} {rate}</title>'
                    f'</path>')
        if lx is not None:
            labels.append(_text(lx, ly - (0 if small else 9), name, 10 if small else 18, weight="bold"))
            if not small:
                labels.append(_text(lx, ly + 12, rate, 15))
    body += [f'<path d="{a[3]}" fill="none" stroke="#333" stroke-width="2"/>'
             for a in _areas(frame, "id = %s", (area.pk,))] + labels
    return _svg(frame, body, title)
