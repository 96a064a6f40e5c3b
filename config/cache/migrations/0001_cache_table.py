"""The database cache's table (Django's DatabaseCache layout, as `createcachetable` makes it), created by migrate as
the schema's owner whatever CACHE_URL says, so switching between Redis and the database needs no other step; the
application's role gets SELECT, INSERT, UPDATE, DELETE on it after migrate (geo_assets/dbroles.py, class "other").

UNLOGGED: a counter's write goes to no WAL and its commit waits for no disk flush (two to four writes per tile);
after a crash the table comes back empty (the rate limits start again) and standbys and base backups have no copy
of it, which a cache does not need (its reads never go to a replica: config/cache/backend.py, CacheRouter)."""

from django.db import migrations

TABLE = "assets_cache"  # config.settings.CACHE_TABLE

CREATE = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_expires ON {TABLE} (expires);
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [migrations.RunSQL(CREATE, reverse_sql=f"DROP TABLE IF EXISTS {TABLE}")]
