"""Authentication for every logged-in request: the session row and the user with its role scope in one statement
(the session table keeps its user's id: models.accounts.Session), compiled once per process and prepared once per
connection.

Django's ModelBackend and database session store build their querysets anew on each request (~0.3 ms of CPU
each, measured), and `access.scope_for` then asks for the membership in a third query. A map view requests dozens
of tiles at once, so these fixed costs are most of what a logged-in tile costs beyond its SQL (docs/performance.md).
"""

import datetime
from contextvars import ContextVar

from django.contrib import auth
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.sessions.backends import db as db_sessions
from django.db import connections, router
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from geo_assets.access import SCOPE_LOOKUPS, current_membership, scope_from_values
from geo_assets.dbrouting import first_statement, prepared_cursor

_USER_ID = -8_675_309  # placeholders compiled into a statement, replaced by the values at each execution
_SESSION_KEY = "\x00session-key"
_NOW = timezone.make_aware(datetime.datetime(1900, 1, 1), datetime.UTC)
_STATEMENTS: dict[tuple, tuple[str, tuple]] = {}
# While the request's user is being resolved: the request's session store, which may hold its user's row
_RESOLVING: ContextVar = ContextVar("session_being_resolved", default=None)


def _fetch_one(key: tuple, build, values: dict):
    """Run a queryset compiled once per process (`build()`), its placeholder parameters replaced by `values`."""
    found = _STATEMENTS.get(key)
    if found is None:
        sql, params = build().query.sql_with_params()
        found = _STATEMENTS[key] = (sql, tuple(params))
    sql, params = found
    connection = connections[key[-1]]

    def run():
        # the user's four-table join is not planned on every request (0.17 → 0.02 ms of database CPU, measured)
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [values[p] for p in params])
            return cursor.fetchone()

    return first_statement(connection, run)  # the session, first of most requests: also the health check


def _user_columns():
    User = get_user_model()
    return User, tuple(f.attname for f in User._meta.concrete_fields)


def _scoped_users(alias, pk):
    """The user `pk` (a value or an expression) with the four scope values of its current membership."""
    User, attnames = _user_columns()
    return (User._default_manager.using(alias).filter(pk=pk)
            .annotate(membership=current_membership())
            .annotate(**{name: F(path) for name, path in SCOPE_LOOKUPS.items()})
            .values_list(*attnames, *SCOPE_LOOKUPS))


class ScopedModelBackend(ModelBackend):
    """ModelBackend whose `get_user` reads the membership's four scope values in the user's query (a LEFT JOIN) —
    or takes the row the session's statement already read (SessionStore)."""

    def get_user(self, user_id):
        User, attnames = _user_columns()
        pk = User._meta.pk.to_python(user_id)
        alias = router.db_for_read(User)
        store = _RESOLVING.get()
        row = getattr(store, "user_row", None)
        if row is None or row[0] != pk:
            row = _fetch_one(("user", User, alias), lambda: _scoped_users(alias, _USER_ID), {_USER_ID: pk})
        if row is None:
            return None
        user = User.from_db(alias, attnames, row[:len(attnames)])
        if not self.user_can_authenticate(user):
            return None
        user._asset_scope = scope_from_values(*row[len(attnames):])
        return user


class SessionStore(db_sessions.SessionStore):
    """Django's database sessions in models.accounts.Session; a session row is read with its user and the user's
    scope by one statement compiled once (`user_row`: what ScopedModelBackend.get_user would read)."""

    user_row: tuple | None = None

    @classmethod
    def get_model_class(cls):
        from geo_assets.models import Session

        return Session

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        try:
            instance.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            instance.user_id = None
        return instance

    def _get_session_from_db(self):
        model = self.model
        alias = router.db_for_read(model)
        names = ("session_key", "session_data", "expire_date")
        row = _fetch_one(("session", model, alias), lambda: _session_with_user(model, alias, names),
                         {_SESSION_KEY: self.session_key, _NOW: timezone.now()})
        self.user_row = None
        if row is None:
            self._session_key = None
            return None
        if row[len(names)] is not None:
            self.user_row = row[len(names):]
        return model.from_db(alias, names, row[:len(names)])


class _SessionWithUser:
    """A compiled pair of querysets posing as one (what _fetch_one expects of `build()`)."""

    def __init__(self, sql, params):
        self.query = self
        self._sql, self._params = sql, params

    def sql_with_params(self):
        return self._sql, self._params


def _session_with_user(model, alias, names):
    session_sql, session_params = (model.objects.using(alias).filter(session_key=_SESSION_KEY, expire_date__gt=_NOW)
                                   .values_list(*names, "user_id").query.sql_with_params())
    quote = connections[alias].ops.quote_name
    user_sql, user_params = _scoped_users(alias, RawSQL(f"s.{quote('user_id')}", ())  # noqa: S611 - a column name
                                          ).query.sql_with_params()
    columns = ", ".join(f"s.{quote(n)}" for n in names)
    return _SessionWithUser(f"SELECT {columns}, u.* FROM ({session_sql}) s "  # noqa: S608 - compiled SQL
                            f"LEFT JOIN LATERAL ({user_sql}) u ON true",
                            (*session_params, *user_params))


def get_user(request):
    """django.contrib.auth's get_user, with the session's prefetched user row within reach of the backend."""
    if not hasattr(request, "_cached_user"):
        token = _RESOLVING.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _RESOLVING.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, resolving the user with the row its session's statement read (no second statement)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
