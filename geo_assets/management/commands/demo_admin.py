from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from geo_assets import demo


class Command(BaseCommand):
    help = "Ensure the demo administrator and role users exist and print their login."

    def handle(self, *args, **options):
        password, usernames = demo.demo_users_ensure()
        self.stdout.write(_("Demo logins:"))
        from geo_assets.models import Membership

        roles = {m.user.username: m.label for m in Membership.objects.filter(user__username__in=usernames)
                 .select_related("user", "area", "department", "county")}
        for username in usernames:
            self.stdout.write("  " + _("user name %(username)-22s password %(password)s")
                              % {"username": username, "password": password}
                              + f"  {roles.get(username, _('system administrator'))}")
        self.stdout.write("  " + _("(the password is kept in %(file)s)") % {"file": demo.DEMO_PASSWORD_FILE})
