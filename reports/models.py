"""What reports keep: the alert tally of the whole register, counted ahead for the bureaus above the counties."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertTallyRun(models.Model):
    """One count of every alert of the register per village and rule (`reports.services.alert_tally_refresh`); the latest
    finished run is what the prefecture's and province's pages show, with its time."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    seconds = models.FloatField(_("seconds"))
    alerts = models.PositiveBigIntegerField(_("alerts"))

    class Meta:
        verbose_name = _("alert tally")
        verbose_name_plural = _("alert tallies")
        indexes = [models.Index(fields=["-finished_at"], name="alerttallyrun_finished_idx")]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M}"


class AlertTally(models.Model):
    run = models.ForeignKey(AlertTallyRun, on_delete=models.CASCADE, related_name="counts")
    village = models.ForeignKey("geo_assets.AdminArea", on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=40)
    level = models.CharField(max_length=10)
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "village", "rule"], name="alerttally_run_village_rule")]

    def __str__(self) -> str:
        return f"{self.village_id} {self.rule}: {self.n}"
