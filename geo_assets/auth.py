"""Authentication for every logged-in request: the session row and the user with its role scope, two statements
compiled once per process and prepared once per connection.

Django's ModelBackend and database session store build their querysets anew on each request (~0.3 ms of CPU
each, measured), and `access.scope_for` then asks for the membership in a third query. A map view requests dozens
of tiles at once, so these fixed costs are most of what a logged-in tile costs beyond its SQL (docs/performance.md).
"""

import datetime

import psycopg
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db as db_sessions
from django.db import connections, router
from django.db.models import F
from django.utils import timezone

from geo_assets.access import SCOPE_LOOKUPS, current_membership, scope_from_values

_USER_ID = -8_675_309  # placeholders compiled into a statement, replaced by the values at each execution
_SESSION_KEY = "\x00session-key"
_NOW = timezone.make_aware(datetime.datetime(1900, 1, 1), datetime.UTC)
_STATEMENTS: dict[tuple, tuple[str, tuple]] = {}


class _PreparedCursor(psycopg.Cursor):
    """Binds parameters on the server (Django's cursors bind them client-side and never prepare) and has PostgreSQL
    prepare each statement once per connection, so the user's four-table join is not planned on every request
    (0.17 → 0.02 ms of database CPU, measured). Needs a `prepare_threshold` in the database OPTIONS (settings)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def _fetch_one(key: tuple, build, values: dict):
    """Run a queryset compiled once per process (`build()`), its placeholder parameters replaced by `values`."""
    found = _STATEMENTS.get(key)
    if found is None:
        sql, params = build().query.sql_with_params()
        found = _STATEMENTS[key] = (sql, tuple(params))
    sql, params = found
    connection = connections[key[-1]]
    if connection.queries_logged:  # DEBUG or a test counting queries: Django's own cursor, which logs the SQL
        cursor = connection.cursor()
    else:
        connection.ensure_connection()
        cursor = connection.make_cursor(_PreparedCursor(connection.connection))
    with cursor:
        cursor.execute(sql, [values[p] for p in params])
        return cursor.fetchone()


class ScopedModelBackend(ModelBackend):
    """ModelBackend whose `get_user` reads the membership's four scope values in the user's query (a LEFT JOIN)."""

    def get_user(self, user_id):
        User = get_user_model()
        pk = User._meta.pk.to_python(user_id)
        alias = router.db_for_read(User)
        attnames = tuple(f.attname for f in User._meta.concrete_fields)
        row = _fetch_one(("user", User, alias), lambda: User._default_manager.using(alias).filter(pk=_USER_ID)
                         .annotate(membership=current_membership())
                         .annotate(**{name: F(path) for name, path in SCOPE_LOOKUPS.items()})
                         .values_list(*attnames, *SCOPE_LOOKUPS), {_USER_ID: pk})
        if row is None:
            return None
        user = User.from_db(alias, attnames, row[:len(attnames)])
        if not self.user_can_authenticate(user):
            return None
        user._asset_scope = scope_from_values(*row[len(attnames):])
        return user


class SessionStore(db_sessions.SessionStore):
    """Django's database sessions; only the read of a session row is a statement compiled once."""

    def _get_session_from_db(self):
        model = self.model
        alias = router.db_for_read(model)
        names = ("session_key", "session_data", "expire_date")
        row = _fetch_one(("session", model, alias), lambda: model.objects.using(alias)
                         .filter(session_key=_SESSION_KEY, expire_date__gt=_NOW).values_list(*names),
                         {_SESSION_KEY: self.session_key, _NOW: timezone.now()})
        if row is None:
            self._session_key = None
            return None
        return model.from_db(alias, names, row)
