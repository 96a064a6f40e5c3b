"""Shared translation between command-line arguments and importers.services."""

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import ngettext

from importers.services import ImportReport


def report_emit(command, report: ImportReport, report_path: str | None) -> None:
    command.stdout.write(report.summary())
    if report_path:
        Path(report_path).write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")


def exit_for(report: ImportReport, *, skip_invalid: bool) -> None:
    if report.invalid and not skip_invalid:
        raise CommandError(ngettext("%(count)s row is invalid; nothing was written.",
                                    "%(count)s rows are invalid; nothing was written.", report.invalid)
                           % {"count": report.invalid}, returncode=1)
