from importers import services
from importers.management.commands._ledger import LedgerCommand


class Command(LedgerCommand):
    help = ("Import a fund ledger from XLSX/CSV: fund lines by project code + source + document number "
            "(or + year), all or nothing. Exit 0 ok, 1 invalid rows (nothing written), 2 unreadable or refused.")
    importer = staticmethod(services.funds_import)
