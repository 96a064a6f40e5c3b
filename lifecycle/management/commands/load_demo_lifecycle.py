from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from lifecycle import demo


class Command(BaseCommand):
    help = ("Load the demo lifecycle records once (after load_demo): ownership, custody, contracts, income, plans, "
            "disposals and notices at every stage. Safe to run again.")

    def handle(self, *args, **options):
        actor = get_user_model().objects.filter(username="admin").first()
        if actor is None:
            self.stdout.write(_("No demo administrator: run manage.py load_demo first."))
            return
        created = demo.demo_lifecycle_load(actor=actor)
        if created:
            self.stdout.write(self.style.SUCCESS(_("Loaded asset-management records: %(records)s")
                                                 % {"records": ", ".join(f"{k} {v}" for k, v in created.items())}))
        else:
            self.stdout.write(_("The demo asset-management records are already loaded: nothing changed."))
