import pytest

from tests.factories import make_admin, make_areas


@pytest.fixture
def areas(db):
    return make_areas()


@pytest.fixture
def admin_user(db):
    return make_admin()
