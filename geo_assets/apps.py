from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoAssetsConfig(AppConfig):
    name = "geo_assets"
    verbose_name = _("Asset register")
