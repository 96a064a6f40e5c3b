"""Reads of the reports app. The alert tally: every alert of the register counted per village and rule ahead of time, for the bureaus above
the counties. A province's dashboard counted live would run the alert rules over every asset it oversees on every
view (1.25 M assets: ~30 s); from the tally it reads 560 villages' counts, as of the tally's time, which the page
shows. Counties, townships, villages and departments always count live (their scope is smaller, and they act on
what they see)."""

import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from geo_assets.access import Scope
from geo_assets.models import AdminArea, Asset
from reports.alerts import alerts_count
from reports.models import AlertTally, AlertTallyRun
from reports.services import alert_tally_refresh

Counts = dict[tuple[int, str, str], int]


def alert_tally_latest() -> AlertTallyRun | None:
    return AlertTallyRun.objects.order_by("-finished_at").first()


def alert_counts(*, viewer: Scope, assets: QuerySet[Asset], villages: QuerySet[AdminArea]
                 ) -> tuple[Counts, datetime.datetime | None]:
    """Alerts per (village id, rule, level) of the given active assets and villages, and the time they were counted
    (None: now). A bureau above the counties sees every asset of its counties, so the tally's villages are its
    figures; the tally is counted again first when there is none or it is older than ALERT_TALLY_MAX_AGE_MINUTES."""
    if not viewer.oversees:
        return alerts_count(assets=assets, villages=villages), None
    run = alert_tally_latest()
    oldest = timezone.now() - datetime.timedelta(minutes=settings.ALERT_TALLY_MAX_AGE_MINUTES)
    if run is None or run.finished_at < oldest:
        run = alert_tally_refresh()
    # from where the run was read or written: a tally just counted is not yet on a replica
    counts = AlertTally.objects.using(run._state.db).filter(
        run=run, village__in=villages.order_by().values("id")).values_list("village_id", "rule", "level", "n")
    return {(v, r, lv): n for v, r, lv, n in counts}, run.finished_at
