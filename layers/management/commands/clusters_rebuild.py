"""`python manage.py clusters_rebuild`: recompute the precomputed low-zoom clusters from the assets."""

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from layers.services import clusters_rebuild


class Command(BaseCommand):
    help = "Recompute the precomputed cluster table (layers_assetcluster) from the assets, then VACUUM ANALYZE it."

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = clusters_rebuild()
        self.stdout.write(_("Cluster table rebuilt: %(rows)s rows in %(seconds)s s")
                          % {"rows": rows, "seconds": f"{time.monotonic() - started:.1f}"})
