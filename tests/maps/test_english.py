"""The map pages in both languages (issue 16 item 5): Chinese by default, English with the language cookie."""

import json

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import Client, RequestFactory
from django.utils import translation

from config.views import page_not_found


def english(user=None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def chinese(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_village_report_and_asset_page_in_both_languages(map_world):
    zh = chinese(map_world.inspector).get("/villages/410324101002/").content.decode()
    en = english(map_world.inspector).get("/villages/410324101002/").content.decode()
    assert "资产清单" in zh and "返回地图" in zh and "扶贫资产报告" in zh
    assert "Asset list" in en and "Back to the map" in en and "poverty-alleviation asset report" in en
    assert "资产清单" not in en and "返回地图" not in en
    zh = chinese().get(f"/assets/{map_world.road.code}/").content.decode()
    en = english().get(f"/assets/{map_world.road.code}/").content.decode()
    assert "变更记录" in zh and "所属乡镇 / 村" in zh
    assert "Change history" in en and "In township / village" in en and "变更记录" not in en


def test_map_page_loads_the_catalogue_before_its_script(map_world):
    html = english().get("/").content.decode()
    assert "Layers and filters" in html and "图层与筛选" not in html
    # the catalogue is written into the page (one request fewer), before the map's script
    assert "/jsi18n/" not in html and html.index("django.catalog") < html.index("maps/map.js")
    zh = chinese().get("/").content.decode()
    assert "图层与筛选" in zh
    legend = f'"Legend": {json.dumps("图例")}'  # the catalogue is JSON with ASCII escapes
    assert legend in zh and legend in chinese().get("/jsi18n/").content.decode()
    assert legend not in html and legend not in english().get("/jsi18n/").content.decode()


def test_not_found_page_in_both_languages(map_world):
    missing = "/assets/410324101001-9999/"
    zh, en = chinese().get(missing), english().get(missing)
    assert zh.status_code == en.status_code == 404
    assert "找不到这个页面" in zh.content.decode() and "This page cannot be found" in en.content.decode()


def test_not_found_page_shows_a_view_message_not_django_lookups(db):
    request = RequestFactory().get("/x/")
    request.user = AnonymousUser()
    with translation.override("en"):
        shown = page_not_found(request, Http404("The county boundary has not been imported yet.")).content.decode()
        hidden = page_not_found(request, Http404("No Asset matches the given query.")).content.decode()
    assert "The county boundary has not been imported yet." in shown
    assert "No Asset matches" not in hidden and "does not exist or is not public yet" in hidden
