"""Writes of the reports app: the alert tally (reports/selectors.py alert_counts reads it)."""

import time

from django.db import transaction
from django.utils import timezone

from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AssetStatus
from reports.alerts import alerts_count
from reports.models import AlertTally, AlertTallyRun


def alert_tally_refresh() -> AlertTallyRun:
    """Count every alert of the register per (village, rule) in one statement and keep it as the latest run; the
    runs before it go (a tally is derived, not a record)."""
    started, clock = timezone.now(), time.monotonic()
    counted = alerts_count(assets=Asset.objects.exclude(status=AssetStatus.DISPOSED),
                           villages=AdminArea.objects.villages())
    rows = [(village, rule, level, n) for (village, rule, level), n in counted.items() if village is not None]
    with transaction.atomic():
        run = AlertTallyRun.objects.create(started_at=started, finished_at=timezone.now(),
                                           seconds=round(time.monotonic() - clock, 3),
                                           alerts=sum(n for *_k, n in rows))
        AlertTally.objects.bulk_create([AlertTally(run=run, village_id=v, rule=r, level=lv, n=n)
                                        for v, r, lv, n in rows], batch_size=5000)
        AlertTallyRun.objects.exclude(pk=run.pk).delete()
    return run
