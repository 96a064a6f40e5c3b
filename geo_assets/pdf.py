"""HTML to PDF with WeasyPrint, for every app that prints a page (reports, the lifecycle's notices): text stays text
— searchable and copyable — and the Noto CJK fonts the set-up installs are found through fontconfig and embedded
(subset) in the file. No browser, no network: the HTML carries its CSS inline and its images as data: URLs, and the
fetcher refuses anything else."""

CACHE_FOLDER = "pdf-cache"


def html_pdf(html: str) -> bytes:
    """HTML (with its CSS inline and data: images only) to PDF: the one place WeasyPrint is called for a page."""
    from weasyprint import HTML, URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=["data"])).write_pdf()


def frozen_pdf(html: str, *, key: str) -> bytes:
    """The PDF of a document whose content is frozen (a posted notice), rendered once: kept in the media storage
    under `key` and the hash of the HTML, so the same HTML is never rendered twice, and any change of what the page
    shows (the snapshot, the template, the personal-data rule) gives a new file instead of a stale one."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    digest = hashlib.sha256(html.encode()).hexdigest()[:32]
    name = f"{CACHE_FOLDER}/{key}-{digest}.pdf"
    try:
        with default_storage.open(name, "rb") as kept:
            return kept.read()
    except (FileNotFoundError, OSError):
        pass
    pdf = html_pdf(html)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(pdf))
    return pdf
