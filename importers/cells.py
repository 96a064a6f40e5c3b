"""Normalising a ledger's cells: text, numbers, and the 资金来源 / 产权主体 mini-formats (and writing them back).

The rules these values must then obey (amounts, shares, owners) are geo_assets.validation's, shared with the
register's services; only the wording of the file formats lives here.
"""

import datetime
import functools
import json
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from geo_assets import validation
from geo_assets.services import Share
from geo_assets.taxonomy import OUT_OF_SCOPE_FUNDING
from importers import vocab
from importers.readers import LedgerUnreadable
from importers.report import joined


def text(value) -> str:
    if type(value) is str:
        return vocab.cell_unprotect(value).strip()  # the quote our export put before =, +, -, @
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(vocab.cell_unprotect(value)).strip()  # the quote our export put before =, +, -, @


def decimal(value, places: int) -> Decimal:
    """A number from a cell; raises ValueError with a message for the clerk."""
    cell = text(value)
    try:
        number = Decimal(cell.replace(",", "").replace("，", "").replace("万元", "").replace("万", "").strip())  # i18n: data
    except InvalidOperation:
        raise ValueError(_("“%(cell)s” is not a number") % {"cell": cell})
    if not number.is_finite():
        raise ValueError(_("“%(cell)s” is not a number") % {"cell": cell})
    if number < 0:
        raise ValueError(_("Cannot be negative (%(cell)s)") % {"cell": cell})
    return quantized(number, Decimal(1).scaleb(-places), cell)


def quantized(number: Decimal, exponent: Decimal, cell, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`number` rounded to `exponent`; a number with more digits than Decimal's 28 once rounded is the clerk's
    error (a row error), not the import's (decimal.InvalidOperation is no ValueError)."""
    try:
        return number.quantize(exponent, rounding=rounding)
    except InvalidOperation:
        raise ValueError(_("“%(cell)s” is too large a number") % {"cell": text(cell)}) from None


def number_text(value: Decimal | None) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def lookup(index: dict[str, str], value: str) -> str | None:
    return index.get(vocab.text_key(value))


def _message(exc: ValidationError) -> str:
    return pgettext("list separator", "; ").join(str(m) for m in exc.messages)


_ITEM_SPLIT = re.compile(r"[;；\n\r、,，]+")  # i18n: data
_AMOUNT = re.compile(r"^(.*?)[\s:：=＝]*(-?\d+(?:\.\d+)?)\s*(?:万元|万)?$")  # i18n: data


def funding_parse(cell: str, investment: Decimal | None) -> list[tuple[str, Decimal]]:
    """'财政专项扶贫资金（中央）:50;统筹整合财政涉农资金:30' → [('central', 50), ('integrated', 30)]."""
    ok, parsed = _funding_parsed(cell, None if investment is None else str(investment), get_language())
    if not ok:
        raise ValueError(parsed)
    return list(parsed)


@functools.lru_cache(maxsize=4096)  # a ledger repeats the same few funding cells
def _funding_parsed(cell: str, investment: str | None, _language: str | None) -> tuple[bool, tuple | str]:
    try:
        return True, tuple(_funding_parse(cell, None if investment is None else Decimal(investment)))
    except ValueError as exc:
        return False, str(exc)


def _funding_parse(cell: str, investment: Decimal | None) -> list[tuple[str, Decimal]]:
    result: list[tuple[str, Decimal | None]] = []
    for item in (i.strip() for i in _ITEM_SPLIT.split(cell) if i.strip()):
        m = _AMOUNT.match(item)
        name, amount = (m.group(1).strip(), m.group(2)) if m and m.group(1).strip() else (item, None)
        for word in OUT_OF_SCOPE_FUNDING:
            if word in name:
                raise ValueError(
                    _("The funding source “%(name)s” is %(word)s money, which makes no poverty-alleviation asset and "
                      "is outside the register (interest subsidies, insurance, risk deposits, subsidies and "
                      "relocation funds are left out)") % {"name": name, "word": word}
                )
        source = lookup(vocab.FUNDING_INDEX, name)
        if source is None:
            raise ValueError(_("Unknown %(column)s “%(value)s” (should be one of these names or codes: %(accepted)s)")
                             % {"column": vocab.FUNDING, "value": name, "accepted": vocab.accepted(vocab.FUNDING_LABELS)})
        result.append((source, None if amount is None else quantized(Decimal(amount), Decimal("0.0001"), amount,
                                                                      ROUND_HALF_EVEN)))
    if any(a is None for _s, a in result):
        if len(result) == 1 and investment is not None:
            result = [(result[0][0], investment)]
        elif len({s for s, _a in result}) == len(result):
            raise ValueError(_("Give the amount (10k yuan) of each funding source, e.g. “%(example)s”")
                             % {"example": "中央财政专项扶贫资金:50;统筹整合财政涉农资金:30"})  # i18n: data
    try:
        validation.funding_check(result)
    except ValidationError as exc:
        raise ValueError(_message(exc))
    return result  # type: ignore[return-value]


def funding_text(lines) -> str:
    return ";".join(f"{vocab.label(vocab.FUNDING_LABELS, s)}:{number_text(a)}" for s, a in lines)


_OWNER = re.compile(r"^(.*?)(?:[\[【]([^\]】]+)[\]】])?\s*(?:[:：=＝]\s*(\d+(?:\.\d+)?)\s*%?)?$")  # i18n: data


def owners_parse(cell: str, default_kind: str) -> list[Share]:
    """'东北村村集体:60;张三[受益户]:40' — a single name without share owns 100 %."""
    parsed = []
    for item in (i.strip() for i in re.split(r"[;；\n\r]+", cell) if i.strip()):  # i18n: data
        m = _OWNER.match(item)
        if not m or not m.group(1).strip():
            raise ValueError(_("Cannot read the owner “%(item)s” (format: name:share, several separated by "
                               "semicolons)") % {"item": item})
        kind = default_kind
        if m.group(2):
            kind = lookup(vocab.OWNER_KIND_INDEX, m.group(2))
            if kind is None:
                raise ValueError(_("Unknown %(column)s “%(value)s” (should be one of these names or codes: "
                                   "%(accepted)s)") % {"column": vocab.OWNER_KIND, "value": m.group(2),
                                                       "accepted": vocab.accepted(vocab.OWNER_KIND_LABELS)})
        parsed.append((m.group(1).strip(), kind, m.group(3)))
    if len(parsed) == 1 and parsed[0][2] is None:
        parsed[0] = (*parsed[0][:2], "100")
    if any(share is None for _n, _k, share in parsed):
        raise ValueError(_("With several owners, give each one's share (%), adding up to 100"))
    shares = [Share(name, kind, quantized(Decimal(share), Decimal("0.001"), share, ROUND_HALF_EVEN))
              for name, kind, share in parsed]
    try:
        validation.owner_shares_check(shares, asset_type="", registration_status="")
    except ValidationError as exc:
        raise ValueError(_message(exc))
    return shares


def owners_text(shares, owner_kind: str) -> str:
    parts = []
    for s in shares:
        kind = "" if s.owner_kind == owner_kind else f"[{vocab.label(vocab.OWNER_KIND_LABELS, s.owner_kind)}]"
        parts.append(f"{s.owner_name}{kind}:{number_text(s.share)}")
    return ";".join(parts)


def mapping_load(path: str | Path | None) -> dict[str, str] | None:
    """--mapping: a JSON object {"file header": "ledger column"}."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise LedgerUnreadable(_("Cannot read the column mapping file %(path)s: %(error)s") % {"path": path, "error": exc})
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise LedgerUnreadable(_('The column mapping file should be a JSON object: {"column name in the file": '
                                  '"ledger column name"}'))
    unknown = [v for v in data.values() if vocab.column_for_header(v) is None]
    if unknown:
        raise LedgerUnreadable(_("Target columns of the column mapping file that are not ledger columns: %(columns)s")
                              % {"columns": joined(unknown)})
    return data


# ---------------------------------------------------------------- dates, years and amounts of the project ledgers

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,  # i18n: data
              "九": 9}  # i18n: data
_DATE = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")  # i18n: data
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH_ONLY = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*月?$")  # i18n: data


def _cn_number(text_value: str) -> str:
    """二〇二四年三月十五日 → 2024年3月15日 (digits one by one; 十 as in months and days)."""
    out, i = [], 0
    while i < len(text_value):
        ch = text_value[i]
        if ch == "十":  # i18n: data
            tens = out.pop() if out and out[-1].isdigit() and (i > 0 and text_value[i - 1] in _CN_DIGITS) else "1"
            nxt = text_value[i + 1] if i + 1 < len(text_value) else ""
            out.append(tens + ("" if nxt in _CN_DIGITS else "0"))
        elif ch in _CN_DIGITS:
            out.append(str(_CN_DIGITS[ch]))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def date_parse(value) -> datetime.date | None:
    """A date from a cell: an Excel date, 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, 二〇二四年三月五日,
    or an Excel day number; empty: None. Raises ValueError with a message for the clerk."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value)
        if number == value and 19000101 <= number <= 21001231:
            value = str(number)
        elif 1 <= value < 80000:  # an Excel day number (a date cell read as a number)
            return (datetime.datetime(1899, 12, 30) + datetime.timedelta(days=int(value))).date()
    cell = text(value)
    if not cell:
        return None
    normal = _cn_number(re.sub(r"\s+", "", cell.translate(str.maketrans("０１２３４５６７８９．／－", "0123456789./-"))))  # i18n: data
    m = _DATE.match(normal) or _DATE_COMPACT.match(normal)
    if m:
        try:
            return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    elif _MONTH_ONLY.match(normal):
        raise ValueError(_("“%(cell)s” has no day: give the whole date, e.g. 2024-03-05") % {"cell": cell})
    raise ValueError(_("“%(cell)s” is not a date (e.g. %(example)s)")
                     % {"cell": cell, "example": "2024-03-05, 2024年3月5日"})  # i18n: data


def year_parse(value) -> int | None:
    """A year from a cell: 2024, 2024.0, 2024年, 2024年度, an Excel date; empty: None. Raises ValueError."""
    if value is None:
        return None
    if isinstance(value, datetime.date):
        return value.year
    cell = text(value)
    if not cell:
        return None
    normal = _cn_number(cell).removesuffix("度").removesuffix("年").strip()  # i18n: data
    if normal.endswith(".0"):
        normal = normal[:-2]
    if not (normal.isdigit() and len(normal) == 4):
        raise ValueError(_("“%(cell)s” is not a year") % {"cell": cell})
    return int(normal)


WAN = Decimal(1)
YUAN = Decimal("0.0001")


def money(value, scale: Decimal = WAN) -> Decimal | None:
    """An amount in 万元 from a cell of a column in 万元 (scale 1) or in yuan (scale 0.0001); a cell may name its
    own unit (50万元, 500000元). Rounded to the yuan; empty: None. Raises ValueError; the bounds are
    geo_assets.validation.amount_check's, applied by the caller."""
    cell = text(value).replace(",", "").replace("，", "").replace(" ", "")  # i18n: data
    if not cell:
        return None
    if cell.endswith("万元") or cell.endswith("万"):  # i18n: data
        cell, scale = cell.removesuffix("元").removesuffix("万"), WAN  # i18n: data
    elif cell.endswith("元"):  # i18n: data
        cell, scale = cell.removesuffix("元"), YUAN  # i18n: data
    try:
        number = Decimal(cell)
    except InvalidOperation:
        raise ValueError(_("“%(cell)s” is not a number") % {"cell": text(value)})
    if not number.is_finite():
        raise ValueError(_("“%(cell)s” is not a number") % {"cell": text(value)})
    if number < 0:
        raise ValueError(_("Cannot be negative (%(cell)s)") % {"cell": text(value)})
    return quantized(number * scale, YUAN, value)
