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
from geo_assets.taxonomy import AreaLevel, Role
from reports.alerts import LEVEL_ORDER, alerts_count
from reports.models import AlertTally, AlertTallyRun
from reports.services import alert_tally_refresh

Counts = dict[tuple[int, str, str], int]


def may_open_area_report(scope: Scope, area: AdminArea) -> bool:
    """Who opens an area's report: county-wide readers and departments every area of their counties, a township
    clerk the township and its villages, a village clerk the village. The views and their links ask the same."""
    return scope.reaches_area(area.code) and (
        scope.reads_everything or scope.role == Role.DEPARTMENT
        or (scope.role == Role.TOWNSHIP and scope.area_id in (area.pk, area.parent_id))
        or (scope.role == Role.VILLAGE and scope.area_id == area.pk))


def may_open_county_reports(scope: Scope) -> bool:
    """The county's and the departments' reports (both are about a whole county): county-wide readers, departments."""
    return scope.reads_everything or scope.role == Role.DEPARTMENT


def alert_tally_latest() -> AlertTallyRun | None:
    return AlertTallyRun.objects.order_by("-finished_at").first()


def alert_counts(*, viewer: Scope, assets: QuerySet[Asset], villages: QuerySet[AdminArea]
                 ) -> tuple[Counts, datetime.datetime | None]:
    """Alerts per (village id, rule, level) of the given active assets and villages, and the time they were counted
    (None: now). A bureau above the counties sees every asset of its counties, so the tally's villages are its
    figures; the tally is counted again first when there is none or it is older than ALERT_TALLY_MAX_AGE_MINUTES."""
    if not viewer.oversees:
        return alerts_count(assets=assets, villages=villages), None
    return alert_tally_counts(villages)


def alert_tally_counts(villages: QuerySet[AdminArea]) -> tuple[Counts, datetime.datetime]:
    """The latest tally's counts of these villages (every alert of their assets, whoever may see them: for viewers
    who see every asset of the villages' counties) and its time; counted again first when too old."""
    run = alert_tally_latest()
    oldest = timezone.now() - datetime.timedelta(minutes=settings.ALERT_TALLY_MAX_AGE_MINUTES)
    if run is None or run.finished_at < oldest:
        run = alert_tally_refresh()
    # from where the run was read or written: a tally just counted is not yet on a replica
    counts = AlertTally.objects.using(run._state.db).filter(
        run=run, village__in=villages.order_by().values("id")).values_list("village_id", "rule", "level", "n")
    return {(v, r, lv): n for v, r, lv, n in counts}, run.finished_at


def counties_of(villages: QuerySet[AdminArea]) -> dict[str, str]:
    """The counties of these villages, code → name, in code order."""
    codes = sorted({code[:6] + "000000" for code in villages.values_list("code", flat=True)})
    return dict(AdminArea.objects.filter(code__in=codes, level=AreaLevel.COUNTY).order_by("code")
                .values_list("code", "name"))


def alert_tally_by_county(villages: QuerySet[AdminArea], counties: dict[str, str], rules: list[str]
                          ) -> tuple[list[dict], dict[str, int], datetime.datetime]:
    """The tally of these villages' alerts of `rules`, per county (code, name and a count per level, in the order
    of `counties`) and per rule, and the tally's time: what a bureau of several counties sees before it chooses one."""
    counted, as_of = alert_tally_counts(villages)
    by_county = {code: dict.fromkeys(LEVEL_ORDER, 0) for code in counties}
    per_rule: dict[str, int] = {}
    county_of = {pk: code[:6] + "000000" for pk, code in villages.values_list("pk", "code")}
    for (village_id, rule, level), n in counted.items():
        if rule in rules and village_id in county_of:
            by_county[county_of[village_id]][level] += n
            per_rule[rule] = per_rule.get(rule, 0) + n
    return [{"code": code, "name": name, **by_county[code]} for code, name in counties.items()], per_rule, as_of
