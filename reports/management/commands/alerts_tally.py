"""Count every alert of the register per village and rule (reports.services.alert_tally_refresh): what the
prefecture's and province's pages read. Run by a timer (deploy/systemd/assets-alerts-tally.timer)."""

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.services import alert_tally_refresh


class Command(BaseCommand):
    help = "Count every alert of the register per village and rule, for the bureaus above the counties."

    def handle(self, *args, **options):
        self.stdout.write(_("Counting the alerts of the register … (%(time)s)") % {
            "time": f"{timezone.localtime():%H:%M:%S}"})
        run = alert_tally_refresh()
        self.stdout.write(_("Counted: %(alerts)s alerts in %(rows)s (village, rule) pairs in %(seconds)s s") % {
            "alerts": f"{run.alerts:,}", "rows": f"{run.counts.count():,}", "seconds": f"{run.seconds:.1f}"})
