"""The database's two roles (README, "Database roles"; issue 21, item 14).

The application connects as DATABASE_URL's role, which owns nothing: it reads and writes the register, adds to its
history, and can neither delete nor truncate a register or history table, rewrite a history row, change the schema
or its triggers, nor make the purge switch count. The schema's owner (DATABASE_OWNER_URL) runs `manage.py migrate`
(geo_assets/management/commands/migrate.py) and the test harness's set-up and purge; after every migrate it grants
the application's role what each table's class allows (`grant_application_role`). Without DATABASE_OWNER_URL one
role does both, as on a developer's own database, and nothing here changes anything.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")

# What the application's role may do on a table, by class (the class is read from the catalog, so a table added by
# a later migration is covered when that migration is applied). Never TRUNCATE, REFERENCES or TRIGGER, and nothing
# is owned: ALTER, DROP, DISABLE TRIGGER and GRANT need ownership.
PRIVILEGES = {
    "history": "SELECT, INSERT",  # django-simple-history's tables: written once, never changed or removed
    "register": "SELECT, INSERT, UPDATE",  # a trigger refuses DELETE (register_forbid_delete): no DELETE either
    "read": "SELECT",  # django_migrations: the owner's
    "other": "SELECT, INSERT, UPDATE, DELETE",  # sessions, tokens, many-to-many links, caches, queues
    "sequence": "USAGE, SELECT",
}
# New tables get at least this until migrate ends with grant_application_role (ALTER DEFAULT PRIVILEGES).
DEFAULT_PRIVILEGES = {"TABLES": PRIVILEGES["history"], "SEQUENCES": PRIVILEGES["sequence"]}

TABLE_CLASSES = """
SELECT c.relname,
       CASE WHEN c.relkind = 'S' THEN 'sequence'
            WHEN c.relkind IN ('v', 'm') OR c.relname = 'django_migrations' THEN 'read'
            WHEN (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
                  AND a.attname IN ('history_id', 'history_type', 'history_date')) = 3 THEN 'history'
            WHEN EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid
                         AND t.tgfoid = to_regproc('register_forbid_delete')::oid) THEN 'register'
            ELSE 'other' END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND pg_has_role(current_user, c.relowner, 'USAGE')
 ORDER BY 2, 1
"""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_classes(cursor) -> dict[str, list[str]]:
    """The current schema's tables and sequences the current role owns, by class (PRIVILEGES' keys)."""
    cursor.execute(TABLE_CLASSES)
    classes: dict[str, list[str]] = {}
    for table, kind in cursor.fetchall():
        classes.setdefault(kind, []).append(table)
    return classes


def application_role() -> str | None:
    """The role DATABASE_URL connects as, when DATABASE_OWNER_URL names the schema's owner (else None)."""
    if not getattr(settings, "DATABASE_OWNER", None):
        return None
    return settings.DATABASE_APP_ROLE or None


def grant_application_role(connection) -> str | None:
    """As the owner: give the application's role exactly PRIVILEGES on every table and sequence of the schema (what
    it had before is revoked first), default privileges for tables created later, no CREATE in the schema. Returns
    the role, or None when there is no separate one (one role does both, or connected as the application)."""
    role = application_role()
    if not role:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            return None
        grantee = quote(role)
        cursor.execute("SELECT current_schema(), pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace "
                       "WHERE nspname = current_schema()")
        schema, owns_schema = cursor.fetchone()
        for kind, tables in table_classes(cursor).items():
            kind_sql = "SEQUENCE" if kind == "sequence" else "TABLE"
            names = ", ".join(quote(table) for table in tables)
            cursor.execute(f"REVOKE ALL ON {kind_sql} {names} FROM {grantee}")
            cursor.execute(f"GRANT {PRIVILEGES[kind]} ON {kind_sql} {names} TO {grantee}")
        for objects, privileges in DEFAULT_PRIVILEGES.items():
            cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quote(schema)} "
                           f"GRANT {privileges} ON {objects} TO {grantee}")
        if owns_schema:  # (the database's owner owns `public` on PostgreSQL 15) only the owner creates in it
            cursor.execute(f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM PUBLIC, {grantee}")
    return role


def owner_credentials(connection) -> dict | None:
    """DATABASE_OWNER_URL's credentials for `connection` (the default alias only), or None: no separate owner, or
    the connection is the owner's already."""
    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner or connection.alias != DEFAULT_DB_ALIAS or connection.settings_dict.get("USER") == owner.get("USER"):
        return None
    return {**{key: owner.get(key, "") for key in CREDENTIALS},
            "OPTIONS": {**connection.settings_dict.get("OPTIONS", {}), **owner.get("OPTIONS", {})}}


def switch_credentials(connection, credentials: dict) -> dict:
    """Reconnect `connection` (same database) with `credentials`; returns the ones it had."""
    assert not connection.in_atomic_block, "switching roles inside a transaction"
    previous = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update(credentials)
    return previous


@contextmanager
def as_owner(connection):
    """`connection` connects as the schema's owner meanwhile (no change when there is no separate owner)."""
    credentials = owner_credentials(connection)
    if credentials is None:
        yield connection
        return
    previous = switch_credentials(connection, credentials)
    try:
        yield connection
    finally:
        switch_credentials(connection, previous)
