"""Risk alerts (红/黄/蓝), computed in the database: each with its rule, its evidence and the asset or village.

Every rule is one SQL query over the register (and the verification and lifecycle tables), restricted to the
assets the viewer may see by the role-scoped queryset compiled to SQL — so the visibility rule stays in one place.
All the rules a page asks for run as ONE statement (a UNION ALL over CTEs computed once): a village report costs
one round trip and one pass over its assets, not one per rule (issue 11).
"""

import datetime
import json
import math
import re
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from itertools import accumulate, chain, groupby, pairwise, repeat
from operator import itemgetter, methodcaller
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import BooleanField, ExpressionWrapper, QuerySet, Value
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from geo_assets.access import PUBLIC_SCOPE, Scope
from geo_assets.dbrouting import read_cursor
from geo_assets.models import Asset
from geo_assets.privacy import Redactor, mask_numbers
from geo_assets.taxonomy import AssetType
from projects.reconciliation import KINDS as RECONCILIATION
from verification.taxonomy import Finding

RED, YELLOW, BLUE = "red", "yellow", "blue"

# While a batch of evidence is written: the messages it translated (a village may have 10,000 alerts, each message
# the same; Django's gettext costs ~5 µs a call). A context variable: each thread and request its own.
_TRANSLATED: ContextVar[dict | None] = ContextVar("alerts_translated", default=None)


def _memo(key, translate):
    memo = _TRANSLATED.get()
    if memo is None:
        return translate()
    found = memo.get(key)
    if found is None:
        found = memo[key] = translate()
    return found


def _(message: str) -> str:
    return _memo(message, lambda: translation.gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return _memo((singular, plural, n), lambda: translation.ngettext(singular, plural, n))


def pgettext(context: str, message: str) -> str:
    return _memo((context, message), lambda: translation.pgettext(context, message))


@contextmanager
def _translating_once():
    if _TRANSLATED.get() is not None:  # an outer batch's memo serves this one too
        yield
        return
    token = _TRANSLATED.set({})
    try:
        yield
    finally:
        _TRANSLATED.reset(token)


class _Labels(Mapping):
    """Level → its label, as a str in the active language whenever it is read."""

    def __init__(self, labels: dict):
        self._labels = labels

    def __getitem__(self, key) -> str:
        return str(self._labels[key])

    def __iter__(self):
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


LEVEL_LABELS = _Labels({RED: gettext_lazy("Red alert"), YELLOW: gettext_lazy("Yellow alert"),
                        BLUE: gettext_lazy("Blue notice")})
DUPLICATE_DISTANCE_M = 30
# Grid cells (degrees) at least DUPLICATE_DISTANCE_M wide on the ground: a degree of latitude is ≥ 110 km, one of
# longitude ≥ 110 km × cos 57° — so the rule holds below 57° N (all of China reaches 53.6° N).
DUPLICATE_CELL = (DUPLICATE_DISTANCE_M / (110_000 * math.cos(math.radians(57))), DUPLICATE_DISTANCE_M / 110_000)


@dataclass(frozen=True)
class Rule:
    code: str
    level: str
    title: str  # lazy: the active language's when read
    # Selects (asset id, evidence). CTEs: `a` — the visible active assets, `visible` — the visible ones with the
    # disposed, both with every column but the geometry (location is there); `checked` — (id, observed_at, finding)
    # of the latest verification that counts of each asset of `a`; area rules: `villages`. %(today)s etc. are values.
    sql: str
    # Evidence that names another asset, a person or free text is never written by the SQL: the SQL selects a JSON
    # object of ids and values, and `render(data, seen)` writes it for the viewer (`Evidence`: the viewer's scope
    # and the personal-data rule) — an asset the viewer may not see is counted, never named (issue 21, item 7).
    # `render()` — once per batch, in the active language — returns what writes each row's.
    render: Callable[[], Callable[[dict, "Evidence"], str]] | None = None
    # Evidence that names no other record: the SQL selects values only (text, or a JSON object of them), never a
    # message; `write()` — once per statement, in the active language — returns what writes each row's (issue 16).
    write: Callable[[], Callable[[str], str]] | None = None


def _fixed(message) -> Callable[[], Callable[[str], str]]:
    """Evidence that is one message whatever the row."""
    def writer():
        text = str(message)

        def write(_raw: str) -> str:
            return text
        write.text = text  # the same for every row: written once per run of rows
        return write
    return writer


def _value(message, key: str) -> Callable[[], Callable[[str], str]]:
    """Evidence with one value the SQL selects as text, put in the message as `key`."""
    def writer():
        text = str(message)
        return lambda raw: text % {key: raw}
    return writer


def _from_json(write: Callable[[dict], str]) -> Callable[[], Callable[[str], str]]:
    """Evidence with several values the SQL selects as a JSON object."""
    return lambda: lambda raw: write(json.loads(raw))


def _outside(d: dict) -> str:
    return _("Located in %(where)s; the ledger's village is %(own)s") % {
        "where": d["in"] or _("outside the county"), "own": d["own"]}


def _missing(d: dict) -> str:
    return _("Verified %(date)s: %(finding)s") % {"date": d["on"], "finding": Finding(d["finding"]).label}


def _expired(d: dict) -> str:
    return _("Contract %(number)s expired on %(date)s") % {"number": d["number"], "date": d["ends_on"]}


def _not_posted(raw: str) -> str:
    labels = {"inventory": _("the inventory ledger"), "ownership": _("the ownership registration results")}
    stages = pgettext("list separator", ", ").join(labels[stage] for stage in raw.split(",") if stage)
    return _("Not publicised: %(stages)s") % {"stages": stages}


def _nearby() -> Callable[[dict, "Evidence"], str]:
    near, hidden = _("%(m)s m from %(other)s"), _("%(m)s m from another asset of the same type (one you may not view)")

    def render(d: dict, seen: "Evidence") -> str:
        other = seen.asset(d["other"])
        return near % {"m": d["m"], "other": other} if other else hidden % {"m": d["m"]}
    return render


def _same_name() -> Callable[[dict, "Evidence"], str]:
    comma, some, more = pgettext("list separator", ", "), _("; e.g. %(codes)s"), _("; e.g. %(codes)s and others")
    forms = {}  # the message for each count, as the language's plural rule chooses it

    def render(d: dict, seen: "Evidence") -> str:
        others = d["others"]
        codes = list(filter(None, map(seen.codes.get, d["ids"][:3])))
        listed = ((more if others > len(codes) else some) % {"codes": comma.join(codes)}) if codes else ""
        text = forms.get(others)
        if text is None:
            text = forms[others] = ngettext(
                "Same name as %(n)s other asset of the village (name: %(name)s%(listed)s)",
                "Same name as %(n)s other assets of the village (name: %(name)s%(listed)s)", others)
        return text % {"n": others, "name": seen.name(d["self"]), "listed": listed}
    return render


def _unanswered() -> Callable[[dict, "Evidence"], str]:
    text = _("%(title)s: the objection %(person)s raised on %(on)s is not answered")
    return lambda d, seen: text % {"title": seen.text(d["title"]), "person": seen.person(d["by"]), "on": d["on"]}


def _unlinked() -> Callable[[str], str]:
    built = _("Built in %(year)s and formed by no project of the fund ledgers")
    unknown = _("Year built unknown; formed by no project of the fund ledgers")
    return lambda raw: built % {"year": raw} if raw else unknown


def _accepted(d: dict) -> str:
    return _("Project %(code)s %(name)s, accepted on %(date)s, has no asset") % {
        "code": d["code"], "name": d["name"], "date": d["on"] or "—"}


def _short() -> Callable[[dict, "Evidence"], str]:
    text = _("%(title)s: %(start)s to %(end)s, shorter than %(min)s days")
    return lambda d, seen: text % {"title": seen.text(d["title"]), "start": d["from"], "end": d["to"],
                                   "min": d["min"]}


RULES = [
    Rule("outside_village", RED, gettext_lazy("Asset located outside its village"), """
        SELECT a.id, json_build_object('in', (SELECT v.name FROM geo_assets_adminarea v
                 WHERE v.level = 'village' AND ST_Covers(v.geom, a.location) LIMIT 1), 'own', own.name)
        FROM a JOIN geo_assets_adminarea own ON own.id = a.village_id
        WHERE NOT ST_Covers(own.geom, a.location)""", write=_from_json(_outside)),
    # A hash join over grid cells no smaller than the distance (DUPLICATE_CELL): two assets that close lie in the
    # same or a neighbouring cell. One pass, where probing the GiST index once per asset cost ~5 s per 1,000 assets.
    Rule("duplicate_nearby", YELLOW, gettext_lazy("Possible duplicate: assets of the same type very close together"), """
        SELECT a.id, json_build_object('other', b.id,
                                       'm', round(ST_Distance(a.location::geography, b.location::geography)::numeric, 1))
        FROM a CROSS JOIN (VALUES (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)) n(dx, dy)
             JOIN (SELECT id, asset_type, location, floor(ST_X(location) / %(cell_x)s)::int AS cx,
                          floor(ST_Y(location) / %(cell_y)s)::int AS cy
                   FROM geo_assets_asset WHERE status <> 'disposed'
                     AND location && (SELECT ST_Expand(ST_Extent(location)::geometry, %(cell_x)s) FROM a)) b
               ON b.asset_type = a.asset_type AND b.id <> a.id
              AND b.cx = floor(ST_X(a.location) / %(cell_x)s)::int + n.dx
              AND b.cy = floor(ST_Y(a.location) / %(cell_y)s)::int + n.dy
        WHERE abs(ST_X(a.location) - ST_X(b.location)) <= %(cell_x)s  -- within a cell's size first: cheap, and
          AND abs(ST_Y(a.location) - ST_Y(b.location)) <= %(cell_y)s  -- true of every pair closer than the distance
          AND ST_DWithin(a.location::geography, b.location::geography, %(duplicate_m)s)""", _nearby),
    # One alert per asset that shares its name with others of its village (not one per pair: k same-named assets
    # gave k(k-1) alerts, 60,386 in one village of the province), naming how many and the first codes of the others.
    # The report's villages' assets first, grouped by (village, name), then a hash join: an index on the name alone
    # would otherwise tempt the planner to fetch every same-named asset of the province once per asset.
    Rule("duplicate_name", YELLOW, gettext_lazy("Possible duplicate: assets of the same name in one village"), """
        WITH b AS MATERIALIZED (SELECT id, code, name, village_id FROM geo_assets_asset WHERE status <> 'disposed'
                                  AND village_id = ANY (ARRAY(SELECT DISTINCT village_id FROM a))),
             g AS (SELECT village_id, name, count(*) - 1 AS others,
                          (array_agg(id ORDER BY code COLLATE "C"))[1:4] AS ids
                   FROM b GROUP BY village_id, name HAVING count(*) > 1)
        SELECT a.id, json_build_object('self', a.id, 'others', g.others,
                                       'ids', (array_remove(g.ids, a.id))[1:3])
        FROM a JOIN g ON g.village_id = a.village_id AND g.name = a.name""", _same_name),
    Rule("never_verified", BLUE, gettext_lazy("Never verified on site"), """
        SELECT a.id, '' FROM a WHERE a.last_verified_at IS NULL""",
         write=_fixed(gettext_lazy("Not verified on site since it was registered"))),
    Rule("not_verified_12_months", YELLOW, gettext_lazy("Not verified for more than 12 months"), """
        SELECT a.id, to_char(a.last_verified_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')
        FROM a WHERE a.last_verified_at < %(year_ago)s""", write=_value(gettext_lazy("Last verified %(date)s"), "date")),
    Rule("finding_missing", RED, gettext_lazy("Latest verification: not found or demolished"), """
        SELECT c.id, json_build_object('on', to_char(c.observed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD'),
                                       'finding', c.finding)
        FROM checked c WHERE c.finding IN ('not_found', 'demolished')""", write=_from_json(_missing)),
    Rule("finding_damaged", YELLOW, gettext_lazy("Latest verification: damaged"), """
        SELECT c.id, to_char(c.observed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')
        FROM checked c WHERE c.finding = 'damaged'""", write=_value(gettext_lazy("Verified %(date)s: damaged"), "date")),
    Rule("no_custodian", YELLOW, gettext_lazy("No custodian assigned"), """
        SELECT a.id, '' FROM a WHERE a.custodian_unit = '' AND a.category <> 'household'""",
         write=_fixed(gettext_lazy("The custodian unit is empty"))),
    Rule("no_contract", YELLOW, gettext_lazy("Operating asset without an operating contract"), """
        SELECT a.id, '' FROM a
        WHERE a.category = 'operating' AND a.asset_type NOT IN ('equity', 'debt')
          AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract c WHERE c.asset_id = a.id)""",
         write=_fixed(gettext_lazy("No operating agreement or contract recorded"))),
    Rule("contract_expired", RED, gettext_lazy("Operating contract expired and not renewed"), """
        SELECT a.id, json_build_object('number', c.number, 'ends_on', c.ends_on)
        FROM a JOIN geo_assets_operationcontract c ON c.asset_id = a.id
        WHERE c.ends_on < %(today)s
          AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract r WHERE r.renews_id = c.id)""",
         write=_from_json(_expired)),
    Rule("no_income", YELLOW, gettext_lazy("Operating asset with no income recorded last year"), """
        SELECT a.id, %(last_year)s::text FROM a
        WHERE a.category = 'operating' AND coalesce(a.year_built, 0) < %(last_year)s
          AND NOT EXISTS (SELECT 1 FROM geo_assets_incomerecord i WHERE i.asset_id = a.id AND i.year = %(last_year)s)""",
         write=_value(gettext_lazy("No income recorded for %(year)s"), "year")),
    Rule("shares_not_100", RED, gettext_lazy("Shares do not add up to 100%"), """
        SELECT a.id, coalesce(s.total, 0)::text
        FROM a LEFT JOIN LATERAL (SELECT sum(o.share) AS total FROM geo_assets_ownershare o
                                  WHERE o.asset_id = a.id AND o.share > 0) s ON true
        WHERE a.asset_type IN ('equity', 'debt') AND coalesce(s.total, 0) <> 100""",
         write=_value(gettext_lazy("The owners' shares add up to %(total)s%%"), "total")),
    Rule("disposed_without_approval", RED, gettext_lazy("Disposed without an approval record"), """
        SELECT a.id, ''
        FROM visible a WHERE a.status = 'disposed'
          AND NOT EXISTS (SELECT 1 FROM geo_assets_disposal d WHERE d.asset_id = a.id AND d.status = 'executed'
                          AND d.approval_reference <> '')""",
         write=_fixed(gettext_lazy("Disposed, but there is no executed disposal with an approval reference"))),
    # 账账相符 (projects.reconciliation: the same SQL as its finding): an asset in the fund ledgers' scope that no
    # project formed — its money is not traced to a fund ledger.
    Rule("asset_without_project", YELLOW, RECONCILIATION["asset_without_project"].label,
         RECONCILIATION["asset_without_project"].sql, write=_unlinked),
]

# Village-level rules: publicity (公示) of each stage.
AREA_RULES = [
    Rule("publicity_missing", YELLOW, gettext_lazy("Ledger or ownership results not publicised"), """
        WITH covered AS (  -- the village's own notices, its township's and its county's (village → township → county)
            SELECT v.id, n.stage FROM villages v LEFT JOIN geo_assets_adminarea t ON t.id = v.parent_id
                 JOIN geo_assets_publicitynotice n ON n.area_id IN (v.id, v.parent_id, t.parent_id))
        SELECT v.id, concat_ws(',',
               CASE WHEN NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'inventory')
                    THEN 'inventory' END,
               CASE WHEN NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'ownership')
                    THEN 'ownership' END)
        FROM villages v
        WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'inventory')
           OR NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'ownership')""",
         write=lambda: _not_posted),
    Rule("publicity_too_short", YELLOW, gettext_lazy("Publicity period too short"), """
        SELECT v.id, json_build_object('title', n.title, 'from', n.starts_on, 'to', n.ends_on, 'min', %(min_days)s)
        FROM villages v JOIN geo_assets_publicitynotice n ON n.area_id = v.id
        WHERE (n.ends_on - n.starts_on + 1) < %(min_days)s""", _short),
    Rule("objection_unanswered", RED, gettext_lazy("Objection to a notice not answered"), """
        SELECT v.id, json_build_object('title', n.title, 'by', o.raised_by, 'on', o.raised_on)
        FROM villages v JOIN geo_assets_publicitynotice n ON n.area_id = v.id
             JOIN geo_assets_objection o ON o.notice_id = n.id
        WHERE o.answered_at IS NULL AND n.ends_on < %(today)s""", _unanswered),
    # 账账相符: a project serving the village was accepted, yet no asset of it is in the register (one alert per
    # village and project; projects serving no village are on the reconciliation page only).
    Rule("accepted_without_assets", RED, RECONCILIATION["accepted_without_assets"].label,
         RECONCILIATION["accepted_without_assets"].sql, write=_from_json(_accepted)),
]
ALL_RULES = {r.code: r for r in RULES + AREA_RULES}


class Alert(NamedTuple):  # a tuple: a village report builds thousands of them
    rule: str
    level: str
    title: str
    evidence: str
    asset_id: int | None = None
    area_id: int | None = None


class _Seen(NamedTuple):
    """An asset named in evidence: what Redactor.asset_name reads of an Asset, read as values (no model instance)."""

    code: str
    name: str
    public_name: str
    category: str
    asset_type: str
    custodian_person: str
    is_published: bool
    village_id: int | None
    village_name: str | None
    in_scope: bool

    @property
    def village(self):
        return _Village(self.village_name) if self.village_id else None

    def get_asset_type_display(self) -> str:
        return str(_TYPE_LABELS.get(self.asset_type, self.asset_type))


class _Village(NamedTuple):
    name: str


_TYPE_LABELS = dict(AssetType.choices)


class Evidence:
    """What one viewer may read in the evidence of alerts that name other records: the assets these alerts point to
    (one query), each named as the viewer's scope and the personal-data rule allow — in full if it is in the
    viewer's scope, under its public name if it is published, not at all otherwise."""

    FIELDS = ("code", "name", "public_name", "category", "asset_type", "custodian_person", "is_published",
              "village_id", "village__name")

    def __init__(self, viewer: Scope, ids, known: Mapping | None = None):
        """`known`: assets the caller already read through the viewer's own scope (a report's asset rows, by id):
        when the viewer reads every asset of their counties, those are in its scope and need no second read."""
        self.redactor, self.public = Redactor(viewer), Redactor(PUBLIC_SCOPE)
        q = viewer.assets_q(for_edit=False)
        # pk → (code, name) as this viewer may read them, decided once per asset; absent: never named
        self.named: dict[int, tuple[str, str]] = {}
        if known and viewer.reads_whole_counties:
            ids = set(ids)
            for pk in ids.intersection(known):
                self.named[pk] = (known[pk].code, self.redactor.asset_name(known[pk]))
            ids.difference_update(self.named)
        full = Value(True) if q is None else ExpressionWrapper(q, output_field=BooleanField())
        # the alerts' assets lie in the viewer's counties (they were read through a scoped queryset)
        rows = (Asset.objects.filter(pk__any=ids).for_scope(viewer).annotate(in_scope=full)
                .values_list("id", *self.FIELDS, "in_scope")) if ids else ()
        for pk, *values in rows:
            asset = _Seen(*values)
            if asset.in_scope or asset.is_published:
                redactor = self.redactor if asset.in_scope else self.public
                self.named[pk] = (asset.code, redactor.asset_name(asset))
        self._labels: dict[int, str | None] = {}
        self.codes = {pk: code for pk, (code, _name) in self.named.items()}  # absent: not to be named

    def asset(self, pk) -> str | None:
        """"code (name)"; None: not to be named."""
        try:
            return self._labels[pk]
        except KeyError:
            named = self.named.get(pk)
            label = self._labels[pk] = _("%(code)s (%(name)s)") % {"code": named[0], "name": named[1]} if named else None
            return label

    def name(self, pk) -> str:
        named = self.named.get(pk)
        return named[1] if named else "—"

    def person(self, name: str) -> str:
        return self.redactor.person(name) if self.redactor.full else mask_numbers(self.redactor.person(name))

    def text(self, text: str) -> str:
        return text if self.redactor.full else mask_numbers(text)


def evidence_write(alerts: list[tuple[str, str]], viewer: Scope) -> list[str]:
    """(rule code, what the rule's SQL selected) → the evidence as `viewer` reads it (for statements that run the
    rules' SQL themselves, e.g. bench.reports' anchor), in any order of rules."""
    index = {rule.code: i for i, rule in enumerate(RULES + AREA_RULES)}
    return [a.evidence for a in _alerts([(index[code], None, None, raw) for code, raw in alerts], viewer)]


def _params() -> dict:
    today = timezone.localdate()
    return {"today": today, "year_ago": timezone.now() - datetime.timedelta(days=365),
            "last_year": today.year - 1, "tz": settings.TIME_ZONE, "duplicate_m": DUPLICATE_DISTANCE_M,
            "cell_x": DUPLICATE_CELL[0], "cell_y": DUPLICATE_CELL[1], "min_days": settings.PUBLICITY_MIN_DAYS}


ALERTS_PLANNER = {"jit": "off", "enable_mergejoin": "off"}
GEOMETRY_COLUMNS = ("point", "line", "polygon", "geom_web")  # `location` stays: the rules' point of the asset
# The latest counted verification of each asset of `a`: a semi-join the planner may run either way (index probes per
# asset when verifications are many, one hash when they are few), where a lateral LIMIT 1 forced a probe per asset.
CHECKED = """SELECT DISTINCT ON (x.asset_id) x.asset_id AS id, x.observed_at, x.finding
    FROM verification_verification x WHERE x.asset_id IN (SELECT id FROM a) AND x.review IN ('accepted', 'approved')
    ORDER BY x.asset_id, x.observed_at DESC, x.id DESC"""


def asset_rows_sql(assets: QuerySet[Asset]) -> tuple[str, tuple]:
    """The assets of a queryset with every column but the geometry, as SQL: its own WHERE on the table when it
    has no joins (no self-join on the primary key), else the table filtered by the queryset's ids."""
    columns = [f.attname for f in Asset._meta.concrete_fields if f.column not in GEOMETRY_COLUMNS]
    query = assets.order_by()
    joined = [alias for alias, count in query.query.alias_refcount.items() if count]  # trimmed joins have 0
    if len(joined) <= 1 and not query.query.distinct:
        return query.values(*columns).query.sql_with_params()
    ids, params = query.values("id").query.sql_with_params()
    names = ", ".join(f'"{f.column}"' for f in Asset._meta.concrete_fields if f.column not in GEOMETRY_COLUMNS)
    return f"SELECT {names} FROM geo_assets_asset WHERE id IN ({ids})", params  # noqa: S608 - compiled SQL


@contextmanager
def planner_settings(model=Asset, **values):
    """Run the statements inside with these planner settings (ours, not user input), in one transaction on the
    database that reads `model` — the request's, if any (restored afterwards), else a new one. Settings an outer
    block already made cost no round trip. At province scale the cost estimates of the reports' short statements
    pass jit_above_cost, and compiling them cost 0.2–1 s each: more than running them (issue 11)."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    active = getattr(connection, "_reports_planner", {})
    changes = {name: value for name, value in values.items() if active.get(name) != value}
    if not changes:
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic(using=alias, savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("; ".join(f"SET LOCAL {name} = {value}" for name, value in changes.items()))
        connection._reports_planner = {**active, **changes}
        try:
            yield
            if nested:  # the request goes on in this transaction: as it was
                with connection.cursor() as cursor:
                    cursor.execute("; ".join(f"SET LOCAL {name} = {active[name]}" if name in active
                                             else f"SET LOCAL {name} TO DEFAULT" for name in changes))
        finally:
            connection._reports_planner = active


def _statement(assets: QuerySet[Asset], villages, rules, compiled: tuple[str, list] | None = None
               ) -> tuple[str, list] | None:
    """The rules asked for as one statement of rows (rule index, asset id, area id, evidence); None: nothing to ask.
    `compiled`: asset_rows_sql(assets), when the caller has it already (a report compiles it once)."""
    asset_rules = [r for r in RULES if not rules or r.code in rules]
    area_rules = [r for r in AREA_RULES if not rules or r.code in rules] if villages is not None else []
    ctes, params, parts = [], [], []
    try:
        if compiled is not None:
            (visible, visible_params), active_params = compiled, compiled[1]
            active = f"SELECT * FROM ({visible}) v WHERE v.status <> 'disposed'"  # noqa: S608 - compiled SQL
        else:
            visible, visible_params = asset_rows_sql(assets)
            active, active_params = asset_rows_sql(assets.exclude(status="disposed"))
    except EmptyResultSet:  # nothing to see (e.g. .none())
        asset_rules = []
    if asset_rules:
        ctes += [f"visible AS ({visible})", f"a AS MATERIALIZED ({active})", f"checked AS ({CHECKED})"]
        params += [*visible_params, *active_params]
        parts += [f"SELECT {i}, r.id, NULL::bigint, r.ev::text FROM ({rule.sql}) r(id, ev)"  # noqa: S608
                  for i, rule in enumerate(RULES) if rule in asset_rules]
    if area_rules:
        try:
            ids, ids_params = villages.order_by().values("id").query.sql_with_params()
            ctes.append("villages AS MATERIALIZED (SELECT id, code, name, level, parent_id "  # noqa: S608
                        f"FROM geo_assets_adminarea WHERE id IN ({ids}))")
            params += ids_params
            parts += [f"SELECT {len(RULES) + i}, NULL::bigint, r.id, r.ev::text "  # noqa: S608
                      f"FROM ({rule.sql}) r(id, ev)"
                      for i, rule in enumerate(AREA_RULES) if rule in area_rules]
        except EmptyResultSet:
            pass
    if not parts:
        return None
    # Django-compiled SQL and our own rules; the querysets' values stay parameters
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(parts)}", params


def _rows(sql: str, params: list) -> list[tuple]:
    # The grid join of duplicate_nearby: its cells are expressions without statistics, and the planner would sort
    # 9 × N rows for a merge join where a hash join takes a third of the time.
    with planner_settings(**ALERTS_PLANNER), read_cursor(Asset) as cursor:
        cursor.execute(*_final(sql, params, cursor.db.connection))
        return cursor.fetchall()


def alerts_statement(*, assets: QuerySet[Asset], villages=None, rules=None,
                     compiled: tuple[str, list] | None = None) -> tuple[str, list] | None:
    """The statement of alerts_compute, ready to run (under ALERTS_PLANNER) on the connection that reads assets, for
    a caller that sends it with others (geo_assets.dbrouting.reads_ahead) and gives its rows to alerts_of_rows.
    None: nothing to ask."""
    statement = _statement(assets, villages, rules, compiled)
    if statement is None:
        return None
    connection = connections[router.db_for_read(Asset)]
    connection.ensure_connection()
    return _final(*statement, connection.connection)


def alerts_of_rows(rows: list[tuple], viewer: Scope = PUBLIC_SCOPE, known: Mapping | None = None) -> list[Alert]:
    """The alerts of alerts_statement's rows (sorted here), their evidence written for `viewer` (see
    alerts_compute)."""
    rows.sort(key=itemgetter(0))  # rule by rule, in the order of RULES (stable within a rule)
    return _alerts(rows, viewer, known)


def alerts_compute(*, assets: QuerySet[Asset], villages=None, rules=None, viewer: Scope = PUBLIC_SCOPE,
                   known: Mapping | None = None, compiled: tuple[str, list] | None = None) -> list[Alert]:
    """The alerts of the given (already role-scoped) active assets, and of the given villages' publicity: the rules
    asked for (all by default) as one statement. Their evidence is written for `viewer` (geo_assets.access.scope_for
    of the user who reads it; the public's by default): it names only the records that viewer may see. `known`:
    see Evidence; `compiled`: see _statement."""
    statement = _statement(assets, villages, rules, compiled)
    if statement is None:
        return []
    return alerts_of_rows(_rows(*statement), viewer, known)


def _alerts(rows: list[tuple], viewer: Scope, known: Mapping | None = None) -> list[Alert]:
    """Rows (rule index, asset id, area id, what the rule selected) as alerts, their evidence written for `viewer`."""
    with _translating_once():  # the messages of every row written once (a village may have 80,000 alerts)
        return _alerts_written(rows, viewer, known)


def _alerts_written(rows: list[tuple], viewer: Scope, known: Mapping | None) -> list[Alert]:
    """In the rows' order; each run of consecutive rows of one rule written at once (rows come rule by rule): a
    village has thousands of alerts and most rules' evidence is the same text or one value in the same message."""
    every = RULES + AREA_RULES
    runs = [(every[i], list(run)) for i, run in groupby(rows, key=itemgetter(0))]
    # the evidence that names other records: one parse, one look-up of what the viewer may read of them
    rendered = [run for rule, run in runs if rule.render]
    decoded, seen = iter(()), None
    if rendered:
        data = json.loads(f"[{','.join(chain.from_iterable(map(itemgetter(3), run) for run in rendered))}]")
        named: set[int] = set()
        for key in ("self", "other", "ids"):  # the records a rule's evidence names
            found = filter(None, map(methodcaller("get", key), data))
            named.update(chain.from_iterable(found) if key == "ids" else found)
        seen = Evidence(viewer, named, known)
        bounds = list(accumulate(map(len, rendered), initial=0))
        decoded = iter([data[start:end] for start, end in pairwise(bounds)])
    out: list[Alert] = []
    made: dict[str, Callable] = {}  # each rule's writer or renderer made once (its messages translated once)
    for rule, run in runs:
        if rule.render:
            render = made.get(rule.code) or made.setdefault(rule.code, rule.render())
            texts = map(render, next(decoded), repeat(seen))
        elif rule.write:
            write = made.get(rule.code) or made.setdefault(rule.code, rule.write())
            fixed = getattr(write, "text", None)
            texts = repeat(fixed) if fixed is not None else map(write, map(itemgetter(3), run))
        else:
            texts = map(itemgetter(3), run)
        # Alert's fields in order, the tuples made by zip and map (no Python call per alert: 80,000 in a village)
        out += map(_ALERT, zip(repeat(rule.code), repeat(rule.level), repeat(str(rule.title)), texts,
                               map(itemgetter(1), run), map(itemgetter(2), run)))
    return out


_ALERT = partial(tuple.__new__, Alert)


LEVEL_ORDER = (RED, YELLOW, BLUE)
# Rule index → its place in a list of alerts: by level (red first), then by rule code.
_RANK = [sorted(range(len(RULES + AREA_RULES)), key=lambda i: (
    LEVEL_ORDER.index((RULES + AREA_RULES)[i].level), (RULES + AREA_RULES)[i].code)).index(i)
    for i in range(len(RULES + AREA_RULES))]


def alerts_paged(*, assets: QuerySet[Asset], villages=None, rules=None, viewer: Scope = PUBLIC_SCOPE,
                offset: int = 0, limit: int = 200) -> tuple[list[Alert], dict[str, int]]:
    """One page of the alerts alerts_compute would give — by level, rule code, asset, village — and how many there
    are per rule, in one statement: only the page's alerts are built and their evidence written (a county has
    hundreds of thousands of alerts; building them all cost gigabytes)."""
    statement = _statement(assets, villages, rules)
    if statement is None:
        return [], {}
    sql, params = statement
    rank = "ARRAY[" + ",".join(str(r) for r in _RANK) + "]::int[]"
    paged = (f"WITH r(rule, asset_id, area_id, ev) AS MATERIALIZED ({sql}) "  # noqa: S608 - our statement
             "SELECT rule, NULL::bigint, NULL::bigint, count(*)::text, 0 FROM r GROUP BY rule UNION ALL "
             f"(SELECT rule, asset_id, area_id, ev, 1 FROM r ORDER BY ({rank})[rule + 1], asset_id, area_id, "
             'ev COLLATE "C" '  # code point order, as Python's below
             f"LIMIT {int(limit)} OFFSET {int(offset)})")
    rows = _rows(paged, params)
    every = RULES + AREA_RULES
    counts = {every[row[0]].code: int(row[3]) for row in rows if row[4] == 0}
    page = [row[:4] for row in rows if row[4] == 1]
    page.sort(key=lambda row: (_RANK[row[0]], row[1] is None, row[1] or 0, row[2] is None, row[2] or 0, row[3]))
    return _alerts(page, viewer), counts


def alerts_count(*, assets: QuerySet[Asset], villages=None, rules=None) -> dict[tuple[int, str, str], int]:
    """How many alerts alerts_compute would give, per (village id, rule code, level), counted in the database: no
    evidence written, no alert built (the dashboards of a county or a province). An asset's alerts count for the
    asset's village, a village's for the village."""
    statement = _statement(assets, villages, rules)
    if statement is None:
        return {}
    sql, params = statement
    counted = ("SELECT r.rule, COALESCE(v.village_id, r.area_id), count(*) "  # noqa: S608 - our statement
               f"FROM ({sql}) r(rule, asset_id, area_id, ev) "
               "LEFT JOIN geo_assets_asset v ON v.id = r.asset_id GROUP BY 1, 2")
    every = RULES + AREA_RULES
    return {(village, every[rule].code, every[rule].level): n for rule, village, n in _rows(counted, params)}


# The rules' named values that change from one call to the next: parameters, not literals, so that the statement's
# text stays the same for as long as the other values do (today's date) and PostgreSQL can keep it prepared.
_BOUND = frozenset({"year_ago"})
_SLOT = re.compile(r"%%|%s|%\((\w+)\)s")


def _final(sql: str, params: list, connection) -> tuple[str, list]:
    """The statement as it runs: the rules' named values inlined as literals (_named), but those of _BOUND, which
    join the positional parameters in their places."""
    values, given, named = [], iter(params), _params()

    def slot(match) -> str:
        if match[0] == "%s":
            values.append(next(given, _SLOT))
        elif match[1] in _BOUND:
            values.append(named[match[1]])
            return "%s"
        return match[0]

    bound = _SLOT.sub(slot, sql)
    if next(given, _SLOT) is not _SLOT or _SLOT in values:
        raise ValueError("as many parameters as placeholders expected")
    return _named(bound, {k: v for k, v in named.items() if k not in _BOUND}, connection), values


def _named(sql: str, params: dict, connection=None) -> str:
    """Inline the rules' own named values as literals quoted by the database adapter (they are ours, never user
    input), so the positional parameters of the compiled querysets stay as they are."""
    from psycopg.sql import Literal

    if connection is None:
        from django.db import connection as default

        default.ensure_connection()
        connection = default.connection
    for key, value in params.items():
        sql = sql.replace(f"%({key})s", Literal(value).as_string(connection))
    return sql
