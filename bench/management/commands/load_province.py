"""`python manage.py load_province [--scale S] [--villages N]`: the benchmark province of issue 11 (bench/province.py;
formerly `load_demo --size province`)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bench import province


class Command(BaseCommand):
    help = "Load the benchmark province once (issue 11): ~560 villages, 1.25 million assets. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0,
                            help="multiply the numbers of assets (0.01: 12,500 assets)")
        parser.add_argument("--villages", type=int, default=None, help="number of villages")

    def handle(self, *args, **options):
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
