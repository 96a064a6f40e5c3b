"""Field verification's vocabularies and thresholds (work plan: 清产核资 "账实相符", 年度清查, 抽查)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from geo_assets.taxonomy import AssetType


class Finding(models.TextChoices):
    INTACT = "intact", _("exists, in good order")
    DAMAGED = "damaged", _("exists, damaged")
    IDLE = "idle", _("idle")
    REPURPOSED = "repurposed", _("used for another purpose")
    NOT_FOUND = "not_found", _("not found")
    DEMOLISHED = "demolished", _("demolished")


# What the phone, the API and a spreadsheet may also write for a finding (the work plan's and the field's wording;
# the Chinese label itself is always accepted: geo_assets.validation.choice_value).
FINDING_ALIASES: dict[str, tuple[str, ...]] = {
    "intact": ("完好", "正常", "存在", "存在且完好", "账实相符"),  # i18n: data
    "damaged": ("损坏", "损毁", "毁损", "存在损毁", "存在但损坏"),  # i18n: data
    "idle": ("闲置", "存在闲置", "未使用"),  # i18n: data
    "repurposed": ("改变用途", "挪作他用", "改作他用", "挪用"),  # i18n: data
    "not_found": ("未找到", "找不到", "不存在", "账实不符"),  # i18n: data
    "demolished": ("已拆除", "拆除", "已灭失", "灭失"),  # i18n: data
}

PROBLEM_FINDINGS = frozenset({Finding.NOT_FOUND, Finding.DEMOLISHED})


class Flag(models.TextChoices):
    TOO_FAR = "too_far", _("position too far from the asset")
    INACCURATE = "inaccurate", _("GPS fix too inaccurate")
    PHOTO_MISSING = "photo_missing", _("required photo missing")
    EXIF_POSITION = "exif_position", _("photo taken elsewhere (EXIF position)")
    EXIF_TIME = "exif_time", _("photo taken at another time (EXIF time)")
    DUPLICATE_PHOTO = "duplicate_photo", _("same photo as another asset's")
    FUTURE_TIME = "future_time", _("observation time in the future")  # refused since issue 21; older records
    LATE = "late", _("observed long before it was received")


class Review(models.TextChoices):
    ACCEPTED = "accepted", _("accepted (no flags)")
    PENDING = "pending", _("waiting for review")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class CampaignKind(models.TextChoices):
    ANNUAL = "annual", _("annual inventory")
    SPOT_CHECK = "spot_check", _("spot check")


# How far (metres, on the geography) a verifier may stand from the asset's geometry: the nearest point of a line,
# the edge of a polygon (0 inside). Large or linear works get more room; equity and debt have no site to stand at.
DISTANCE_LIMIT_M: dict[str, float] = {t: 100.0 for t in AssetType.values} | {
    AssetType.ROAD: 60.0, AssetType.IRRIGATION: 60.0, AssetType.POWER: 80.0,
    AssetType.PV_STATION: 150.0, AssetType.PLANTATION: 150.0, AssetType.GREENHOUSE: 100.0,
    AssetType.LIVESTOCK: 300.0,  # animals move about the household's land
}
NO_SITE_TYPES = frozenset({AssetType.EQUITY, AssetType.DEBT})
ACCURACY_LIMIT_M = 50.0
EXIF_DISTANCE_LIMIT_M = 200.0
EXIF_TIME_LIMIT_HOURS = 24
DUPLICATE_HAMMING = 6  # perceptual-hash bits that may differ between two copies of one photo
