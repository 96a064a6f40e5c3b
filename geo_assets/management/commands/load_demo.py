from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from geo_assets import demo


class Command(BaseCommand):
    help = ("Load the demo county (Luanchuan) once: townships, villages and a few thousand assets. Safe to run again. "
            "--size province loads the benchmark province instead (issue 11): ~560 villages, 1.25 million assets.")

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=("county", "province"), default="county")
        parser.add_argument("--townships", type=int, default=12)
        parser.add_argument("--villages-per-township", type=int, default=14)
        parser.add_argument("--assets-per-village", type=int, default=18)
        parser.add_argument("--scale", type=float, default=1.0,
                            help="province only: multiply the numbers of assets (0.01: 12,500 assets)")
        parser.add_argument("--villages", type=int, default=None, help="province only: number of villages")

    def handle(self, *args, **options):
        if options["size"] == "province":
            return self.province(options)
        if demo.demo_loaded():
            if not self.lifecycle():  # a county loaded before the lifecycle records existed gets them once
                self.stdout.write(_("The demo county is already loaded: nothing changed."))
            return
        demo.demo_users_ensure()
        actor = get_user_model().objects.get(username="admin")
        self.stdout.write(_("Loading the demo county …"))
        result = demo.demo_load(
            actor=actor, townships=options["townships"], villages_per_township=options["villages_per_township"],
            assets_per_village=options["assets_per_village"], progress=self.stdout.write,
        )
        demo.demo_users_ensure()
        self.stdout.write(self.style.SUCCESS(
            _("Loaded. Townships: %(townships)s, villages: %(villages)s, assets: %(assets)s")
            % {"townships": result.townships, "villages": result.villages, "assets": result.assets}))
        self.lifecycle()

    def province(self, options) -> None:
        from geo_assets import province

        if options["scale"] <= 0:
            raise CommandError(_("--scale must be greater than 0"))
        full = province.Size()
        villages = options["villages"] or full.villages
        if villages < full.counties:
            raise CommandError(_("--villages must be at least %(counties)s") % {"counties": full.counties})
        size = province.Size(villages=villages, points=round(full.points * options["scale"]),
                             lines=round(full.lines * options["scale"]),
                             polygons=round(full.polygons * options["scale"]))
        province.province_users_ensure()
        actor = get_user_model().objects.get(username="admin")
        result = province.province_load(actor=actor, size=size, progress=self.stdout.write)
        province.province_users_ensure()
        if not result.created:
            self.stdout.write(_("The benchmark province is already loaded, nothing changed. Villages: %(villages)s, "
                                "assets: %(assets)s") % {"villages": result.villages, "assets": f"{result.assets:,}"})
            return
        self.stdout.write(self.style.SUCCESS(
            _("Loaded. Counties: %(counties)s, townships: %(townships)s, villages: %(villages)s, assets: %(assets)s")
            % {"counties": result.counties, "townships": result.townships, "villages": result.villages,
               "assets": f"{result.assets:,}"}))

    def lifecycle(self) -> dict:
        """Ownership, custody, contracts, income, plans, disposals and notices at every stage (once)."""
        from geo_assets.demo_lifecycle import demo_lifecycle_load

        actor = get_user_model().objects.filter(username="admin").first()
        created = demo_lifecycle_load(actor=actor) if actor else {}
        if created:
            self.stdout.write(self.style.SUCCESS(_("Loaded asset-management records: %(records)s")
                                                 % {"records": ", ".join(f"{k} {v}" for k, v in created.items())}))
        return created
