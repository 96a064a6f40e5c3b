import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from geo_assets import services as register
from geo_assets.models import SRID
from geo_assets.taxonomy import AssetType, Role
from importers.models import ImportJob
from tests.factories import make_asset, make_department, make_user
from tests.importers import builders


@pytest.fixture
def register_small(areas, admin_user):
    """Points, a line and a polygon in several villages, with funding, owners and text in every column."""
    dept = make_department("交通运输局", (AssetType.ROAD,))
    road = make_asset(actor=admin_user, name="西南村通组道路", area=areas.west_south, year_built=2021,
                      funding=(("central", Decimal("50")), ("integrated", Decimal("30.5"))), department=dept,
                      quantity=Decimal("2.5"), unit="公里", custodian_person="王五", custodian_phone="13800000000")
    well = make_asset(actor=admin_user, name="东北村饮水井", asset_type=AssetType.WATER_SUPPLY, area=areas.east_north,
                      funding=(("county", Decimal("12")),), note="含水泵，备注含逗号,和“引号”")
    x0, y0 = 111.62, 33.82
    greenhouse = make_asset(
        actor=admin_user, name="东南村大棚", asset_type=AssetType.GREENHOUSE, area=areas.east_south,
        geometry=MultiPolygon(Polygon(((x0, y0), (x0 + 0.01, y0), (x0 + 0.01, y0 + 0.01), (x0, y0 + 0.01), (x0, y0))),
                              srid=SRID),
        funding=(("social", Decimal("8")), ("donation", Decimal("2"))), operator="东南村合作社",
    )
    register.asset_owners_set(actor=admin_user, asset=greenhouse, owners=[
        register.Share("东南村村集体", "village_collective", Decimal("60")),
        register.Share("张三", "household", Decimal("40")),
    ])
    shop = make_asset(actor=admin_user, name="西北村电商服务站", asset_type=AssetType.ECOMMERCE, area=areas.west_north,
                      funding=(), total_investment=Decimal("3.25"), registration_status="registered")
    return [road, well, greenhouse, shop]


def run(*args, **kwargs) -> tuple[int, str]:
    """call_command returning (exit status, stdout)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO(), **kwargs)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def run_report(tmp_path: Path, *args) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    if report.exists():
        report.unlink()
    code, out = run("import_assets", *[str(a) for a in args], "--report", str(report))
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"output": out}
    data["output"] = out
    return code, data


def upload(client, tmp_path, data) -> ImportJob:
    path = builders.write_csv(tmp_path / "up.csv", data)
    response = client.post(reverse("importers:upload"), {"file": SimpleUploadedFile("台账.csv", path.read_bytes())})
    assert response.status_code == 302
    assert run("importers_worker", "--once")[0] == 0
    return ImportJob.objects.get()


@pytest.fixture
def ledger_roles(areas, admin_user):
    """For the project and fund ledgers: two line departments with a clerk each, the finance bureau, a township
    clerk and the county administrator."""
    from types import SimpleNamespace

    water = make_department("水利局", (AssetType.WATER_SUPPLY,))
    roads = make_department("交通运输局", (AssetType.ROAD,))
    return SimpleNamespace(
        areas=areas, admin=admin_user, water=water, roads=roads,
        water_clerk=make_user("water", Role.DEPARTMENT, department=water),
        roads_clerk=make_user("roads", Role.DEPARTMENT, department=roads),
        finance=make_user("finance", Role.FINANCE), township=make_user("west", Role.TOWNSHIP, area=areas.west),
    )


def run_ledger(tmp_path: Path, command: str, path, *args) -> tuple[int, dict]:
    """import_projects / import_funds with --report: (exit status, the JSON report with the output)."""
    report = tmp_path / f"{command}.json"
    report.unlink(missing_ok=True)
    code, out = run(command, str(path), *[str(a) for a in args], "--report", str(report))
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    data["output"] = out
    return code, data
