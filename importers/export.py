"""Exporting the ledger: the assets an actor may see, narrowed by the map's filters, in every ledger format, with
personal data as the viewer may see it (geo_assets.privacy)."""

from pathlib import Path

import shapely
from django.utils.translation import gettext as _

from geo_assets.access import scope_for
from geo_assets.filters import AssetFilters, asset_filters_apply
from geo_assets.models import AdminArea, Asset
from geo_assets.privacy import Redactor
from geo_assets.services import Share
from geo_assets.taxonomy import AreaLevel
from importers import vocab
from importers.cells import funding_text, number_text, owners_text
from importers.readers import CHUNK, LedgerUnreadable
from importers.report import joined

EXPORT_FORMATS = ("gpkg", "shp", "geojson", "kml", "xlsx", "csv")

_FUNDING_ORDER = {code: i for i, code in enumerate(vocab.FUNDING_LABELS)}


def _export_rows(assets, *, table: bool, redactor: Redactor):
    """Ledger rows; personal data as the viewer may see it (geo_assets.privacy: the public gets no phone numbers
    or notes, and masked names of people)."""
    for asset in assets:
        owner_kind = asset.owner_kind
        funding = sorted(((f.source, f.amount) for f in asset.funding.all() if f.amount != 0),
                         key=lambda line: (_FUNDING_ORDER.get(line[0], len(_FUNDING_ORDER)), line))
        owners = [Share(redactor.owner_name(o.owner_name, o.owner_kind), o.owner_kind, o.share)
                  for o in asset.owners.all() if o.share != 0]
        links = sorted(asset.project_links.all(), key=lambda link: link.project.code)
        village, township = asset.village, asset.township
        location = asset.location
        geom = None if asset.geometry is None else shapely.from_wkb(bytes(asset.geometry.wkb))
        row = {
            vocab.CODE: asset.code,
            vocab.NAME: redactor.asset_name(asset),
            vocab.CATEGORY: vocab.label(vocab.CATEGORY_LABELS, asset.category),
            vocab.TYPE: vocab.label(vocab.TYPE_LABELS, asset.asset_type),
            vocab.TOWNSHIP: township.name if township else "",
            vocab.VILLAGE: village.name if village else "",
            vocab.AREA_CODE: village.code if village else "",
            vocab.YEAR: str(asset.year_built) if asset.year_built else "",
            vocab.PROJECT: asset.project_name,
            # the projects that formed it (several: codes only; one: with its amount when stated), re-imported as links
            vocab.PROJECT_CODE: "、".join(link.project.code for link in links),  # i18n: data
            vocab.PROJECT_AMOUNT: number_text(links[0].amount) if len(links) == 1 else "",
            vocab.IMPLEMENTER: asset.implementing_unit,
            vocab.DEPARTMENT: asset.department.name if asset.department else "",
            vocab.FUNDING: funding_text(funding),
            vocab.INVESTMENT: number_text(asset.total_investment),
            vocab.QUANTITY: number_text(asset.quantity),
            vocab.UNIT: asset.unit,
            vocab.OWNER_KIND: vocab.label(vocab.OWNER_KIND_LABELS, owner_kind) if owner_kind else "",
            vocab.OWNERS: owners_text(owners, owner_kind),
            vocab.REGISTRATION: vocab.label(vocab.REGISTRATION_LABELS, asset.registration_status),
            vocab.CUSTODIAN: asset.custodian_unit,
            vocab.CUSTODIAN_PERSON: redactor.person(asset.custodian_person),
            vocab.PHONE: redactor.phone(asset.custodian_phone),
            vocab.OPERATOR: asset.operator,
            vocab.STATUS: vocab.label(vocab.STATUS_LABELS, asset.status),
            vocab.LON: repr(location.x) if location else "",
            vocab.LAT: repr(location.y) if location else "",
            vocab.NOTE: redactor.text(asset.note),
        }
        if table:
            row[vocab.WKT] = "" if geom is None or geom.geom_type == "Point" else shapely.to_wkt(
                geom, rounding_precision=9)
        yield row, geom


def assets_queryset(*, actor, township: str | None = None, village: str | None = None,
                    filters: AssetFilters | None = None):
    """The assets the actor may see, narrowed by the map's filters (geo_assets.filters) and/or one township or
    village code (9- or 12-digit township, as export_assets --township takes it)."""
    qs = Asset.objects.visible_to(actor).with_areas("department").prefetch_related(
        "funding", "owners", "project_links__project").order_by("code")
    if filters is not None:
        qs = asset_filters_apply(qs, filters)
    if township:
        area = AdminArea.objects.filter(code__in=[township, township.ljust(12, "0")], level=AreaLevel.TOWNSHIP).first()
        if area is None:
            raise LedgerUnreadable(_("No township has the code “%(code)s”") % {"code": township})
        qs = qs.filter(township=area)
    if village:
        area = AdminArea.objects.filter(code=village, level=AreaLevel.VILLAGE).first()
        if area is None:
            raise LedgerUnreadable(_("No village has the code “%(code)s”") % {"code": village})
        qs = qs.filter(village=area)
    return qs


def assets_export(*, actor, path: str | Path, fmt: str, township: str | None = None,
                  village: str | None = None, filters: AssetFilters | None = None) -> int:
    """Write the assets the actor may see to a ledger file; returns the number of assets written."""
    path = Path(path)
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise LedgerUnreadable(_("Unsupported export format “%(format)s” (choose from: %(formats)s)")
                               % {"format": fmt, "formats": joined(EXPORT_FORMATS)})
    qs = assets_queryset(actor=actor, township=township, village=village, filters=filters)
    from importers import writers

    rows = _export_rows(qs.iterator(chunk_size=CHUNK), table=fmt in ("csv", "xlsx"),
                        redactor=Redactor(scope_for(actor)))
    return writers.write(fmt, path, rows)
