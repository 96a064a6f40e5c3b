"""The annual asset ledgers at every level (分级逐一登记造册; 村级分年度扶贫资产管理台账, issue 17): the county's, a
township's and a village's for a year, in the work plan's columns — project code, asset, type, funds by source,
owner, custodian, status, verification — as a page, a print-ready PDF (A4 landscape) and a workbook.

A year's ledger lists the assets formed that year: built that year, or of unknown year and formed by a project of
that year. Disposed ones stay on the staff ledgers with their status. The funds by source follow from the assets'
projects (projects.reconciliation.funding_by_asset; an asset no project formed: its own recorded funding).

A ledger's PDF lists at most reports.views.LEDGER_PDF_MAX assets (WeasyPrint lays out ≈ 20 ms a row of these
seventeen columns: 1,311 rows took 27 s, linearly), saying so; the workbook has every row.

The village's public ledger (for the 公开栏, with its 公示 text) is the public's view whoever asks: published, active
assets only, under their public names (geo_assets.privacy.Redactor of the public: household owners masked), the
custodian unit without a person or a phone number, no notes — public data only. A fixed number of statements
whatever the number of assets.
"""

import copy
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.access import PUBLIC_SCOPE
from geo_assets.models import AdminArea, OwnerShare, PublicityNotice
from geo_assets.models.register import asset_url
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel, AssetStatus, FundingSourceKind, PublicityStage
from projects.models import ProjectAsset
from projects.reconciliation import NO_SOURCE, forming_links, funding_by_asset, project_codes_by_asset, source_label
from reports.tables import Table
from verification.models import Verification
from verification.taxonomy import Finding, Review

LEDGER_FIELDS = ("id", "code", "name", "public_name", "category", "asset_type", "status", "total_investment",
                 "custodian_unit", "custodian_person", "last_verified_at", "year_built", "village__name",
                 "village__code", "township__name")


@dataclass
class Ledger:
    area: AdminArea
    year: int
    public: bool
    table: Table
    count: int = 0
    investment: object = 0
    notice: PublicityNotice | None = None
    sources: list = field(default_factory=list)

    def limited(self, limit: int) -> Table:
        """The table with at most `limit` assets (and its total row), saying how many were left out: for the PDF,
        where WeasyPrint lays out ≈ 20 ms a ledger row (the workbook has every row)."""
        if self.count <= limit:
            return self.table
        table = copy.copy(self.table)
        table.rows = [*self.table.rows[:limit], self.table.rows[-1]]
        table.links = [*self.table.links[:limit], self.table.links[-1]]
        table.note = self.table.note + " " + _("The first %(shown)s of %(total)s rows; the Excel workbook has every "
                                               "row.") % {"shown": limit, "total": self.count}
        return table


def ledger_assets(assets, year: int, *, public: bool):
    """The assets of a year's ledger among `assets` (already scoped to the viewer and the area)."""
    of_year = ProjectAsset.objects.filter(forming_links(), asset=OuterRef("pk"), project__year=year)
    assets = assets.filter(Q(year_built=year) | Q(year_built__isnull=True) & Exists(of_year))
    if public:
        assets = assets.filter(is_published=True).exclude(status=AssetStatus.DISPOSED)
    return assets


def _latest_findings(assets) -> dict[int, str]:
    """asset id → the finding of its latest verification that counts (one statement)."""
    rows = (Verification.objects.filter(asset_id__in=assets.order_by().values("id"),
                                        review__in=(Review.ACCEPTED, Review.APPROVED))
            .order_by("asset_id", "-observed_at", "-id").distinct("asset_id").values_list("asset_id", "finding"))
    return dict(rows)


def _owners(assets, redactor: Redactor) -> dict[int, str]:
    out: dict[int, list[str]] = defaultdict(list)
    for asset_id, name, kind, share in (OwnerShare.objects.filter(asset_id__in=assets.order_by().values("id"),
                                                                   share__gt=0)
                                        .order_by("asset_id", "-share", "owner_name")
                                        .values_list("asset_id", "owner_name", "owner_kind", "share")):
        shown = redactor.owner_name(name, kind)
        out[asset_id].append(shown if share == 100 else _("%(owner)s %(share)s%%") % {
            "owner": shown, "share": f"{share:g}"})
    separator = pgettext("list separator", ", ")
    return {asset_id: separator.join(names) for asset_id, names in out.items()}


def _notice(area: AdminArea, year: int) -> PublicityNotice | None:
    """The latest inventory notice of the year that covers the village (its own, its township's, its county's)."""
    chain = [pk for pk in (area.pk, area.parent_id, area.parent.parent_id if area.parent else None) if pk]
    return (PublicityNotice.objects.filter(area_id__in=chain, stage=PublicityStage.INVENTORY, starts_on__year=year)
            .defer("snapshot").order_by("-starts_on", "-pk").first())


def ledger_build(assets, area: AdminArea, year: int, *, public: bool = False, viewer=PUBLIC_SCOPE) -> Ledger:
    """The year's ledger of the area: `assets` are those the viewer sees in the area (the public: any; only the
    published ones are kept)."""
    redactor = Redactor(PUBLIC_SCOPE if public else viewer)
    chosen = ledger_assets(assets, year, public=public)
    rows = list(chosen.select_related(None).order_by("township__code", "village__code", "code").only(
        *[f for f in LEDGER_FIELDS if "__" not in f], "village__name", "village__code", "township__name",
        "village__parent_id").select_related("village", "township"))
    funds = funding_by_asset(chosen)
    codes = project_codes_by_asset(chosen)
    owners = _owners(chosen, redactor)
    findings = _latest_findings(chosen)
    present = {s for by_source in funds.values() for s in by_source}
    sources = [s for s in [*FundingSourceKind.values, NO_SOURCE] if s in present]
    where = []
    if area.level == AreaLevel.COUNTY:
        where = [(_("Township"), "text"), (_("Village"), "text")]
    elif area.level == AreaLevel.TOWNSHIP:
        where = [(_("Village"), "text")]
    title = (_("%(year)s poverty-alleviation asset ledger of %(area)s") % {"year": year, "area": area.name})
    table = Table("ledger", title, [
        (_("Project code"), "text"), (_("Asset code"), "text"), (_("Asset name"), "text"), *where,
        (_("Type"), "text"), *[(source_label(s), "money") for s in sources], (_("Total investment (10k yuan)"), "money"),
        (_("Owner"), "text"), (_("Custodian"), "text"), (_("Status"), "text"), (_("Verification"), "text")])
    separator = pgettext("list separator", ", ")
    total = 0
    for a in rows:
        by_source = funds.get(a.pk, {})
        place = []
        if area.level == AreaLevel.COUNTY:
            place = [a.township.name if a.township_id else "", a.village.name if a.village_id else ""]
        elif area.level == AreaLevel.TOWNSHIP:
            place = [a.village.name if a.village_id else ""]
        custodian = a.custodian_unit
        if not public and a.custodian_person:
            custodian = _("%(unit)s (%(person)s)") % {"unit": custodian, "person": a.custodian_person} \
                if custodian else a.custodian_person
        verified = _("not verified")
        if a.last_verified_at:
            finding = findings.get(a.pk)
            verified = (_("%(date)s, %(finding)s") % {"date": f"{a.last_verified_at:%Y-%m-%d}",
                                                       "finding": Finding(finding).label}
                        if finding else f"{a.last_verified_at:%Y-%m-%d}")
        table.add([separator.join(codes.get(a.pk, [])), a.code, redactor.asset_name(a), *place,
                   a.get_asset_type_display(), *[by_source.get(s) for s in sources], a.total_investment,
                   owners.get(a.pk, ""), custodian, a.get_status_display(), verified],
                  None if public else asset_url(a.code))
        total += a.total_investment
    if rows:
        table.add([_("Total"), "", "", *[""] * len(where), "",
                   *[sum((funds.get(a.pk, {}).get(s) or 0 for a in rows), 0) for s in sources], total,
                   "", "", "", ""])
        table.total = True
    table.note = _("Assets formed in %(year)s: built that year, or of unknown year and formed by a project of that "
                   "year. Funds by source follow from the assets' projects; an asset no project formed shows its "
                   "own funding lines.") % {"year": year}
    return Ledger(area=area, year=year, public=public, table=table, count=len(rows), investment=total,
                  notice=_notice(area, year) if public and area.level == AreaLevel.VILLAGE else None, sources=sources)
