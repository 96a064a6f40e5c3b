"""Two database roles (issue 21, item 14; README, "Database roles"; geo_assets/dbroles.py).

The purge switch counts only for a table's owner: TRUNCATE of a register or history table is let through when the
session set assets.allow_purge = 'on' AND the current role owns the table (or is a superuser) — the test harness's
flush, connected as the owner. The application's role owns nothing: setting the switch changes nothing for it (and
it has no TRUNCATE privilege anyway).

The application's role (DATABASE_URL's, when DATABASE_OWNER_URL names another) is granted its privileges per table
class, with default privileges for tables created later; `manage.py migrate` grants them again after every run, so
the tables of later migrations get their class's privileges too.
"""

from django.db import migrations

PURGE_FOR_OWNER = """
CREATE OR REPLACE FUNCTION register_forbid_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('assets.allow_purge', true), '') = 'on'
     AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
    RETURN NULL;  -- the owner's purge (the test harness between tests); superusers are members of every role
  END IF;
  RAISE EXCEPTION 'records of the asset register cannot be deleted (TRUNCATE %)', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""

PURGE_FOR_ANYONE = """
CREATE OR REPLACE FUNCTION register_forbid_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('assets.allow_purge', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'records of the asset register cannot be deleted (TRUNCATE %)', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


def grant(apps, schema_editor):
    from geo_assets.dbroles import grant_application_role

    grant_application_role(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("geo_assets", "0011_redact_notice_snapshots")]

    operations = [
        migrations.RunSQL(sql=PURGE_FOR_OWNER, reverse_sql=PURGE_FOR_ANYONE),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
