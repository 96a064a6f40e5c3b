from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("field verification")

    def ready(self):
        from pillow_heif import register_heif_opener

        register_heif_opener()  # iPhones send HEIC photos

        from geo_assets.background import kind_register
        from verification import labels

        kind_register(name="label sheets", claim=labels.sheet_job_claim, run=_label_sheet_run)


def _label_sheet_run(sheet) -> str:
    from verification import labels

    sheet = labels.sheet_job_run(sheet=sheet)
    return f"{sheet.title}: {sheet.get_status_display()}"
