"""Fixtures of the benchmark tests (bench/): the factory world of the tile tests, committed for the benchmarks'
servers, and the small demo county of the report tests."""

import pytest
from django.utils import timezone

from geo_assets import demo
from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from lifecycle.demo import demo_lifecycle_load
from tests.factories import make_admin, make_user
from tests.layers.conftest import make_world, populate
from verification import services as verification


@pytest.fixture
def world(db):
    """tests/layers/conftest.py's world: four assets in the factory county."""
    return make_world()


@pytest.fixture
def committed_world(transactional_db):
    """Committed data: the benchmark's server is another process."""
    world = make_world()
    populate(world, count=12)
    return world


@pytest.fixture
def county(db):
    """As tests/reports/test_reports.py's: 2 townships × 3 villages × ~8 assets, the lifecycle records, and
    verifications with findings."""
    admin = make_admin()
    demo.demo_load(actor=admin, townships=2, villages_per_township=3, assets_per_village=8)
    demo_lifecycle_load(actor=admin)
    checker = make_user("checker", Role.COUNTY_ADMIN)  # one may not review one's own record
    for asset, finding in zip(Asset.objects.exclude(status="disposed").exclude(asset_type__in=["equity", "debt"])
                              .order_by("code")[:3], ("damaged", "not_found", "intact"), strict=True):
        record = verification.verification_record(
            actor=checker, asset_code=asset.code, finding=finding, lon=asset.location.x, lat=asset.location.y,
            accuracy_m=5, observed_at=timezone.now(), photos=[]).verification
        if record.review == "pending":
            verification.verification_review(actor=admin, verification=record, approve=True, comment="属实")
    return admin
