from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from geo_assets import services
from geo_assets.taxonomy import Role


class Command(BaseCommand):
    help = "Give a user a role (creating the user with a printed password when new): county admins only."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("--area", help="12-digit code of the township or village (township/village roles)")
        parser.add_argument("--department", help="department name (department role)")
        parser.add_argument("--county", help="12-digit code of the county a county-wide role belongs to (needed when "
                                             "the register holds several counties)")
        parser.add_argument("--as-user", default=None, help="acting county administrator (default: the first superuser or county administrator)")

    def handle(self, *args, **opts):
        User = get_user_model()
        if opts["as_user"]:
            actor = User.objects.filter(username=opts["as_user"]).first()
        else:
            actor = (User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
                     or User.objects.filter(memberships__role=Role.COUNTY_ADMIN, is_active=True).order_by("pk").first())
        if actor is None:
            raise CommandError(_("No acting county administrator"))
        try:
            user, password = services.user_grant_role(actor=actor, username=opts["username"], role=opts["role"],
                                                      area_code=opts["area"], department_name=opts["department"],
                                                      county_code=opts["county"])
        except (ValidationError, PermissionDenied) as error:
            raise CommandError("; ".join(getattr(error, "messages", [str(error)]))) from error
        for membership in user.memberships.select_related("area", "department", "county"):
            self.stdout.write(f"{user.username}: {membership.label}{' *' if membership.current else ''}")
        if password:
            self.stdout.write(_("Password of the new account: %(password)s") % {"password": password})
