"""Defence in depth: the database itself refuses to delete register rows (TRUNCATE is not affected)."""

from django.db import migrations

TABLES = ("geo_assets_adminarea", "geo_assets_asset", "geo_assets_fundingline", "geo_assets_ownershare",
          "geo_assets_disposal")

FUNCTION = """
CREATE OR REPLACE FUNCTION register_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'records of the asset register cannot be deleted (%)', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""

forward = [FUNCTION] + [
    f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION register_forbid_delete();"
    for table in TABLES
]
backward = [f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};" for table in TABLES] + [
    "DROP FUNCTION IF EXISTS register_forbid_delete();"
]


class Migration(migrations.Migration):
    dependencies = [("geo_assets", "0001_initial")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward)]
