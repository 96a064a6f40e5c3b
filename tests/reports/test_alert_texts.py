"""The alerts' evidence, word for word, in both languages, and what each viewer reads of it however the rows come:
the evidence is written a run of one rule's rows at a time (reports.alerts._alerts_written), so a row given the
wrong run's data, a message translated in the wrong language or an asset named past the privacy rule shows here."""

import datetime
import json

import pytest
from django.conf import settings
from django.utils import timezone, translation

from geo_assets.access import scope_for
from geo_assets.models import Asset
from reports import figures
from reports.alerts import alerts_compute, evidence_write
from tests.reports.conftest import ID_NUMBER, OTHER_PERSON, PERSON, PHONE

DAY = datetime.timedelta(days=1)


def expected(world) -> dict[tuple[str, str], tuple[str, str]]:
    """(rule, the asset's key or the village) → the evidence the county administrator reads, (Chinese, English)."""
    assets = world["assets"]
    today = timezone.localdate()
    checked = timezone.localtime(assets["a_twin_2"].last_verified_at).date()
    other, twin = assets["b_house"], assets["a_twin_2"]
    notice = f"西南村台账公示（联系 {PHONE}）"
    objector = f"{PERSON} {ID_NUMBER} {PHONE}"
    days = settings.PUBLICITY_MIN_DAYS
    return {
        ("never_verified", "a_house"): ("建档后未做过现场核查", "Not verified on site since it was registered"),
        ("not_verified_12_months", "a_twin_2"): (f"最近核查 {checked}", f"Last verified {checked}"),
        ("finding_missing", "a_missing"): (f"{today} 核查：未找到", f"Verified {today}: not found"),
        ("finding_damaged", "a_outside"): (f"{today} 核查：存在损坏", f"Verified {today}: damaged"),
        ("no_custodian", "a_twin_1"): ("管护单位为空", "The custodian unit is empty"),
        ("no_contract", "a_twin_1"): ("未登记经营协议或合同", "No operating agreement or contract recorded"),
        ("contract_expired", "a_twin_2"): (f"合同 HT-1 于 {today - DAY} 到期", f"Contract HT-1 expired on {today - DAY}"),
        ("no_income", "a_twin_1"): (f"{today.year - 1} 年度未登记收益", f"No income recorded for {today.year - 1}"),
        ("shares_not_100", "a_equity"): ("产权主体占股合计 0%", "The owners' shares add up to 0%"),
        ("disposed_without_approval", "a_disposed"): (
            "状态为已处置，但没有已执行且有批复文号的处置记录",
            "Disposed, but there is no executed disposal with an approval reference"),
        ("asset_without_project", "a_house"): ("建成年度不详，资金台账中无对应项目",
                                               "Year built unknown; formed by no project of the fund ledgers"),
        ("outside_village", "a_outside"): ("位置在东北村，台账所属村为西南村", "Located in 东北村; the ledger's village is 西南村"),
        ("duplicate_nearby", "a_house"): (f"与 {other.code}（{other.name}） 相距 3.7 米", f"3.7 m from {other.code} ({other.name})"),
        ("duplicate_name", "a_twin_1"): (
            f"与本村另 1 项同名资产重复（名称：{PERSON}家光伏；如 {twin.code}）",
            f"Same name as 1 other asset of the village (name: {PERSON}家光伏; e.g. {twin.code})"),
        ("publicity_missing", "village"): ("未公示：确权登记结果", "Not publicised: the ownership registration results"),
        ("publicity_too_short", "village"): (
            f"{notice}：{today - 20 * DAY} 至 {today - 18 * DAY}，不足 {days} 天",
            f"{notice}: {today - 20 * DAY} to {today - 18 * DAY}, shorter than {days} days"),
        ("objection_unanswered", "village"): (f"{notice}：{objector} 于 {today} 提出的异议未答复",
                                              f"{notice}: the objection {objector} raised on {today} is not answered"),
        ("accepted_without_assets", "village"): ("项目 XM-2024-901 西南村通组道路工程 已于 2024-12-01 验收，但未登记资产",
                                                 "Project XM-2024-901 西南村通组道路工程, accepted on 2024-12-01, has no asset"),
    }


def written(world, found) -> dict[tuple[str, str], set[str]]:
    keys = {a.pk: key for key, a in world["assets"].items()}
    village = world["areas"].west_south.pk
    out: dict[tuple[str, str], set[str]] = {}
    for a in found:
        where = keys.get(a.asset_id) if a.asset_id else ("village" if a.area_id == village else a.area_id)
        out.setdefault((a.rule, where), set()).add(a.evidence)
    return out


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_rules_evidence_word_for_word(evidence_world, language):
    """Every rule (the evidence world fires them all), in the alerts list and in village A's report."""
    user = evidence_world["users"]["county_admin"]
    want = {key: texts[language != "zh-hans"] for key, texts in expected(evidence_world).items()}
    with translation.override(language):
        listed = written(evidence_world, alerts_compute(assets=Asset.objects.visible_to(user),
                                                        villages=figures.villages_in_scope(user), viewer=scope_for(user)))
        fig = figures.report_figures(figures.area_scope(user, evidence_world["areas"].west_south))
    assert {key: {text} for key, text in want.items()}.items() <= listed.items()
    # every rule fires on village A's assets or on A itself: its report writes the same, with its own asset rows
    assert {key: {text} for key, text in want.items()}.items() <= written(evidence_world, fig["alerts"]["list"]).items()
    assert sorted(row.alert for row in fig["alert_rows"]) == sorted(fig["alerts"]["list"])


def raw_rows(world) -> list[tuple[str, str]]:
    """What the rules' SQL selects, by hand, rules interleaved: each run of one rule a row or two long."""
    assets = world["assets"]
    return [
        ("duplicate_nearby", json.dumps({"other": assets["a_house"].pk, "m": 3.7})),
        ("never_verified", ""),
        ("duplicate_name", json.dumps({"self": assets["a_twin_1"].pk, "others": 1, "ids": [assets["a_twin_2"].pk]})),
        ("no_income", "2025"),
        ("duplicate_nearby", json.dumps({"other": assets["a_published"].pk, "m": 4.2})),
        ("duplicate_nearby", json.dumps({"other": assets["b_beside"].pk, "m": 5})),
        ("objection_unanswered", json.dumps({"title": f"公示（联系 {PHONE}）", "by": f"{PERSON} {ID_NUMBER}", "on": "2026-01-02"})),
        ("asset_without_project", "2019"),
        ("duplicate_name", json.dumps({"self": assets["b_road"].pk, "others": 1, "ids": [assets["b_clinic"].pk]})),
        ("never_verified", ""),
    ]


def test_evidence_in_any_order_is_each_rows_own(evidence_world):
    """Rows of several rules interleaved: each row's evidence is what it reads when written alone."""
    rows = raw_rows(evidence_world)
    for role in ("county_admin", "clerk_b", "department"):
        viewer = scope_for(evidence_world["users"][role])
        together = evidence_write(rows, viewer)
        assert together == [evidence_write([row], viewer)[0] for row in rows]
        assert together == list(reversed(evidence_write(list(reversed(rows)), viewer)))


def test_what_each_viewer_reads_in_interleaved_rows(evidence_world):
    """The privacy rule in every run: B's clerk does not see A's unpublished asset or its person, sees A's
    published one under its public name; the roads department reads only its road; staff in scope read an
    objection's person and numbers."""
    assets = evidence_world["assets"]
    rows = raw_rows(evidence_world)
    admin = evidence_write(rows, scope_for(evidence_world["users"]["county_admin"]))
    assert admin[0] == f"与 {assets['a_house'].code}（{PERSON}到户养殖） 相距 3.7 米"
    assert admin[1] == admin[9] == "建档后未做过现场核查"
    assert admin[2] == f"与本村另 1 项同名资产重复（名称：{PERSON}家光伏；如 {assets['a_twin_2'].code}）"
    assert admin[3] == "2025 年度未登记收益" and admin[7] == "2019 年建成，资金台账中无对应项目"
    assert admin[6] == f"公示（联系 {PHONE}）：{PERSON} {ID_NUMBER} 于 2026-01-02 提出的异议未答复"
    clerk_b = evidence_write(rows, scope_for(evidence_world["users"]["clerk_b"]))
    published = assets["a_published"]
    assert clerk_b[0] == "与另 1 项同类资产（不在您的查看范围内）相距 3.7 米"
    assert clerk_b[4] == f"与 {published.code}（{published.public_name}） 相距 4.2 米"
    assert clerk_b[5] == f"与 {assets['b_beside'].code}（赵六到户养殖） 相距 5 米"
    assert PERSON not in clerk_b[2] and assets["a_twin_2"].code not in clerk_b[2]
    assert f"{OTHER_PERSON}门前道路" in clerk_b[8] and assets["b_clinic"].code in clerk_b[8]
    assert not any(PERSON in text or ID_NUMBER in text for text in (clerk_b[0], clerk_b[2], clerk_b[4]))
    roads = evidence_write(rows, scope_for(evidence_world["users"]["department"]))
    assert assets["b_clinic"].code not in roads[8] and f"{OTHER_PERSON}门前道路" in roads[8]
    with translation.override("en"):
        assert evidence_write(rows, scope_for(evidence_world["users"]["clerk_b"]))[0] == (
            "3.7 m from another asset of the same type (one you may not view)")


def test_village_report_alert_rows_by_level_rule_and_asset_code(evidence_world):
    user = evidence_world["users"]["county_admin"]
    for village in (evidence_world["areas"].west_south, evidence_world["areas"].east_south):
        fig = figures.report_figures(figures.area_scope(user, village))
        rows = fig["alert_rows"]
        keys = [(figures.RULE_RANK[r.alert.rule], r.asset.code if r.asset else "") for r in rows]
        assert keys == sorted(keys)
        assert sorted(r.alert for r in rows) == sorted(fig["alerts"]["list"])
        assert all((r.asset.pk if r.asset else None) == r.alert.asset_id for r in rows)
        assert any(r.asset is None for r in rows) and any(r.asset for r in rows)


def test_alert_rows_keep_a_rule_together_when_its_alerts_come_apart(evidence_world):
    """alert_rows orders by level, rule and asset code whatever order the alerts come in (rules interleaved)."""
    user = evidence_world["users"]["county_admin"]
    scope = figures.area_scope(user, evidence_world["areas"].west_south)
    fig = figures.report_figures(scope)
    found = list(reversed(fig["alerts"]["list"]))
    found = found[::2] + found[1::2]  # each rule's alerts split into runs that are not adjacent
    rows = figures.alert_rows(found, fig["assets"], scope.memo["assets_by_id"])
    keys = [(figures.RULE_RANK[r.alert.rule], r.asset.code if r.asset else "") for r in rows]
    assert keys == sorted(keys) and len(rows) == len(found)
    assert sorted(r.alert for r in rows) == sorted(found)
