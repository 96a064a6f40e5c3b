"""The project page in headless Chromium at desktop and phone width: the small map draws the project's assets (the
app's own Leaflet, nothing fetched from elsewhere; a name written as markup stays text in its popup), and a finance
bureau user records a fund line through the form and sees it in the table and the totals. Screenshots in
var/screenshots/."""

from decimal import Decimal
from pathlib import Path

import pytest

from projects.models import FundLine
from tests.projects.conftest import MARKUP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
ROAD = "XM-2025-001"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"projects-{name}.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)])
def test_project_page_map_and_fund_line_form(live_project_world, open_page, label, width, height):
    world = live_project_world
    finance = world["users"]["finance"]
    page, watch = open_page(f"/projects/{ROAD}/", user=finance, width=width, height=height)
    page.wait_for_function("window.__projectMap && window.__projectMap.loaded", timeout=15000)
    assert page.evaluate("window.__projectMap.features") == 3
    page.wait_for_function("window.__projectMap.villages === 2", timeout=10000)  # 西南村 and 西北村 outlined
    assert page.locator("#project-map .village-boundary").count() == 2
    assert page.locator("#project-map .project-asset").count() == 3  # two roads drawn as lines, one more
    drawn = page.eval_on_selector_all("#project-map path.project-asset", "ps => ps.map(p => p.getAttribute('d'))")
    assert len(drawn) == 3 and all(d and d != "M0 0" for d in drawn), drawn  # each line drawn in the view
    assert no_horizontal_scroll(page), label
    page.locator("#project-map path.project-asset").nth(2).click()  # a click opens the asset's popup
    page.wait_for_selector(".project-popup", timeout=5000)
    assert "本项目投入" in page.inner_text(".project-popup")

    # every popup, the asset whose name is markup too, shows its text as text and runs nothing
    texts = page.evaluate("""() => { const texts = [];
        window.__projectMap.layer.eachLayer(l => { l.openPopup(); texts.push(l.getPopup().getElement().querySelector('.project-popup').innerText); });
        return texts; }""")
    assert len(texts) == 3 and all("本项目投入" in t for t in texts)
    assert any(MARKUP in t for t in texts), texts
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".project-popup img").count() == 0
    shot(page, f"{label}-1-map")

    # the finance bureau records a fund line
    page.click("#fund-form summary")
    page.select_option("select[name=source]", "provincial")
    page.fill("input[name=document_number]", "豫财扶〔2025〕21号")
    page.fill("input[name=year]", "2025")
    page.fill("input[name=allocated]", "-3")
    with page.expect_navigation():
        page.click("#fund-form button[type=submit]")
    assert "无效" in page.inner_text("#fund-form")  # refused, shown on the form, nothing written
    assert not FundLine.objects.filter(document_number="豫财扶〔2025〕21号").exists()
    shot(page, f"{label}-2-refused")
    page.fill("input[name=allocated]", "12.5")
    page.fill("input[name=disbursed]", "10")
    with page.expect_navigation():
        page.click("#fund-form button[type=submit]")
    assert "资金行已保存" in page.inner_text(".messages")
    row = page.locator("table.funds tr", has_text="豫财扶〔2025〕21号")
    assert row.count() == 1 and "12.5" in row.inner_text()
    assert page.inner_text("[data-figure=allocated]").startswith("132.5")  # 100 + 20 + 12.5
    line = FundLine.objects.get(document_number="豫财扶〔2025〕21号")
    assert (line.allocated, line.disbursed, line.recorded_by_id) == (Decimal("12.5"), Decimal("10"), finance.pk)
    assert no_horizontal_scroll(page), label
    shot(page, f"{label}-3-saved")

    # the list is usable at this width too
    page.goto(page.url.split("/projects/")[0] + "/projects/")
    assert ROAD in page.inner_text("table.projects")
    assert no_horizontal_scroll(page), label
    shot(page, f"{label}-4-list")
    assert watch.hosts <= {"127.0.0.1", "localhost"}  # nothing from the internet
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
