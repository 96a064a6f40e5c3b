"""Pages: the inspector map, an asset page, a village report, and the offline basemap tiles."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.db.models import Extent
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

from geo_assets.access import PUBLIC_SCOPE, scope_for, viewer_of
from geo_assets.guards import throttled
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel, Role
from layers.filters import projects_offered
from layers.registry import ASSET_FILTERS, DETAIL_MIN_ZOOM, STAFF_FILTERS, VIEW_CLUSTERS_MAX_TILES, registry_json
from layers.services import area_summary
from lifecycle.selectors import asset_timeline
from maps.basemaps import basemap_default, basemaps_available, offline_tile
from maps.selectors import first_view_clusters
from projects.selectors import asset_project_section
from verification.selectors import asset_verification_context, village_verification_summary

# At a detail zoom, a view holding more assets than this is drawn as its clusters (one document), not as thousands of
# overlapping symbols from the detail tiles (issue 22: 16,000 assets in one z12 view of two dense villages).
DENSE_VIEW_ASSETS = 5000
# ... up to this zoom: closer, the detail tiles always (they cluster a tile too dense themselves), so that no cell of
# the z11 clusters, however full, hides its assets at every zoom
DENSE_VIEW_MAX_ZOOM = DETAIL_MIN_ZOOM + 1


@require_GET
@throttled
def map_page(request):
    # Names and codes only: a province's boundaries (millions of vertices) are not loaded to list them.
    scope = scope_for(request.user)
    areas = (_areas_offered(scope).order_by("code").values_list("code", "name", "level", "parent__code"))
    # Township and village clerks open the map on their own area; everyone else on all the counties.
    home = (AdminArea.objects.filter(pk=scope.area_id).aggregate(box=Extent("geom"))["box"]
            if scope.role in (Role.TOWNSHIP, Role.VILLAGE) else None)
    counties = AdminArea.objects.filter(level=AreaLevel.COUNTY)
    if scope.counties is not None:  # a county's staff open on their county, a bureau above on its counties
        counties = counties.filter(code__in=scope.counties)
    county = counties.aggregate(box=Extent("geom"))["box"]
    projects = projects_offered(request.user)  # the public has no project filter and sees no project data
    config = {
        "registry": _registry_offered(scope, staff_filters=projects),
        "projects": projects,
        "basemaps": basemaps_available(),
        "basemapDefault": basemap_default(),
        "townships": _townships_named(areas),
        "villages": [{"code": code, "name": name, "township": parent}
                     for code, name, level, parent in areas if level == AreaLevel.VILLAGE],
        "countyBbox": list(county) if county else None,
        "homeBbox": list(home) if home else None,
        "denseView": DENSE_VIEW_ASSETS,
        "denseMaxZoom": DENSE_VIEW_MAX_ZOOM,
        "exportMax": settings.EXPORT_MAX_ASSETS,  # the export's own limit (importers.export), shown before a click
    }
    # The clusters of the view the page opens on without a permalink (home, no filters), as the API gives them to
    # this user: map.js draws them with no request (issue 22); a permalink's view asks as before.
    first = first_view_clusters(user=request.user, box=home or county, dense_max_zoom=DENSE_VIEW_MAX_ZOOM)
    # map.js adds its own scale bar (narrower on phones)
    return render(request, "maps/map.html", {"config": config, "leaflet_settings": {"SCALE": None},
                                             "project_filter": projects, "early_clusters": early_clusters(bool(projects)),
                                             "first_clusters": first, "js_catalogue": js_catalogue(request),
                                             "export_max": f"{settings.EXPORT_MAX_ASSETS:,}"})


_catalogues: dict[str, str] = {}


def js_catalogue(request) -> str:
    """The JavaScript catalogue (what /jsi18n/ sends) for the page's language, written into the page: one request
    fewer before the map's script can run (issue 22). Built once per language and process."""
    language = get_language()
    if language not in _catalogues:
        view = JavaScriptCatalog()
        view.setup(request)
        text = view.get(request).content.decode()
        _catalogues[language] = text.replace("</", "<\\/")  # nothing in it may close the inline script
    return mark_safe(_catalogues[language])  # noqa: S308 - Django's own catalogue, "</" escaped


def early_clusters(staff: bool) -> dict:
    """What the page's head needs to ask for the first view's clusters: the filters map.js puts in the URL (its
    FILTER_KEYS: the project only for staff), the first detail zoom, the last at which a view may be too dense for
    the detail tiles and the most tiles a request may cover."""
    return {"filters": [k for k in ASSET_FILTERS if staff or k not in STAFF_FILTERS], "detailMinZoom": DETAIL_MIN_ZOOM,
            "denseMaxZoom": DENSE_VIEW_MAX_ZOOM, "maxTiles": VIEW_CLUSTERS_MAX_TILES}


def _townships_named(areas) -> list[dict]:
    """The filter's townships; where they lie in several counties, each named with its county (two counties each
    have a 城关镇)."""
    townships = [(code, name) for code, name, level, _p in areas if level == AreaLevel.TOWNSHIP]
    counties = {}
    if len({code[:6] for code, _name in townships}) > 1:
        counties = dict(AdminArea.objects.filter(level=AreaLevel.COUNTY).values_list("code", "name"))
    return [{"code": code, "name": _("%(township)s (%(county)s)") % {
        "township": name, "county": counties[code[:6] + "000000"]} if code[:6] + "000000" in counties else name}
        for code, name in townships]


def _areas_offered(scope):
    """The townships and villages the filter panel offers: a township clerk's own township and its villages, a
    village clerk's own village (and its township), everyone else all of them."""
    areas = AdminArea.objects.filter(level__in=(AreaLevel.TOWNSHIP, AreaLevel.VILLAGE))
    within = scope.areas_q()
    if within is not None:
        areas = areas.filter(within)
    if scope.role == Role.TOWNSHIP:
        return areas.filter(Q(pk=scope.area_id) | Q(parent_id=scope.area_id))
    if scope.role == Role.VILLAGE:
        return areas.filter(Q(pk=scope.area_id) | Q(children__pk=scope.area_id))
    return areas


def _registry_offered(scope, *, staff_filters: bool) -> dict:
    """The map registry with only the asset types the scope can see (a line department: its own types)."""
    registry = registry_json(staff_filters=staff_filters)
    if scope.role == Role.DEPARTMENT:
        allowed = set(scope.asset_types)
        registry["categories"] = [{**c, "types": [t for t in c["types"] if t["type"] in allowed]}
                                  for c in registry["categories"]]
        registry["categories"] = [c for c in registry["categories"] if c["types"]]
    return registry


@require_GET
@throttled
def asset_page(request, code: str):
    asset = get_object_or_404(
        Asset.objects.openable_by(request.user).with_areas("department"), code=code
    )
    viewer = viewer_of(request.user, asset)  # outside the user's scope: the public version
    scope = scope_for(viewer)
    redactor = Redactor(scope)
    history = asset.history.select_related("history_user").order_by("-history_date")[:50]
    return render(request, "maps/asset_detail.html", {
        "asset": asset,
        "name": redactor.asset_name(asset),
        "custodian_person": redactor.person(asset.custodian_person),
        "custodian_phone": redactor.phone(asset.custodian_phone),
        "note": redactor.text(asset.note),
        "funding": [f for f in asset.funding.all() if f.amount > 0],
        "owners": [{"name": redactor.owner_name(o.owner_name, o.owner_kind), "kind": o.get_owner_kind_display(),
                    "share": o.share} for o in asset.owners.all() if o.share > 0],
        "history": history,
        "show_authors": scope.sees_change_authors,
        "reads_only": not scope.edits_anything,  # an oversight bureau, an inspector: the steps' records, no steps
        "verification": asset_verification_context(asset, viewer),
        "timeline": asset_timeline(asset, viewer),
        "public_version": viewer is not request.user,
        "projects": asset_project_section(asset, user=viewer),  # staff in scope: its projects, link suggestions
    })


@require_GET
@throttled
def village_page(request, code: str):
    village = get_object_or_404(AdminArea.objects.with_parent().with_box(), code=code, level=AreaLevel.VILLAGE)
    # each asset as its viewer may see it: in full in the user's scope, the published rest in its public version
    assets = list(Asset.objects.openable_by(request.user).in_area(village).order_by("category", "asset_type",
                                                                                    "code")[:1000])
    redactors = {True: Redactor(scope_for(request.user)), False: Redactor(PUBLIC_SCOPE)}
    for asset in assets:
        asset.display_name = redactors[bool(asset.in_scope)].asset_name(asset)
    # the figures: the user's, if the village is theirs to work on; else the public's
    viewer = request.user if AdminArea.objects.villages_worked_on_by(request.user).filter(pk=village.pk).exists() else AnonymousUser()
    return render(request, "maps/village.html", {
        "village": village, "summary": area_summary(user=viewer, area=village), "assets": assets,
        "verification": village_verification_summary(village, viewer),
        "public_version": request.user.is_authenticated and viewer is not request.user,
    })


@require_GET
def basemap_tile(request, z: int, x: int, y: int):
    """Offline basemap tiles from OFFLINE_TILES_DIR/{z}/{x}/{y}.png or the OFFLINE_MBTILES file; 404 when absent."""
    tile = offline_tile(z, x, y) if "offline" in settings.BASEMAPS else None
    if tile is None:
        raise Http404
    data, content_type = tile
    if isinstance(data, bytes):
        response = HttpResponse(data, content_type=content_type)
    else:
        response = FileResponse(data.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response
