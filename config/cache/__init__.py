"""The shared cache (issue 20, "Shared state across workers"): the rate-limit counters and anything cached live in
one place for every gunicorn worker and server, not per process.

By default the cache is PostgreSQL's own table (`assets_cache`, created by this app's migration as the schema's
owner, so `manage.py migrate` grants the application's role its rows like any other table: geo_assets/dbroles.py),
read and written through a database alias of its own (settings.CACHE_DATABASE, "cache": the same database in
autocommit, outside the request's ATOMIC_REQUESTS transaction — a counter counts even when the request fails, is
seen by the other workers at once, and its row lock lasts one statement, not the whole request). CACHE_URL naming
Redis uses Django's RedisCache instead. config/settings.py (`shared_cache`) reads it."""
