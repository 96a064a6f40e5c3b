"""Field verification in both languages (issue 16, item 5): Chinese by default, English when the user chose it (the
set_language cookie) — the office pages, the API's refusals, the photo checks, the progress export, the phone page
and the scripts' catalogue it loads."""

import csv
import io
import json

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from verification.photos import photo_read


def client_for(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_review_queue_and_problem_list_in_chinese_by_default_and_in_english(office):
    _areas, users, _assets, _records = office
    chinese = client_for(users["county_admin"]).get("/verification/review/").text
    assert "审核队列" in chinese and "（该类型允许 100 米）" in chinese and "核查位置距资产过远" in chinese
    english = client_for(users["county_admin"], "en").get("/verification/review/").text
    assert "Review queue" in english and "(100 m allowed for this type)" in english
    assert "position too far from the asset" in english and ">Approve</button>" in english
    assert "审核队列" not in english and "通过" not in english
    problems = client_for(users["county_admin"], "en").get("/verification/problems/").text
    assert "Problem list" in problems and "not found" in problems and "问题清单" not in problems


def test_campaign_page_and_export_follow_the_language(office):
    _areas, users, _assets, records = office
    campaign = records["campaign"]
    english = client_for(users["county_admin"], "en")
    page = english.get(f"/verification/campaigns/{campaign.pk}/").text
    assert "Progress by village" in page and "Assign verifiers" in page and "各村进度" not in page
    assert page.index('src="/jsi18n/"') < page.index("verification/office.js")  # the catalogue before the script
    rows = list(csv.reader(io.StringIO(english.get(f"/verification/campaigns/{campaign.pk}/progress.csv")
                                       .content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Township", "Village", "Statistical code"]
    rows = list(csv.reader(io.StringIO(client_for(users["county_admin"]).get(
        f"/verification/campaigns/{campaign.pk}/progress.csv").content.decode("utf-8-sig"))))
    assert rows[0] == ["乡镇", "村", "行政区划代码", "应核查", "已核查", "待审核", "完成率（%）", "最近核查", "核查人员"]


def test_api_refusal_in_english_and_in_chinese(office):
    _areas, users, assets, _records = office
    body = {"asset_code": assets["clinic"].code, "finding": "intact", "lon": 500, "lat": 30, "accuracy_m": 5,
            "observed_at": "2026-05-01T10:30:00+08:00"}
    chinese = client_for(users["village"]).post("/api/v1/verifications/", body, content_type="application/json")
    assert chinese.status_code == 400 and chinese.json()["lon"] == ["GPS 位置无效：经度 -180～180、纬度 -90～90。"]
    english = client_for(users["village"], "en").post("/api/v1/verifications/", body,
                                                      content_type="application/json")
    assert english.status_code == 400
    assert english.json()["lon"] == ["Invalid GPS position: longitude -180 to 180, latitude -90 to 90."]


def test_photo_refusal_in_both_languages():
    with pytest.raises(ValidationError) as chinese:
        photo_read(b"not a photo", name="a.jpg")
    assert chinese.value.messages == ["照片“a.jpg”无法读取：只接受 JPEG、PNG 或 HEIC 照片。"]
    with translation.override("en"), pytest.raises(ValidationError) as english:
        photo_read(b"not a photo", name="a.jpg")
    assert english.value.messages == ["The photo “a.jpg” cannot be read: only JPEG, PNG or HEIC photos are accepted."]


def test_phone_page_its_manifest_and_the_scripts_catalogue(office):
    _areas, users, _assets, _records = office
    chinese = client_for(users["village"])
    page = chinese.get("/field/").text
    assert "<title>现场核查 · 扶贫资产</title>" in page and 'lang="zh-Hans"' in page
    assert page.index('src="/jsi18n/"') < page.index("verification/field.js")
    catalogue = chinese.get("/jsi18n/").text  # field.js's messages, JSON-encoded
    assert json.dumps("To upload: %(n)s") in catalogue and json.dumps("待上传 %(n)s") in catalogue
    assert "/jsi18n/" in chinese.get("/field/sw.js").text  # kept for offline use
    english = client_for(users["village"], "en")
    page = english.get("/field/").text
    assert "<title>Field verification · Poverty-alleviation assets</title>" in page and 'lang="en"' in page
    assert english.get("/field/manifest.webmanifest").json()["short_name"] == "Field verification"
    assert chinese.get("/field/manifest.webmanifest").json()["short_name"] == "现场核查"
