"""Projects, fund lines and links are ledger records: the database refuses DELETE and TRUNCATE (functions from
geo_assets 0002/0012). The served-villages link table stays editable (a project's villages are corrected)."""

from django.db import migrations

TABLES = ["projects_project", "projects_fundline", "projects_projectasset", "projects_ledgerpolicy",
          "projects_historicalproject", "projects_historicalfundline", "projects_historicalprojectasset",
          "projects_historicalledgerpolicy", "projects_historicalproject_villages"]

forward, backward = [], []
for table in TABLES:
    forward += [
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION register_forbid_delete();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        "EXECUTE FUNCTION register_forbid_truncate();",
    ]
    backward += [f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};",
                 f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"]


def grant(apps, schema_editor):
    from geo_assets.dbroles import grant_application_role

    grant_application_role(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial"), ("geo_assets", "0013_finance_role_other_funds")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward),
                  migrations.RunPython(grant, migrations.RunPython.noop)]
