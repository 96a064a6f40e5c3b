from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from verification import demo


class Command(BaseCommand):
    help = ("Load the demo verifications once (after load_demo): earlier years' photos, one spot check in progress, "
            "flagged records for review, a problem asset. Safe to run again.")

    def handle(self, *args, **options):
        if demo.demo_verifications_loaded():
            self.stdout.write(_("The demo verifications are already loaded: nothing changed."))
            return
        self.stdout.write(_("Loading the demo verifications …"))
        try:
            result = demo.demo_verifications_load(progress=self.stdout.write)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        loaded = _("Loaded: %(verifications)d verifications, %(photos)d photos, campaign “%(campaign)s”") % {
            "verifications": result.verifications, "photos": result.photos, "campaign": result.campaign.name}
        self.stdout.write(self.style.SUCCESS(loaded))
