from django.core.management.base import BaseCommand

from geo_assets import demo


class Command(BaseCommand):
    help = "Ensure the demo administrator and role users exist and print their login."

    def handle(self, *args, **options):
        password, usernames = demo.demo_users_ensure()
        self.stdout.write("演示账号 (demo logins):")
        for username in usernames:
            self.stdout.write(f"  用户名 {username:<14} 密码 {password}")
        self.stdout.write(f"  (密码保存在 {demo.DEMO_PASSWORD_FILE})")
