"""Count every alert of the register per village and rule (reports.services.alert_tally_refresh): what the
prefecture's and province's pages read. Run by a timer (deploy/assets-alerts-tally.timer)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from reports.services import alert_tally_refresh


class Command(BaseCommand):
    help = "Count every alert of the register per village and rule, for the bureaus above the counties."

    def handle(self, *args, **options):
        self.stdout.write(f"正在统计告警 (counting the alerts of the register) … {timezone.localtime():%H:%M:%S}")
        run = alert_tally_refresh()
        self.stdout.write(f"已统计: {run.alerts:,} 条告警, {run.counts.count():,} 个（村, 规则）, 用时 {run.seconds:.1f} s")
