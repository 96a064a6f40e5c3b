"""The pages of issue 21 items 11–12 in headless Chromium at desktop and phone width: the label form with its cap,
a background sheet waiting and ready, a refused sheet, and an upload refused before it was read. Screenshots go to
/tmp/resources-shots/ for a person to look at; the test checks nothing overflows sideways."""

from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import make_admin, make_areas, make_asset, make_user

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/resources-shots")
SIZES = {"desktop": (1366, 800), "phone": (390, 844)}


def _shoot(page, name: str, size: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1, name


def test_label_and_upload_pages_at_both_sizes(open_page, settings):
    from verification.models import LabelSheet

    settings.LABELS_MAX, settings.LABELS_BACKGROUND_FROM = 4, 3
    areas = make_areas()
    admin = make_admin()
    assets = [make_asset(actor=admin, area=areas.west_south, name=f"西南村道路{i}号", is_published=True) for i in range(1, 4)]
    roleless = make_user("nobody", None)
    for size, (width, height) in SIZES.items():
        page, watch = open_page("/verification/labels/", user=admin, width=width, height=height)
        assert "一次最多 4 个；3 个及以上在后台生成" in page.inner_text("main")
        _shoot(page, "labels-form", size)
        page.goto(f"{page.url}?codes=" + ",".join(a.code for a in assets))
        assert "共 3 个标识牌" in page.inner_text("main") and "排队等待中" in page.inner_text("main")
        _shoot(page, "label-sheet-waiting", size)
        call_command("importers_worker", "--once")
        page.wait_for_selector("text=已生成", timeout=15000)  # the page asks every 3 s and shows it by itself
        _shoot(page, "label-sheet-ready", size)
        page.goto(page.url.split("/verification/")[0] + "/verification/labels/?codes=" + ",".join("x" * 5))
        assert "一次最多打印 4 个标识牌" in page.inner_text("main")
        _shoot(page, "labels-refused", size)
        assert [e for e in watch.errors if "status of 400" not in e] == []  # the refusal is a 400 page
        page, watch = open_page("/", user=roleless, width=width, height=height)
        page.evaluate("""() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/import/';
            f.enctype = 'multipart/form-data'; const i = document.createElement('input'); i.name = 'crs';
            i.value = 'x'; f.appendChild(i); document.body.appendChild(f); f.submit(); }""")
        page.wait_for_selector("text=无权办理")
        assert "您的账户没有导入资产的权限" in page.inner_text("main")
        _shoot(page, "upload-refused", size)
    assert LabelSheet.objects.count() == 2
