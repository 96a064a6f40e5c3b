"""A set-based writer may give the county itself (issue 22): the per-row fill on INSERT is skipped while the
transaction-local setting `geo_assets.county_given` is 'on'.

The import (importers/bulk.py) sets it around its one INSERT … SELECT and computes `county_code` there by a join,
with the same rule as asset_county_fill() (migration 0014): the county above the township, else above the village's
township, else the county boundary covering the asset. tests/importers/test_write_triggers.py checks both agree.
Every other writer (and an UPDATE, always) still gets the trigger.
"""

from django.db import migrations

GIVEN = """
DROP TRIGGER IF EXISTS asset_county_fill_insert ON geo_assets_asset;
CREATE TRIGGER asset_county_fill_insert BEFORE INSERT ON geo_assets_asset FOR EACH ROW
  WHEN (current_setting('geo_assets.county_given', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION asset_county_fill();
"""
ALWAYS = """
DROP TRIGGER IF EXISTS asset_county_fill_insert ON geo_assets_asset;
CREATE TRIGGER asset_county_fill_insert BEFORE INSERT ON geo_assets_asset
  FOR EACH ROW EXECUTE FUNCTION asset_county_fill();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("geo_assets", "0016_login_session"),
    ]

    operations = [migrations.RunSQL(sql=GIVEN, reverse_sql=ALWAYS)]
