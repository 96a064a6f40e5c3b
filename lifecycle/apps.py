from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    """The asset's life after registration: rules, services, selectors and pages. No models of its own: its
    records are geo_assets' (geo_assets/models/lifecycle.py)."""

    name = "lifecycle"
    label = "lifecycle"
    verbose_name = _("asset lifecycle")
