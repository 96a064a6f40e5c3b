"""Pages: the inspector map, an asset page, a village report, and the offline basemap tiles."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AreaLevel
from layers.registry import registry_json
from layers.services import area_summary
from maps.basemaps import basemap_default, basemaps_available


@require_GET
def map_page(request):
    areas = AdminArea.objects.exclude(level=AreaLevel.COUNTY).select_related("parent").order_by("code")
    county = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    config = {
        "registry": registry_json(),
        "basemaps": basemaps_available(),
        "basemapDefault": basemap_default(),
        "townships": [{"code": a.code, "name": a.name} for a in areas if a.level == AreaLevel.TOWNSHIP],
        "villages": [{"code": a.code, "name": a.name, "township": a.parent.code if a.parent else None}
                     for a in areas if a.level == AreaLevel.VILLAGE],
        "countyBbox": list(county.geom.extent) if county else None,
    }
    return render(request, "maps/map.html", {"config": config})


@require_GET
def asset_page(request, code: str):
    asset = get_object_or_404(
        Asset.objects.visible_to(request.user).select_related("village", "township", "department"), code=code
    )
    history = asset.history.select_related("history_user").order_by("-history_date")[:50]
    return render(request, "maps/asset_detail.html", {
        "asset": asset,
        "funding": [f for f in asset.funding.all() if f.amount > 0],
        "owners": [o for o in asset.owners.all() if o.share > 0],
        "history": history,
        "show_authors": scope_for(request.user).sees_change_authors,
    })


@require_GET
def village_report(request, code: str):
    village = get_object_or_404(AdminArea.objects.select_related("parent"), code=code, level=AreaLevel.VILLAGE)
    assets = Asset.objects.visible_to(request.user).in_area(village).order_by("category", "asset_type", "code")
    return render(request, "maps/village_report.html", {
        "village": village, "summary": area_summary(user=request.user, area=village), "assets": assets[:1000],
    })


@require_GET
def basemap_tile(request, z: int, x: int, y: int):
    """Offline basemap tiles from OFFLINE_TILES_DIR/{z}/{x}/{y}.png; 404 when absent."""
    root = Path(settings.OFFLINE_TILES_DIR)
    path = root / str(z) / str(x) / f"{y}.png"
    if "offline" not in settings.BASEMAPS or not path.is_file():
        raise Http404
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response
