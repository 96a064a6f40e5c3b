"""The demo county: deterministic, realistic, loaded once."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from geo_assets import demo
from geo_assets.models import AdminArea, Asset, Disposal
from geo_assets.taxonomy import AreaLevel, AssetStatus, AssetType, Category, DisposalStatus


class Rollback(Exception):
    pass


def fingerprint():
    return list(Asset.objects.order_by("code").values_list("code", "name", "asset_type", "total_investment"))[:200] + [
        (a.code, a.geom.wkt[:200]) for a in AdminArea.objects.order_by("code")]


@pytest.mark.django_db
def test_small_demo_is_deterministic(admin_user):
    with pytest.raises(Rollback), transaction.atomic():
        demo.demo_load(actor=admin_user, townships=2, villages_per_township=3, assets_per_village=6)
        first = fingerprint()
        raise Rollback
    assert not AdminArea.objects.exists()
    demo.demo_load(actor=admin_user, townships=2, villages_per_township=3, assets_per_village=6)
    assert fingerprint() == first


@pytest.mark.django_db
def test_full_demo_county_is_realistic_and_loaded_once():
    out = StringIO()
    call_command("load_demo", stdout=out)
    counties = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code")
    assert [(c.name, c.parent.name) for c in counties] == [("栾川县", "洛阳市"), ("嵩县", "洛阳市")]  # issue 19
    townships = AdminArea.objects.townships().filter(code__startswith="410324")
    villages = AdminArea.objects.villages().filter(code__startswith="410324")
    second = AdminArea.objects.villages().filter(code__startswith="410325")
    assert (AdminArea.objects.townships().filter(code__startswith="410325").count(), second.count()) == (3, 12)
    assert not Asset.objects.filter(village__in=second).exclude(county="410325000000").exists()
    assert not Asset.objects.filter(village__in=villages).exclude(county="410324000000").exists()
    assert 10 <= townships.count() <= 14
    assert villages.count() >= 150
    assert all(len(code) == 12 and code.startswith("410324") for code in villages.values_list("code", flat=True))
    assert all(v.code[:9] == v.parent.code[:9] for v in villages.select_related("parent"))
    assert Asset.objects.count() >= 2000
    assert set(Asset.objects.values_list("category", flat=True).distinct()) == set(Category.values)
    assert set(Asset.objects.values_list("asset_type", flat=True).distinct()) == set(AssetType.values)
    assert set(Asset.objects.values_list("status", flat=True).distinct()) == set(AssetStatus.values)
    # roads are lines, PV stations and clinics points, workshops and greenhouses polygons
    assert not Asset.objects.filter(asset_type=AssetType.ROAD, line__isnull=True).exists()
    assert not Asset.objects.filter(asset_type__in=[AssetType.PV_STATION, AssetType.HEALTH], point__isnull=True).exists()
    assert not Asset.objects.filter(asset_type__in=[AssetType.WORKSHOP, AssetType.GREENHOUSE],
                                    polygon__isnull=True).exists()
    executed = Disposal.objects.filter(status=DisposalStatus.EXECUTED).count()
    assert executed == Asset.objects.filter(status=AssetStatus.DISPOSED).count() > 0
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM geo_assets_asset a JOIN geo_assets_adminarea v ON v.id = a.village_id
            WHERE NOT ST_Covers(v.geom, a.location) OR a.township_id <> v.parent_id""")
        assert cursor.fetchone()[0] == 0
        cursor.execute("""
            SELECT count(*) FROM geo_assets_adminarea v
              JOIN geo_assets_adminarea c ON c.code = substr(v.code, 1, 6) || '000000'
            WHERE v.level = 'village' AND NOT ST_Covers(ST_Buffer(c.geom, 0.0001), v.geom)""")
        assert cursor.fetchone()[0] == 0
    assert Asset.history.count() >= Asset.objects.count()
    assert Asset.objects.filter(funding__isnull=False).distinct().count() == Asset.objects.count()
    assert Asset.objects.filter(is_published=True).exists() and Asset.objects.filter(is_published=False).exists()

    before = (Asset.objects.count(), Asset.history.count())
    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "已存在" in again.getvalue()
    assert (Asset.objects.count(), Asset.history.count()) == before

    logins = StringIO()
    call_command("demo_admin", stdout=logins)
    assert "admin" in logins.getvalue() and "chengguan" in logins.getvalue()
    assert "songxian_chengguan001" in logins.getvalue() and "luoyang" in logins.getvalue()  # a login per role
