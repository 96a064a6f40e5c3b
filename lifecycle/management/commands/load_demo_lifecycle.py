from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from lifecycle import demo


class Command(BaseCommand):
    help = ("Load the demo lifecycle records once (after load_demo): ownership, custody, contracts, income, plans, "
            "disposals and notices at every stage. Safe to run again.")

    def handle(self, *args, **options):
        actor = get_user_model().objects.filter(username="admin").first()
        if actor is None:
            self.stdout.write("没有演示管理员：请先运行 manage.py load_demo。(no demo administrator: run load_demo first)")
            return
        created = demo.demo_lifecycle_load(actor=actor)
        if created:
            self.stdout.write(self.style.SUCCESS("已载入资产管理事项: " + ", ".join(f"{k} {v}" for k, v in created.items())))
        else:
            self.stdout.write("演示资产管理事项已存在，未做任何更改。(demo lifecycle records already loaded)")
