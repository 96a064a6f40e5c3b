"""A statement a village report sent ahead (reports.figures._send_ahead) that fails: the report fails with the
database's error, nothing of the pipeline or the report's transaction is left on the connection, and the next
report reads as before."""

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from bench.reports import figures_digest
from geo_assets.taxonomy import AssetType
from reports import figures
from tests.factories import make_admin, make_areas, make_asset

YEAR = timezone.localdate().year - 1


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_fails_the_report_and_the_connection_goes_on(monkeypatch):
    areas = make_areas()
    admin = make_admin()
    make_asset(actor=admin, area=areas.west_south, asset_type=AssetType.ROAD)
    scope = figures.area_scope(admin, areas.west_south)
    expected = figures_digest(figures.report_figures(scope, YEAR))
    monkeypatch.setattr(figures, "INCOME_SQL", "SELECT 1, 1 / (0 * %s), 0 FROM {active} a")  # the last stage's
    with pytest.raises(DatabaseError):
        figures.report_figures(figures.area_scope(admin, areas.west_south), YEAR)
    assert not connection.in_atomic_block and connection.connection.pgconn.pipeline_status == 0
    monkeypatch.undo()
    assert figures_digest(figures.report_figures(figures.area_scope(admin, areas.west_south), YEAR)) == expected
