from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    """项目库 and 资金台账: the projects, their fund lines, the assets each formed, and the reconciliation (账账相符)."""

    name = "projects"
    label = "projects"
    verbose_name = _("projects and funds")
