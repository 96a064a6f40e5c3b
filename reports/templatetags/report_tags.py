"""Formatting of report cells by kind (the workbook keeps the raw numbers)."""

import datetime

from django import template

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
