"""Reading a verification photo: type, size and pixel-count checks, EXIF (position, time), perceptual hash, thumbnail
and a public copy re-encoded from the pixels alone. JPEG, PNG and the iPhone's HEIC (pillow-heif)."""

import datetime
import hashlib
import io
from dataclasses import dataclass

import imagehash
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "HEIF": "image/heic"}
THUMBNAIL_PX = 320
PUBLIC_PX = 1600
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
DATETIME_ORIGINAL, OFFSET_ORIGINAL, DATETIME = 0x9003, 0x9011, 0x0132
# Pillow's own guard, a last resort behind photo_read's check of the header: it refuses at open() above twice this.
Image.MAX_IMAGE_PIXELS = 2 * settings.PHOTO_MAX_PIXELS


@dataclass
class PhotoData:
    original: bytes
    public: bytes
    thumbnail: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str
    phash: str
    lon: float | None
    lat: float | None
    taken_at: datetime.datetime | None


def photo_read(data: bytes, *, name: str = "") -> PhotoData:
    limit = settings.VERIFICATION_PHOTO_MAX_BYTES
    if len(data) > limit:
        raise ValidationError(_("The photo “%(name)s” is too large (%(size).1f MB); the limit is %(limit).0f MB.")
                              % {"name": name, "size": len(data) / 1024**2, "limit": limit / 1024**2})
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only: the pixels are decoded by load()
    except Image.DecompressionBombError as exc:  # Pillow's own check of the header: over twice the limit
        raise _too_many_pixels(name, exc)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _unreadable(name, exc)
    if image.format not in FORMATS:
        raise ValidationError(_("The photo “%(name)s” is in the %(format)s format, which is not supported: only JPEG, "
                                "PNG or HEIC photos are accepted.") % {"name": name, "format": image.format})
    pixels_check(image.width, image.height, name=name)
    try:
        image.load()
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise _unreadable(name, exc)
    exif = image.getexif()
    lon, lat = _gps(exif)
    upright = ImageOps.exif_transpose(image).convert("RGB")
    return PhotoData(
        original=data, public=_jpeg(upright, PUBLIC_PX), thumbnail=_jpeg(upright, THUMBNAIL_PX),
        content_type=FORMATS[image.format], extension={"JPEG": "jpg", "PNG": "png", "HEIF": "heic"}[image.format],
        width=upright.width, height=upright.height, sha256=hashlib.sha256(data).hexdigest(),
        phash=str(imagehash.phash(upright)), lon=lon, lat=lat, taken_at=_taken_at(exif),
    )


def pixels_check(width: int, height: int, *, name: str = "") -> None:
    """A decompression bomb (a few KB that decode to gigabytes) is refused from its header, before decoding."""
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise _too_many_pixels(name, size=_("%(width)d×%(height)d, about %(mp).0f megapixels") % {
            "width": width, "height": height, "mp": width * height / 1e6})


def _too_many_pixels(name: str, exc: Exception | None = None, *, size: str = "") -> ValidationError:
    limit = settings.PHOTO_MAX_PIXELS
    size = size or _("over %(mp).0f megapixels") % {"mp": 4 * limit / 1e6}
    error = ValidationError(
        _("The photo “%(name)s” has too many pixels (%(size)s); the limit is %(limit).0f megapixels: take it at the "
          "phone camera's normal resolution, or make it smaller before uploading.")
        % {"name": name, "size": size, "limit": limit / 1e6})
    error.__cause__ = exc
    return error


def _unreadable(name: str, exc: Exception) -> ValidationError:
    error = ValidationError(_("The photo “%(name)s” cannot be read: only JPEG, PNG or HEIC photos are accepted.")
                            % {"name": name})
    error.__cause__ = exc
    return error


def _jpeg(image: Image.Image, size: int) -> bytes:
    """A new JPEG from the pixels alone: no EXIF or GPS, no JPEG comment, XMP, ICC profile or maker notes, no PNG
    text chunks, no HEIC metadata (Pillow carries `info` — the comment among it — through copy() and save())."""
    copy = image.copy()
    copy.thumbnail((size, size))
    clean = Image.new("RGB", copy.size)
    clean.paste(copy)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85)
    return out.getvalue()


def _degrees(value, ref) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return -result if str(ref).upper() in ("S", "W") else result


def _gps(exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _degrees(gps[2], gps.get(1, "N")), _degrees(gps[4], gps.get(3, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lon, lat


def _taken_at(exif) -> datetime.datetime | None:
    details = exif.get_ifd(EXIF_IFD)
    text = details.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if not text:
        return None
    try:
        moment = datetime.datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = details.get(OFFSET_ORIGINAL)
    if offset:
        try:
            return datetime.datetime.strptime(f"{moment:%Y-%m-%d %H:%M:%S}{offset}", "%Y-%m-%d %H:%M:%S%z")
        except ValueError:
            pass
    # cameras write local time without a zone: the county's
    return timezone.make_aware(moment, timezone.get_default_timezone())
