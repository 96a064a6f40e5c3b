"""The admin as a clerk uses it: browse, edit geometry on the map widget, see history; and what it refuses."""

import json

import pytest
from django.urls import reverse

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType, Role
from tests.factories import fetched_elsewhere, make_asset, make_user


def change_url(asset):
    return reverse("admin:geo_assets_asset_change", args=[asset.pk])


def form_data(asset, **overrides):
    """What the admin change form posts for an asset (the Leaflet widget posts GeoJSON in a textarea)."""
    data = {
        "name": asset.name, "category": asset.category, "asset_type": asset.asset_type, "status": asset.status,
        "is_published": "on" if asset.is_published else "",
        "geometry": asset.geometry.geojson if asset.geometry else "",  # one map field for point/line/polygon
        "village": asset.village_id, "year_built": asset.year_built or "", "project_name": asset.project_name,
        "implementing_unit": asset.implementing_unit, "department": asset.department_id or "",
        "quantity": asset.quantity or "", "unit": asset.unit, "owner_kind": asset.owner_kind,
        "registration_status": asset.registration_status, "registration_date": "",
        "custodian_unit": asset.custodian_unit, "custodian_person": asset.custodian_person,
        "custodian_phone": asset.custodian_phone, "custody_method": asset.custody_method,
        "custody_funding": asset.custody_funding or "", "operator": asset.operator, "note": asset.note,
        "funding-TOTAL_FORMS": "0", "funding-INITIAL_FORMS": "0", "funding-MIN_NUM_FORMS": "0",
        "funding-MAX_NUM_FORMS": "1000",
        "owners-TOTAL_FORMS": "0", "owners-INITIAL_FORMS": "0", "owners-MIN_NUM_FORMS": "0",
        "owners-MAX_NUM_FORMS": "1000",
    }
    # existing inline rows are posted back unchanged
    inlines = (("funding", asset.funding.all()), ("owners", asset.owners.all())) if asset.pk else ()
    for prefix, rows in inlines:
        for i, row in enumerate(rows):
            data[f"{prefix}-{i}-id"] = row.pk
            data[f"{prefix}-{i}-asset"] = asset.pk
            if prefix == "funding":
                data[f"{prefix}-{i}-source"], data[f"{prefix}-{i}-amount"] = row.source, row.amount
            else:
                data[f"{prefix}-{i}-owner_name"] = row.owner_name
                data[f"{prefix}-{i}-owner_kind"], data[f"{prefix}-{i}-share"] = row.owner_kind, row.share
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = str(len(rows))
    data.update(overrides)
    return data


@pytest.fixture
def setup(areas, admin_user):
    west_clerk = make_user("west", Role.TOWNSHIP, area=areas.west)
    inspector = make_user("inspector", Role.INSPECTOR)
    west = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.HEALTH, name="西南村卫生室")
    east = make_asset(actor=admin_user, area=areas.east_south, asset_type=AssetType.HEALTH, name="东南村卫生室")
    return areas, west_clerk, inspector, west, east


def test_admin_lists_areas_and_assets_in_chinese(client, setup):
    areas, _clerk, _inspector, west, east = setup
    client.force_login(make_user("boss", "superuser"))
    page = client.get(reverse("admin:geo_assets_asset_changelist"))
    assert page.status_code == 200
    assert "西南村卫生室" in page.text and "东南村卫生室" in page.text
    assert 'lang="zh-hans"' in page.text
    areas_page = client.get(reverse("admin:geo_assets_adminarea_changelist") + "?level__exact=village")
    assert "西北村" in areas_page.text and "410324102002" in areas_page.text
    form = client.get(change_url(west))
    assert form.status_code == 200
    assert "leaflet" in form.text.lower()  # the geometry is edited on a Leaflet map
    assert not fetched_elsewhere(form.text)


def test_the_areas_list_reads_no_boundary_and_the_area_form_draws_its_own(client, setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    areas = setup[0]
    client.force_login(make_user("boss", "superuser"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("admin:geo_assets_adminarea_changelist") + "?level__exact=village")
    assert page.status_code == 200 and "西北村" in page.text
    reads = [q["sql"] for q in queries.captured_queries if '"geo_assets_adminarea"' in q["sql"]]
    assert reads and not [sql[:200] for sql in reads if '"geom"' in sql.partition(" FROM ")[0]]
    with CaptureQueriesContext(connection) as queries:  # the form's map: the area's own boundary, still read
        form = client.get(reverse("admin:geo_assets_adminarea_change", args=[areas.west_north.pk]))
    assert form.status_code == 200 and "leaflet" in form.text.lower()
    assert [q for q in queries.captured_queries if '"geo_assets_adminarea"."geom"' in q["sql"].partition(" FROM ")[0]]


def test_township_clerk_edits_geometry_and_history_shows_it(client, setup):
    areas, clerk, _inspector, west, _east = setup
    client.force_login(clerk)
    moved = {"type": "Point", "coordinates": [111.55, 33.86]}
    response = client.post(change_url(west), form_data(west, geometry=json.dumps(moved), custodian_person="王海军"))
    assert response.status_code == 302, response.content.decode()[:2000]
    west.refresh_from_db()
    assert west.point.coords == (111.55, 33.86)
    assert west.custodian_person == "王海军"
    record = west.history.latest("history_date")
    assert record.history_user == clerk
    assert record.history_change_reason
    changed = {c.field for c in record.diff_against(record.prev_record).changes}
    assert {"point", "custodian_person"} <= changed
    history_page = client.get(reverse("admin:geo_assets_asset_history", args=[west.pk]))
    assert history_page.status_code == 200 and "west" in history_page.text


def test_township_clerk_cannot_open_or_change_another_township(client, setup):
    _areas, clerk, _inspector, _west, east = setup
    client.force_login(clerk)
    assert "东南村卫生室" not in client.get(reverse("admin:geo_assets_asset_changelist")).text
    opened = client.get(change_url(east))
    assert opened.status_code in (302, 404)  # the admin says it does not exist
    posted = client.post(change_url(east), form_data(east, custodian_person="越权"))
    assert posted.status_code in (302, 404)
    history = client.get(reverse("admin:geo_assets_asset_history", args=[east.pk]))
    assert history.status_code in (302, 403, 404)
    east.refresh_from_db()
    assert east.custodian_person != "越权"


def test_township_clerk_cannot_move_own_asset_into_another_township(client, setup):
    _areas, clerk, _inspector, west, _east = setup
    client.force_login(clerk)
    response = client.post(change_url(west), form_data(
        west, village="", geometry=json.dumps({"type": "Point", "coordinates": [111.65, 33.85]})))
    assert response.status_code == 200  # the form comes back with the error, saying where the new location is
    assert "东南村" in response.text and "东镇" in response.text and "西镇" in response.text
    west.refresh_from_db()
    assert west.point.coords != (111.65, 33.85)


def test_township_clerk_cannot_add_in_another_township(client, setup):
    areas, clerk, _inspector, _west, _east = setup
    client.force_login(clerk)
    before = Asset.objects.count()
    template = Asset(name="越界公厕", asset_type=AssetType.SANITATION, category="public_welfare", status="in_use",
                     registration_status="unregistered", point=None)
    data = form_data(template, geometry=json.dumps({"type": "Point", "coordinates": [111.65, 33.85]}),
                     village=areas.east_south.pk)
    response = client.post(reverse("admin:geo_assets_asset_add"), data)
    assert response.status_code == 200
    assert Asset.objects.count() == before
    data.update(village=areas.west_south.pk, geometry=json.dumps({"type": "Point", "coordinates": [111.55, 33.85]}))
    assert client.post(reverse("admin:geo_assets_asset_add"), data).status_code == 302
    assert Asset.objects.get(name="越界公厕").township == areas.west


def test_inspector_reads_but_cannot_change(client, setup):
    _areas, _clerk, inspector, _west, east = setup
    client.force_login(inspector)
    assert client.get(change_url(east)).status_code == 200
    response = client.post(change_url(east), form_data(east, custodian_person="督查改"))
    assert response.status_code == 403
    east.refresh_from_db()
    assert east.custodian_person != "督查改"


def test_no_delete_anywhere_in_the_admin(client, setup):
    _areas, _clerk, _inspector, west, _east = setup
    client.force_login(make_user("boss", "superuser"))
    assert client.get(reverse("admin:geo_assets_asset_delete", args=[west.pk])).status_code == 403
    response = client.post(reverse("admin:geo_assets_asset_changelist"),
                           {"action": "delete_selected", "_selected_action": [west.pk], "post": "yes"})
    assert Asset.objects.filter(pk=west.pk).exists()
    assert response.status_code in (200, 302)


def test_non_staff_public_user_cannot_enter_the_admin(client, setup):
    client.force_login(make_user("citizen", Role.PUBLIC, staff=False))
    response = client.get(reverse("admin:geo_assets_asset_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_chinese_by_default_whatever_the_browser_says_english_on_request(client, db):
    page = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "用户名" in page.text and page["Content-Language"] == "zh-hans"
    client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    page = client.get(reverse("admin:login"))
    assert "Username" in page.text and page["Content-Language"] == "en"


def test_history_version_page_of_another_township_is_refused(client, setup):
    _areas, clerk, _inspector, _west, east = setup
    client.force_login(clerk)
    version = east.history.latest("history_date")
    url = reverse("admin:geo_assets_asset_simple_history", args=[east.pk, version.history_id])
    assert client.get(url).status_code == 404


def test_asset_list_has_import_and_export_buttons(client, setup):
    client.force_login(setup[1])
    page = client.get(reverse("admin:geo_assets_asset_changelist")).content.decode()
    assert reverse("importers:export") + "?format=xlsx" in page and reverse("importers:upload") in page


def test_history_page_shows_choice_labels(client, setup):
    from geo_assets import services

    _areas, clerk, _inspector, west, _east = setup
    services.asset_update(actor=clerk, asset=west, changes={"status": "idle"}, reason="核查")
    client.force_login(clerk)
    page = client.get(reverse("admin:geo_assets_asset_history", args=[west.pk])).content.decode()
    assert "在用" in page and "闲置" in page and "in_use" not in page


def test_asset_form_reports_every_fault_at_once(client, setup, admin_user):
    """Issue 21 item 20: a status only a disposal may set, a year out of range, a malformed phone and a location
    outside the county come back together, not one per attempt — in the service and on the admin form."""
    from django.contrib.gis.geos import Point
    from django.core.exceptions import ValidationError

    from geo_assets import services

    _areas, _clerk, _inspector, west, _east = setup
    asset = Asset.objects.get(pk=west.pk)
    asset.status, asset.year_built, asset.custodian_phone = "disposed", 1800, "电话号码"
    asset.point, asset.village = Point(100.0, 20.0, srid=4490), None
    with pytest.raises(ValidationError) as refused:
        services.asset_check(actor=admin_user, asset=asset)
    assert {"status", "year_built", "custodian_phone", "geometry"} <= set(refused.value.message_dict)

    client.force_login(admin_user)
    response = client.post(change_url(west), form_data(
        west, status="disposed", year_built="1800", custodian_phone="电话号码", village="",
        geometry=json.dumps({"type": "Point", "coordinates": [100.0, 20.0]})))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"status", "year_built", "custodian_phone", "geometry"} <= set(errors), errors
    assert all(len(messages) == len(set(messages)) for messages in errors.values())  # none listed twice
    west.refresh_from_db()
    assert west.year_built != 1800
