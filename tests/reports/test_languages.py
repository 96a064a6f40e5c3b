"""The reports in both languages (issue 16, item 5): Chinese by default, English when the reader chose it (the
set_language cookie) — pages, exports, PDF page counter and the alerts' evidence, which the SQL no longer writes."""

from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from geo_assets.models import AdminArea, Asset
from reports.alerts import LEVEL_LABELS, alerts_compute


def client_for(world, language: str | None = None) -> Client:
    client = Client()
    client.force_login(world.users["county_admin"])
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def evidence(rule: str) -> set[str]:
    return {a.evidence for a in alerts_compute(assets=Asset.objects.all(), villages=AdminArea.objects.villages(),
                                               rules=[rule])}


def test_alert_evidence_and_labels_in_the_active_language(world):
    assert evidence("never_verified") == {"建档后未做过现场核查"}
    assert LEVEL_LABELS["red"] == "红色预警"
    with translation.override("en"):
        assert evidence("never_verified") == {"Not verified on site since it was registered"}
        assert all(e.startswith("Not publicised: ") for e in evidence("publicity_missing"))
        assert LEVEL_LABELS["red"] == "Red alert" and dict(LEVEL_LABELS)["blue"] == "Blue notice"


def test_alert_page_chinese_by_default_english_on_request(world):
    zh = client_for(world).get("/alerts/?rule=never_verified").text
    assert "风险预警" in zh and "从未现场核查" in zh and "建档后未做过现场核查" in zh
    en = client_for(world, "en").get("/alerts/?rule=never_verified").text
    main = en.split("<main>", 1)[1]  # the site's header is not the reports' to translate
    assert "Risk alerts" in main and "Never verified on site" in main
    assert "Not verified on site since it was registered" in main
    assert "建档后未做过现场核查" not in main and "风险预警" not in main
    assert '<script src="/jsi18n/"></script><script src="/static/reports/reports.js' in en


def test_village_report_and_progress_export_in_english(world):
    page = client_for(world, "en").get("/reports/villages/410324101001/").text
    assert "Download PDF" in page and "Asset list" in page and "Summary by category and type" in page
    assert "下载 PDF" in client_for(world).get("/reports/villages/410324101001/").text
    csv_en = client_for(world, "en").get("/dashboard/progress.csv").content.decode("utf-8-sig").splitlines()[0]
    assert csv_en.startswith("Township,Village,Statistical code,Registered assets,Inventory (%)")
    csv_zh = client_for(world).get("/dashboard/progress.csv").content.decode("utf-8-sig").splitlines()[0]
    assert csv_zh.startswith("乡镇,村,行政区划代码,在册资产,清产核资（%）")


def test_pdf_page_counter_in_both_languages():
    tag = Template("{% load report_tags %}{% page_counter %}")
    assert tag.render(Context()) == '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    with translation.override("en"):
        assert tag.render(Context()) == '"Page " counter(page) " of " counter(pages)'
