"""The database cache's table (Django's DatabaseCache layout, as `createcachetable` makes it), created by migrate as
the schema's owner whatever CACHE_URL says, so switching between Redis and the database needs no other step; the
application's role gets SELECT, INSERT, UPDATE, DELETE on it after migrate (geo_assets/dbroles.py, class "other")."""

from django.db import migrations

TABLE = "assets_cache"  # config.settings.CACHE_TABLE

CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
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
