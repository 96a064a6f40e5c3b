"""QR label sheets (资产标识牌) as A4 PDF, in time linear in the number of labels.

Why the old sheet grew quadratically: its labels were one flex container wrapping across every page, and WeasyPrint
lays out a page by laying out the whole remaining flow again (25 labels 7 s, 100 labels 58 s, 200 labels 169 s).
Now each page is a block of its own with its ten labels placed absolutely (templates/verification/labels/sheet.html),
and the pages are rendered in chunks of CHUNK_PAGES documents whose pages are joined into one PDF, written once (the
fonts are subset once, not per chunk). `python -m bench.labels` prints the times for 25/100/200/300 labels.

Large sheets (settings.LABELS_BACKGROUND_FROM labels or more) are made by the background worker
(`manage.py importers_worker`, which also runs label sheets): LabelSheet holds the job, its progress and the PDF.
"""

import datetime
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_assets.access import PUBLIC_SCOPE
from geo_assets.models import Asset
from geo_assets.privacy import Redactor

log = logging.getLogger(__name__)
PER_PAGE = 10  # 2 columns × 5 rows of 94 × 54.6 mm on A4
CHUNK_PAGES = 5
STALE_MINUTES = 15


def qr_png(text: str) -> str:
    """The QR code as a data: URI of a 1-bit PNG, one pixel a module, printed unsmoothed (image-rendering: pixelated)
    at 40 mm: as sharp as the vector code, and far quicker for WeasyPrint than parsing an SVG path per label."""
    import segno

    return segno.make(text, error="m").png_data_uri(scale=1, border=2)  # a quiet zone of 2 modules


def label_rows(assets, url_for) -> list[dict]:
    """What each label shows: the public's name only (labels hang on the asset in public), the QR of its URL."""
    public = Redactor(PUBLIC_SCOPE)
    rows = []
    for index, asset in enumerate(assets):
        url = url_for(asset)
        place = index % PER_PAGE
        rows.append({"asset": asset, "name": public.asset_name(asset), "url": url, "qr": qr_png(url),
                     "row": place // 2, "column": place % 2})
    return rows


def sheet_pdf(rows: list[dict], *, title: str, progress=None) -> bytes:
    """The labels on A4 pages, ten a page; progress(done, total) after each chunk."""
    from weasyprint import HTML, URLFetcher

    pages = [rows[i:i + PER_PAGE] for i in range(0, len(rows), PER_PAGE)]
    documents = []
    for start in range(0, len(pages), CHUNK_PAGES):
        html = render_to_string("verification/labels/sheet.html",
                                {"pages": pages[start:start + CHUNK_PAGES], "title": title})
        documents.append(HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=["data"])).render())
        if progress is not None:
            progress(min(len(rows), (start + CHUNK_PAGES) * PER_PAGE), len(rows))
    return documents[0].copy([page for document in documents for page in document.pages]).write_pdf()


# ---- sheets made in the background -------------------------------------------------------------------------------

def sheet_job_create(*, user, codes: list[str], title: str, base_url: str, name: str):
    from verification.models import LabelSheet

    return LabelSheet.objects.create(user=user, codes=codes, title=title, base_url=base_url, name=name,
                                     total=len(codes))


def sheet_job_claim():
    """The oldest waiting sheet (safe with several workers: SKIP LOCKED), or one a dead worker left running (no
    progress for STALE_MINUTES)."""
    from verification.models import LabelSheet

    stale = timezone.now() - datetime.timedelta(minutes=STALE_MINUTES)
    with transaction.atomic():
        sheet = (LabelSheet.objects.select_for_update(skip_locked=True)
                 .filter(Q(status=LabelSheet.Status.PENDING)
                         | Q(status=LabelSheet.Status.RUNNING, updated_at__lt=stale))
                 .order_by("created_at").first())
        if sheet is None:
            return None
        sheet.status = LabelSheet.Status.RUNNING
        sheet.save(update_fields=["status", "updated_at"])
        return sheet


def sheet_job_run(*, sheet):
    from verification.models import LabelSheet

    def progress(done: int, total: int) -> None:
        LabelSheet.objects.filter(pk=sheet.pk).update(done=done, updated_at=timezone.now())

    try:
        by_code = {a.code: a for a in Asset.objects.filter(code__in=sheet.codes).with_areas()}
        assets = [by_code[c] for c in sheet.codes if c in by_code]
        if not assets:
            raise LookupError(_("These assets no longer exist: there are no labels to print."))
        rows = label_rows(assets, lambda a: f"{sheet.base_url.rstrip('/')}/v/{a.code}/")
        pdf = sheet_pdf(rows, title=sheet.title, progress=progress)
        sheet.file.save(f"{sheet.name}", ContentFile(pdf), save=False)
        sheet.status, sheet.done = LabelSheet.Status.DONE, len(rows)
    except Exception as exc:  # a worker must survive one bad job
        log.exception("label sheet %s failed", sheet.pk)
        sheet.status, sheet.message = LabelSheet.Status.FAILED, (str(exc) if isinstance(exc, LookupError)
                                                                 else _("Failed to make the sheet: %(error)s") % {"error": exc})
    sheet.save()
    return sheet
