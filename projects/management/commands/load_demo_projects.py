from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from projects import demo


class Command(BaseCommand):
    help = ("Load the demo project and fund ledgers once (after load_demo and load_demo_lifecycle): 2024-2026 "
            "projects matching the demo assets, traced and excluded projects, spending that forms no asset and "
            "every kind of reconciliation finding. Safe to run again.")

    def handle(self, *args, **options):
        actor = get_user_model().objects.filter(username="admin").first()
        if actor is None:
            self.stdout.write(_("No demo administrator: run manage.py load_demo first."))
            return
        found = demo.demo_projects_load(actor=actor)
        if found is None:
            self.stdout.write(_("The demo projects are already loaded (or there are no assets): nothing changed."))
            return
        self.stdout.write(self.style.SUCCESS(
            _("Loaded projects: %(projects)s, fund lines: %(lines)s, assets linked: %(links)s")
            % {"projects": found.projects, "lines": found.fund_lines, "links": found.links}))
        for label, codes in (
                (_("accepted projects without assets"), found.accepted_without_assets),
                (_("assets without a project"), found.assets_without_project),
                (_("projects whose assets' investment exceeds their disbursement"), found.formed_beyond),
                (_("projects partly formed"), found.partly_formed),
                (_("fund lines without a document number"), found.lines_without_document)):
            self.stdout.write("  " + _("%(finding)s: %(count)s (e.g. %(example)s)")
                              % {"finding": label, "count": len(codes), "example": codes[0] if codes else "—"})
