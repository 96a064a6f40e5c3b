"""Where reads and writes go: the primary, or a streaming replica for read-only work (issue 11).

Raw SQL that only reads (tiles, reports) takes its cursor from read_cursor(), so the database router decides for
it as it does for the ORM.
"""

from django.db import connections, router


def read_cursor(model):
    """A cursor on the database the router picks for reading `model`."""
    return connections[router.db_for_read(model)].cursor()
