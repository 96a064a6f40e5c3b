import argparse

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from geo_assets import demo


class Command(BaseCommand):
    help = ("Load the demo county (Luanchuan) once: townships, villages and a few thousand assets. Safe to run "
            "again (the lifecycle records: load_demo_lifecycle, after it).")

    def add_arguments(self, parser):
        # the benchmark province moved to the bench app (development settings): `manage.py load_province`
        parser.add_argument("--size", choices=("county", "province"), default="county", help=argparse.SUPPRESS)
        parser.add_argument("--townships", type=int, default=12)
        parser.add_argument("--villages-per-township", type=int, default=14)
        parser.add_argument("--assets-per-village", type=int, default=18)

    def handle(self, *args, **options):
        if options["size"] == "province":
            raise CommandError(_("--size province moved to the bench app: `python manage.py load_province "
                                 "[--scale S] [--villages N]`"))
        demo.demo_users_ensure()
        actor = get_user_model().objects.get(username="admin")
        if demo.demo_loaded():
            if not self._prefecture(actor):
                self.stdout.write(_("The demo county is already loaded: nothing changed."))
            return
        self.stdout.write(_("Loading the demo county …"))
        result = demo.demo_load(
            actor=actor, townships=options["townships"], villages_per_township=options["villages_per_township"],
            assets_per_village=options["assets_per_village"], progress=self.stdout.write,
        )
        self.stdout.write(self.style.SUCCESS(
            _("Loaded. Townships: %(townships)s, villages: %(villages)s, assets: %(assets)s")
            % {"townships": result.townships, "villages": result.villages, "assets": result.assets}))
        self._prefecture(actor)

    def _prefecture(self, actor) -> bool:
        """The prefecture above the demo county and its second county (issue 19), once; whether it loaded them."""
        loaded = False
        if not demo.demo_prefecture_loaded():
            self.stdout.write(_("Loading the demo prefecture's second county …"))
            result = demo.demo_prefecture_load(actor=actor, progress=self.stdout.write)
            if result is not None:
                loaded = True
                self.stdout.write(self.style.SUCCESS(
                    _("Loaded. Townships: %(townships)s, villages: %(villages)s, assets: %(assets)s")
                    % {"townships": result.townships, "villages": result.villages, "assets": result.assets}))
        demo.demo_users_ensure()
        return loaded
