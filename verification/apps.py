from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("field verification")

    def ready(self):
        from pillow_heif import register_heif_opener

        register_heif_opener()  # iPhones send HEIC photos
