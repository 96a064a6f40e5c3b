from importers import services
from importers.management.commands._ledger import LedgerCommand


class Command(LedgerCommand):
    help = ("Import a project list from XLSX/CSV: projects created or updated by their code, all or nothing. "
            "Exit 0 ok, 1 invalid rows (nothing written), 2 unreadable or refused.")
    importer = staticmethod(services.projects_import)
