"""PDF of a report with WeasyPrint: the page's own HTML and SVG map laid out on A4 by print CSS (@page: page
numbers, date and scope in the margins of every page), through geo_assets.pdf (the one HTML-to-PDF step, shared
with the lifecycle's notices). The map is inline SVG, so nothing is fetched."""

from django.template.loader import render_to_string

from geo_assets.pdf import html_pdf


def report_pdf(template: str, context: dict, request=None) -> bytes:
    return html_pdf(render_to_string(template, context, request=request))
