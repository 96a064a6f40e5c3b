"""Constraints of the register, in Python (full_clean) and in the database itself."""

from decimal import Decimal

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from geo_assets import services
from geo_assets.errors import DeletionForbidden
from geo_assets.models import SRID, AdminArea, Asset, FundingLine, OwnerShare
from geo_assets.taxonomy import AreaLevel, AssetType, OwnerKind, RegistrationStatus
from tests.factories import centre, make_asset

BOWTIE = MultiPolygon(Polygon(((111.51, 33.81), (111.53, 33.83), (111.53, 33.81), (111.51, 33.83), (111.51, 33.81))),
                      srid=SRID)


def test_exactly_one_geometry_in_python(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    asset.point = centre(areas.west_south)  # now it has a line and a point
    with pytest.raises(ValidationError) as error:
        asset.full_clean()
    assert "有且仅有一个空间图形" in str(error.value)  # the interface speaks Chinese by default


def test_exactly_one_geometry_in_database(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    with pytest.raises(IntegrityError, match="asset_exactly_one_geometry"), transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(point=centre(areas.west_south))


def test_invalid_polygon_is_refused_with_reason(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        services.asset_register(actor=admin_user, fields={"name": "大棚", "asset_type": AssetType.GREENHOUSE},
                                geometry=BOWTIE)
    assert "空间图形无效" in str(error.value) and "Self-intersection" in str(error.value)
    assert not Asset.objects.exists()


def test_invalid_polygon_refused_by_database(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.GREENHOUSE,
                       geometry=Point(111.52, 33.82, srid=SRID))
    with pytest.raises(IntegrityError, match="asset_polygon_valid"), transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(point=None, polygon=BOWTIE)


def test_area_geometry_validity_constraint(areas):
    with pytest.raises(IntegrityError, match="adminarea_geom_valid"), transaction.atomic():
        AdminArea.objects.create(code="410324103000", name="坏镇", level=AreaLevel.TOWNSHIP, parent=areas.county,
                                 geom=BOWTIE)


def test_area_code_must_have_twelve_digits(areas):
    area = AdminArea(code="4103241", name="短码村", level=AreaLevel.VILLAGE, parent=areas.west, geom=areas.west.geom)
    with pytest.raises(ValidationError) as error:
        area.full_clean()
    assert "code" in error.value.message_dict


def test_given_village_must_contain_the_asset(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, area=areas.east_north, village=areas.west_south)
    assert "village" in error.value.message_dict
    assert not Asset.objects.exists()


def test_location_outside_every_village_is_refused(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, geometry=Point(112.5, 35.0, srid=SRID), asset_type=AssetType.HEALTH)
    assert "geometry" in error.value.message_dict


def test_line_and_polygon_and_z_and_other_srid_are_stored_in_concrete_columns(areas, admin_user):
    road = make_asset(actor=admin_user, area=areas.west_north)
    assert road.line is not None and road.point is None and road.line.geom_type == "MultiLineString"
    # A 3D point in Web Mercator is stored as a 2D CGCS2000 point.
    web = Point(111.55, 33.85, srid=4326)
    web.transform(3857)
    clinic = services.asset_register(
        actor=admin_user, fields={"name": "卫生室", "asset_type": AssetType.HEALTH},
        geometry=Point(web.x, web.y, 120.0, srid=3857),
    )
    clinic.refresh_from_db()
    assert clinic.point.srid == SRID and not clinic.point.hasz
    assert clinic.point.x == pytest.approx(111.55, abs=1e-7)
    assert clinic.village == areas.west_south
    assert clinic.location.equals(clinic.point)


def test_generated_web_mercator_copy(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.east_south, asset_type=AssetType.PV_STATION)
    asset.refresh_from_db()
    assert asset.geom_web.srid == 3857
    expected = asset.point.transform(3857, clone=True)
    assert asset.geom_web.distance(expected) < 0.01


def test_assets_are_never_deleted(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south)
    with pytest.raises(DeletionForbidden):
        asset.delete()
    with pytest.raises(DeletionForbidden):
        Asset.objects.all().delete()
    with pytest.raises(DeletionForbidden):
        areas.west_south.delete()
    with pytest.raises(DeletionForbidden):
        FundingLine.objects.all().delete()
    # the application's role has no DELETE privilege (tests/geo_assets/test_db_roles.py); the owner meets the trigger
    with pytest.raises(DatabaseError, match="cannot be deleted|permission denied"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM geo_assets_asset WHERE id = %s", [asset.pk])
    assert Asset.objects.filter(pk=asset.pk).exists()


def test_owner_shares_must_sum_to_100(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.EQUITY, owners=[
            services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
            services.Share("兴农合作社", OwnerKind.ENTERPRISE, Decimal("30")),
        ])
    assert "合计为90%" in str(error.value)
    assert not Asset.objects.exists()


def test_owner_shares_summing_to_100_are_stored(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.EQUITY,
                       registration_status=RegistrationStatus.REGISTERED, owners=[
                           services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("62.5")),
                           services.Share("兴农合作社", OwnerKind.ENTERPRISE, Decimal("37.5")),
                       ])
    assert sorted(asset.owners.values_list("share", flat=True)) == [Decimal("37.5"), Decimal("62.5")]
    assert asset.registration_date is not None


def test_registered_equity_needs_named_owners(areas, admin_user):
    with pytest.raises(ValidationError) as error:
        make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.EQUITY,
                   registration_status=RegistrationStatus.REGISTERED)
    assert "owners" in error.value.message_dict


def test_single_owner_must_hold_100(areas, admin_user):
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_south, owners=[
            services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("80"))])


def test_share_range_constraint_in_database(areas, admin_user):
    asset = make_asset(actor=admin_user, area=areas.west_south, owners=[
        services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    with pytest.raises(IntegrityError, match="ownershare_share_range"), transaction.atomic():
        OwnerShare.objects.filter(asset=asset).update(share=Decimal("120"))


def test_negative_amounts_are_refused(areas, admin_user):
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_south, funding=[("central", Decimal("-1"))])
    with pytest.raises(ValidationError):
        make_asset(actor=admin_user, area=areas.west_south, quantity=Decimal("-3"))
    assert not Asset.objects.exists()


def test_any_lookup_is_one_array_parameter_and_selects_as_in(areas, admin_user):
    """`pk__any=[…]` (geo_assets.querysets.AnyOf) selects what `pk__in` selects, with the values as ONE parameter."""
    made = [make_asset(actor=admin_user, area=areas.west_south, name=f"资产{i}") for i in range(5)]
    wanted = [made[0].pk, made[3].pk, made[4].pk, 10**12]  # and an id no asset has
    sql, params = Asset.objects.filter(pk__any=wanted).values("id").query.sql_with_params()
    assert "ANY(%s)" in sql and list(params) == [wanted]
    assert sorted(Asset.objects.filter(pk__any=wanted).values_list("pk", flat=True)) == sorted(wanted[:3])
    assert sorted(Asset.objects.filter(pk__any=wanted).values_list("pk", flat=True)) == sorted(
        Asset.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    assert not Asset.objects.filter(pk__any=[]).exists()
    assert Asset.objects.exclude(pk__any=wanted).count() == Asset.objects.count() - 3


def test_the_three_geometry_indexes_hold_their_own_kind_and_serve_box_queries(db):
    """An asset has one of point, line, polygon: each one's GiST index leaves out the rows without it (two NULL
    entries an asset would write for nothing), and a box query on the column still uses it."""
    with connection.cursor() as cursor:
        for column in ("point", "line", "polygon"):
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [f"asset_{column}_gist"])
            assert cursor.fetchone()[0].endswith(f"USING gist ({column}) WHERE ({column} IS NOT NULL)")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN SELECT id FROM geo_assets_asset WHERE {column} && "  # noqa: S608 - constants
                           "ST_MakeEnvelope(111, 33, 112, 34, 4490)")
            assert f"asset_{column}_gist" in " ".join(r[0] for r in cursor.fetchall())


@pytest.mark.parametrize(("bump_m", "kept"), [(36, False), (44, True)])
def test_a_boundary_is_simplified_in_ground_metres(db, bump_m, kept):
    """with_shape_geojson(metres=40) drops a vertex 36 m off its neighbours' line and keeps one 44 m off, at 34° N
    (a mercator unit there is 0.83 ground metres: without the latitude both would be kept)."""
    import json

    from pyproj import Geod

    lon, lat = 111.6, 34.0
    _, bump_lat, _ = Geod(ellps="GRS80").fwd(lon + 0.01, lat + 0.01, 0, bump_m)
    ring = ((lon, lat), (lon + 0.02, lat), (lon + 0.02, lat + 0.01), (lon + 0.01, bump_lat), (lon, lat + 0.01),
            (lon, lat))
    AdminArea.objects.create(code="410399000000", name="折线县", level=AreaLevel.COUNTY,
                             geom=MultiPolygon(Polygon(ring), srid=SRID))
    (area,) = AdminArea.objects.filter(code="410399000000").with_shape_geojson(metres=40)
    shape = json.loads(area.shape_geojson)
    assert shape["type"] == "MultiPolygon"
    ((ring,),) = shape["coordinates"]
    assert len(ring) == (6 if kept else 5)
    assert "geom" in area.get_deferred_fields()


def test_an_owner_no_share_names_is_the_one_the_ownership_kind_says(areas, admin_user):
    """A village road registered to the village collective showed "产权主体 —" (review of session 23): with no
    share naming an owner, the page names the collective the work plan gives it to."""
    from django.test import Client

    road = make_asset(actor=admin_user, area=areas.west_south, name="村道", is_published=True)
    assert road.owner_kind == OwnerKind.VILLAGE_COLLECTIVE and not road.owners.exists()
    assert road.owner_by_kind() == f"{areas.west_south.name}村集体"
    client = Client()
    client.force_login(admin_user)
    for path in (f"/assets/{road.code}/", f"/assets/{road.code}/lifecycle/"):
        assert f"{areas.west_south.name}村集体" in client.get(path).content.decode(), path
    assert f"{areas.west_south.name}村集体" in Client().get(f"/assets/{road.code}/").content.decode()  # the public
    livestock = make_asset(actor=admin_user, area=areas.west_south, asset_type=AssetType.LIVESTOCK, name="张三到户养殖")
    assert livestock.owner_by_kind() == "受益户"
