"""The benchmark province (issue 11): deterministic, set-based, and every generated asset obeys the register."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Sum

from bench import province
from geo_assets import services
from geo_assets.models import AdminArea, Asset, FundingLine, OwnerShare
from geo_assets.privacy import asset_public_name
from geo_assets.taxonomy import TYPES_REQUIRING_NAMED_SHARES, AreaLevel, Category

SMALL = province.Size(counties=2, townships_per_county=2, villages=10, points=300, lines=60, polygons=20)


class Rollback(Exception):
    pass


def digest() -> str:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT md5(string_agg(code || asset_type || status || coalesce(year_built, 0) || name
                                               || total_investment || md5(ST_AsEWKB(coalesce(point, line, polygon))),
                                               ',' ORDER BY code)) FROM geo_assets_asset""")
        assets = cursor.fetchone()[0]
        cursor.execute("SELECT md5(string_agg(code || md5(ST_AsEWKB(geom)), ',' ORDER BY code)) FROM geo_assets_adminarea")
        return assets + cursor.fetchone()[0]


@pytest.mark.django_db
def test_small_province_is_deterministic_and_loaded_once(admin_user):
    with pytest.raises(Rollback), transaction.atomic():
        province.province_load(actor=admin_user, size=SMALL)
        first = digest()
        raise Rollback
    assert not Asset.objects.exists()
    result = province.province_load(actor=admin_user, size=SMALL)
    assert result.created and result.assets == 380 and (result.counties, result.villages) == (2, 10)
    assert digest() == first
    again = province.province_load(actor=admin_user, size=SMALL)
    assert not again.created and again.assets == 380 and digest() == first


@pytest.mark.django_db
def test_every_generated_asset_obeys_the_register(admin_user):
    province.province_load(actor=admin_user, size=SMALL)
    assets = list(Asset.objects.select_related("village", "township"))
    kinds = {"point": 0, "line": 0, "polygon": 0}
    for asset in assets:
        kinds[next(k for k in kinds if getattr(asset, k) is not None)] += 1
        # the services' own checks (values, defaults, scope) find nothing to change or refuse
        services.asset_check(actor=admin_user, asset=asset)
        assert re.fullmatch(rf"{asset.village.code}-\d{{4}}", asset.code)
        assert asset.public_name == asset_public_name(asset)
        if asset.category == Category.HOUSEHOLD:
            assert asset.custodian_person not in asset.public_name
    assert kinds == {"point": SMALL.points, "line": SMALL.lines, "polygon": SMALL.polygons}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM geo_assets_asset a JOIN geo_assets_adminarea v ON v.id = a.village_id
            WHERE NOT ST_Covers(v.geom, a.location) OR a.township_id <> v.parent_id""")
        assert cursor.fetchone()[0] == 0
        cursor.execute("""SELECT count(*) FROM geo_assets_asset a WHERE NOT EXISTS (
            SELECT 1 FROM geo_assets_historicalasset h WHERE h.id = a.id AND h.history_type = '+')""")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT max(ST_NPoints(geom)) FROM geo_assets_adminarea WHERE level = 'village'")
        assert cursor.fetchone()[0] > 1000  # boundaries with realistic vertex counts
    funded = dict(FundingLine.objects.values("asset").annotate(s=Sum("amount")).values_list("asset", "s"))
    assert all(funded[a.pk] == a.total_investment > 0 for a in assets)
    for asset in [a for a in assets if a.asset_type in TYPES_REQUIRING_NAMED_SHARES]:
        assert sum(OwnerShare.objects.filter(asset=asset).values_list("share", flat=True)) == Decimal(100)
    assert {a.level for a in AdminArea.objects.all()} == set(AreaLevel.values)


@pytest.mark.django_db
def test_load_province_command(admin_user):
    out = StringIO()
    call_command("load_province", "--scale", "0.0002", "--villages", "10", stdout=out)
    assert "已载入" in out.getvalue() and Asset.objects.count() == 250
    assert AdminArea.objects.filter(level=AreaLevel.COUNTY, code__startswith=province.PROVINCE_PREFIX).count() == 10
    assert {"inspector", "p_township", "p_village"} <= set(
        AdminArea.objects.none().model._meta.apps.get_model("auth", "User").objects.values_list("username", flat=True))
