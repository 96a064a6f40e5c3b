"""Fixtures of the benchmark tests (bench/): the factory world of the tile tests, committed for the benchmarks'
servers, and the small demo county of the report tests."""

import pytest

from tests.layers.conftest import make_world, populate
from tests.world import build_checked_county


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
    """tests/world.py's build_checked_county (the reports' checked_county, built per test here): 2 townships ×
    3 villages × ~8 assets, the lifecycle records, and verifications with findings."""
    return build_checked_county()
