"""The tests' data sets ("worlds"), composed from the row builders of tests/factories.py.

How the test data is organised:
- tests/factories.py builds rows (areas, users, departments, assets, notices, verification photos and records);
  tests/importers/builders.py builds import files.
- tests/world.py (this module) composes them into the named data sets the tests share, and `built_once`, which
  builds one of them once per test module (see there).
- conftest.py files hold every fixture: tests/conftest.py the data sets used across folders (`world`, `map_world`,
  …), each folder's conftest.py its own; a test file defines no fixture named `world` or `county`
  (tests/test_house.py).

build_world(): a small county with one user per role and records whose names are markers, for tests that sweep
every route. Every asset name is unique, so a test can tell from a response body which records it shows. The
personal data (custodian, phone, beneficiary, ID number in a note) are markers too, so a test can tell whether they
leaked.
"""

import copy
import datetime
import sys
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from geo_assets import demo, services
from geo_assets.models import SRID, Asset
from geo_assets.taxonomy import AssetType, OwnerKind, Role
from lifecycle.demo import demo_lifecycle_load
from tests.factories import (
    centre,
    fund_line,
    link,
    make_admin,
    make_areas,
    make_asset,
    make_department,
    make_user,
    project,
)
from verification import services as verification_services

PHONE = "13912345678"
PERSON = "欧阳永福"
BENEFICIARY = "马永福"
ID_NUMBER = "410324199001011234"
PERSONAL_MARKERS = (PHONE, PERSON, BENEFICIARY, ID_NUMBER)


@dataclass
class World:
    areas: object
    users: dict
    assets: dict
    departments: dict = field(default_factory=dict)
    projects: dict = field(default_factory=dict)

    def visible_names(self, role: str) -> set[str]:
        from geo_assets.models import Asset

        return set(Asset.objects.visible_to(self.users[role]).values_list("name", flat=True))

    def hidden_names(self, role: str) -> set[str]:
        return {a.name for a in self.assets.values()} - self.visible_names(role)


def build_world() -> World:
    areas = make_areas()
    admin = make_admin()
    transport = make_department("交通运输局", [AssetType.ROAD])
    poverty_office = make_department("扶贫办", [AssetType.EQUITY, AssetType.LIVESTOCK])
    common = {"custodian_person": PERSON, "custodian_phone": PHONE, "note": f"身份证 {ID_NUMBER}"}
    assets = {
        "west_road": make_asset(actor=admin, area=areas.west_south, name="西南村标记道路", is_published=True,
                                department=transport, **common),
        "west_equity": make_asset(
            actor=admin, area=areas.west_north, name="西北村标记股权", asset_type=AssetType.EQUITY,
            geometry=centre(areas.west_north), is_published=True, department=poverty_office,
            owners=[services.Share("西北村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("60")),
                    services.Share(BENEFICIARY, OwnerKind.HOUSEHOLD, Decimal("40"))], **common),
        "west_household": make_asset(
            actor=admin, area=areas.west_south, name=f"西南村{BENEFICIARY}到户养殖1号", asset_type=AssetType.LIVESTOCK,
            geometry=centre(areas.west_south), is_published=True, **common),
        "east_road": make_asset(actor=admin, area=areas.east_south, name="东南村标记道路", **common),
        "east_clinic": make_asset(actor=admin, area=areas.east_north, name="东北村标记卫生室",
                                  asset_type=AssetType.HEALTH, **common),
    }
    services.asset_dispose(actor=admin, asset=make_asset(actor=admin, area=areas.east_north, name="东北村标记报废道路"),
                           method="scrap", approval_reference="栾扶资处〔2026〕1号", approved_on=datetime.date(2026, 1, 5))
    services.asset_dispose(actor=admin, asset=make_asset(actor=admin, area=areas.west_south, name="西南村标记报废道路"),
                           method="auction", approval_reference="栾扶资处〔2026〕2号", approved_on=datetime.date(2026, 2, 5))
    from geo_assets.models import Asset

    assets["east_disposed"] = Asset.objects.get(name="东北村标记报废道路")
    assets["west_disposed"] = Asset.objects.get(name="西南村标记报废道路")
    users = {
        "county_admin": admin,
        "superuser": make_user("root", "superuser"),
        "department": make_user("transport", Role.DEPARTMENT, department=transport),
        "township": make_user("west", Role.TOWNSHIP, area=areas.west),
        "village": make_user("westsouth", Role.VILLAGE, area=areas.west_south),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "finance": make_user("finance", Role.FINANCE),
        "staff_without_role": make_user("nobody", None),
        "anonymous": AnonymousUser(),
    }
    # two projects (issue 17), each with a fund line and the asset it formed
    projects = {
        "west": project(actor=admin, code="XM-2025-101", name="西南村标记道路项目", villages=[areas.west_south],
                        department=transport),
        "east": project(actor=admin, code="XM-2025-102", name="东北村标记卫生室项目", kind="health",
                        villages=[areas.east_north]),
    }
    fund_line(actor=admin, project=projects["west"], allocated="20", document_number="栾财扶〔2025〕1号")
    fund_line(actor=admin, project=projects["east"], allocated="30")
    link(actor=admin, project=projects["west"], asset=assets["west_road"], amount="10")
    link(actor=admin, project=projects["east"], asset=assets["east_clinic"])
    return World(areas=areas, users=users, assets=assets, projects=projects,
                 departments={"transport": transport, "poverty_office": poverty_office})


# ---------------------------------------------------------------- the map world


@dataclass
class MapWorld:
    areas: object
    admin: object
    clerk: object
    department: object
    inspector: object
    road: Asset
    water: Asset
    greenhouse: Asset
    livestock: Asset


def build_map_world() -> "MapWorld":
    """The register as the map sees it: four assets of four types in the four villages, and who sees which
    (tests/layers/conftest.py, ROLE_VISIBLE)."""
    areas = make_areas()
    admin = make_user("county", "superuser")
    dept = make_department("交通运输局", types=(AssetType.ROAD,))
    road = make_asset(actor=admin, name="西南村道路", area=areas.west_south, is_published=True, year_built=2020)
    water = make_asset(actor=admin, name="西北村饮水站", asset_type=AssetType.WATER_SUPPLY, area=areas.west_north,
                       year_built=2018)
    greenhouse = make_asset(actor=admin, name="东南村大棚", asset_type=AssetType.GREENHOUSE, area=areas.east_south,
                            is_published=True, year_built=2022)
    x0, y0 = 111.66, 33.95
    pen = MultiPolygon(Polygon.from_bbox((x0, y0, x0 + 0.002, y0 + 0.002)), srid=SRID)
    livestock = make_asset(actor=admin, name="东北村养殖圈舍", asset_type=AssetType.HOUSEHOLD_FIXED,
                           area=areas.east_north, geometry=pen, year_built=2021)
    # what a verification that counts does (only the verification services set last_verified_at)
    services.asset_verified_mark(asset=road, verified_at=datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC),
                                 reason="verified")
    return MapWorld(
        areas=areas, admin=admin,
        clerk=make_user("west_clerk", Role.TOWNSHIP, area=areas.west),
        department=make_user("roads", Role.DEPARTMENT, department=dept),
        inspector=make_user("inspector", Role.INSPECTOR),
        road=Asset.objects.get(pk=road.pk), water=water, greenhouse=greenhouse, livestock=livestock,
    )


# ---------------------------------------------------------------- sweeping the admin as every role of the world


ROLES = ("county_admin", "superuser", "department", "township", "village", "inspector", "finance",
         "staff_without_role", "anonymous")


def client_for(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def hostile(obj) -> dict:
    """A change of every field: text marked, choices and types widened, the way an attacker would post it."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if isinstance(value, str):
            data[name] = "越权修改"
        elif isinstance(value, list):
            data[name] = list(AssetType.values)
        elif isinstance(value, bool):
            data[name] = "on"
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(getattr(value, "pk", value))
    data.update({"asset_types": list(AssetType.values), "role": "county_admin", "post": "yes", "_save": "1",
                 "is_superuser": "on", "is_staff": "on"})
    return data


def table_digests(models) -> dict[str, str]:
    """Every row of each model's table, as a digest the database computes in one statement (md5 of the rows' text,
    every column, in primary-key order): equal digests, equal rows. What a request must not change — compared
    before and after it, at one query instead of one per table and no row loaded into Python."""
    from django.db import connection

    quote = connection.ops.quote_name
    tables = {m._meta.label: (m._meta.db_table, m._meta.pk.column) for m in models}
    digest = "SELECT %s, (SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t.{pk}), '')) FROM {table} t)"
    sql = " UNION ALL ".join(digest.format(table=quote(table), pk=quote(pk)) for table, pk in tables.values())
    with connection.cursor() as cursor:
        cursor.execute(sql, list(tables))
        return dict(cursor.fetchall())


def admin_urls(model_admin, obj=None) -> dict[str, str]:
    opts = model_admin.model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    urls = {}
    for name, args in (("changelist", ()), ("add", ())) if obj is None else (
            ("change", (obj.pk,)), ("history", (obj.pk,)), ("delete", (obj.pk,))):
        try:
            urls[name] = reverse(f"{base}_{name}", args=args)
        except NoReverseMatch:
            pass
    if obj is not None and hasattr(obj, "history"):
        version = obj.history.order_by("history_id").first()
        if version is not None:
            urls["version"] = reverse(f"{base}_simple_history", args=[obj.pk, version.history_id])
    return urls


# ---------------------------------------------------------------- built once per test module


BUILT_PREFIX = "built_"


def built_once(builder):
    """A module-scoped fixture — name it `built_…` (BUILT_PREFIX) — : `builder()` run once per test module (per xdist
    worker), inside a transaction rolled back after the module's last test. Take it through `copy_for_test` in a function-scoped fixture that also asks
    for `db`: each test then runs in a savepoint of that transaction (pytest-django's `db`, as Django's
    TestCase.setUpTestData), rolled back after it, and gets its own deep copy of the built objects — so a test sees
    exactly what a fresh build would give, without paying for the build (users, assets, history rows) again.

    Not for transactional tests (`transactional_db`, the live server): they need committed data. The files the
    builder writes (photos) go to a media folder of the module, which the tests get as MEDIA_ROOT.

    While it lives, the built rows are in the database for every test of the module: tests/conftest.py therefore
    runs a module's other tests first (`pytest_collection_modifyitems`) and refuses a module that asks for two
    `built_…` fixtures."""

    @pytest.fixture(scope="module")
    def fixture(django_db_setup, django_db_blocker, tmp_path_factory):
        from django.conf import settings
        from django.db import transaction
        from django.test.utils import override_settings
        from django.utils import translation

        media = str(tmp_path_factory.mktemp("media"))
        with django_db_blocker.unblock():
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                with override_settings(MEDIA_ROOT=media), translation.override(settings.LANGUAGE_CODE):
                    data = builder()
            except BaseException:
                transaction.set_rollback(True)
                atomic.__exit__(*sys.exc_info())
                raise
        yield data, media
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)

    return fixture


def copy_for_test(built, settings):
    """The test's own copy of what `built_once` built, with MEDIA_ROOT at the files it wrote."""
    data, media = built
    settings.MEDIA_ROOT = media
    return copy.deepcopy(data)


def small_county():
    """The small demo county: 2 townships × 3 villages × ~8 assets and the lifecycle records. Returns its
    administrator."""
    admin = make_admin()
    demo.demo_load(actor=admin, townships=2, villages_per_township=3, assets_per_village=8)
    demo_lifecycle_load(actor=admin)
    return admin


def build_checked_county():
    """small_county and verifications with findings (damaged, not found, intact), reviewed by another administrator."""
    admin = small_county()
    checker = make_user("checker", Role.COUNTY_ADMIN)  # one may not review one's own record
    for asset, finding in zip(Asset.objects.exclude(status="disposed").exclude(asset_type__in=["equity", "debt"])
                              .order_by("code")[:3], ("damaged", "not_found", "intact"), strict=True):
        record = verification_services.verification_record(
            actor=checker, asset_code=asset.code, finding=finding, lon=asset.location.x, lat=asset.location.y,
            accuracy_m=5, observed_at=timezone.now(), photos=[]).verification
        if record.review == "pending":
            verification_services.verification_review(actor=admin, verification=record, approve=True, comment="属实")
    return admin


# ---------------------------------------------------------------- the ledger world (issue 17: 账账相符)


@dataclass
class LedgerWorld:
    areas: object
    users: dict
    departments: dict
    projects: dict
    assets: dict


def build_ledger_world() -> LedgerWorld:
    """Projects, fund ledgers and assets with every kind of reconciliation finding and its negative (the county's
    default policy: from 2024, tolerance the larger of 5 % and 0.5 万元):

    p_road (西南村, 2024, accepted) 120 disbursed = road_ws 120: balanced, documented · p_no_assets (西北村, 2024,
    accepted) 50, nothing linked: accepted_without_assets · p_greenhouse (西南村, 2025) 80 → greenhouse_ws 40:
    partly_formed · p_water (东南村, 2024, accepted) 30 → water_es 50: asset_exceeds_disbursement · p_no_document
    (东北村, 2025) a line without 文号 → road_en 10 · p_insurance (东镇, 2024, accepted) 5, no asset: explained ·
    p_relocation (西镇, 2024) 200/150: excluded · p_traced (东南村, 2022, accepted) 40, no asset: traced ·
    p_shared_a (西南村+西北村) 30 stated and p_shared_b (西北村) 20 → road_shared 50: balanced · p_square (西南村,
    2024, accepted) 100 → square_ws 97: within the tolerance · p_corrected (东北村, 2025) 15 with a link stating 0 to
    clinic_en · p_household (西南村, 2024, accepted) 3 → household_ws 3 (published, named after its beneficiary).
    Unlinked: orphan_ws (2025) and orphan_unknown (year unknown) and clinic_en (2025): asset_without_project;
    old_es (2019) and disposed_wn (disposed): not."""
    from tests.factories import fund_line, link, project

    def proj(code, name, *, villages=(), status="under_way", year=2024, **fields):
        if status == "accepted":
            fields["accepted_on"] = datetime.date(year, 12, 1)
        return project(actor=admin, code=code, name=name, year=year, villages=villages, status=status, **fields)

    def line(p, *, allocated, document_number, **fields):
        return fund_line(actor=admin, project=p, allocated=allocated, document_number=document_number, **fields)

    def formed(p, asset, **fields):
        return link(actor=admin, project=p, asset=asset, **fields)

    areas = make_areas()
    admin = make_admin()
    ws, wn, es, en = areas.west_south, areas.west_north, areas.east_south, areas.east_north
    transport = make_department("交通运输局", [AssetType.ROAD])
    water = make_department("水利局", [AssetType.WATER_SUPPLY])
    farming = make_department("农业农村局", [AssetType.GREENHOUSE, AssetType.LIVESTOCK])
    health = make_department("卫生健康委员会", [AssetType.HEALTH])

    def asset(key, area, amount, **fields):
        fields.setdefault("asset_type", AssetType.ROAD)
        geometry = fields.pop("geometry", None)
        if geometry is None and fields["asset_type"] != AssetType.ROAD:
            x, y = centre(area).coords
            geometry = Point(x + 0.001 * len(assets), y, srid=SRID)
        assets[key] = make_asset(actor=admin, area=area, geometry=geometry,
                                 funding=(("central", Decimal(amount)),), **fields)
        return assets[key]

    assets: dict = {}
    asset("road_ws", ws, "120", name="西南村道路硬化工程", year_built=2024, department=transport, is_published=True,
          custodian_unit="西南村村民委员会", custodian_person=PERSON, custodian_phone=PHONE,
          owners=[services.Share("西南村村民委员会", OwnerKind.VILLAGE_COLLECTIVE, Decimal("100"))])
    asset("greenhouse_ws", ws, "40", name="西南村蔬菜大棚", asset_type=AssetType.GREENHOUSE, year_built=2025,
          department=farming, is_published=True)
    asset("water_es", es, "50", name="东南村集中供水站", asset_type=AssetType.WATER_SUPPLY, year_built=2024,
          department=water)
    asset("road_en", en, "10", name="东北村生产道路", year_built=2025, department=transport)
    asset("road_shared", wn, "50", name="西北村联村道路", year_built=2025, department=transport)
    asset("square_ws", ws, "97", name="西南村文化广场", asset_type=AssetType.CULTURE, year_built=2024,
          is_published=True, custodian_unit="西南村村民委员会")
    asset("clinic_en", en, "15", name="东北村卫生室", asset_type=AssetType.HEALTH, year_built=2025, department=health)
    asset("household_ws", ws, "3", name=f"西南村{BENEFICIARY}到户养牛", asset_type=AssetType.LIVESTOCK, year_built=2024,
          department=farming, is_published=True, custodian_person=BENEFICIARY, custodian_phone=PHONE,
          owners=[services.Share(BENEFICIARY, OwnerKind.HOUSEHOLD, Decimal("100"))])
    asset("orphan_ws", ws, "8", name="西南村机耕路", year_built=2025, department=transport)
    asset("orphan_unknown", en, "6", name="东北村水窖", asset_type=AssetType.WATER_SUPPLY, department=water)
    asset("old_es", es, "12", name="东南村老路", year_built=2019, department=transport)
    asset("disposed_wn", wn, "9", name="西北村报废便道", year_built=2024, department=transport)
    services.asset_dispose(actor=admin, asset=assets["disposed_wn"], method="scrap",
                           approval_reference="栾扶资处〔2026〕9号", approved_on=datetime.date(2026, 1, 5))
    assets["disposed_wn"].refresh_from_db()
    services.asset_verified_mark(asset=assets["road_ws"], verified_at=datetime.datetime(2025, 5, 1, tzinfo=datetime.UTC),
                                 reason="verified")

    west, east = areas.west, areas.east
    p = {
        "p_road": proj("LC-2024-001", "西南村道路硬化", department=transport, township=west, villages=[ws],
                       status="accepted"),
        "p_no_assets": proj("LC-2024-002", "西北村通组道路", department=transport, township=west, villages=[wn],
                            status="accepted"),
        "p_greenhouse": proj("LC-2025-003", "西南村蔬菜大棚", year=2025, kind="industry", department=farming,
                             township=west, villages=[ws], status="completed"),
        "p_water": proj("LC-2024-004", "东南村饮水安全", department=water, township=east, villages=[es],
                        status="accepted"),
        "p_no_document": proj("LC-2025-005", "东北村生产道路", year=2025, department=transport, township=east,
                              villages=[en]),
        "p_insurance": proj("LC-2024-006", "东镇产业保险", kind="insurance", township=east, status="accepted"),
        "p_relocation": proj("LC-2024-007", "西镇易地扶贫搬迁", kind="relocation", township=west, status="accepted"),
        "p_traced": proj("LC-2022-008", "东南村旧路改造", year=2022, department=transport, township=east,
                         villages=[es], status="accepted"),
        "p_shared_a": proj("LC-2025-009", "西镇联村道路（一期）", year=2025, department=transport, township=west,
                           villages=[ws, wn], status="completed"),
        "p_shared_b": proj("LC-2025-010", "西北村联村道路（二期）", year=2025, department=transport, township=west,
                           villages=[wn]),
        "p_square": proj("LC-2024-011", "西南村文化广场", kind="culture", township=west, villages=[ws],
                         status="accepted"),
        "p_corrected": proj("LC-2025-012", "东北村卫生室改造", year=2025, kind="health", department=health,
                            township=east, villages=[en]),
        "p_household": proj("LC-2024-013", "西南村到户养殖", kind="household", department=farming, township=west,
                            villages=[ws], status="accepted"),
    }
    line(p["p_road"], allocated="100", document_number="栾财预〔2024〕1号")
    line(p["p_road"], source="county", allocated="20", document_number="栾财预〔2024〕2号")
    line(p["p_no_assets"], allocated="50", document_number="栾财预〔2024〕3号")
    line(p["p_greenhouse"], source="integrated", allocated="80", document_number="栾财农〔2025〕4号")
    line(p["p_water"], allocated="30", document_number="栾财预〔2024〕5号")
    line(p["p_no_document"], allocated="10", document_number="")
    line(p["p_insurance"], source="social", allocated="5", document_number="栾扶办〔2024〕6号")
    line(p["p_relocation"], allocated="200", disbursed="150", document_number="栾发改〔2024〕7号")
    line(p["p_traced"], allocated="40", year=2022, document_number="栾财预〔2022〕8号")
    line(p["p_shared_a"], allocated="30", document_number="栾财预〔2025〕9号")
    line(p["p_shared_b"], source="county", allocated="25", disbursed="20", document_number="栾财预〔2025〕10号")
    line(p["p_square"], allocated="100", document_number="栾财预〔2024〕11号")
    line(p["p_corrected"], allocated="15", document_number="栾财预〔2025〕12号")
    line(p["p_household"], source="provincial", allocated="3", document_number="豫财农〔2024〕13号")
    formed(p["p_road"], assets["road_ws"], origin="ledger")
    formed(p["p_greenhouse"], assets["greenhouse_ws"])
    formed(p["p_water"], assets["water_es"])
    formed(p["p_no_document"], assets["road_en"])
    formed(p["p_shared_a"], assets["road_shared"], amount=Decimal("30"))
    formed(p["p_shared_b"], assets["road_shared"])
    formed(p["p_square"], assets["square_ws"])
    formed(p["p_corrected"], assets["clinic_en"], amount=Decimal("0"))
    formed(p["p_household"], assets["household_ws"])
    users = {
        "county_admin": admin,
        "finance": make_user("finance", Role.FINANCE),
        "inspector": make_user("inspector", Role.INSPECTOR),
        "department": make_user("transport", Role.DEPARTMENT, department=transport),
        "township": make_user("west", Role.TOWNSHIP, area=west),
        "village": make_user("westsouth", Role.VILLAGE, area=ws),
        "staff_without_role": make_user("nobody", None),
        "anonymous": AnonymousUser(),
    }
    for row in assets.values():
        row.refresh_from_db()
    return LedgerWorld(areas=areas, users=users, projects=p, assets=assets,
                       departments={"transport": transport, "water": water, "farming": farming, "health": health})



def build_county_world():
    """tests.factories.make_prefecture with a user per role in county A, a county administrator of B, the
    prefecture's bureau and a road and a clinic in each county (marker names 甲… in A, 乙… in B)."""
    from types import SimpleNamespace

    from tests.factories import make_prefecture

    p = make_prefecture()
    root = make_user("root", "superuser")
    roads = make_department("交通运输局", (AssetType.ROAD,))
    users = {
        "admin_a": make_user("admin_a", Role.COUNTY_ADMIN, county=p.a.county),
        "inspector_a": make_user("inspector_a", Role.INSPECTOR, county=p.a.county),
        "finance_a": make_user("finance_a", Role.FINANCE, county=p.a.county),
        "roads_a": make_user("roads_a", Role.DEPARTMENT, department=roads, county=p.a.county),
        "township_a": make_user("township_a", Role.TOWNSHIP, area=p.a.west),
        "village_a": make_user("village_a", Role.VILLAGE, area=p.a.west_south),
        "admin_b": make_user("admin_b", Role.COUNTY_ADMIN, county=p.county_b),
        "prefecture": make_user("prefecture", Role.PREFECTURE, area=p.prefecture),
    }
    assets = {
        "road_a": make_asset(actor=root, area=p.a.west_south, name="甲村道路", is_published=True),
        "clinic_a": make_asset(actor=root, area=p.a.east_south, asset_type=AssetType.HEALTH, name="甲村卫生室"),
        "road_b": make_asset(actor=root, area=p.village_b, name="乙村道路", is_published=True,
                             custodian_person="乙保管员", custodian_phone="13900000002"),
        "clinic_b": make_asset(actor=root, area=p.village_b, asset_type=AssetType.HEALTH, name="乙村卫生室"),
    }
    b_project = project(actor=users["admin_b"], code="XM-B-001", name="乙县项目", villages=[p.village_b])
    fund_line(actor=users["admin_b"], project=b_project, document_number="乙财预〔2026〕1号")
    campaign = verification_services.campaign_create(actor=users["admin_b"], name="乙县年度清查", kind="annual",
                                                     year=timezone.localdate().year)
    return SimpleNamespace(p=p, root=root, users=users, assets=assets, b_project=b_project, campaign=campaign)
