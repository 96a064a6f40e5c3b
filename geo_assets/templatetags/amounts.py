"""`{{ value|wan }}`: an amount in 万元 as geo_assets.amounts writes it (a builtin: no {% load %} needed)."""

from django import template

from geo_assets.amounts import format_wan

register = template.Library()


@register.filter
def wan(value, empty: str = "—") -> str:
    return format_wan(value, empty)
