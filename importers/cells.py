"""Normalising a ledger's cells: text, numbers, and the 资金来源 / 产权主体 mini-formats (and writing them back).

The rules these values must then obey (amounts, shares, owners) are geo_assets.validation's, shared with the
register's services; only the wording of the file formats lives here.
"""

import datetime
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError

from geo_assets import validation
from geo_assets.services import Share
from geo_assets.taxonomy import OUT_OF_SCOPE_FUNDING
from importers import vocab
from importers.readers import LedgerUnreadable


def text(value) -> str:
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
    """A number from a cell; raises ValueError with a Chinese message."""
    cell = text(value)
    try:
        number = Decimal(cell.replace(",", "").replace("，", "").replace("万元", "").replace("万", "").strip())
    except InvalidOperation:
        raise ValueError(f"“{cell}”不是数字")
    if not number.is_finite():
        raise ValueError(f"“{cell}”不是数字")
    if number < 0:
        raise ValueError(f"不能为负数（{cell}）")
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number_text(value: Decimal | None) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def lookup(index: dict[str, str], value: str) -> str | None:
    return index.get(vocab.text_key(value))


def _message(exc: ValidationError) -> str:
    return "；".join(str(m) for m in exc.messages)


_ITEM_SPLIT = re.compile(r"[;；\n\r、,，]+")
_AMOUNT = re.compile(r"^(.*?)[\s:：=＝]*(-?\d+(?:\.\d+)?)\s*(?:万元|万)?$")


def funding_parse(cell: str, investment: Decimal | None) -> list[tuple[str, Decimal]]:
    """'财政专项扶贫资金（中央）:50;统筹整合财政涉农资金:30' → [('central', 50), ('integrated', 30)]."""
    result: list[tuple[str, Decimal | None]] = []
    for item in (i.strip() for i in _ITEM_SPLIT.split(cell) if i.strip()):
        m = _AMOUNT.match(item)
        name, amount = (m.group(1).strip(), m.group(2)) if m and m.group(1).strip() else (item, None)
        for word in OUT_OF_SCOPE_FUNDING:
            if word in name:
                raise ValueError(
                    f"资金来源“{name}”属于{word}类资金，不形成扶贫资产，不在登记范围（贴息、保险、风险保证金、补贴、易地扶贫搬迁资金除外）"
                )
        source = lookup(vocab.FUNDING_INDEX, name)
        if source is None:
            raise ValueError(f"未知的资金来源“{name}”（应为以下名称或代码之一：{vocab.accepted(vocab.FUNDING_LABELS)}）")
        result.append((source, None if amount is None else Decimal(amount).quantize(Decimal("0.0001"))))
    if any(a is None for _s, a in result):
        if len(result) == 1 and investment is not None:
            result = [(result[0][0], investment)]
        elif len({s for s, _a in result}) == len(result):
            raise ValueError("请写明每项资金来源的金额（万元），如“中央财政专项扶贫资金:50;统筹整合财政涉农资金:30”")
    try:
        validation.funding_check(result)
    except ValidationError as exc:
        raise ValueError(_message(exc))
    return result  # type: ignore[return-value]


def funding_text(lines) -> str:
    return ";".join(f"{vocab.label(vocab.FUNDING_LABELS, s)}:{number_text(a)}" for s, a in lines)


_OWNER = re.compile(r"^(.*?)(?:[\[【]([^\]】]+)[\]】])?\s*(?:[:：=＝]\s*(\d+(?:\.\d+)?)\s*%?)?$")


def owners_parse(cell: str, default_kind: str) -> list[Share]:
    """'东北村村集体:60;张三[受益户]:40' — a single name without share owns 100 %."""
    parsed = []
    for item in (i.strip() for i in re.split(r"[;；\n\r]+", cell) if i.strip()):
        m = _OWNER.match(item)
        if not m or not m.group(1).strip():
            raise ValueError(f"无法识别产权主体“{item}”（格式：名称:份额，多个用分号分隔）")
        kind = default_kind
        if m.group(2):
            kind = lookup(vocab.OWNER_KIND_INDEX, m.group(2))
            if kind is None:
                raise ValueError(f"未知的产权归属“{m.group(2)}”（应为以下名称或代码之一："
                                 f"{vocab.accepted(vocab.OWNER_KIND_LABELS)}）")
        parsed.append((m.group(1).strip(), kind, m.group(3)))
    if len(parsed) == 1 and parsed[0][2] is None:
        parsed[0] = (*parsed[0][:2], "100")
    if any(share is None for _n, _k, share in parsed):
        raise ValueError("有多个产权主体时，请写明各自的份额（%），合计 100")
    shares = [Share(name, kind, Decimal(share).quantize(Decimal("0.001"))) for name, kind, share in parsed]
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
        raise LedgerUnreadable(f"无法读取列对应文件 {path}：{exc}")
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise LedgerUnreadable('列对应文件应为 JSON 对象：{"文件中的列名": "台账列名"}')
    unknown = [v for v in data.values() if vocab.column_for_header(v) is None]
    if unknown:
        raise LedgerUnreadable(f"列对应文件中的目标列不是台账列：{'、'.join(unknown)}")
    return data
