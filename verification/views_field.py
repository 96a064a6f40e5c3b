"""The verifier's phone page (/field/): an installable web app that works offline, over the verification API.
Views only translate: rules in services.py, queries in selectors.py."""

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel
from verification.models import Photo, Verification
from verification.selectors import COUNTED, assets_verifiable_by, may_verify
from verification.taxonomy import ACCURACY_LIMIT_M, Finding, Flag

# What the service worker keeps so that the page opens without a connection (besides the page itself).
SHELL_STATIC = ["verification/field.css", "verification/field.js", "leaflet/leaflet.css", "leaflet/leaflet.js",
                "vendor/jsqr/jsQR.js", "verification/icon-192.png", "verification/icon-512.png"]


def asset_cards(user, assets) -> list[dict]:
    """What the phone needs to find and verify assets: geometry, last verification and its latest thumbnail."""
    assets = list(assets.with_areas())
    ids = [a.pk for a in assets]
    counted = Verification.objects.filter(asset_id__in=ids, review__in=COUNTED)  # as last_verified_at
    counties = {a.county_id for a in assets}
    if None not in counties:  # the county bound: the verifications of the assets' counties
        counted = counted.filter(county__in=sorted(counties))
    latest = {v.asset_id: v for v in counted.order_by("asset_id", "-observed_at", "-id").distinct("asset_id")}
    thumbs = dict(Photo.objects.filter(verification__in=counted)
                  .order_by("verification__asset_id", "-verification__observed_at", "-id")
                  .distinct("verification__asset_id").values_list("verification__asset_id", "pk"))
    redactor = Redactor(scope_for(user))
    cards = []
    for a in assets:
        last = latest.get(a.pk)
        cards.append({
            "code": a.code, "name": redactor.asset_name(a), "type": a.asset_type,
            "type_label": a.get_asset_type_display(), "village": a.village.name if a.village else "",
            "village_code": a.village.code if a.village else "", "lon": a.location.x, "lat": a.location.y,
            "geometry": json.loads(a.geometry.geojson),
            "last_verified_at": timezone.localtime(a.last_verified_at).isoformat() if a.last_verified_at else None,
            "last_verification": {"observed_at": timezone.localtime(last.observed_at).isoformat(),
                                  "finding_label": last.get_finding_display()} if last else None,
            "thumbnail": reverse("verification:photo", args=[thumbs[a.pk], "thumb.jpg"]) if a.pk in thumbs else None,
        })
    return cards


def _shell(request, *, asset: dict | None = None, missing: str = "", status: int = 200):
    villages = (assets_verifiable_by(request.user).order_by()
                .values("village__code", "village__name", "township__name")
                .annotate(n=Count("id", distinct=True)).order_by("village__code"))
    config = {
        "user": request.user.get_username(),
        "home": reverse("verification:field"), "sw": reverse("verification:field-sw"),
        "api": reverse("verification:api-list"), "nearby": reverse("verification:api-nearby"),
        "areas": reverse("layers:area-list"), "package": reverse("verification:field-package", args=["CODE"]),
        "login": f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': request.path})}",
        "csrf_cookie": settings.CSRF_COOKIE_NAME, "csrf": get_token(request), "accuracy_limit_m": ACCURACY_LIMIT_M,
        "flags": {value: str(label) for value, label in Flag.choices}, "missing": missing,
        "time_zone": settings.TIME_ZONE,  # days are the county's, whatever the phone's clock or the UTC offset
        "villages": [{"code": v["village__code"], "name": v["village__name"], "township": v["township__name"],
                      "assets": v["n"]} for v in villages if v["village__code"]],
    }
    return render(request, "verification/field.html", {
        "config": config, "asset": asset, "findings": [(v, str(label)) for v, label in Finding.choices],
    }, status=status)


@login_required
@require_GET
def field_home(request):
    return _shell(request)


@login_required
@require_GET
def field_asset(request, code: str):
    asset = assets_verifiable_by(request.user).filter(code=code).first()
    if asset is None and Asset.objects.openable_by(request.user).filter(code=code).exists():
        return redirect("maps:asset", code=code)  # not the user's to verify: its page (the public version outside scope)
    if asset is None:
        return _shell(request, missing=code, status=404)
    return _shell(request, asset=asset_cards(request.user, Asset.objects.filter(pk=asset.pk).of(asset))[0])


@require_GET
def field_package(request, code: str):
    """A village's task package for working offline: the assets the user may verify there and the boundary."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Log in first.")}, status=403)
    village = get_object_or_404(AdminArea, code=code, level=AreaLevel.VILLAGE)
    cards = asset_cards(request.user, assets_verifiable_by(request.user).filter(village=village).order_by("code"))
    if not cards:
        return JsonResponse({"detail": _("You have no assets to verify in %(village)s.") % {"village": village.name}},
                            status=403)
    return JsonResponse({
        "village": {"code": village.code, "name": village.name, "geometry": json.loads(village.geom.geojson)},
        "generated_at": timezone.now().isoformat(), "assets": cards,
    }, json_dumps_params={"ensure_ascii": False})


@require_GET
def qr_landing(request, code: str):
    """Where an asset's QR label points: a verifier lands on the form, everyone else on the asset's page (its public
    card outside their scope). To whoever may not open it, an unpublished asset answers exactly as a missing code
    (the 404 page, which offers staff the login): the landing tells no one which codes exist."""
    asset = get_object_or_404(Asset.objects.openable_by(request.user), code=code)
    if request.user.is_authenticated and may_verify(request.user, asset):
        return redirect("verification:field-asset", code=asset.code)
    return redirect("maps:asset", code=asset.code)


@require_GET
def service_worker(request):
    """Served from /field/ so that its scope is the phone page."""
    shell = [static(path) for path in SHELL_STATIC]
    digest = hashlib.sha256()
    for path in SHELL_STATIC:
        found = finders.find(path)
        digest.update(Path(found).read_bytes() if found else path.encode())
    body = render_to_string("verification/field_sw.js", {
        "version": digest.hexdigest()[:12], "home": reverse("verification:field"),
        "manifest": reverse("verification:field-manifest"), "shell": json.dumps(shell),
        "catalogue": reverse("javascript-catalog"),
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request):
    home = reverse("verification:field")
    return JsonResponse({
        "name": _("Field verification of poverty-alleviation assets"), "short_name": _("Field verification"),
        "lang": "zh-CN" if get_language().startswith("zh") else get_language(), "start_url": home, "scope": home,
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#9b1c1c",
        "icons": [{"src": static(f"verification/icon-{s}.png"), "sizes": f"{s}x{s}", "type": "image/png",
                   "purpose": "any maskable"} for s in (192, 512)],
    }, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
