"""The alert tally (reports.services.alert_tally_refresh, reports.selectors.alert_counts): the bureaus above the
counties read every alert counted ahead of time, with its time; everyone else counts live."""

import datetime

from django.core.management import call_command
from django.db.models import Sum

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AssetStatus
from reports import figures
from reports.alerts import alerts_count
from reports.models import AlertTally, AlertTallyRun
from reports.selectors import alert_counts
from reports.services import alert_tally_refresh
from tests.factories import make_asset


def _live(user):
    villages = figures.villages_in_scope(user)
    assets = Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED)
    return alerts_count(assets=assets, villages=villages)


def _read(user):
    villages = figures.villages_in_scope(user)
    assets = Asset.objects.visible_to(user).exclude(status=AssetStatus.DISPOSED)
    return alert_counts(viewer=scope_for(user), assets=assets, villages=villages)


def _duplicate(world):
    """Two more roads on the spot of county A's road: duplicate_nearby twice over."""
    road = world.assets["road_a"]
    for n in range(2):
        make_asset(actor=world.users["admin_a"], area=world.p.a.west_south, name=f"重复道路{n}",
                   geometry=road.line)


def test_the_tally_is_the_live_count_of_the_bureaus_villages(county_world):
    prefecture = county_world.users["prefecture"]
    run = alert_tally_refresh()
    counted, as_of = _read(prefecture)
    assert as_of == run.finished_at
    assert counted == _live(prefecture) and counted
    # only the villages below the bureau, from the tally of every village
    assert {v for v, _rule, _level in counted} <= set(figures.villages_in_scope(prefecture).values_list("id", flat=True))
    assert run.alerts == AlertTally.objects.filter(run=run).aggregate(n=Sum("n"))["n"]


def test_counties_count_live_and_the_bureau_reads_the_tally_until_it_is_counted_again(county_world, settings):
    admin, prefecture = county_world.users["admin_a"], county_world.users["prefecture"]
    alert_tally_refresh()
    before = _read(prefecture)[0]
    _duplicate(county_world)
    live, as_of = _read(admin)
    assert as_of is None and live == _live(admin)
    assert sum(n for (_v, rule, _l), n in live.items() if rule == "duplicate_nearby") >= 6
    assert _read(prefecture)[0] == before  # as of the tally's time
    alert_tally_refresh()
    assert _read(prefecture)[0] == _live(prefecture) != before
    assert AlertTallyRun.objects.count() == 1  # the runs before the latest go


def test_a_tally_older_than_its_age_or_none_at_all_is_counted_again_when_read(county_world, settings):
    prefecture = county_world.users["prefecture"]
    assert not AlertTallyRun.objects.exists()
    counted, as_of = _read(prefecture)
    assert as_of is not None and counted == _live(prefecture)
    _duplicate(county_world)
    settings.ALERT_TALLY_MAX_AGE_MINUTES = 15
    AlertTallyRun.objects.update(finished_at=as_of - datetime.timedelta(minutes=16))
    counted, newer = _read(prefecture)
    assert newer > as_of and counted == _live(prefecture)


def test_the_bureaus_dashboard_says_when_the_alerts_were_counted(county_world, client):
    client.force_login(county_world.users["prefecture"])
    page = client.get("/dashboard/").content.decode()
    run = AlertTallyRun.objects.get()
    assert 'id="alerts-as-of"' in page and "告警统计于" in page and f"{run.finished_at.astimezone():%H:%M}" in page
    progress = figures.workplan_progress(county_world.users["prefecture"])
    assert progress["alerts_as_of"] == run.finished_at
    by_county = {c["code"]: c for c in progress["counties"]}
    for code, c in by_county.items():
        villages = AdminArea.objects.villages().filter(code__startswith=code[:6]).values_list("id", flat=True)
        tally = AlertTally.objects.filter(run=run, village__in=villages)
        assert sum(c["rules"].values()) == (tally.aggregate(n=Sum("n"))["n"] or 0)
        assert c["red"] == (tally.filter(level="red").aggregate(n=Sum("n"))["n"] or 0)
    client.force_login(county_world.users["admin_a"])
    assert 'id="alerts-as-of"' not in client.get("/dashboard/").content.decode()


def test_the_command_counts_and_says_so(county_world, capsys):
    call_command("alerts_tally")
    call_command("alerts_tally")
    out = capsys.readouterr().out
    run = AlertTallyRun.objects.get()
    assert out.count("已统计") == 2 and f"{run.alerts:,} 条告警" in out and "正在统计" in out
