"""The import's new assets get the county the register's trigger gives (asset_county_fill: one rule, in the
database, for every writer)."""

import pytest
from django.db import connection

from geo_assets.models import Asset
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db

def _by_trigger(ids: list[int]) -> dict[int, str]:
    """The county codes the trigger gives the same assets (it fills on an UPDATE that changes the county)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE geo_assets_asset SET county_code = NULL WHERE id = ANY(%s)", [ids])
        cursor.execute("SELECT id, county_code FROM geo_assets_asset WHERE id = ANY(%s)", [ids])
        return dict(cursor.fetchall())


def test_imported_counties_are_the_triggers(areas, admin_user, tmp_path):
    data = b.rows(12)
    code, report = run_report(tmp_path, b.write_csv(tmp_path / "台账.csv", data))
    assert code == 0 and report["created"] == 12, report
    imported = dict(Asset.objects.filter(name__startswith="饮水井").values_list("id", "county_id"))
    assert set(imported.values()) == {areas.county.code}
    assert {v for v in Asset.objects.filter(id__in=imported).values_list("township_id", flat=True)} == {
        areas.west.pk, areas.east.pk}
    assert _by_trigger(list(imported)) == imported
