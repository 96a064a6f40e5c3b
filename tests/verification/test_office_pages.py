"""The county office's pages: campaigns, review queue, problem list, and verifications on the asset page, the
village page and the map panel's API — each for the roles that may, and refused or masked for the others."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetStatus
from tests.factories import record
from verification.models import Campaign, CampaignItem, Verification
from verification.taxonomy import Finding, Review


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client






@pytest.mark.parametrize("path", ["/verification/campaigns/", "/verification/review/", "/verification/problems/",
                                  "/verification/labels/", "/verification/campaigns/new/"])
def test_office_pages_are_for_staff(office, path):
    _areas, users, _assets, _records = office
    assert Client().get(path).status_code == 302
    assert client_for(users["nobody"]).get(path).status_code == 403
    expected = 403 if path.endswith("/new/") else 200
    assert client_for(users["village"]).get(path).status_code == expected
    assert client_for(users["county_admin"]).get(path).status_code == 200


def test_create_campaign_draws_a_reproducible_spot_check(office):
    areas, users, assets, _records = office
    data = {"name": "2026年抽查", "kind": "spot_check", "year": 2026, "area": areas.west.pk, "sample_share": "50",
            "top_value_count": 0, "seed": 7, "due_on": "2026-12-31"}
    assert client_for(users["township"]).post("/verification/campaigns/new/", data).status_code == 403
    response = client_for(users["county_admin"]).post("/verification/campaigns/new/", data, follow=True)
    assert response.status_code == 200
    campaign = Campaign.objects.get(name="2026年抽查")
    assert "已创建核查任务" in response.text and campaign.items.count() == 1  # ceil(50 % of 2 assets)
    assert campaign.area == areas.west and campaign.due_on == datetime.date(2026, 12, 31)
    invalid = client_for(users["county_admin"]).post("/verification/campaigns/new/", {**data, "sample_share": "150"})
    assert invalid.status_code == 400 and "errorlist" in invalid.text


def test_campaign_detail_map_assignment_and_export(office):
    areas, users, assets, records = office
    campaign = records["campaign"]
    admin = client_for(users["county_admin"])
    page = admin.get(f"/verification/campaigns/{campaign.pk}/")
    assert page.status_code == 200 and "西南村" in page.text and "东南村" in page.text and "progress-map" in page.text
    with CaptureQueriesContext(connection) as statements:
        geojson = admin.get(f"/verification/campaigns/{campaign.pk}/progress.geojson").json()
    shapes = [q["sql"] for q in statements.captured_queries if "ST_SimplifyPreserveTopology" in q["sql"]]
    # the villages' simplified boundaries only: their full ones are not sent to be thrown away
    assert len(shapes) == 1 and '."geom' not in shapes[0].split("ST_AsGeoJSON")[0]
    by_code = {f["id"]: f["properties"] for f in geojson["features"]}
    assert by_code[areas.west_south.code]["total"] == 2 and by_code[areas.east_south.code]["percent"] == 0
    assert geojson["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # the village clerk sees its own village only, in the table, the map and the export
    own = client_for(users["village"])
    assert "东南村" not in own.get(f"/verification/campaigns/{campaign.pk}/").text
    assert [f["id"] for f in own.get(f"/verification/campaigns/{campaign.pk}/progress.geojson").json()["features"]] \
        == [areas.west_south.code]
    # assign a village to the inspector: then the inspector may verify it
    response = admin.post(f"/verification/campaigns/{campaign.pk}/assign/",
                          {"village": areas.east_south.code, "assignee": users["inspector"].pk}, follow=True)
    assert "已将东南村 1 项资产分派给 inspector" in response.text
    assert CampaignItem.objects.get(asset=assets["other"]).assignee == users["inspector"]
    assert client_for(users["township"]).post(f"/verification/campaigns/{campaign.pk}/assign/", {
        "assignee": users["village"].pk}).status_code == 403
    assert admin.post(f"/verification/campaigns/{campaign.pk}/assign/", {"assignee": users["nobody"].pk},
                      follow=True).text.count("请选择要分派的村和核查人员") == 1
    # exports
    rows = list(csv.reader(io.StringIO(admin.get(f"/verification/campaigns/{campaign.pk}/progress.csv")
                                       .content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["乡镇", "村", "行政区划代码"] and {r[2] for r in rows[1:]} == {
        areas.west_south.code, areas.east_south.code}
    assert [r for r in rows if r[2] == areas.east_south.code][0][-1] == "inspector"
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get(
        f"/verification/campaigns/{campaign.pk}/progress.xlsx").content)).active
    assert sheet["A1"].value == "乡镇" and sheet.max_row == 3
    assert admin.get(f"/verification/campaigns/{campaign.pk}/progress.pdf").status_code == 404
    assert client_for(users["other_village"]).get(f"/verification/campaigns/{campaign.pk}/").status_code == 200
    assert Client().get(f"/verification/campaigns/{campaign.pk}/progress.geojson").status_code == 302


def test_review_queue_shows_flags_photos_and_the_earlier_photo(office):
    _areas, users, _assets, records = office
    page = client_for(users["county_admin"]).get("/verification/review/")
    assert page.status_code == 200
    flagged, earlier = records["flagged"], records["earlier"]
    assert "核查位置距资产过远" in page.text and "缺少现场照片" in page.text
    assert f"/field/photos/{flagged.photos.get().pk}/thumb.jpg" in page.text
    assert f"/field/photos/{flagged.photos.get().pk}/original" in page.text
    assert f"/field/photos/{earlier.photos.get().pk}/thumb.jpg" in page.text  # last year's photo to compare
    assert "westsouth" in page.text and "（该类型允许 100 米）" in page.text
    # the village clerk may not review; the township clerk reviews its township
    assert "没有审核权限" in client_for(users["village"]).get("/verification/review/").text
    assert "西南村卫生室" in client_for(users["township"]).get("/verification/review/").text


def test_approve_reject_and_apply_status(office):
    _areas, users, assets, records = office
    admin = client_for(users["county_admin"])
    flagged = records["flagged"]
    # a rejection without a comment is refused with the service's message
    response = admin.post(f"/verification/review/{flagged.pk}/", {"decision": "reject", "comment": " "}, follow=True)
    assert "驳回时请写明理由。" in response.text
    flagged.refresh_from_db()
    assert flagged.review == Review.PENDING
    response = admin.post(f"/verification/review/{flagged.pk}/", {"decision": "reject", "comment": "请到现场重新核查"},
                          follow=True)
    assert "核查记录已驳回" in response.text
    flagged.refresh_from_db()
    assert flagged.review == Review.REJECTED and flagged.review_comment == "请到现场重新核查"
    # a damaged finding approved and carried into the asset's status
    damaged = record(users["village"], assets["clinic"], finding="damaged", accuracy=120, photo_seed=3)
    admin.post(f"/verification/review/{damaged.pk}/", {"decision": "approve", "apply_status": "on", "comment": ""})
    assets["clinic"].refresh_from_db()
    assert assets["clinic"].status == AssetStatus.DAMAGED
    # the verifier cannot review, and a record outside the reviewer's scope is not found
    assert client_for(users["village"]).post(f"/verification/review/{records['missing'].pk}/",
                                             {"decision": "approve"}).status_code == 404


def test_problem_list_holds_approved_not_found(office):
    _areas, users, assets, records = office
    admin = client_for(users["county_admin"])
    assert assets["road"].code not in admin.get("/verification/problems/").text
    admin.post(f"/verification/review/{records['missing'].pk}/", {"decision": "approve", "comment": "确认已不存在"})
    page = admin.get("/verification/problems/")
    assert f'/assets/{assets["road"].code}/' in page.text and "未找到" in page.text and "确认已不存在" in page.text
    assert assets["road"].code in client_for(users["village"]).get("/verification/problems/").text
    assert assets["road"].code not in client_for(users["other_village"]).get("/verification/problems/").text
    assert Asset.objects.get(pk=assets["road"].pk).status != AssetStatus.DISPOSED  # never silently


def test_asset_page_shows_latest_verification_and_photos_by_year(office):
    _areas, users, assets, records = office
    code = assets["clinic"].code
    staff = client_for(users["village"]).get(f"/assets/{code}/").text
    assert "现场核查" in staff and "westsouth" in staff and "待审核" in staff
    this_year, last_year = timezone.localtime(records["flagged"].observed_at).year, \
        timezone.localtime(records["earlier"].observed_at).year
    assert staff.index(f"{this_year} 年") < staff.index(f"{last_year} 年")  # newest first, side by side
    assert f"/field/photos/{records['flagged'].photos.get().pk}/original" in staff
    # the public sees counted verifications only: finding, date and EXIF-free photos, no people, no originals
    public = Client().get(f"/assets/{code}/").text
    assert "存在完好" in public and f"/field/photos/{records['earlier'].photos.get().pk}/thumb.jpg" in public
    assert f"/field/photos/{records['flagged'].photos.get().pk}/" not in public
    assert "westsouth" not in public and "county" not in public and "/original" not in public
    assert "标识牌" not in public


def test_village_page_shows_coverage_and_latest_findings(office):
    areas, users, _assets, records = office
    staff = client_for(users["village"]).get(f"/villages/{areas.west_south.code}/").text
    assert "现场核查" in staff and "westsouth" in staff and "未找到" in staff and "打印本村资产标识牌" in staff
    public = Client().get(f"/villages/{areas.west_south.code}/").text
    assert "已核查 1 项（50%）" in public  # the clinic, by last year's accepted verification
    assert "westsouth" not in public and "未找到" not in public and "打印本村资产标识牌" not in public


def test_map_panel_api_carries_the_latest_verification(office):
    _areas, users, assets, records = office
    url = f"/api/v1/assets/{assets['clinic'].code}/"
    staff = client_for(users["village"]).get(url).json()["properties"]["latest_verification"]
    # the latest that counts, as the asset page's 最近核查 (the flagged one waits for review: issue 21 item 16)
    assert staff["review"] == Review.ACCEPTED and staff["verifier"] == "county" and staff["flags"] == []
    public = Client().get(url).json()["properties"]["latest_verification"]
    assert public["finding"] == Finding.INTACT and public["finding_label"] == "存在完好"
    assert public["verifier"] is None and public["flags"] == [] and public["review"] is None
    assert public["photos"] == [{"thumbnail": f"/field/photos/{records['earlier'].photos.get().pk}/thumb.jpg",
                                 "url": f"/field/photos/{records['earlier'].photos.get().pk}/photo.jpg"}]
    assert Client().get(f"/api/v1/assets/{assets['other'].code}/").status_code == 404  # unpublished
    assert client_for(users["county_admin"]).get(
        f"/api/v1/assets/{assets['other'].code}/").json()["properties"]["latest_verification"] is None
    assert Verification.objects.count() == 3
