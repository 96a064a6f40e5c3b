"""Pages and files of field verification. Views only translate: rules in services.py, queries in selectors.py."""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from geo_assets.models import Asset
from verification.models import Photo
from verification.selectors import verifications_visible_to

PHOTO_VARIANTS = {"thumb.jpg": "thumbnail", "photo.jpg": "public", "original": "original"}


@require_GET
def photo_file(request, pk: int, variant: str):
    """Thumbnails and EXIF-free copies for whoever sees the asset (the public: published assets); the original,
    with its EXIF, is evidence for staff only."""
    field = PHOTO_VARIANTS.get(variant)
    photo = Photo.objects.select_related("verification").filter(pk=pk).first()
    if field is None or photo is None:
        raise Http404
    if field == "original":
        allowed = verifications_visible_to(request.user).filter(pk=photo.verification_id).exists()
    else:
        allowed = Asset.objects.visible_to(request.user).filter(pk=photo.verification.asset_id).exists()
    if not allowed:
        raise Http404
    handle = getattr(photo, field).open("rb")
    if field == "original":
        name = f"{photo.verification.asset_id}-{photo.pk}-original.{photo.original.name.rsplit('.', 1)[-1]}"
        response = FileResponse(handle, content_type=photo.content_type, as_attachment=True, filename=name)
    else:
        response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
