"""Formatting of report cells by kind (the workbook keeps the raw numbers)."""

import datetime
import re

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from geo_assets.amounts import format_wan

register = template.Library()


@register.filter
def cell(value, kind: str) -> str:
    if value is None or value == "":
        return "" if kind == "text" else "—"
    if kind == "money":
        return format_wan(value)
    if kind == "qty":
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if kind == "pct":
        return f"{value:.1f}"
    if kind == "date" and isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


# Short words never wrap inside (two-character words like 道路 or 村民 split one character per line in narrow
# columns); long texts (names, evidence) still wrap. Units in brackets are a piece of their own.
SHORT_TEXT = 8
SHORT_HEAD = 8


@register.filter
def cell_class(value, kind: str) -> str:
    """The cell's kind, plus `short` for a text short enough to stay on one line."""
    if kind == "text" and value is not None and len(str(value)) <= SHORT_TEXT:
        return "text short"
    return kind


@register.filter
def head(label) -> str:
    """A column heading in pieces that break only between them: 投资 / （万元）, Investment / (10k yuan); a short
    piece never breaks."""
    pieces = [p for p in re.split(r"(?=[（(])", str(label)) if p]  # i18n: data
    return format_html_join(mark_safe("<wbr>"), '<span class="{}">{}</span>',
                            (("hw" if len(p) <= SHORT_HEAD else "hl", p) for p in pieces))


@register.simple_tag
def page_counter() -> str:
    """The PDF pages' counter as the value of a CSS `content`, in the page's language: "Page N of M"."""
    pieces = re.split(r"%\((page|pages)\)s", _("Page %(page)s of %(pages)s"))
    css = [f"counter({p})" if i % 2 else '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
           for i, p in enumerate(pieces) if p]
    return mark_safe(" ".join(css))  # noqa: S308 - our own message, quoted for CSS
