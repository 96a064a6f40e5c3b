"""Fixtures of the project ledgers' tests: the small demo county with its demo projects (projects/demo.py)."""

import pytest

from tests.world import built_once, copy_for_test, small_county


def build_demo_projects():
    """The small demo county (tests/world.py, small_county), its demo logins, and the demo project and fund ledgers
    loaded on it; returns (its administrator, what the loader reported)."""
    from geo_assets import demo
    from projects.demo import demo_projects_load

    admin = small_county()
    demo.demo_users_ensure()
    return admin, demo_projects_load(actor=admin)


built_demo_projects = built_once(build_demo_projects)


@pytest.fixture
def demo_projects(built_demo_projects, db, settings):
    """build_demo_projects, built once per module: (administrator, DemoFindings)."""
    return copy_for_test(built_demo_projects, settings)
