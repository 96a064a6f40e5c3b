"""Where reads and writes go: the primary, or a streaming replica for read-only work (issue 11).

Every write goes to the primary ("default"). A read goes to a replica (settings.DATABASE_REPLICAS) only inside
replica_reads(), which config.middleware.ReplicaReadsMiddleware enters for GET/HEAD requests to the read-heavy
routes (settings.DATABASE_REPLICA_ROUTES: tiles, the JSON API, reports, the verification "nearby" API). Even there
the primary answers while a write may be under way: inside a transaction.atomic() block the view opens (the
request's own ATOMIC_REQUESTS block, which merely wraps the view, does not count) and, once anything was written on
the primary, for the rest of the context, so a view reads its own writes. Accounts and sessions are always read
from the primary (PRIMARY_ONLY_APPS). Without replicas the router leaves every choice to Django, as before.

Raw SQL that only reads (tiles, reports) takes its cursor from read_cursor(), or runs through read_fetch() when it
is one statement, so the router decides for it as it does for the ORM.
"""

import contextlib
import logging
import random
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router

logger = logging.getLogger(__name__)

# Reads that must see the latest commit: the login and session behind every request (a user who has just logged
# in must not look anonymous to the map because the replica is a few milliseconds behind).
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "authtoken"})
PRIMARY_ONLY_MODELS = frozenset({"geo_assets.session"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
_READ_VERBS = frozenset({"SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET",
                         "BEGIN", "COMMIT"})
_LOCKING = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")
_CTE_WRITES = ("INSERT INTO", "UPDATE ", "DELETE FROM")  # WITH … AS (INSERT …): data-modifying


def replica_aliases() -> list[str]:
    """The configured replicas (settings.DATABASE_REPLICAS) that DATABASES defines."""
    return [alias for alias in getattr(settings, "DATABASE_REPLICAS", ()) if alias in connections.settings]


# A replica that failed (stopped, unreachable, restarting): its reads go to the primary until this time (monotonic)
_down_until: dict[str, float] = {}


def replicas_up() -> list[str]:
    """The configured replicas not known to be down (one that failed is tried again after
    settings.DATABASE_REPLICA_RETRY_S seconds)."""
    now = time.monotonic()
    return [alias for alias in replica_aliases() if _down_until.get(alias, 0.0) <= now]


def replica_failed() -> bool:
    """After a database error inside replica_reads(): was it the context's replica? If it does not answer now, it is
    marked down (reads go to the primary for DATABASE_REPLICA_RETRY_S seconds), and the rest of the context reads
    from the primary."""
    state = _current.get()
    if state is None:
        return False
    replica = connections[state.alias]
    try:
        replica.close()
        with replica.cursor() as cursor:
            cursor.execute("SELECT 1")
        return False
    except DatabaseError:
        _down_until[state.alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_S
        logger.warning("replica %s does not answer: reads go to the primary for %s s", state.alias,
                       settings.DATABASE_REPLICA_RETRY_S)
        with contextlib.suppress(DatabaseError):
            replica.close()
        state.wrote = True  # the primary answers the rest of the context
        return True


def read_cursor(model, *, prepared: bool = False):
    """A cursor on the database the router picks for reading `model` (`prepared`: see prepared_cursor)."""
    return _cursor(connections[router.db_for_read(model)], prepared)


class PreparedCursor(psycopg.Cursor):
    """Binds parameters on the server (Django's cursors bind them client-side and never prepare) and has PostgreSQL
    prepare each statement once per connection: a statement run again is not parsed and analysed again, and after
    five runs PostgreSQL plans it once if that plan costs no more than the ones it made for the values
    (plan_cache_mode auto). Needs a `prepare_threshold` in the database OPTIONS (settings.with_prepared_statements);
    without one (a pooler in transaction mode) nothing is prepared."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor(connection):
    """A PreparedCursor on `connection`, wrapped as Django wraps its own (execute_wrapper, errors) — or Django's own
    cursor while queries are logged (DEBUG, a test counting them), which logs the SQL with its values. Only for
    statements whose text stays the same from call to call, their values passed as parameters (a statement made
    anew each time would fill psycopg's cache of prepared statements for nothing)."""
    if connection.queries_logged:
        return connection.cursor()
    connection.ensure_connection()
    return connection.make_cursor(PreparedCursor(connection.connection))


def _cursor(connection, prepared: bool):
    return prepared_cursor(connection) if prepared else connection.cursor()


def read_fetch(model, sql: str, params, *, rows: bool = False, prepared: bool = False):
    """One statement that only reads, on the database the router picks for `model`: its first row (or every row),
    the statement standing in for the connection's health check (first_statement). `prepared`: see
    prepared_cursor."""
    connection = connections[router.db_for_read(model)]

    def run():
        with _cursor(connection, prepared) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else cursor.fetchone()

    return first_statement(connection, run)


@contextmanager
def reads_ahead(model, *, prepared: bool = False):
    """Read-only statements sent at once on the connection that reads `model`, their rows read afterwards
    (psycopg's pipeline mode): the database runs each as it arrives, back to back, while Python shapes the rows of
    those sent before — a report's statements and its Python take the time of the longer, not of both.

    Yields `send(sql, params)`, which returns `read()`: the statement's rows, every one (read them in any order).
    Statements run the usual way inside the block run after those sent. No server-side cursor inside.
    `prepared`: the statements sent are prepared (prepared_cursor)."""
    connection = connections[router.db_for_read(model)]
    connection.ensure_connection()
    cursors = []

    def send(sql: str, params):
        cursor = _cursor(connection, prepared)
        cursors.append(cursor)
        cursor.execute(sql, params)

        def read() -> list[tuple]:
            with cursor:
                return cursor.fetchall()
        return read

    with connection.wrap_database_errors, connection.connection.pipeline():
        try:
            yield send
        finally:
            for cursor in cursors:  # those not read (an error before): their results are discarded at the exit
                cursor.close()


def first_statement(connection, run):
    """`run()`, one statement that only reads, outside a transaction, as the request's health check of `connection`.

    With CONN_HEALTH_CHECKS Django sends `SELECT 1` before a request's first statement on a connection kept from an
    earlier request, so one the database dropped meanwhile (a restart) is replaced instead of failing the request:
    a round trip more on every request (a tile, the nearby list, the session behind every page). Here the statement
    itself is the check: if it fails and the connection is gone, it runs once more on a new connection; if it
    succeeds, Django's check is not sent. An error of the statement itself is raised as it is."""
    if (connection.connection is None or connection.in_atomic_block or not connection.health_check_enabled
            or connection.health_check_done):
        return run()
    connection.health_check_done = True
    try:
        return run()
    except (DatabaseError, connection.Database.Error):  # Django's wrapped errors, or the driver's own
        if connection.is_usable():
            raise
        connection.close()
        return run()


class OverBudget(Exception):
    """A statement ran longer than the budget it was given (statement_budget)."""


@contextmanager
def statement_budget(using: str, *, ms: int):
    """The statements inside run in a savepoint (a transaction) of `using` with `statement_timeout` = ms; one that runs
    longer is cancelled by the server and OverBudget raised. The enclosing transaction, if any, keeps its own
    setting: the budget is set with SET LOCAL and put back before the savepoint is released."""
    from django.db import OperationalError, transaction

    connection = connections[using]
    try:
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                               [f"{int(ms)}ms"])
                (before, _), = cursor.fetchall()
            yield
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
    except OperationalError as error:
        if isinstance(error.__cause__, psycopg.errors.QueryCanceled):
            raise OverBudget(f"over {ms} ms") from error
        raise


def is_write(sql: str) -> bool:
    """Whether a statement changes data or takes row locks (anything but plain reads and transaction control)."""
    text = sql.lstrip().upper()
    verb = text.split(None, 1)[0] if text else ""
    if verb not in _READ_VERBS or any(lock in text for lock in _LOCKING):
        return True
    return verb == "WITH" and any(dml in text for dml in _CTE_WRITES)


@dataclass
class _ReplicaReads:
    alias: str  # one replica per context: a request sees one consistent copy
    depth: int  # atomic blocks on the primary that write nothing: the request's own (ATOMIC_REQUESTS) or none
    wrote: bool = False

    def watch(self, execute, sql, params, many, context):
        if is_write(sql):
            self.wrote = True
        return execute(sql, params, many, context)

    def usable(self) -> bool:
        return not self.wrote and len(connections[DEFAULT_DB_ALIAS].atomic_blocks) <= self.depth


_current: ContextVar[_ReplicaReads | None] = ContextVar("replica_reads", default=None)


@contextmanager
def replica_reads(*, request_atomic: bool = False):
    """Reads in this block may go to a replica, until something is written or a transaction is opened.

    request_atomic: the block wraps a view that Django will run inside an ATOMIC_REQUESTS transaction, which is
    not counted as a write in progress (the view is read-only until it writes)."""
    replicas = replicas_up()
    if not replicas or _current.get() is not None:
        yield
        return
    primary = connections[DEFAULT_DB_ALIAS]
    # Entered inside a transaction (e.g. a TestCase's): what it wrote is not on any replica, so block 0 counts.
    state = _ReplicaReads(alias=random.choice(replicas), depth=int(request_atomic))
    token = _current.set(state)
    try:
        with primary.execute_wrapper(state.watch):
            yield
    finally:
        _current.reset(token)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: writes to the primary, reads in replica_reads() to the context's replica."""

    def db_for_read(self, model, **hints):
        if not replica_aliases():
            return None  # Django's own choice, as without a router
        state = _current.get()
        if (state is not None and model._meta.app_label not in PRIMARY_ONLY_APPS
                and model._meta.label_lower not in PRIMARY_ONLY_MODELS and state.usable()):
            return state.alias
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS if replica_aliases() else None

    def allow_relation(self, obj1, obj2, **hints):
        same_data = {DEFAULT_DB_ALIAS, *replica_aliases()}  # copies of one database
        if len(same_data) > 1 and obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return (db == DEFAULT_DB_ALIAS) if replica_aliases() else None  # a replica follows the primary's schema


class NonAtomicReadMixin:
    """For a DRF view that only reads: no request transaction around it (ATOMIC_REQUESTS costs two round trips).

    DRF marks the innermost transaction for rollback on a 400/404/429, assuming it is the request's own; such a
    view has none, so an enclosing block (a caller's, a test's) keeps its state."""

    @classmethod
    def as_view(cls, **initkwargs):
        from django.db import transaction

        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def handle_exception(self, exc):
        before = {db.alias: db.needs_rollback for db in connections.all(initialized_only=True) if db.in_atomic_block}
        try:
            return super().handle_exception(exc)
        finally:
            for db in connections.all(initialized_only=True):
                if db.alias in before and db.in_atomic_block:
                    db.set_rollback(before[db.alias])
