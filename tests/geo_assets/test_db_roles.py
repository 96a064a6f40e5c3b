"""Two database roles (issue 21, item 14; geo_assets/dbroles.py; README, "Database roles").

The tests run as the application's role (DATABASE_URL, logged in as itself), the test database was created and
migrated by the schema's owner (DATABASE_OWNER_URL). No statement the application can send removes or rewrites
history: every forbidden statement is tried here, as the application, on every table the catalog shows to keep
history (so a table added later is covered without a change here), and must fail for lack of privilege, while the
application's ordinary writes still work. Skipped when one role does both (DATABASE_OWNER_URL unset).
"""

import re
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from geo_assets import services
from geo_assets.dbroles import as_owner
from geo_assets.models import Asset, Session
from tests.factories import make_asset, make_verification
from tests.world import build_world
from verification.models import Photo

INSUFFICIENT_PRIVILEGE = "42501"
OWNER = (settings.DATABASE_OWNER or {}).get("USER", "")
pytestmark = pytest.mark.skipif(OWNER in ("", settings.DATABASE_APP_ROLE),
                                reason="one role does both (DATABASE_OWNER_URL unset): nothing to separate")

# Tables that keep history (django-simple-history's columns), read from the catalog, not from the models.
HISTORY_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind = 'r'
   AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
        AND a.attname IN ('history_id', 'history_type', 'history_date')) = 3
 ORDER BY 1
"""
# Tables with a trigger refusing DELETE (the register's; with those whose history is kept, the register).
DELETE_REFUSED = """
SELECT DISTINCT t.tgrelid::regclass::text FROM pg_trigger t WHERE t.tgfoid = 'register_forbid_delete'::regproc
"""


def catalog(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def history_tables() -> list[str]:
    return catalog(HISTORY_TABLES)


def register_tables() -> list[str]:
    """The tables whose history is kept (x_historicaly keeps x_y's) and those refusing DELETE, history excluded."""
    history = history_tables()
    kept = {re.sub("_historical", "_", table, count=1) for table in history}
    return sorted((kept | set(catalog(DELETE_REFUSED))) - set(history))


def refusal(statements: list[str]) -> str | None:
    """Run the statements (in a savepoint); None when the database refused the last for lack of privilege, else what
    happened."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except DatabaseError as error:
        state = getattr(error.__cause__, "sqlstate", None)
        return None if state == INSUFFICIENT_PRIVILEGE else f"refused otherwise ({state}): {error}"
    return "accepted"


@pytest.fixture
def rows(db):
    """A row in every register and history table the application writes in ordinary use."""
    world = build_world()
    make_verification(areas=world.areas, admin=world.users["county_admin"])
    return world


@pytest.mark.django_db
def test_the_catalog_shows_every_history_table():
    """The catalog's history tables are those of the models with history (verification photos included), and each
    belongs to a register table."""
    from django.apps import apps

    from geo_assets.models import NoDeleteModel

    with_history = {model._meta.db_table for model in apps.get_models()
                    if issubclass(model, NoDeleteModel) and hasattr(model, "history")}
    history = {model.history.model._meta.db_table for model in apps.get_models()
               if issubclass(model, NoDeleteModel) and hasattr(model, "history")}
    found = set(history_tables())
    assert {"verification_historicalphoto", "geo_assets_historicalasset"} <= found
    assert found == history
    assert with_history <= set(register_tables()), with_history - set(register_tables())
    assert set(register_tables()) <= set(connection.introspection.table_names())


@pytest.mark.django_db
def test_the_application_connects_as_a_role_that_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute("""SELECT current_user, session_user, rolsuper, rolcreatedb, rolcreaterole, rolreplication,
                                 rolbypassrls, pg_has_role(current_user, %s, 'MEMBER')
                            FROM pg_roles WHERE rolname = current_user""", [OWNER])
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE, settings.DATABASE_APP_ROLE) + (False,) * 6
        cursor.execute("""SELECT (SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole)
                               + (SELECT count(*) FROM pg_proc WHERE proowner = current_user::regrole)
                               + (SELECT count(*) FROM pg_namespace WHERE nspowner = current_user::regrole)
                               + (SELECT count(*) FROM pg_database WHERE datdba = current_user::regrole)""")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_the_privileges_follow_each_tables_class():
    """History: read and add only. Register: no DELETE. Nothing: TRUNCATE, REFERENCES, TRIGGER."""
    history, register = history_tables(), register_tables()
    allowed = {table: {"SELECT", "INSERT"} for table in history} | {
        table: {"SELECT", "INSERT", "UPDATE"} for table in register}
    wrong = []
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname, p FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                                 unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                                              'TRIGGER']) p
                           WHERE n.nspname = current_schema() AND c.relkind = 'r'
                             AND has_table_privilege(current_user, c.oid, p)""")
        held = cursor.fetchall()
    for table, privilege in held:
        if privilege in ("TRUNCATE", "REFERENCES", "TRIGGER") or (table in allowed
                                                                   and privilege not in allowed[table]):
            wrong.append(f"{table}: {privilege}")
    assert not wrong, wrong
    for table in history + register:
        assert (table, "INSERT") in held, table


# Every one refused to the application on every table that keeps history (and on its history table).
ON_EVERY_TABLE = {
    "delete": ["DELETE FROM {table}"],
    "truncate": ["TRUNCATE {table} CASCADE"],
    "purge switch then truncate": ["SET LOCAL assets.allow_purge = 'on'", "TRUNCATE {table}"],
    "disable triggers": ["ALTER TABLE {table} DISABLE TRIGGER ALL"],
    "disable the delete trigger": ["ALTER TABLE {table} DISABLE TRIGGER {table}_no_delete"],
    "drop the delete trigger": ["DROP TRIGGER {table}_no_delete ON {table}"],
    "alter table": ["ALTER TABLE {table} ADD COLUMN sneaked integer"],
    "drop table": ["DROP TABLE {table} CASCADE"],
    "grant itself delete": ["GRANT DELETE ON {table} TO PUBLIC", "DELETE FROM {table}"],
}
ON_HISTORY_TABLES = {
    "update history": ["UPDATE {table} SET history_change_reason = 'rewritten'"],
    "rewrite history dates": ["UPDATE {table} SET history_date = history_date - interval '1 year'"],
}
ONCE = {
    "create role": ["CREATE ROLE sneaked LOGIN SUPERUSER"],
    "create a plain role": ["CREATE ROLE sneaked"],
    "become superuser": ["ALTER ROLE CURRENT_USER SUPERUSER"],
    "become the owner": [f'SET ROLE "{OWNER}"'],
    "replica mode skips triggers": ["SET session_replication_role = replica"],
    "replace the truncate trigger": ["CREATE OR REPLACE FUNCTION register_forbid_truncate() RETURNS trigger "
                                     "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"],
    "drop the delete trigger's function": ["DROP FUNCTION register_forbid_delete() CASCADE"],
    "create a table": ["CREATE TABLE sneaked (id integer)"],
    "drop the schema": ["DROP SCHEMA public CASCADE"],
}


@pytest.mark.parametrize("kind", ON_EVERY_TABLE)
def test_the_application_cannot_remove_or_alter_a_register_or_history_table(rows, kind):
    tables = register_tables() + history_tables()
    assert len(tables) > 30, tables
    failures = {table: outcome for table in tables
                if (outcome := refusal([s.format(table=table) for s in ON_EVERY_TABLE[kind]]))}
    assert not failures, failures


@pytest.mark.parametrize("kind", ON_HISTORY_TABLES)
def test_the_application_cannot_rewrite_history(rows, kind):
    tables = history_tables()
    failures = {table: outcome for table in tables
                if (outcome := refusal([s.format(table=table) for s in ON_HISTORY_TABLES[kind]]))}
    assert not failures, failures


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ONCE)
def test_the_application_cannot_change_roles_triggers_or_schema(kind):
    assert refusal(ONCE[kind]) is None


def owner_connect():
    """A connection of the schema's owner to the test database (committing at once)."""
    owner = settings.DATABASE_OWNER
    options = dict(owner.get("OPTIONS", {}))
    host, port = owner.get("HOST") or options.pop("host", None), owner.get("PORT") or options.pop("port", None)
    return psycopg.connect(dbname=connection.settings_dict["NAME"], user=owner["USER"],
                           password=owner.get("PASSWORD") or None, host=host, port=port, autocommit=True, **options)


@pytest.mark.django_db(transaction=True)  # the grant is seen by transactions begun after it
def test_the_purge_switch_counts_only_for_the_owner(rows):
    """Even given TRUNCATE, a role that does not own the table cannot make the switch count: the trigger refuses."""
    table = "geo_assets_historicalasset"
    app = settings.DATABASE_APP_ROLE
    with owner_connect() as owner:
        owner.execute(f'GRANT TRUNCATE ON {table} TO "{app}"')
        try:
            with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), \
                    connection.cursor() as cursor:
                cursor.execute("SET LOCAL assets.allow_purge = 'on'")
                cursor.execute(f"TRUNCATE {table}")
        finally:
            owner.execute(f'REVOKE TRUNCATE ON {table} FROM "{app}"')
    assert Asset.history.exists()


@pytest.mark.django_db
def test_the_applications_writes_still_work(areas, admin_user):
    """A service write as the application: an asset registered and changed, funding replaced, a verification with
    its photo recorded, an account logged in and out (its session deleted); each register change in the history."""
    asset = make_asset(actor=admin_user, area=areas.west_south)
    services.asset_update(actor=admin_user, asset=asset, changes={"name": "村组道路（改）"}, reason="更名")
    services.asset_funding_set(actor=admin_user, asset=asset, funding=[("central", Decimal("12"))])
    assert [h.history_type for h in Asset.history.filter(id=asset.pk).order_by("history_id")][:2] == ["+", "~"]
    verification = make_verification(areas=areas, admin=admin_user)
    photo = Photo.objects.get(verification=verification)
    assert photo.history.get().history_type == "+"
    client = Client()
    client.force_login(admin_user)
    assert client.get("/").status_code == 200
    client.logout()
    assert not Session.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASE_APP_ROLE


@pytest.mark.django_db(transaction=True)  # migrate reconnects as the owner: no transaction may be open
def test_migrate_keeps_the_grants_right():
    """A table created later gets the default privileges (read and add); migrate then grants each class its own,
    and restores what was revoked by hand."""
    app = settings.DATABASE_APP_ROLE
    with owner_connect() as owner:
        owner.execute("CREATE TABLE dbroles_probe (id integer)")
        owner.execute(f'REVOKE INSERT ON geo_assets_historicalasset FROM "{app}"')
        try:
            def held(table):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT array_agg(p ORDER BY p) FROM unnest(array['SELECT', 'INSERT', 'UPDATE', "
                                   "'DELETE', 'TRUNCATE']) p WHERE has_table_privilege(current_user, %s, p)", [table])
                    return cursor.fetchone()[0] or []

            assert held("dbroles_probe") == ["INSERT", "SELECT"]
            assert held("geo_assets_historicalasset") == ["SELECT"]
            call_command("migrate", verbosity=0)
            assert held("dbroles_probe") == ["DELETE", "INSERT", "SELECT", "UPDATE"]
            assert held("geo_assets_historicalasset") == ["INSERT", "SELECT"]
        finally:
            owner.execute("DROP TABLE dbroles_probe")
    with as_owner(connection), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == OWNER
