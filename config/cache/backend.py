"""Django's DatabaseCache, with fewer round trips and an atomic incr. Django's writes count the whole table before
each one (its culling) and wrap a SELECT and an UPDATE or INSERT in a transaction: ~9 statements for the add and
incr of one rate-limit counter (the tiles' fixed windows, layers/views.py: two counters per tile). Here a write is
one upsert, incr a compare-and-set (the read, then an UPDATE only if the value is still the one read, again if
not: two workers counting at once both count, where Django's read-then-write may lose one), and the culling runs on
one write in CULL_EVERY. Same table and encoding as Django's (base64 of a pickle)."""

import base64
import contextlib
import datetime
import itertools
import pickle

from django.core.cache.backends import db
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.db import DatabaseError, connections, router, transaction

CULL_EVERY = 100
MAX_EXPIRY = datetime.datetime.max.replace(microsecond=0, tzinfo=datetime.UTC)


class DatabaseCache(db.DatabaseCache):
    def __init__(self, table, params):
        super().__init__(table, params)
        self._writes = itertools.count(1)

    def _encode(self, value) -> str:
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")

    def _expires(self, timeout) -> datetime.datetime:
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            return MAX_EXPIRY
        return datetime.datetime.fromtimestamp(timeout, tz=datetime.UTC).replace(microsecond=0)

    @contextlib.contextmanager
    def _cursor(self):
        """A cursor on the cache's database; a savepoint when that connection is inside a transaction (a failed
        statement must not break it)."""
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        guard = transaction.atomic(using=alias) if connection.in_atomic_block else contextlib.nullcontext()
        with guard, connection.cursor() as cursor:
            yield cursor, connection.ops.quote_name(self._table)

    def _write(self, sql: str, params: list) -> bool:
        try:
            with self._cursor() as (cursor, table):
                cursor.execute(sql.format(table=table), params)
                stored = cursor.rowcount == 1
                if next(self._writes) % CULL_EVERY == 0:
                    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                    count = cursor.fetchone()[0]
                    if count > self._max_entries:
                        self._cull(router.db_for_write(self.cache_model_class), cursor,
                                   datetime.datetime.now(datetime.UTC), count)
                return stored
        except DatabaseError:  # as Django's: a cache write may fail silently
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        self._write("INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) ON CONFLICT (cache_key) "
                    "DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires",
                    [key, self._encode(value), self._expires(timeout)])

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._write("INSERT INTO {table} AS entry (cache_key, value, expires) VALUES (%s, %s, %s) "
                           "ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires "
                           "WHERE entry.expires < statement_timestamp()", [key, self._encode(value), self._expires(timeout)])

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._cursor() as (cursor, table):
            while True:
                cursor.execute(f"SELECT value FROM {table} WHERE cache_key = %s AND expires > statement_timestamp()", [key])  # noqa: S608
                row = cursor.fetchone()
                if row is None:
                    raise ValueError(f"Key '{key}' not found")
                value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301 - written by this cache
                cursor.execute(f"UPDATE {table} SET value = %s WHERE cache_key = %s AND value = %s",  # noqa: S608
                               [self._encode(value), key, row[0]])
                if cursor.rowcount == 1:
                    return value

    def hit(self, key, timeout, version=None, delta: int = 1) -> int:
        """`delta` more on a counter that lives `timeout` seconds from its first hit, and its count: one statement
        (the rate limits' fixed windows, geo_assets.guards.window_hit). Its value is the count as text, not a
        pickle: such a key is only ever hit, never read with get()."""
        key = self.make_and_validate_key(key, version=version)
        with self._cursor() as (cursor, table):
            cursor.execute(
                f"INSERT INTO {table} AS entry (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608
                "ON CONFLICT (cache_key) DO UPDATE SET value = CASE WHEN entry.expires > statement_timestamp() "
                "THEN (entry.value::bigint + EXCLUDED.value::bigint)::text ELSE EXCLUDED.value END, "
                "expires = CASE WHEN entry.expires > statement_timestamp() THEN entry.expires ELSE EXCLUDED.expires "
                "END RETURNING value::bigint",
                [key, str(int(delta)), self._expires(timeout)])
            return cursor.fetchone()[0]

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version)


class CacheRouter:
    """settings.DATABASE_ROUTERS, first: the database cache's reads and writes on its own alias
    (settings.CACHE_DATABASE, autocommit), never on a replica; "default" when that alias is not defined."""

    def _alias(self, model):
        if model._meta.app_label != "django_cache":
            return None
        from django.conf import settings

        alias = getattr(settings, "CACHE_DATABASE", None)
        return alias if alias and alias in connections.settings else "default"

    def db_for_read(self, model, **hints):
        return self._alias(model)

    def db_for_write(self, model, **hints):
        return self._alias(model)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        from django.conf import settings

        return False if db == getattr(settings, "CACHE_DATABASE", None) else None  # the same database as default
