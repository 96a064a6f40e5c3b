"""Issue 16 item 4/5: the lifecycle speaks the user's language — Chinese by default (the other tests), English when
chosen: a rule's refusal and a page, with the same rule behind both."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from geo_assets.taxonomy import AssetType, Role
from lifecycle import rules, services
from tests.factories import make_admin, make_areas, make_asset, make_user


@pytest.fixture
def road(db):
    areas = make_areas()
    admin = make_admin()
    asset = make_asset(actor=admin, area=areas.west_south, name="西南村道路", asset_type=AssetType.ROAD)
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    other = make_user("eastsouth", Role.VILLAGE, area=areas.east_south)
    return asset, clerk, other


def test_a_refusal_in_english_and_in_chinese(road):
    asset, clerk, other = road
    with translation.override("en"):
        assert rules.may_contract(clerk, asset).message == "Only operating assets have operation contracts."
        with pytest.raises(ValidationError, match="Only operating assets have operation contracts"):
            services.contract_record(actor=clerk, asset=asset, operator="甲公司", number="1", starts_on=None,
                                     ends_on=None, yearly_due=0, mechanism="x")
        with pytest.raises(PermissionDenied, match="You may not act on this asset"):
            services.maintenance_record(actor=other, asset=asset, done_on=None, kind="routine", cost=0, done_by="x",
                                        description="x")
    with translation.override("zh-hans"):
        assert rules.may_contract(clerk, asset).message == "只有经营性资产签订经营协议。"


def test_a_lifecycle_page_in_english(road, english_client):
    asset, clerk, _other = road
    page = english_client(clerk).get(f"/assets/{asset.code}/lifecycle/contract/")
    text = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "en"
    assert "This step cannot be taken yet:" in text and "Only operating assets have operation contracts." in text
    assert "Operation contract (new or renewed)" in text and "My to-do list" in text
    assert "经营合同" not in text and "我的待办" not in text
    chinese = Client()
    chinese.force_login(clerk)
    text = chinese.get(f"/assets/{asset.code}/lifecycle/contract/").content.decode()
    assert "现在还不能办理这一步：" in text and "只有经营性资产签订经营协议。" in text


def test_the_todo_list_and_a_staff_refusal_in_english(road, english_client):
    asset, clerk, _other = road
    page = english_client(clerk).get("/todo/")
    assert page.status_code == 200 and "Nothing waits for you now." in page.content.decode()
    citizen = make_user("citizen", Role.PUBLIC)
    refused = english_client(citizen).get(f"/assets/{asset.code}/lifecycle/")
    assert refused.status_code == 403
    assert "Only staff with a role may handle the asset management steps." in refused.content.decode()


def test_a_bracket_after_a_word_is_spaced_in_english_only(road, english_client):
    """"village collective (not registered)" in English; "村集体（未确权）" in Chinese, full-width and unspaced."""
    asset, clerk, _other = road
    chinese = Client()
    chinese.force_login(clerk)
    for path in (f"/assets/{asset.code}/", f"/assets/{asset.code}/lifecycle/"):
        with translation.override("en"):
            kind, status = str(asset.get_owner_kind_display()), str(asset.get_registration_status_display())
        english = english_client(clerk).get(path).content.decode()
        assert f"{kind} ({status}" in english and f"{kind}(" not in english, path
        with translation.override("zh-hans"):
            kind, status = str(asset.get_owner_kind_display()), str(asset.get_registration_status_display())
        assert f"{kind}（{status}" in chinese.get(path).content.decode(), path
