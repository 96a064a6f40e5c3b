"""The import checks repeated values once (issue 22): the remembered verdicts are the rules' own, value for value —
the model's field validators, the 资金来源 format, a new asset's attributes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from geo_assets.models import Asset
from importers import bulk, cells

pytestmark = pytest.mark.django_db

CLEANED = {"name", "status", "category", "asset_type", "year_built", "quantity", "total_investment",
           "custodian_phone", "unit", "owner_kind", "registration_status"}
EXCLUDE = bulk.ALL_FIELDS - CLEANED

GOOD = {"name": "东南村饮水井", "asset_type": "water_supply", "category": "public_welfare", "status": "in_use",
        "year_built": 2020, "quantity": Decimal("2.5"), "total_investment": Decimal("15"),
        "custodian_phone": "13800000000", "unit": "座"}
BAD = [
    {"name": "长" * 201},
    {"status": "lost"},
    {"asset_type": "rocket"},
    {"year_built": 70000},
    {"quantity": Decimal("-1")},
    {"quantity": Decimal("123456789012345.5")},
    {"total_investment": Decimal("0.123456789")},
    {"custodian_phone": "电话号码"},
    {"unit": "单" * 300, "custodian_phone": "1"},
]


def _errors(check, asset):
    try:
        check(asset)
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_remembered_field_verdicts_are_clean_fields(areas, language):
    memo: dict = {}
    with translation.override(language):
        for _round in range(2):  # the second round answers from the memo
            for change in [{}, *BAD]:
                fields = GOOD | change
                expected = _errors(lambda a: a.clean_fields(exclude=EXCLUDE), Asset(**fields))
                got = _errors(lambda a: bulk._fields_clean(a, EXCLUDE, memo), bulk._asset_new(fields))
                assert got == expected, change
                assert bool(expected) == bool(change)
    assert memo


def test_a_new_asset_is_the_models_own(areas):
    fields = GOOD | {"village": areas.east_south, "code": "X-1"}
    fast, slow = bulk._asset_new(fields), Asset(**fields)
    assert {k: v for k, v in fast.__dict__.items() if k != "_state"}.keys() == {
        k for k in slow.__dict__ if k != "_state"}
    for f in Asset._meta.concrete_fields:
        if f.name != "public_name" and not f.generated:
            assert getattr(fast, f.attname) == getattr(slow, f.attname), f.name
    assert fast.village == areas.east_south and fast._state.adding and fast.pk is None


@pytest.mark.parametrize("cell, investment", [
    ("财政专项扶贫资金（中央）:10;统筹整合财政涉农资金:5", None),
    ("整合资金", Decimal("12.5000")),
    ("整合资金", None),
    ("火箭资金:5", None),
    ("贴息:3", None),
    ("中央:-1", None),
])
def test_remembered_funding_cells_parse_as_the_format_says(cell, investment):
    for language in ("zh-hans", "en"):
        with translation.override(language):
            try:
                expected = ("ok", cells._funding_parse(cell, investment))
            except ValueError as exc:
                expected = ("error", str(exc))
            for _round in range(2):
                try:
                    got = ("ok", cells.funding_parse(cell, investment))
                except ValueError as exc:
                    got = ("error", str(exc))
                assert got == expected
                if got[0] == "ok":
                    got[1].append(("x", 0))  # a caller's list is its own


def test_field_verdicts_of_a_column_are_clean_fields_of_each_asset(areas):
    """Several assets at once (a chunk): each value of a column once, every asset with a bad value reported, the
    cleaned values set on each."""
    memo: dict = {}
    changes = [{}, *BAD, {}, *BAD, {"quantity": Decimal("2.50")}, {"quantity": Decimal("2.5")}]
    assets = [bulk._asset_new(GOOD | change) for change in changes]
    expected = [_errors(lambda a: a.clean_fields(exclude=EXCLUDE), Asset(**(GOOD | change))) for change in changes]
    got = [{name: ValidationError(items).messages for name, items in errors.items()} if errors else {}
           for errors in bulk._fields_verdicts(assets, EXCLUDE, memo)]
    assert got == expected
    assert [bool(e) for e in got] == [change in BAD for change in changes]  # the first and the repeats
    assert [a.quantity for a in assets[-2:]] == [Decimal("2.50"), Decimal("2.5")]
