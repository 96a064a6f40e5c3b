"""Exporting the ledger: the assets an actor may see, narrowed by the map's filters, in every ledger format, with
personal data as the viewer may see it (geo_assets.privacy)."""

from collections import defaultdict
from itertools import islice
from pathlib import Path

import shapely
from django.contrib.gis.db.models import GeometryField
from django.db.models import BinaryField, F, FloatField, Func
from django.utils.translation import gettext as _

from geo_assets.access import scope_for
from geo_assets.filters import AssetFilters, asset_filters_apply
from geo_assets.models import AdminArea, Asset, FundingLine, OwnerShare
from geo_assets.models.register import GEOMETRY_COLUMNS, SRID
from geo_assets.privacy import Redactor
from geo_assets.services import Share
from geo_assets.taxonomy import AreaLevel
from importers import vocab
from importers.cells import funding_text, number_text, owners_text
from importers.readers import CHUNK, LedgerUnreadable
from importers.report import joined

EXPORT_FORMATS = ("gpkg", "shp", "geojson", "kml", "xlsx", "csv")



class ExportTooLarge(Exception):
    """The export holds more assets than one export may (settings.EXPORT_MAX_ASSETS)."""


_FUNDING_ORDER = {code: i for i, code in enumerate(vocab.FUNDING_LABELS)}


def _children(assets, db: str) -> tuple[dict, dict, dict]:
    """Funding lines, owner shares and project links of a chunk of assets, by asset id: three statements a chunk
    (prefetch_related would build a queryset and a model instance per asset and line)."""
    ids = [asset.pk for asset in assets]
    funding, owners, links = defaultdict(list), defaultdict(list), defaultdict(list)
    for asset_id, source, amount in (FundingLine.objects.using(db).filter(asset_id__in=ids).exclude(amount=0)
                                     .values_list("asset_id", "source", "amount")):
        funding[asset_id].append((source, amount))
    for asset_id, *share in (OwnerShare.objects.using(db).filter(asset_id__in=ids).exclude(share=0).order_by("id")
                             .values_list("asset_id", "owner_name", "owner_kind", "share")):
        owners[asset_id].append(share)
    project_links = Asset._meta.get_field("project_links").related_model  # projects' model; no import upward
    for asset_id, code, amount in (project_links.objects.using(db).filter(asset_id__in=ids)
                                   .values_list("asset_id", "project__code", "amount")):
        links[asset_id].append((code, amount))
    return funding, owners, links


def _export_rows(assets, *, table: bool, redactor: Redactor, db: str):
    """Ledger rows, a chunk of assets at a time (`assets`: assets_export's queryset); personal data as the viewer may see
    it (geo_assets.privacy: the public gets no phone numbers or notes, and masked names of people)."""
    while chunk := list(islice(assets, CHUNK)):
        funding_of, owners_of, links_of = _children(chunk, db)
        geoms = shapely.from_wkb([asset.export_wkb for asset in chunk])
        for asset, geom in zip(chunk, geoms, strict=True):
            yield _export_row(asset, geom, table=table, redactor=redactor, funding=funding_of[asset.pk],
                              owners=owners_of[asset.pk], links=links_of[asset.pk])


def _export_row(asset, geom, *, table: bool, redactor: Redactor, funding, owners, links):
    owner_kind = asset.owner_kind
    funding = sorted(funding, key=lambda line: (_FUNDING_ORDER.get(line[0], len(_FUNDING_ORDER)), line))
    owners = [Share(redactor.owner_name(name, kind), kind, share) for name, kind, share in owners]
    links = sorted(links)
    village, township = asset.village, asset.township
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
        vocab.PROJECT_CODE: "、".join(code for code, _amount in links),  # i18n: data
        vocab.PROJECT_AMOUNT: number_text(links[0][1]) if len(links) == 1 else "",
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
        vocab.LON: "" if asset.export_lon is None else repr(asset.export_lon),
        vocab.LAT: "" if asset.export_lat is None else repr(asset.export_lat),
        vocab.NOTE: redactor.text(asset.note),
    }
    if table:
        row[vocab.WKT] = "" if geom is None or geom.geom_type == "Point" else shapely.to_wkt(
            geom, rounding_precision=9)
    return row, geom


def assets_queryset(*, actor, township: str | None = None, village: str | None = None,
                    filters: AssetFilters | None = None):
    """The assets the actor may see, narrowed by the map's filters (geo_assets.filters) and/or one township or
    village code (9- or 12-digit township, as export_assets --township takes it)."""
    qs = Asset.objects.visible_to(actor).with_areas("department").order_by("code")
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
                  village: str | None = None, filters: AssetFilters | None = None, limit: int | None) -> int:
    """Write the assets the actor may see to a ledger file; returns the number of assets written. More than
    `limit` assets (None: no limit) write nothing and raise ExportTooLarge."""
    path = Path(path)
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise LedgerUnreadable(_("Unsupported export format “%(format)s” (choose from: %(formats)s)")
                               % {"format": fmt, "formats": joined(EXPORT_FORMATS)})
    qs = assets_queryset(actor=actor, township=township, village=village, filters=filters)
    if limit is not None and (count := qs.count()) > limit:
        raise ExportTooLarge(
            _("This export would hold %(count)s assets, more than the %(limit)s one export may hold: narrow it by "
              "township, village or type with the filters, or ask the system administrator to export it on the "
              "server.") % {"count": f"{count:,}", "limit": f"{limit:,}"})
    from importers import writers

    # the geometry as WKB and the location's coordinates from the database: no GEOS object per asset
    geometry = Func(F("point"), F("line"), F("polygon"), function="COALESCE", output_field=GeometryField(srid=SRID))
    qs = qs.defer(*GEOMETRY_COLUMNS, "location", "geom_web").annotate(
        export_wkb=Func(geometry, function="ST_AsBinary", output_field=BinaryField()),
        export_lon=Func(F("location"), function="ST_X", output_field=FloatField()),
        export_lat=Func(F("location"), function="ST_Y", output_field=FloatField()))
    rows = _export_rows(qs.iterator(chunk_size=CHUNK), table=fmt in ("csv", "xlsx"),
                        redactor=Redactor(scope_for(actor)), db=qs.db)
    return writers.write(fmt, path, rows)
