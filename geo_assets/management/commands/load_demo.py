from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from geo_assets import demo


class Command(BaseCommand):
    help = ("Load the demo county (栾川县) once: townships, villages and a few thousand assets. Safe to run again "
            "(the lifecycle records: load_demo_lifecycle, after it). "
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
            self.stdout.write("演示数据已存在，未做任何更改。(demo county already loaded)")
            return
        demo.demo_users_ensure()
        actor = get_user_model().objects.get(username="admin")
        self.stdout.write("正在载入演示县 (loading the demo county) …")
        result = demo.demo_load(
            actor=actor, townships=options["townships"], villages_per_township=options["villages_per_township"],
            assets_per_village=options["assets_per_village"], progress=self.stdout.write,
        )
        demo.demo_users_ensure()
        self.stdout.write(self.style.SUCCESS(
            f"已载入: {result.townships} 个乡镇, {result.villages} 个村, {result.assets} 项资产"))

    def province(self, options) -> None:
        from geo_assets import province

        if options["scale"] <= 0:
            raise CommandError("--scale 必须大于 0")
        full = province.Size()
        villages = options["villages"] or full.villages
        if villages < full.counties:
            raise CommandError(f"--villages 至少为 {full.counties}")
        size = province.Size(villages=villages, points=round(full.points * options["scale"]),
                             lines=round(full.lines * options["scale"]),
                             polygons=round(full.polygons * options["scale"]))
        province.province_users_ensure()
        actor = get_user_model().objects.get(username="admin")
        result = province.province_load(actor=actor, size=size, progress=self.stdout.write)
        province.province_users_ensure()
        if not result.created:
            self.stdout.write(f"省级基准数据已存在，未做任何更改: {result.villages} 个村, {result.assets:,} 项资产")
            return
        self.stdout.write(self.style.SUCCESS(
            f"已载入: {result.counties} 个县, {result.townships} 个乡镇, {result.villages} 个村, {result.assets:,} 项资产"))
