"""Risk alerts (红/黄/蓝), computed in the database: each with its rule, its evidence and the asset or village.

Every rule is one SQL statement over the register (and the verification and lifecycle tables), restricted to the
assets the viewer may see by the role-scoped queryset compiled to SQL — so the visibility rule stays in one place.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from geo_assets.models import Asset

RED, YELLOW, BLUE = "red", "yellow", "blue"
LEVEL_LABELS = {RED: "红色预警", YELLOW: "黄色预警", BLUE: "蓝色提示"}
DUPLICATE_DISTANCE_M = 30


@dataclass(frozen=True)
class Rule:
    code: str
    level: str
    title: str
    sql: str  # selects (asset id, evidence) from the CTE `a` of visible assets; %(today)s etc. are parameters


RULES = [
    Rule("outside_village", RED, "资产位置不在所属村范围内", """
        SELECT a.id, '位置在' || coalesce((SELECT v.name FROM geo_assets_adminarea v
                 WHERE v.level = 'village' AND ST_Covers(v.geom, a.location) LIMIT 1), '县域以外')
               || '，台账所属村为' || own.name
        FROM a JOIN geo_assets_adminarea own ON own.id = a.village_id
        WHERE NOT ST_Covers(own.geom, a.location)"""),
    Rule("duplicate_nearby", YELLOW, "疑似重复：同类资产相距很近", """
        SELECT a.id, '与 ' || b.code || '（' || b.name || '）相距 '
               || round(ST_Distance(a.location::geography, b.location::geography)::numeric, 1) || ' 米'
        FROM a JOIN geo_assets_asset b ON b.asset_type = a.asset_type AND b.id <> a.id
             AND b.status <> 'disposed'
             AND ST_DWithin(a.location, b.location, 0.001)  -- ≈ 100 m: lets the GiST index filter first
             AND ST_DWithin(a.location::geography, b.location::geography, %(duplicate_m)s)"""),
    Rule("duplicate_name", YELLOW, "疑似重复：同村同名资产", """
        SELECT a.id, '与 ' || b.code || ' 同名（' || a.name || '）'
        FROM a JOIN geo_assets_asset b ON b.village_id = a.village_id AND b.name = a.name AND b.id <> a.id
             AND b.status <> 'disposed'"""),
    Rule("never_verified", BLUE, "从未现场核查", """
        SELECT a.id, '建档后未做过现场核查' FROM a WHERE a.last_verified_at IS NULL"""),
    Rule("not_verified_12_months", YELLOW, "超过12个月未核查", """
        SELECT a.id, '最近核查 ' || to_char(a.last_verified_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')
        FROM a WHERE a.last_verified_at < %(year_ago)s"""),
    Rule("finding_missing", RED, "最近核查结论：未找到或已拆除", """
        SELECT a.id, to_char(v.observed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD') || ' 核查：'
               || CASE v.finding WHEN 'not_found' THEN '未找到' ELSE '已拆除' END
        FROM a JOIN LATERAL (SELECT * FROM verification_verification v WHERE v.asset_id = a.id
                             AND v.review IN ('accepted', 'approved') ORDER BY v.observed_at DESC LIMIT 1) v ON true
        WHERE v.finding IN ('not_found', 'demolished')"""),
    Rule("finding_damaged", YELLOW, "最近核查结论：存在损坏", """
        SELECT a.id, to_char(v.observed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD') || ' 核查：存在损坏'
        FROM a JOIN LATERAL (SELECT * FROM verification_verification v WHERE v.asset_id = a.id
                             AND v.review IN ('accepted', 'approved') ORDER BY v.observed_at DESC LIMIT 1) v ON true
        WHERE v.finding = 'damaged'"""),
    Rule("no_custodian", YELLOW, "未落实管护主体", """
        SELECT a.id, '管护单位为空' FROM a WHERE a.custodian_unit = '' AND a.category <> 'household'"""),
    Rule("no_contract", YELLOW, "经营性资产没有经营合同", """
        SELECT a.id, '未登记经营协议或合同' FROM a
        WHERE a.category = 'operating' AND a.asset_type NOT IN ('equity', 'debt')
          AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract c WHERE c.asset_id = a.id)"""),
    Rule("contract_expired", RED, "经营合同已到期未续签", """
        SELECT a.id, '合同 ' || c.number || ' 于 ' || c.ends_on || ' 到期'
        FROM a JOIN geo_assets_operationcontract c ON c.asset_id = a.id
        WHERE c.ends_on < %(today)s
          AND NOT EXISTS (SELECT 1 FROM geo_assets_operationcontract r WHERE r.renews_id = c.id)"""),
    Rule("no_income", YELLOW, "经营性资产上一年度无收益记录", """
        SELECT a.id, %(last_year)s || ' 年度未登记收益' FROM a
        WHERE a.category = 'operating' AND coalesce(a.year_built, 0) < %(last_year)s
          AND NOT EXISTS (SELECT 1 FROM geo_assets_incomerecord i WHERE i.asset_id = a.id AND i.year = %(last_year)s)"""),
    Rule("shares_not_100", RED, "股权占比合计不是100%", """
        SELECT a.id, '产权主体占股合计 ' || coalesce(s.total, 0) || '%%'
        FROM a LEFT JOIN (SELECT asset_id, sum(share) AS total FROM geo_assets_ownershare WHERE share > 0
                          GROUP BY asset_id) s ON s.asset_id = a.id
        WHERE a.asset_type IN ('equity', 'debt') AND coalesce(s.total, 0) <> 100"""),
    Rule("disposed_without_approval", RED, "已处置但无审批记录", """
        SELECT a.id, '状态为已处置，但没有已执行且有批复文号的处置记录'
        FROM geo_assets_asset a WHERE a.id IN (SELECT id FROM visible) AND a.status = 'disposed'
          AND NOT EXISTS (SELECT 1 FROM geo_assets_disposal d WHERE d.asset_id = a.id AND d.status = 'executed'
                          AND d.approval_reference <> '')"""),
]

# Village-level rules: publicity (公示) of each stage.
AREA_RULES = [
    Rule("publicity_missing", YELLOW, "台账或确权结果未公示", """
        WITH covered AS (
            SELECT v.id, n.stage FROM villages v JOIN geo_assets_publicitynotice n
              ON n.area_id = v.id OR n.area_id = v.parent_id
              OR n.area_id IN (SELECT id FROM geo_assets_adminarea WHERE level = 'county'))
        SELECT v.id, '未公示：' || concat_ws('、',
               CASE WHEN NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'inventory')
                    THEN '清产核资台账' END,
               CASE WHEN NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'ownership')
                    THEN '确权登记结果' END)
        FROM villages v
        WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'inventory')
           OR NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = v.id AND c.stage = 'ownership')"""),
    Rule("publicity_too_short", YELLOW, "公示期不足", """
        SELECT v.id, n.title || '：' || n.starts_on || ' 至 ' || n.ends_on || '，不足 ' || %(min_days)s || ' 天'
        FROM villages v JOIN geo_assets_publicitynotice n ON n.area_id = v.id
        WHERE (n.ends_on - n.starts_on + 1) < %(min_days)s"""),
    Rule("objection_unanswered", RED, "公示异议未答复", """
        SELECT v.id, n.title || '：' || o.raised_by || ' 于 ' || o.raised_on || ' 提出的异议未答复'
        FROM villages v JOIN geo_assets_publicitynotice n ON n.area_id = v.id
             JOIN geo_assets_objection o ON o.notice_id = n.id
        WHERE o.answered_at IS NULL AND n.ends_on < %(today)s"""),
]
ALL_RULES = {r.code: r for r in RULES + AREA_RULES}


@dataclass(frozen=True)
class Alert:
    rule: str
    level: str
    title: str
    evidence: str
    asset_id: int | None = None
    area_id: int | None = None


def _params() -> dict:
    today = timezone.localdate()
    return {"today": today, "year_ago": timezone.now() - datetime.timedelta(days=365),
            "last_year": today.year - 1, "tz": settings.TIME_ZONE, "duplicate_m": DUPLICATE_DISTANCE_M,
            "min_days": settings.PUBLICITY_MIN_DAYS}


def alerts_compute(*, assets: QuerySet[Asset], villages=None, rules=None) -> list[Alert]:
    """The alerts of the given (already role-scoped) active assets, and of the given villages' publicity."""
    try:
        base, base_params = assets.exclude(status="disposed").order_by().values("id").query.sql_with_params()
        visible, visible_params = assets.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # nothing to see (e.g. .none())
        base = None
    params = _params()
    found = []
    with connection.cursor() as cursor:
        for rule in RULES:
            if base is None or (rules and rule.code not in rules):
                continue
            sql = (f"WITH visible AS ({visible}), a AS (SELECT * FROM geo_assets_asset WHERE id IN ({base})) "  # noqa: S608
                   f"SELECT * FROM ({rule.sql}) r")  # Django-compiled SQL and our rules; values are parameters
            cursor.execute(_named(sql, params), (*visible_params, *base_params))
            found += [Alert(rule.code, rule.level, rule.title, str(evidence), asset_id=pk)
                      for pk, evidence in cursor.fetchall()]
        if villages is not None and villages.exists():
            vsql, vparams = villages.order_by().values("id").query.sql_with_params()
            for rule in AREA_RULES:
                if rules and rule.code not in rules:
                    continue
                sql = (f"WITH villages AS (SELECT * FROM geo_assets_adminarea WHERE id IN ({vsql})) "  # noqa: S608
                       f"SELECT * FROM ({rule.sql}) r")
                cursor.execute(_named(sql, params), vparams)
                found += [Alert(rule.code, rule.level, rule.title, str(evidence), area_id=pk)
                          for pk, evidence in cursor.fetchall()]
    return found


def _named(sql: str, params: dict) -> str:
    """Inline the rules' own named values as literals quoted by the database adapter (they are ours, never user
    input), so the positional parameters of the compiled querysets stay as they are."""
    from psycopg.sql import Literal

    connection.ensure_connection()
    for key, value in params.items():
        sql = sql.replace(f"%({key})s", Literal(value).as_string(connection.connection))
    return sql
