"""A village report sends its statements a stage ahead of the Python that reads them (reports.figures._send_ahead,
geo_assets.dbrouting.reads_ahead): the same figures as one statement after the other, for every viewer; each stage
sent once the rows of the one before are in (the server runs it while Python shapes them). A statement that fails:
tests/reports/test_read_ahead_errors.py."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from bench.reports import figures_digest
from geo_assets.taxonomy import PlanPurpose
from lifecycle import services as lifecycle
from lifecycle.services import PlanLine
from reports import figures

TODAY = timezone.localdate()
YEAR = TODAY.year - 1


def _income_and_plan(world):
    admin, village = world["users"]["county_admin"], world["areas"].west_south
    equity = world["assets"]["a_equity"]
    lifecycle.income_record(actor=admin, asset=equity, year=YEAR, amount=Decimal("12.5"), received_on=TODAY)
    lifecycle.plan_draft(actor=admin, village=village, year=YEAR, items=[
        PlanLine(PlanPurpose.COLLECTIVE, Decimal("10")), PlanLine(PlanPurpose.EQUITY_OWNERS, Decimal("2.5"), "西镇人民政府",
                                                                  equity)], drafted_on=TODAY - datetime.timedelta(days=2))


def _rows(fig) -> list:
    return [(r.alert, r.asset.code if r.asset else None) for r in fig["alert_rows"]]


@pytest.mark.parametrize("viewer", ["county_admin", "township_west", "clerk_a", "clerk_b", "department", "inspector"])
def test_a_village_report_read_ahead_has_the_figures_read_one_by_one(evidence_world, viewer):
    _income_and_plan(evidence_world)
    user, village = evidence_world["users"][viewer], evidence_world["areas"].west_south
    ahead = figures.report_figures(figures.area_scope(user, village), YEAR)
    one_by_one = figures.report_figures(figures.area_scope(user, village), YEAR, read_ahead=False)
    assert figures_digest(ahead) == figures_digest(one_by_one)
    assert _rows(ahead) == _rows(one_by_one)
    if viewer == "county_admin":  # the world fires every rule on this village, with an income and a plan
        assert len({a.rule for a in ahead["alerts"]["list"]}) >= 15
        assert ahead["income"]["amount"] == Decimal("12.5") and len(ahead["income"]["plans"][0].item_list) == 2
        assert ahead["publicity"]["stages"][0]["count"] == 1 and ahead["contracts"]["rows"]


def _recorded(run, statements) -> list[tuple[str, bool, dict]]:
    """For each statement run: which of the report's statements it is, whether its result was still to come when execute
    returned (sent ahead), and which of the report's earlier statements had been read by then (cursor closed)."""
    seen: list[tuple[str, object]] = []
    out = []

    def watch(execute, sql, params, many, context):
        name = statements.kind(sql) or "other"
        read = {k: cursor.cursor.closed for k, cursor in seen if k != "other"}
        result = execute(sql, params, many, context)
        out.append((name, context["cursor"].cursor.pgresult is None and not context["cursor"].cursor.closed, read))
        seen.append((name, context["cursor"]))
        return result

    with connection.execute_wrapper(watch):
        run()
    return out


def test_each_stage_is_sent_once_the_rows_before_it_are_in(evidence_world, report_statements):
    _income_and_plan(evidence_world)
    admin, village = evidence_world["users"]["county_admin"], evidence_world["areas"].west_south
    recorded = _recorded(lambda: figures.report_figures(figures.area_scope(admin, village), YEAR), report_statements)
    report = [r for r in recorded if r[0] != "other"]
    assert [name for name, _pending, _read in report] == list(report_statements.names)
    assert all(pending for _name, pending, _read in report), report
    by_name = {name: read for name, _pending, read in report}
    assert by_name["alerts"] == {"assets": True}  # the asset rows were read, then the alerts sent
    assert by_name["sections"] == {"assets": True, "alerts": True}
    # the last stage goes at once: none of it is read before all of it is sent
    for name in ("income", "plans", "notices"):
        assert not any(by_name[name][k] for k in ("sections", "income", "plans") if k in by_name[name])
    # one by one: every statement's result is in when execute returns
    one_by_one = _recorded(lambda: figures.report_figures(figures.area_scope(admin, village), YEAR, read_ahead=False),
                           report_statements)
    assert {name for name, _p, _r in one_by_one} >= set(report_statements.names)
    assert not any(pending for _name, pending, _read in one_by_one)
