from django.core.management.base import BaseCommand, CommandError

from verification import demo


class Command(BaseCommand):
    help = ("Load the demo verifications once (after load_demo): earlier years' photos, one spot check in progress, "
            "flagged records for review, a problem asset. Safe to run again.")

    def handle(self, *args, **options):
        if demo.demo_verifications_loaded():
            self.stdout.write("演示核查数据已存在，未做任何更改。(demo verifications already loaded)")
            return
        self.stdout.write("正在载入演示核查数据 (loading the demo verifications) …")
        try:
            result = demo.demo_verifications_load(progress=self.stdout.write)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"已载入: {result.verifications} 条核查记录, {result.photos} 张照片, 核查任务“{result.campaign.name}”"))
