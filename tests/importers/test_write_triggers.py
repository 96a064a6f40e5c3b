"""Issue 22: the import gives new assets their county in its own INSERT (the per-row trigger skipped while
geo_assets.county_given is on): the same codes as the trigger gives, and the clusters the same as a rebuild."""

import pytest
from django.db import connection, transaction

from geo_assets.models import Asset
from tests.importers import builders as b
from tests.importers.conftest import run_report

pytestmark = pytest.mark.django_db

RAW_INSERT = """INSERT INTO geo_assets_asset (code, name, category, asset_type, status, point, village_id,
    township_id, total_investment, owner_kind, registration_status, custodian_unit, custodian_person, custodian_phone,
    custody_method, operator, is_published, note, created_at, updated_at, project_name, implementing_unit, unit)
    VALUES (%s, '点', 'public_welfare', 'road', 'in_use', ST_SetSRID(ST_MakePoint(%s, %s), 4490), %s, %s, 0, '',
            'unregistered', '', '', '', '', '', false, '', now(), now(), '', '', '') RETURNING county_code"""


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


def test_the_trigger_skips_only_while_the_setting_is_on(areas):
    """Else the test above could pass with the trigger doing the work and the import's own county wrong."""
    village, township = areas.west_south, areas.west
    x, y = village.geom.point_on_surface.coords
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('geo_assets.county_given', 'on', true)")
        cursor.execute(RAW_INSERT, ["T-1", x, y, village.pk, township.pk])
        assert cursor.fetchone()[0] is None
        cursor.execute("SELECT set_config('geo_assets.county_given', 'off', true)")
        cursor.execute(RAW_INSERT, ["T-2", x, y, village.pk, township.pk])
        assert cursor.fetchone()[0] == areas.county.code
        transaction.set_rollback(True)
    with connection.cursor() as cursor:  # transaction-local: gone with the transaction
        cursor.execute("SELECT current_setting('geo_assets.county_given', true)")
        assert cursor.fetchone()[0] in (None, "", "off")


def test_an_import_leaves_the_setting_off(areas, admin_user, tmp_path):
    from importers.services import assets_import

    with transaction.atomic():
        report = assets_import(actor=admin_user, path=b.write_csv(tmp_path / "台账.csv", b.rows(2)))
        assert report.written
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('geo_assets.county_given', true)")
            assert cursor.fetchone()[0] == "off"  # later INSERTs of the same transaction get the trigger
