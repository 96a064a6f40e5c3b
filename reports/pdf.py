"""PDF of a report with WeasyPrint: the page's own HTML and SVG map laid out on A4 by print CSS (@page: page
numbers, date and scope in the margins of every page). Text stays text — searchable and copyable — and the Noto CJK
fonts the set-up installs are found through fontconfig and embedded (subset) in the file. No browser, no network:
the HTML carries its CSS inline and the map is inline SVG, and the fetcher refuses anything but data: URLs."""

from django.template.loader import render_to_string


def report_pdf(template: str, context: dict, request=None) -> bytes:
    from weasyprint import HTML, URLFetcher

    html = render_to_string(template, context, request=request)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=["data"])).write_pdf()
