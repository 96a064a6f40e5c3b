"""`/api/v1/verifications/`: record (JSON or multipart with photos, idempotent on client_id) and list; nearby
assets for the phone. Views only translate: rules in services.py, queries in selectors.py."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_assets.access import scope_for
from geo_assets.dbrouting import NonAtomicReadMixin
from geo_assets.privacy import Redactor
from geo_assets.uploads import UploadRule
from geo_assets.validation import choice_value, yes_no
from verification import selectors, services
from verification.models import Campaign, Verification
from verification.taxonomy import Review

MAX_NEARBY = 50


class PhotoSerializer(serializers.Serializer):
    thumbnail = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_thumbnail(self, photo) -> str:
        return f"/field/photos/{photo.pk}/thumb.jpg"

    def get_url(self, photo) -> str:
        return f"/field/photos/{photo.pk}/photo.jpg"


class VerificationSerializer(serializers.ModelSerializer):
    asset_code = serializers.CharField(source="asset.code")
    finding_label = serializers.CharField(source="get_finding_display")
    review_label = serializers.CharField(source="get_review_display")
    verifier = serializers.CharField(source="verifier.get_username")
    lon = serializers.FloatField(source="position.x")
    lat = serializers.FloatField(source="position.y")
    photos = PhotoSerializer(many=True)

    class Meta:
        model = Verification
        fields = ("id", "client_id", "asset_code", "finding", "finding_label", "lon", "lat", "accuracy_m",
                  "observed_at", "received_at", "note", "distance_m", "flags", "review", "review_label",
                  "review_comment", "verifier", "campaign", "photos")


class RecordSerializer(serializers.Serializer):
    """What the phone sends (documents the API; the service checks every value)."""

    asset_code = serializers.CharField()
    finding = serializers.CharField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    accuracy_m = serializers.FloatField()
    observed_at = serializers.DateTimeField()
    client_id = serializers.UUIDField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)
    campaign = serializers.IntegerField(required=False)
    photos = serializers.ListField(child=serializers.FileField(), required=False)


def _filters_apply(qs, params):
    if params.get("asset"):
        qs = qs.filter(asset__code=params["asset"])
    if params.get("village"):
        qs = qs.filter(asset__village__code=params["village"])
    try:
        flagged = yes_no(params.get("flagged"), field="flagged")
        review = choice_value(params["review"], Review, field="review") if params.get("review") else None
    except ValidationError as exc:
        raise ApiValidationError(exc.message_dict)
    if flagged is not None:
        qs = qs.exclude(flags=[]) if flagged else qs.filter(flags=[])
    if review:
        qs = qs.filter(review=review)
    return qs


class VerificationListCreate(generics.ListAPIView):
    """Verifications of the assets the caller sees; POST records one on site (never anonymous)."""

    permission_classes = [IsAuthenticated]
    serializer_class = VerificationSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    # refused before the photos are read: who may verify nothing, and a body larger than six photos' worth
    upload_rule = UploadRule(
        allowed=lambda user: selectors.assets_verifiable_by(user).exists(),
        denied=gettext_lazy("Your account may not verify on site: it cannot upload verifications and photos."),
        file_bytes=lambda: settings.VERIFICATION_PHOTO_MAX_BYTES, files=services.MAX_PHOTOS, api=True)

    @extend_schema(parameters=[
        OpenApiParameter("asset", OpenApiTypes.STR), OpenApiParameter("village", OpenApiTypes.STR),
        OpenApiParameter("flagged", OpenApiTypes.STR, enum=["yes", "no"]),
        OpenApiParameter("review", OpenApiTypes.STR, enum=Review.values)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = selectors.verifications_visible_to(self.request.user).select_related("asset", "verifier")
        return _filters_apply(qs.prefetch_related("photos"), self.request.query_params).order_by("-observed_at", "id")

    @extend_schema(request={"application/json": RecordSerializer, "multipart/form-data": RecordSerializer},
                   responses={201: VerificationSerializer, 200: VerificationSerializer})
    def post(self, request):
        data = request.data
        campaign = None
        if data.get("campaign"):
            campaign = Campaign.objects.filter(pk=str(data["campaign"])[:12] if str(data["campaign"]).isdigit()
                                               else None).first()
            if campaign is None:
                raise ApiValidationError({"campaign": _("There is no such verification campaign.")})
        photos = [(f.name, f.read()) for f in request.FILES.getlist("photos")] if request.FILES else []
        try:
            result = services.verification_record(
                actor=request.user, asset_code=str(data.get("asset_code", ""))[:40], finding=data.get("finding", ""),
                lon=data.get("lon"), lat=data.get("lat"), accuracy_m=data.get("accuracy_m"),
                observed_at=data.get("observed_at"), client_id=data.get("client_id"), note=str(data.get("note", "")),
                photos=photos, campaign=campaign)
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc))
        except ValidationError as exc:
            raise ApiValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
        body = VerificationSerializer(result.verification, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class NearbyView(NonAtomicReadMixin, APIView):
    """Active assets the caller may see, nearest first, with distance (m) and direction (° from north); each
    says whether the caller may verify it (`may_verify`) and whether an open campaign assigns it to them
    (`assigned`)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("lon", OpenApiTypes.NUMBER, required=True),
                               OpenApiParameter("lat", OpenApiTypes.NUMBER, required=True),
                               OpenApiParameter("limit", OpenApiTypes.INT)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        try:
            lon, lat = float(request.query_params["lon"]), float(request.query_params["lat"])
            limit = min(MAX_NEARBY, max(1, int(request.query_params.get("limit", 20))))
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError
        except (KeyError, ValueError, OverflowError):
            raise ApiValidationError({"lon": _("lon and lat (degrees) are required, limit (1–50) is optional.")})
        redactor = Redactor(scope_for(request.user))
        rows = selectors.assets_nearby(user=request.user, lon=lon, lat=lat, limit=limit)
        return Response({"results": [{
            "code": a.code, "name": redactor.asset_name(a), "type": a.asset_type, "type_label": a.get_asset_type_display(),
            "village": a.village.name if a.village else None, "distance_m": round(metres, 1),
            "bearing_deg": round(bearing % 360, 1), "lon": a.location.x, "lat": a.location.y,
            "last_verified_at": a.last_verified_at, "may_verify": a.may_verify, "assigned": a.assigned,
        } for a, metres, bearing in rows]})
