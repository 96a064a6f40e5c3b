"""What an import reports: counts, every invalid row's problems, the codes it wrote, a preview for the web page."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext


def joined(items) -> str:
    """Items listed as the interface language lists them (with 、 in Chinese)."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


Progress = Callable[[str, int, int], None]  # (phase "check" | "write", rows done, rows in the file)


@dataclass
class RowError:
    row: int
    field: str
    message: str
    layer: str = ""


@dataclass
class ImportReport:
    file: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    linked: int = 0  # asset ledger: links to projects written (项目编号), new or with a changed amount
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    created_codes: list[str] = field(default_factory=list)  # the first REPORT_CODES, for links in the report
    updated_codes: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)

    def to_dict(self, *, with_preview: bool = False) -> dict:
        data = asdict(self)
        if not with_preview:
            data.pop("preview")
        return data

    def summary(self) -> str:
        head = _(" (dry run, nothing written)") if self.dry_run else (
            "" if self.written or not self.invalid else _(" (nothing written)"))
        lines = [
            _("Import %(file)s%(head)s: read %(read)s, created %(created)s, updated %(updated)s, unchanged "
              "%(unchanged)s, invalid %(invalid)s") % {
                "file": self.file, "head": head, "read": self.read, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "invalid": self.invalid},
        ]
        if self.linked:
            lines.append("  " + ngettext("%(count)s link of an asset to its project", "%(count)s links of assets to "
                                         "their projects", self.linked) % {"count": self.linked})
        lines += ["  " + _("Note: %(warning)s") % {"warning": w} for w in self.warnings]
        for e in self.errors[:200]:
            where = f"{e.layer} " if e.layer else ""
            lines.append("  " + _("%(layer)srow %(row)s [%(field)s] %(message)s") % {
                "layer": where, "row": e.row, "field": e.field, "message": e.message})
        if len(self.errors) > 200:
            more = len(self.errors) - 200
            lines.append("  " + ngettext("…and %(count)s more error, see --report",
                                         "…and %(count)s more errors, see --report", more) % {"count": more})
        return "\n".join(lines)
