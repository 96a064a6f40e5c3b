"""`manage.py migrate` as the schema's owner (DATABASE_OWNER_URL, when set), then the application's role
(DATABASE_URL) granted what each table's class allows (geo_assets/dbroles.py; README, "Database roles")."""

from django.core.management.commands import migrate
from django.db import connections

from geo_assets.dbroles import as_owner, grant_application_role


class Command(migrate.Command):
    help = (migrate.Command.help + " Connects as DATABASE_OWNER_URL's role when set, and then grants DATABASE_URL's "
            "role its privileges on every table.")

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        with as_owner(connection):
            super().handle(*args, **options)
            if not (options.get("plan") or options.get("check_unapplied")):
                role = grant_application_role(connection)
                if role and options["verbosity"] >= 1:
                    self.stdout.write(f"Privileges of the application's role {role} granted.")
