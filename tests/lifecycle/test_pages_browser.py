"""The distribution plan's workflow in headless Chromium, role by role, with screenshots in var/screenshots/:
drafted by the village, refused without the meeting minutes, decided, reviewed by the township, filed by the
department, refused a too-short publicity period, publicised, refused payment while an objection is unanswered,
answered, paid; the printable notice opened by the public."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from geo_assets.models import DistributionPlan, Objection, PublicityNotice
from geo_assets.taxonomy import PlanStatus
from lifecycle import services
from tests.lifecycle.builders import DAY, PDF, d

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TODAY = timezone.localdate()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lifecycle-{name}.png"), full_page=True)


def submit(page):
    with page.expect_navigation():
        page.click("form.step-form button[type=submit]")


def refusal(page) -> str:
    """The service's refusal as shown: above the form or on the field it names."""
    return " ".join(page.locator(".refusal, .error").all_inner_texts())


def test_plan_workflow_in_the_browser(live_page_county, open_page):
    areas, users, office, _assets = live_page_county
    year = TODAY.year - 1
    base = f"/villages/{areas.west_south.code}/plans/"
    services.income_record(actor=users["village"], asset=_assets["equity"], year=year, amount=Decimal("10"),
                            received_on=TODAY)  # the plan distributes what was received
    page, watch = open_page(base + "new/", user=users["village"])
    assert "一分了之" in page.inner_text(".needs")
    page.fill("input[name=year]", str(year))
    rows = [("collective", "4", ""), ("public_welfare", "2", "村道养护"), ("no_labour", "1.5", "张三丰"),
            ("cash", "2.5", "全体脱贫户")]
    for i, (purpose, amount, recipient) in enumerate(rows):
        page.select_option(f"select[name=items-{i}-purpose]", purpose)
        page.fill(f"input[name=items-{i}-amount]", amount)
        page.fill(f"input[name=items-{i}-recipient]", recipient)
    shot(page, "1-draft-form")
    submit(page)
    assert page.url.endswith(f"{base}{year}/") and "已拟定" in page.inner_text("ol.steps")
    shot(page, "2-drafted")

    page.click(".actions >> text=村民会议决议")
    page.fill("input[name=meeting_on]", d(TODAY))
    page.fill("input[name=attendance]", "42")
    submit(page)
    assert "请上传村民会议记录" in refusal(page)
    shot(page, "3-decide-refused")
    page.fill("input[name=meeting_on]", d(TODAY))
    page.set_input_files("input[name=minutes]", files=[{"name": "会议记录.pdf", "mimeType": "application/pdf",
                                                         "buffer": PDF}])
    submit(page)
    assert "会议记录.pdf" in page.inner_text("main")

    page, _ = open_page("/todo/", user=users["township"])
    assert "待乡镇审核的收益分配方案（1）" in page.inner_text("main")
    shot(page, "4-township-todo")
    page.click(".todo-section >> text=年度收益分配方案")
    assert "乡镇审核" in page.inner_text("h1")
    submit(page)
    page, _ = open_page(f"{base}{year}/", user=users["department"])
    page.click(".actions >> text=行业部门备案")
    page.select_option("select[name=department]", str(office.pk))
    submit(page)
    assert "扶贫办" in page.inner_text("main")

    page, _ = open_page(f"{base}{year}/publicise/", user=users["village"])
    page.fill("input[name=starts_on]", d(TODAY - 10 * DAY))
    page.fill("input[name=ends_on]", d(TODAY - 2 * DAY))
    submit(page)
    assert "不能早于发布当天" in refusal(page)  # no back-dated period
    page.fill("input[name=starts_on]", d(TODAY))
    page.fill("input[name=ends_on]", d(TODAY + 2 * DAY))
    submit(page)
    assert "公示期不少于 7 天" in refusal(page)
    shot(page, "5-period-refused")
    page.fill("input[name=ends_on]", d(TODAY + 6 * DAY))
    submit(page)
    notice = PublicityNotice.objects.get()
    page.goto(page.url.split("/villages/")[0] + f"/villages/{areas.west_south.code}/notices/{notice.pk}/objection/")
    page.fill("input[name=raised_by]", "村民甲")
    page.fill("input[name=raised_on]", d(TODAY))
    page.fill("textarea[name=text]", "合作社分红少算")
    submit(page)
    assert "待答复" in page.inner_text("main")
    shot(page, "6-objection")
    page.goto(page.url.split("/villages/")[0] + f"{base}{year}/pay/")
    assert "公示期满后" in refusal(page) and page.locator("form.step-form").count() == 0  # why, and no dead form
    PublicityNotice.objects.filter(pk=notice.pk).update(starts_on=TODAY - 8 * DAY, ends_on=TODAY - DAY)  # a week on
    Objection.objects.update(raised_on=TODAY - 5 * DAY)
    page.goto(page.url.split("/villages/")[0] + f"{base}{year}/pay/")
    assert "异议尚未答复" in refusal(page)
    shot(page, "7-pay-refused")
    page.goto(page.url.split("/villages/")[0] + f"/villages/{areas.west_south.code}/notices/{notice.pk}/")
    page.click("td >> text=核实答复")
    page.fill("textarea[name=check_result]", "经核对账目无误")
    page.fill("textarea[name=answer]", "分红按占股比例计算，已当面解释")
    submit(page)
    page.goto(page.url.split("/villages/")[0] + f"{base}{year}/pay/")
    submit(page)
    assert DistributionPlan.objects.get().status == PlanStatus.PAID
    assert "已兑付" in page.inner_text("ol.steps")
    shot(page, "8-paid")

    public, public_watch = open_page(f"/notices/{notice.token}/")
    assert "张*丰" in public.inner_text("main") and "张三丰" not in public.content()
    shot(public, "9-public-notice")
    assert watch.errors == [] and public_watch.errors == []


def test_asset_timeline_and_lifecycle_page_in_the_browser(live_page_county, open_page):
    from tests.lifecycle.builders import full_life

    _areas, users, _office, assets = live_page_county
    pv = full_life(live_page_county)
    page, watch = open_page(f"/assets/{pv.code}/")
    kinds = page.eval_on_selector_all(".asset-timeline li", "items => items.map(i => i.dataset.kind)")
    assert set(kinds) == {"registration", "ownership", "custody", "operation", "income", "verification",
                          "publicity", "disposal"}
    page.locator("#timeline").scroll_into_view_if_needed()
    shot(page, "asset-timeline-public")
    page, _ = open_page(f"/assets/{assets['equity'].code}/lifecycle/", user=users["department"])
    assert "确权审核" not in page.inner_text(".actions[data-group='确权登记']")  # nothing submitted yet
    shot(page, "asset-lifecycle-department")
    page, _ = open_page(f"/assets/{assets['equity'].code}/lifecycle/ownership/", user=users["village"])
    submit(page)
    assert "提交确权登记：已办理" in page.inner_text(".messages")
    page, _ = open_page(f"/assets/{assets['equity'].code}/lifecycle/ownership-decide/", user=users["department"])
    page.check("input[name=confirm][value='1']")
    submit(page)
    assert "缺少已签署的资产移交和管护责任书" in refusal(page)
    shot(page, "asset-ownership-refused")
    assert watch.errors == []


def test_lifecycle_pages_fit_a_phone(live_page_county, open_page):
    """At 390 px an asset's facts are label beside value, and a notice's lists scroll in their own box with their
    headings on one line: nothing is wider than the screen, however long an unbroken text (review of session 23)."""
    from tests.lifecycle.builders import full_life

    _areas, users, _office, _assets = live_page_county
    pv = full_life(live_page_county)
    from geo_assets import services as register

    register.asset_update(actor=users["county"], asset=pv, changes={"name": "光伏" + "X" * 120}, reason="test")
    notice = PublicityNotice.objects.order_by("pk").first()
    pages = [f"/assets/{pv.code}/lifecycle/", f"/villages/{notice.area.code}/notices/{notice.pk}/",
             f"/villages/{notice.area.code}/notices/"]
    for path in pages:
        page, watch = open_page(path, user=users["county"], width=390, height=800)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        heights = page.eval_on_selector_all(".lc table:not(.facts) th", "ths => ths.map(t => t.getBoundingClientRect().height)")
        assert all(h < 40 for h in heights), (path, heights)  # headings on one line
        shot(page, "phone-" + path.strip("/").replace("/", "-"))
        assert watch.errors == []
    page, _ = open_page(pages[0], user=users["county"], width=390, height=800)
    label, value = page.locator("table.facts tr").first.locator("th, td").first.bounding_box(), \
        page.locator("table.facts tr").first.locator("td").first.bounding_box()
    assert abs(label["y"] - value["y"]) < 4 and value["x"] > label["x"]  # label beside its value
