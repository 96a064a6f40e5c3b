"""How an amount in 万元 is written wherever it is shown (pages, reports, notices, the timeline): thousands
separators and no trailing zeros — 5, 5.5, 1,234.56, 0.035 — never "5.0000". Stored amounts keep four decimals
(one yuan), so nothing is rounded away; workbooks keep numbers as numbers."""

from decimal import Decimal, InvalidOperation


def format_wan(value, empty: str = "—") -> str:
    """An amount (Decimal, int, float or its text, e.g. from a frozen notice snapshot) written for people."""
    if value is None or value == "":
        return empty
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    number = number.quantize(Decimal("0.0001")) if number.as_tuple().exponent < -4 else number
    text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
