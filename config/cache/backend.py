"""Django's DatabaseCache with an atomic incr (the tile throttles' fixed-window counters, layers/views.py): Django's
reads the value and writes it back, so two workers counting at once may count one. Here the row is locked for the
read and the write (SELECT … FOR UPDATE in one short transaction on the cache's own alias)."""

import base64
import pickle

from django.core.cache.backends import db
from django.db import connections, router, transaction


class DatabaseCache(db.DatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        table = connection.ops.quote_name(self._table)
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table} WHERE cache_key = %s AND expires > now() FOR UPDATE",  # noqa: S608
                           [key])
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301 - written by this cache
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET value = %s WHERE cache_key = %s", [encoded, key])  # noqa: S608
        return value

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
