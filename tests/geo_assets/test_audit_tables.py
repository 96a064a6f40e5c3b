"""The database itself refuses DELETE and TRUNCATE on every register and history table, even to the schema's owner
(triggers; what the application's role may not do at all is tests/geo_assets/test_db_roles.py)."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from geo_assets.dbroles import as_owner
from tests.world import build_world

AUDITED_APPS = ("geo_assets", "verification")
# not register records: a label sheet being printed (like importers' jobs) keeps no history; a login session
# (geo_assets.auth) expires and is deleted; an area's pieces (AreaPiece) are derived from it and rewritten by the
# database's triggers whenever the area changes
NOT_REGISTER = {"LabelSheet", "Session", "AreaPiece"}


def register_models():
    return [m for app in AUDITED_APPS for m in apps.get_app_config(app).get_models()
            if m.__name__ not in NOT_REGISTER]


def register_tables() -> list[str]:
    return sorted(m._meta.db_table for m in register_models())


def test_every_register_model_has_history_and_is_covered():
    tables = register_tables()
    assert {"geo_assets_membership", "geo_assets_historicalmembership", "geo_assets_department",
            "geo_assets_historicalasset"} <= set(tables)
    assert {"verification_photo", "verification_historicalphoto"} <= set(tables)
    for model in register_models():
        if not model.__name__.startswith("Historical"):
            assert hasattr(model, "history"), model


@pytest.mark.django_db
def test_every_register_table_has_both_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = set(cursor.fetchall())
    for table in register_tables():
        assert (table, f"{table}_no_delete") in triggers, table
        assert (table, f"{table}_no_truncate") in triggers, table


@pytest.mark.django_db(transaction=True)  # committed rows: TRUNCATE refuses pending trigger events otherwise
@pytest.mark.parametrize("statement", ["DELETE FROM {table}", "TRUNCATE {table} CASCADE"])
def test_the_database_refuses(statement):
    world = build_world()
    from tests.factories import make_verification

    make_verification(areas=world.areas, admin=world.users["county_admin"])
    with as_owner(connection):  # the owner (when it is another role than the application's) meets the triggers
        refused_to_everyone(statement)


def refused_to_everyone(statement):
    for table in register_tables():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names from the app registry
            before = cursor.fetchone()[0]
        if before == 0 and statement.startswith("DELETE"):
            continue  # a row trigger has nothing to refuse in an empty table (the catalog test covers it)
        with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement.format(table=table))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] == before, table
