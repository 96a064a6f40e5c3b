"""The demo county's life after registration (issue 9): ownership confirmed and waiting, handover letters with a
signed scan, maintenance, posts, contracts (one ending soon, one expired, one renewed), income, a distribution plan
at each step, a disposal at each step and notices with objections — entered through lifecycle.services, so
every rule applies. Deterministic for a given day (dates count back from today); loaded once."""

import datetime
import io
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from geo_assets.models import AdminArea, Asset, Department, DistributionPlan, OwnershipRegistration
from geo_assets.taxonomy import (
    TYPES_REQUIRING_NAMED_SHARES,
    AssetStatus,
    AssetType,
    Category,
    PlanPurpose,
    PlanStatus,
    PublicityScope,
    PublicityStage,
)
from lifecycle import rules, selectors, services
from lifecycle.services import PlanLine

SEED = 9
DAY = datetime.timedelta(days=1)
PEOPLE = ["张秀兰", "王建国", "李春生", "刘桂英", "陈永福", "杨玉兰", "赵国强", "黄金凤"]


def demo_lifecycle_loaded() -> bool:
    return DistributionPlan.objects.exists() or OwnershipRegistration.objects.exists()


def _pdf(title: str, *lines: str) -> tuple[str, bytes]:
    """A generated 'scan' of a signed document: A4, Chinese text."""
    try:
        from weasyprint import HTML
    except OSError:  # pango missing: a minimal PDF still passes the type check
        return f"{title}.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    body = "".join(f"<p>{line}</p>" for line in lines)
    html = (f'<html><body style="font-family:\'Noto Serif CJK SC\',serif;font-size:12pt"><h1 style="text-align:center">'
            f"{title}</h1>{body}<p style='text-align:right;margin-top:30mm'>（签字盖章）</p></body></html>")
    return f"{title}.pdf", HTML(string=html).write_pdf()


def _photo(name: str, shade: int) -> tuple[str, bytes]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (90 + shade % 80, 130, 90))
    ImageDraw.Draw(image).rectangle((60, 120, 420, 280), fill=(150, 150, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return f"{name}.png", out.getvalue()


class _Pool:
    """Assets in code order (the demo township's first), each used by one story only."""

    def __init__(self):
        self.assets = list(Asset.objects.exclude(status=AssetStatus.DISPOSED).filter(disposal__isnull=True)
                           .exclude(category=Category.HOUSEHOLD).select_related("village", "township")
                           .order_by("code"))
        self.used: set[int] = set()

    def take(self, test, count: int = 1) -> list[Asset]:
        found = [a for a in self.assets if a.pk not in self.used and test(a)][:count]
        self.used.update(a.pk for a in found)
        return found


@transaction.atomic
def demo_lifecycle_load(*, actor) -> dict[str, int]:
    """Load the lifecycle records once; a second call changes nothing. Returns what was created."""
    if demo_lifecycle_loaded() or not Asset.objects.exists():
        return {}
    rng, today, pool = random.Random(SEED), timezone.localdate(), _Pool()
    done = {"ownership": 0, "handover": 0, "maintenance": 0, "contracts": 0, "income": 0, "plans": 0,
            "disposals": 0, "notices": 0}

    def letter(asset, days_ago):
        unit = f"{asset.village.name}村民委员会"
        services.handover_record(
            actor=actor, asset=asset, signed_on=today - days_ago * DAY, handed_over_by=asset.implementing_unit or "县扶贫办",
            received_by=unit, custodian=asset.custodian_unit or unit,
            scan=_pdf("资产移交和管护责任书", f"资产：{asset.code} {asset.name}", f"移交方：{asset.implementing_unit}",
                      f"接收方：{unit}", f"管护责任方：{asset.custodian_unit or unit}"))
        done["handover"] += 1

    # ownership: confirmed (with the letter), waiting for the department, returned
    confirmed, waiting, returned = (pool.take(lambda a: a.asset_type in TYPES_REQUIRING_NAMED_SHARES, 3) + [None] * 3)[:3]
    for asset, days in ((confirmed, 40), (waiting, 12)):
        if asset:
            letter(asset, days)
    for asset in (confirmed, waiting, returned):
        if asset:
            registration = services.ownership_submit(actor=actor, asset=asset)
            done["ownership"] += 1
            if asset is confirmed:
                services.ownership_decide(actor=actor, registration=registration, confirm=True)
            elif asset is returned:
                services.ownership_decide(actor=actor, registration=registration, confirm=False,
                                           comment="占股比例与入股协议不符，请核对后重新提交。")

    # custody: letters, maintenance with photos, a custodian change, public-welfare posts
    for i, asset in enumerate(pool.take(lambda a: a.category == Category.PUBLIC_WELFARE, 4)):
        letter(asset, 200 + i)
        for j, (kind, cost, what) in enumerate((("routine", "0", "清扫、巡查，无异常"),
                                                ("repair", "0.35", "修补破损部位，更换损坏部件"))):
            services.maintenance_record(actor=actor, asset=asset, done_on=today - (90 - 60 * j + i) * DAY, kind=kind,
                                         cost=Decimal(cost), done_by=asset.custodian_unit or "村民委员会",
                                         description=what, photos=[_photo(f"管护现场{i}{j}", i * 7 + j)])
            done["maintenance"] += 1
        if i == 0:
            services.custodian_change(actor=actor, asset=asset, effective_on=today - 30 * DAY,
                                       unit=f"{asset.village.name}公益管护队", person=PEOPLE[i], phone="13803790001")
        if i < 2:
            services.welfare_post_record(actor=actor, asset=asset, holder=PEOPLE[i + 2], from_poor_household=True,
                                          starts_on=today - 300 * DAY, monthly_pay=Decimal("600"))

    # operation: running, ending soon, expired (not renewed), and one renewed
    physical = [t for t in AssetType.values if t not in TYPES_REQUIRING_NAMED_SHARES]
    contracts = pool.take(lambda a: a.category == Category.OPERATING and a.asset_type in physical, 4)
    terms = [(-700, 1100), (-1000, 30), (-1100, -20), (-1500, -400)]
    for n, (asset, (start, end)) in enumerate(zip(contracts, terms, strict=False), start=1):
        operator = asset.operator or f"{asset.township.name}兴农农民专业合作社"
        contract = services.contract_record(
            actor=actor, asset=asset, operator=operator, number=f"栾扶经〔{(today + start * DAY).year}〕{n:03d}号",
            starts_on=today + start * DAY, ends_on=today + end * DAY, yearly_due=Decimal(rng.randint(2, 12)),
            mechanism="租金收入归村集体，优先聘用脱贫户务工", risk_clauses="经营不善或违约时收回资产，保证资产保值",
            scan=_pdf("经营合同", f"资产：{asset.code} {asset.name}", f"经营主体：{operator}"))
        done["contracts"] += 1
        if n == 4:
            services.contract_record(
                actor=actor, asset=asset, operator=operator, number=f"栾扶经〔{(today - 400 * DAY).year}〕{n:03d}-1号",
                starts_on=today - 399 * DAY, ends_on=today + 1400 * DAY, yearly_due=contract.yearly_due,
                mechanism=contract.mechanism, risk_clauses=contract.risk_clauses, renews=contract)
            done["contracts"] += 1

    # income per operating asset of the plans' villages, last two years
    villages = list(AdminArea.objects.villages().filter(village_assets__isnull=False).distinct().order_by("code")[:4])
    for village in villages:
        for asset in Asset.objects.in_area(village).filter(category=Category.OPERATING).order_by("code"):
            for year in (today.year - 1, today.year - 2):
                services.income_record(actor=actor, asset=asset, year=year,
                                        amount=Decimal(rng.randint(10, 80)) / 10,
                                        received_on=datetime.date(year, 12, rng.randint(10, 28)))
                done["income"] += 1

    # distribution plans, one at each step
    department = Department.objects.filter(name="农业农村局").first() or Department.objects.exclude(asset_types=[]).first()
    slots = [(0, 1, PlanStatus.DRAFTED), (1, 1, PlanStatus.DECIDED), (2, 1, PlanStatus.REVIEWED),
             (3, 1, PlanStatus.FILED), (0, 2, PlanStatus.PUBLICISED), (1, 2, PlanStatus.PAID)]
    for index, back, target in slots:
        if index >= len(villages):
            continue
        village, year = villages[index], today.year - back
        income = selectors.village_income(village, year)
        total = income or Decimal("5")
        cash = Decimal("0.6") if target == PlanStatus.DRAFTED else Decimal("0.1")  # a draft to be corrected
        shares = [(PlanPurpose.COLLECTIVE, "", (1 - cash) * Decimal("0.45")),
                  (PlanPurpose.PUBLIC_WELFARE, "村内道路和饮水设施维护", (1 - cash) * Decimal("0.2")),
                  (PlanPurpose.POSTS, "公益岗位报酬", (1 - cash) * Decimal("0.15")),
                  (PlanPurpose.NO_LABOUR, PEOPLE[index + 4], (1 - cash) * Decimal("0.2")),
                  (PlanPurpose.CASH, "全体脱贫户", cash)]
        lines = [PlanLine(p, (total * s).quantize(Decimal("0.0001")), r) for p, r, s in shares]
        lines[-1] = PlanLine(PlanPurpose.CASH, total - sum(line.amount for line in lines[:-1]), "全体脱贫户")
        # dates in order, relative to today: drafted, the village meeting, the notice (paid: a paper notice entered
        # afterwards with its photo), the payment after the period has run
        paid = target == PlanStatus.PAID
        drafted = today - (70 if paid else 20) * DAY
        plan = services.plan_draft(actor=actor, village=village, year=year, items=lines, drafted_on=drafted,
                                    other_source="" if income else "村集体经济积累（本年度尚无收益到账记录）")
        done["plans"] += 1
        order = [PlanStatus.DECIDED, PlanStatus.REVIEWED, PlanStatus.FILED, PlanStatus.PUBLICISED, PlanStatus.PAID]
        steps = order[:order.index(target) + 1] if target in order else []
        start = today - 40 * DAY if paid else today
        for step in steps:
            if step == PlanStatus.DECIDED:
                services.plan_decide(actor=actor, plan=plan, meeting_on=drafted + 10 * DAY, attendance=30 + index * 7,
                                      minutes=_pdf("村民会议记录", f"{village.name}{year}年度扶贫资产收益分配方案",
                                                   "应到 60 人，实到过半数，表决通过。"))
            elif step == PlanStatus.REVIEWED:
                services.plan_review(actor=actor, plan=plan)
            elif step == PlanStatus.FILED:
                own = rules.departments_filing_for(actor, plan)
                services.plan_file(actor=actor, plan=plan,
                                    department=own.filter(pk=getattr(department, "pk", None)).first() or own.first())
            elif step == PlanStatus.PUBLICISED:
                period = {"actor": actor, "stage": PublicityStage.INCOME_PLAN, "scope": PublicityScope.VILLAGE_BOARD,
                          "area": village, "starts_on": start, "ends_on": start + 6 * DAY, "plan": plan}
                notice = services.notice_record_paper(
                    **period, photo=_photo("公示栏照片", index), reason="公示已在村务公开栏张贴，系统开通后补录。") \
                    if paid else services.notice_post(**period)
                objection = services.objection_record(actor=actor, notice=notice, raised_by="村民王某",
                                                       raised_on=start + (2 if paid else 0) * DAY,
                                                       text="公益岗位人选是否经过公开评议？")
                services.objection_answer(actor=actor, objection=objection, check_result="经核实，人选经村民代表会议评议",
                                           answer="已在村务公开栏补充公布评议结果")
                done["notices"] += 1
            elif step == PlanStatus.PAID:
                services.plan_pay(actor=actor, plan=plan, paid_on=start + 15 * DAY)  # the period ended 34 days ago

    # disposal, one at each step, dated today (a request's date is the day it is recorded); a road waits for the
    # demo's transport department
    worn = (AssetStatus.DAMAGED, AssetStatus.IDLE)
    picked = pool.take(lambda a: a.status in worn and a.asset_type == AssetType.ROAD)
    picked += pool.take(lambda a: a.status in worn, 5 - len(picked))
    requested, assessed, approved, rejected, executed = (picked + [None] * 5)[:5]
    reasons = {requested: "unusable", assessed: "poor_operation", approved: "end_of_life", rejected: "unusable",
               executed: "unusable"}
    for n, asset in enumerate((requested, assessed, approved, rejected, executed), start=1):
        if asset is None:
            continue
        disposal = services.disposal_request(actor=actor, asset=asset, reason=reasons[asset],
                                              note="设施损坏严重，修复费用超过重建费用。")
        done["disposals"] += 1
        if asset is rejected:
            services.disposal_reject(actor=actor, disposal=disposal, reason="经现场查看仍可修复使用，请安排维修。")
            continue
        if asset is requested:
            continue
        value = Decimal(rng.randint(5, 40)) / 10
        services.disposal_assess(actor=actor, disposal=disposal, value=value, assessor="洛阳正信资产评估事务所",
                                  assessed_on=today, report=_pdf("资产评估报告", f"资产：{asset.code}",
                                                                          f"评估价值：{value} 万元"))
        if asset is assessed:
            continue
        reference = f"栾扶资处〔{today.year}〕{n}号"
        services.disposal_approve(actor=actor, disposal=disposal, authority="栾川县扶贫资产管理工作领导小组",
                                   reference=reference, approved_on=today,
                                   document=_pdf("处置批复", reference, f"同意处置 {asset.code} {asset.name}"))
        if asset is executed:
            disposal = services.disposal_execute(actor=actor, disposal=disposal, method="auction",
                                                  executed_on=today, proceeds=value,
                                                  new_project=f"{today.year + 1}年{asset.village.name}村组道路硬化")
            services.notice_post(actor=actor, stage=PublicityStage.DISPOSAL, scope=PublicityScope.VILLAGE_BOARD,
                                  area=asset.village, starts_on=today, ends_on=today + 6 * DAY,
                                  disposal=disposal)
            done["notices"] += 1

    # ledger notices: an inventory notice re-posted after an answered objection; an ownership notice with an
    # objection still waiting for its answer
    if villages:
        # notices posted on paper before the register's notice board existed: entered afterwards, with their photo
        paper = {"actor": actor, "reason": "纸质公示已在村务公开栏张贴，系统开通后补录。"}
        first = services.notice_record_paper(**paper, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                              area=villages[0], starts_on=today - 60 * DAY, ends_on=today - 54 * DAY,
                                              photo=_photo("清产核资公示", 11))
        objection = services.objection_record(actor=actor, notice=first, raised_by="村民李某", contact="13903790002",
                                               raised_on=today - 57 * DAY, text="台账中的灌溉渠长度与实际不符。")
        services.objection_answer(actor=actor, objection=objection, check_result="现场丈量，原台账长度有误",
                                   answer="已按实测长度更正台账并重新公示")
        services.notice_record_paper(**paper, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                      area=villages[0], starts_on=today - 50 * DAY, ends_on=today - 44 * DAY,
                                      reposts=first, photo=_photo("清产核资再次公示", 12))
        township = villages[0].parent
        ownership = services.notice_record_paper(**paper, stage=PublicityStage.OWNERSHIP,
                                                  scope=PublicityScope.TOWNSHIP, area=township,
                                                  starts_on=today - 2 * DAY, ends_on=today + 5 * DAY,
                                                  photo=_photo("确权登记公示", 13))
        services.objection_record(actor=actor, notice=ownership, raised_by="村民赵某", raised_on=today - 1 * DAY,
                                   text="合作社入股的占股比例是否已经全体股东确认？")
        done["notices"] += 3
    return done
