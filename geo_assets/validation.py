"""The register's rules for one asset's values, written once.

`services.asset_check` (one asset from the admin, the API or a page) and the importers' bulk path (thousands of rows
in a few statements) call these same functions, so the two cannot drift apart. They are functions of values, with
no queries — except `villages_covering`, the one containment test (PostGIS), which answers for any number of
geometries in one query. Each check raises a ValidationError keyed by the Asset field it is about.
"""

import datetime
import functools
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geo_assets.models.register import PIECE_MARGIN
from geo_assets.taxonomy import (
    DEFAULT_OWNER_KIND,
    TYPE_CATEGORY,
    TYPES_REQUIRING_NAMED_SHARES,
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    RegistrationStatus,
)

YEAR_MIN = 1949
PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")  # the same pattern as Asset.custodian_phone's validator
HUNDRED = Decimal("100")
AMOUNT_LIMIT = Decimal(10) ** 10  # FundingLine.amount: 14 digits, 4 of them after the point
FUNDING_SOURCES = frozenset(FundingSourceKind.values)
OWNER_NAME_MAX = 200  # OwnerShare.owner_name


# ---------------------------------------------------------------- bounds on every date and amount a user gives
# One set of validators for the services, pages, API and importers (issue 21: income received on 0001-01-01,
# 9,999,999,999.9999 万元, custodian changes effective 2099, a verification dated 1970). Each raises a
# ValidationError keyed by the field it is about, naming the range accepted.


def earliest_date() -> datetime.date:
    """No recorded event of an asset's life (income, maintenance, custody, contracts, verification, notices)
    happened before this date (settings.BOUNDS_EARLIEST_DATE)."""
    return settings.BOUNDS_EARLIEST_DATE


def amount_max() -> Decimal:
    """The largest amount (万元) a user may give for one record (settings.BOUNDS_AMOUNT_MAX_WAN)."""
    return Decimal(settings.BOUNDS_AMOUNT_MAX_WAN)


def date_check(value: datetime.date | None, *, field: str, future_days: int = 0,
               today: datetime.date | None = None) -> None:
    """A date from earliest_date() up to `future_days` after today (county time). Past events pass
    future_days=0; planned ends (a contract's term, a post's end) pass how far ahead they may reach."""
    if value is None:
        return
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    today = today or timezone.localdate()
    latest = today + datetime.timedelta(days=future_days)
    if not earliest_date() <= value <= latest:
        raise ValidationError({field: _("The date %(value)s is outside the accepted range %(first)s to %(last)s.")
                               % {"value": value.isoformat(), "first": earliest_date().isoformat(),
                                  "last": latest.isoformat()}})


def dates_in_order(earlier: datetime.date | None, later: datetime.date | None, *, field: str, message: str) -> None:
    """`later` is not before `earlier` (either may be missing); the refusal is keyed by `field`."""
    if earlier is not None and later is not None and later < earlier:
        raise ValidationError({field: message})


def amount_check(value, *, field: str, allow_zero: bool = True) -> Decimal:
    """An amount in 万元: a number, not negative (zero only when allowed), at most amount_max(), at most four
    decimal places (one yuan). Returns it as a Decimal."""
    try:
        amount = Decimal(str(value)).normalize() if value is not None and str(value).strip() != "" else None
    except ArithmeticError:
        amount = None
    limit = amount_max()
    if amount is None or not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero) or amount > limit \
            or -amount.as_tuple().exponent > 4:
        raise ValidationError({field: _("The amount %(value)s is not accepted: give 10k yuan from %(low)s to %(high)s "
                                        "with at most four decimal places.")
                               % {"value": value, "low": "0" if allow_zero else "0.0001",
                                  "high": format(limit, "f")}})
    return Decimal(str(value))


# ---------------------------------------------------------------- a code given by its label
# Wherever a code of the register's vocabularies is taken (the APIs, the map's filters, the importers), the Chinese
# label the pages show — and the work plan's own wording, as aliases — stand for it (issue 21: `finding=存在完好`
# was refused with an error listing 存在完好 among the valid values). A refusal names every code with its label.


def choice_key(value) -> str:
    """How a given value is compared: width folded (full-width brackets and letters), whitespace dropped,
    lower-cased."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lower()


@functools.cache
def choice_labels(choices) -> dict[str, tuple[str, ...]]:
    """Each code of a TextChoices with its labels: the Chinese one the pages show, then the English msgid (read
    once per process: the catalogues do not change while it runs)."""
    labels = {}
    for code, label in choices.choices:
        with translation.override("zh-hans"):
            chinese = str(label)
        with translation.override("en"):
            english = str(label)
        labels[code] = tuple(dict.fromkeys((chinese, english)))
    return labels


_INDEXES: dict[tuple, tuple] = {}


def choice_index(choices, aliases: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """choice_key(code, label or alias) → code (the alias tables are constants: built once per table)."""
    key = (choices, id(aliases))
    if key not in _INDEXES or _INDEXES[key][0] is not aliases:
        index: dict[str, str] = {}
        for code, labels in choice_labels(choices).items():
            for word in (code, *labels, *(aliases or {}).get(code, ())):
                index.setdefault(choice_key(word), code)
        _INDEXES[key] = (aliases, index)
    return _INDEXES[key][1]


def choices_accepted(choices) -> str:
    """'intact（存在完好）、damaged（存在损坏）…': what a refusal names (a code or its label is accepted), with the
    labels of the interface's language."""
    return pgettext("list separator", ", ").join(_("%(code)s (%(label)s)") % {"code": code, "label": label}
                                                 for code, label in choices.choices)


def choice_value(value, choices, *, field: str, aliases: Mapping[str, Iterable[str]] | None = None) -> str:
    """The code of `choices` that `value` names — the code itself, its Chinese or English label, or one of the
    `aliases` — or a ValidationError keyed by `field` naming the values accepted."""
    code = choice_index(choices, aliases).get(choice_key(value)) if value is not None else None
    if code is None:
        raise ValidationError({field: _("“%(value)s” is not accepted. Give one of these codes or its label: "
                                        "%(accepted)s.") % {"value": "" if value is None else str(value)[:40],
                                                            "accepted": choices_accepted(choices)}})
    return code


# the words a query may give (in either interface language): data
YES = ("yes", "true", "1", "是", "有")  # i18n: data
NO = ("no", "false", "0", "否", "无")  # i18n: data


def yes_no(value, *, field: str) -> bool | None:
    """A yes/no query value (yes/no, true/false, 1/0, 是/否); empty: None."""
    if value is None or str(value).strip() == "":
        return None
    key = choice_key(value)
    if key in YES or key in NO:
        return key in YES
    raise ValidationError({field: _("“%(value)s” is not accepted. Give one of: %(accepted)s.")
                           % {"value": str(value)[:40], "accepted": pgettext("list separator", ", ").join((*YES, *NO))}})


def year_max() -> int:
    """Next year in county time (settings.TIME_ZONE): the one clock of the year rule."""
    return _next_year(int(time.time() // 60))


@functools.lru_cache(maxsize=1)
def _next_year(_minute: int) -> int:  # asked once a minute, not once per row of a large import
    return timezone.localdate().year + 1


def year_built_check(year: int | None) -> None:
    if year is not None and not YEAR_MIN <= year <= year_max():
        raise ValidationError({"year_built": _("The year built must be between 1949 and next year.")})


def phone_check(phone: str | None) -> None:
    if phone and not PHONE.match(phone):
        raise ValidationError({"custodian_phone": _("The contact phone “%(phone)s” is not a valid number")
                               % {"phone": phone}})


def category_for(asset_type: str, category: str | None) -> str:
    """The category of an asset type; a stated category must be that one."""
    expected = TYPE_CATEGORY.get(asset_type)
    if expected is None:
        raise ValidationError({"asset_type": _("Unknown asset type.")})
    if category and category != expected:
        labels = dict(AssetType.choices) | dict(Category.choices)
        raise ValidationError({"asset_type": _("The asset type %(type)s does not belong to the category %(category)s.")
                               % {"type": labels.get(asset_type, asset_type),
                                  "category": labels.get(category, category)}})
    return expected


def status_check(status: str, *, disposed: bool) -> None:
    """Only an executed disposal makes an asset disposed, and nothing changes a disposed asset's status."""
    if status == AssetStatus.DISPOSED and not disposed:
        raise ValidationError({"status": _("An asset becomes disposed only through an approved disposal.")})
    if disposed and status != AssetStatus.DISPOSED:
        raise ValidationError({"status": _("The asset has been disposed of; its status cannot change any more.")})


def funding_check(funding: list[tuple[str, Decimal]]) -> None:
    sources = [source for source, _amount in funding]
    if len(set(sources)) != len(sources):
        raise ValidationError({"funding": _("A funding source is listed twice.")})
    for source, amount in funding:
        if source not in FUNDING_SOURCES:
            raise ValidationError({"funding": _("Unknown funding source %(source)s.") % {"source": source}})
        if Decimal(amount) < 0:
            raise ValidationError({"funding": _("A funding amount cannot be negative.")})
        if Decimal(amount) >= AMOUNT_LIMIT:
            raise ValidationError({"funding": _("The funding amount %(amount)s is too large (10k yuan, at most 10 "
                                                 "integer digits)") % {"amount": amount}})


def funding_total(funding) -> Decimal:
    """An asset's total investment is the sum of its funding lines."""
    return sum((Decimal(amount) for _source, amount in funding), Decimal("0"))


def owner_shares_check(shares, *, asset_type: str, registration_status: str) -> None:
    """Owners (objects with owner_name, owner_kind, share): named once each, shares > 0 adding up to 100 %;
    registered equity and debt must name them."""
    if not shares:
        if asset_type in TYPES_REQUIRING_NAMED_SHARES and registration_status == RegistrationStatus.REGISTERED:
            raise ValidationError({"owners": _("Equity and debt assets must name every owner and share.")})
        return
    names = [s.owner_name.strip() for s in shares]
    if any(not n for n in names):
        raise ValidationError({"owners": _("Every owner needs a name.")})
    if any(len(n) > OWNER_NAME_MAX for n in names):
        raise ValidationError({"owners": _("An owner's name is too long (at most %(max)s characters)")
                               % {"max": OWNER_NAME_MAX}})
    if len(set(names)) != len(names):
        raise ValidationError({"owners": _("An owner is listed twice.")})
    if any(s.share <= 0 for s in shares):
        raise ValidationError({"owners": _("Every share must be greater than zero.")})
    total = sum((s.share for s in shares), Decimal("0"))
    if total != HUNDRED:
        raise ValidationError({"owners": _("The owners' shares add up to %(total)s %%, not 100 %%.")
                               % {"total": format(total.normalize(), "f")}})


def owner_kind_for(owner_kind: str, shares) -> str:
    """A single owner gives its kind to an asset without one; owners of several kinds clear a kind none of them has."""
    kinds = {s.owner_kind for s in shares}
    if len(shares) == 1 and not owner_kind:
        return shares[0].owner_kind
    if len(kinds) > 1 and owner_kind and owner_kind not in kinds:
        return ""
    return owner_kind


def asset_rules_apply(asset) -> None:
    """Defaults and rules of one asset in memory: the category follows the type, the owner kind defaults by type,
    registering sets the registration date; year built and phone are checked. One ValidationError names every
    field at fault."""
    errors: dict[str, list] = {}
    try:
        asset.category = category_for(asset.asset_type, asset.category)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if not asset.owner_kind and asset.asset_type in DEFAULT_OWNER_KIND:
        asset.owner_kind = DEFAULT_OWNER_KIND[asset.asset_type]
    if asset.registration_status == RegistrationStatus.REGISTERED and not asset.registration_date:
        asset.registration_date = timezone.localdate()
    for check, value in ((year_built_check, asset.year_built), (phone_check, asset.custodian_phone)):
        try:
            check(value)
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class Located:
    villages: tuple[int, ...]  # ids of the villages covering the representative point, by code
    in_county: bool  # the county (or, without one, a township) covers it
    x: float  # the representative point
    y: float


# Containment is tested on the areas' pieces (models.AreaPiece, migration 0020): the pieces of the point's grid cell
# by one b-tree probe (a GiST probe alone costs ~15 µs here; OFFSET 0 keeps ST_Covers' own index condition out),
# then ST_Covers on polygons of ≤ 128 vertices instead of a whole village (~2,200 vertices in the province).
# The cuts add vertices, rounded: within a hair of a piece's boundary the pieces and the whole area may disagree
# (measured: ~1 in 4,000 points placed exactly on boundaries). A point within PIECE_MARGIN of a piece's boundary
# is therefore decided on the whole area, as before; every other point is far from every boundary, where both agree.
# A piece is kept once per cell of its box (widened by PIECE_MARGIN) and a point may lie on several pieces: one row
# per area. Answers as ST_Covers on the whole areas (tests/geo_assets/test_pieces.py); docs/performance.md,
# "Session 10", has the figures.
_COVERING = """
SELECT c.area_id FROM (
    SELECT p.area_id, bool_or(ST_Covers(p.geom, {point})) AS covered,
           bool_or(ST_DWithin(ST_Boundary(p.geom), {point}, {margin})) AS near
      FROM (SELECT p.area_id, p.geom FROM geo_assets_areapiece p
             WHERE p.level = {level} AND p.cell_x = geo_assets_piece_cell(ST_X({point}))
               AND p.cell_y = geo_assets_piece_cell(ST_Y({point})) OFFSET 0) p
     WHERE p.geom && ST_Expand({point}, {margin}) GROUP BY p.area_id) c
 WHERE CASE WHEN c.near THEN (SELECT ST_Covers(a.geom, {point}) FROM geo_assets_adminarea a WHERE a.id = c.area_id)
            ELSE c.covered END"""

# A point a village covers is in the county (villages partition it): the county is only tested for points no
# village covers.
_LOCATE = """
SELECT l.ids,
       cardinality(l.ids) > 0 OR EXISTS({county}),
       ST_X(l.anchor), ST_Y(l.anchor)
FROM (SELECT r.i, r.anchor, ARRAY(SELECT v.id FROM geo_assets_adminarea v WHERE v.id IN ({village})
                                  ORDER BY v.code) AS ids
      FROM (SELECT i, ST_PointOnSurface(ST_GeomFromWKB(w, %s)) AS anchor  -- computed once (OFFSET 0), not in
            FROM unnest(%s::bytea[]) WITH ORDINALITY AS t(w, i) OFFSET 0) r OFFSET 0) l  -- each use of it
ORDER BY l.i
""".format(  # noqa: S608 (constants only)
    county=_COVERING.format(point="l.anchor", margin=PIECE_MARGIN, level="""(
        SELECT CASE WHEN EXISTS (SELECT 1 FROM geo_assets_adminarea WHERE level = 'county')
                    THEN 'county' ELSE 'township' END)"""),
    village=_COVERING.format(point="r.anchor", margin=PIECE_MARGIN, level="'village'"),
)


def villages_covering(wkbs: list[bytes], srid: int = 4490) -> list[Located]:
    """Where geometries (WKB in the storage SRID) lie: the villages covering each one's representative point —
    ST_PointOnSurface, as the register's `location` column — and whether it is inside the county. The one
    containment test of the register: the services ask it for one asset, the importers for thousands at once."""
    if not wkbs:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_LOCATE, [srid, list(wkbs)])
        return [Located(tuple(ids), bool(inside), x, y) for ids, inside, x, y in cursor.fetchall()]
