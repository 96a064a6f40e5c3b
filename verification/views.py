"""Pages and files of field verification. Views only translate: rules in services.py, queries in selectors.py."""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from verification.selectors import photos_served_to

PHOTO_VARIANTS = {"thumb.jpg": "thumbnail", "photo.jpg": "public", "original": "original"}


@require_GET
def photo_file(request, pk: int, variant: str):
    """Thumbnails and EXIF-free copies of what the user may see of verifications (selectors.photos_served_to: the
    public only those that count, of published assets); the original, with its EXIF, for staff in scope. Anything
    else is the same 404 as a missing id."""
    field = PHOTO_VARIANTS.get(variant)
    if field is None:
        raise Http404
    photo = (photos_served_to(request.user, original=field == "original").select_related("verification")
             .filter(pk=pk).first())
    if photo is None:
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
