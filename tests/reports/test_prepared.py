"""A village report's statements are prepared once per connection (geo_assets.dbrouting.prepared_cursor): their
text stays the same from one village and one call to the next (the alerts' cut-off of 12 months is a parameter,
reports.alerts._final), so PostgreSQL parses them once and may plan them once. Behind a pooler in transaction mode
(no prepare_threshold) nothing is prepared and the figures are the same."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from bench.reports import figures_digest
from reports import alerts as alert_rules
from reports import figures


def _gained(before: dict, after: dict, statements) -> dict[str, list[int]]:
    """Per statement of the report: the runs each prepared statement of that kind gained between the two."""
    out: dict[str, list[int]] = {key: [] for key in statements.names}
    for text, runs in after.items():
        key = statements.kind(text)
        if key is not None and runs > before.get(text, 0):
            out[key].append(runs - before.get(text, 0))
    return out


@pytest.mark.parametrize("read_ahead", [True, False])
def test_each_statement_of_a_village_report_is_prepared_once_for_every_village(evidence_world, read_ahead,
                                                                                prepared_runs, report_statements):
    admin, areas = evidence_world["users"]["county_admin"], evidence_world["areas"]
    villages = [areas.west_south, areas.east_south, areas.west_south]
    figures.report_figures(figures.area_scope(admin, villages[0]), read_ahead=read_ahead)  # run once before
    before = prepared_runs()
    for village in villages:
        figures.report_figures(figures.area_scope(admin, village), read_ahead=read_ahead)
    found = _gained(before, prepared_runs(), report_statements)
    # one prepared statement per kind, run for each report: the text did not change with the village or the time
    expected = {key: [len(villages)] for key in report_statements.names}
    if not read_ahead:  # one by one, the alerts run as the alerts list runs them: not prepared
        expected["alerts"] = []
    assert found == expected


@pytest.mark.parametrize("viewer", ["county_admin", "clerk_a", "department", "inspector"])
def test_a_prepared_report_has_the_figures_of_one_not_prepared(evidence_world, viewer):
    user, village = evidence_world["users"][viewer], evidence_world["areas"].west_south
    for _ in range(7):  # PostgreSQL plans a statement once (a generic plan) after five runs, if it costs no more
        prepared = figures.report_figures(figures.area_scope(user, village))
    connection.force_debug_cursor = True  # queries logged: Django's own cursors, nothing prepared
    try:
        plain = figures.report_figures(figures.area_scope(user, village))
    finally:
        connection.force_debug_cursor = False
    assert figures_digest(prepared) == figures_digest(plain)
    assert [(r.alert, r.asset and r.asset.code) for r in prepared["alert_rows"]] == [
        (r.alert, r.asset and r.asset.code) for r in plain["alert_rows"]]


def test_without_a_prepare_threshold_nothing_is_prepared_and_the_figures_are_the_same(evidence_world, prepared_runs,
                                                                                     report_statements):
    """A pooler in transaction mode: settings.with_prepared_statements sets no threshold (tests/test_pgbouncer.py)."""
    admin, village = evidence_world["users"]["county_admin"], evidence_world["areas"].west_south
    expected = figures_digest(figures.report_figures(figures.area_scope(admin, village)))
    before = prepared_runs()
    threshold, connection.connection.prepare_threshold = connection.connection.prepare_threshold, None
    try:
        fig = figures.report_figures(figures.area_scope(admin, village))
        assert _gained(before, prepared_runs(), report_statements) == {key: [] for key in report_statements.names}
    finally:
        connection.connection.prepare_threshold = threshold
    assert figures_digest(fig) == expected


def test_the_alerts_statement_keeps_its_text_and_binds_its_cut_off(evidence_world):
    admin, village = evidence_world["users"]["county_admin"], evidence_world["areas"].west_south
    scope = figures.area_scope(admin, village)
    first, second = (alert_rules.alerts_statement(assets=scope.assets, villages=scope.villages) for _ in range(2))
    assert first[0] == second[0]  # the cut-off is now minus 365 days, to the microsecond: not in the text
    cut_offs = [p for p in second[1] if isinstance(p, datetime.datetime)]
    assert len(cut_offs) == 1
    assert abs(timezone.now() - datetime.timedelta(days=365) - cut_offs[0]) < datetime.timedelta(minutes=1)
    assert first[0].count("%s") == len(first[1]) == len(second[1])


@pytest.mark.parametrize("values", [[1, 2], []])
def test_a_statement_given_more_or_fewer_values_than_places_is_refused(values):
    with pytest.raises(ValueError):
        alert_rules._final("SELECT %s", values, connection.connection)
