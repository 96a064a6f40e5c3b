"""geo_assets.auth.ScopedModelBackend: the user and the role scope in one query, never stale."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo_assets import services
from geo_assets.access import PUBLIC_SCOPE, scope_for
from geo_assets.auth import ScopedModelBackend
from geo_assets.taxonomy import AssetType, Role
from tests.factories import make_asset, make_department, make_user


@pytest.fixture
def users(areas, admin_user):
    transport = make_department("交通运输局", [AssetType.ROAD, AssetType.HEALTH])
    return [
        admin_user,
        make_user("root", "superuser"),
        make_user("inspector", Role.INSPECTOR),
        make_user("transport", Role.DEPARTMENT, department=transport),
        make_user("west", Role.TOWNSHIP, area=areas.west),
        make_user("westnorth", Role.VILLAGE, area=areas.west_north),
        make_user("citizen", Role.PUBLIC, staff=False),
        make_user("nobody", None),
    ]


def test_backend_scope_equals_scope_for_every_role(users):
    backend = ScopedModelBackend()
    for user in users:
        fresh = get_user_model().objects.get(pk=user.pk)  # no cached scope: scope_for queries the membership
        with CaptureQueriesContext(connection) as queries:
            loaded = backend.get_user(user.pk)
            scope = scope_for(loaded)
        assert scope == scope_for(fresh), user.username
        assert len(queries) == 1, (user.username, [q["sql"] for q in queries])
    assert scope_for(backend.get_user(users[-1].pk)) == PUBLIC_SCOPE


def test_inactive_or_missing_user_is_none(users):
    users[4].is_active = False
    users[4].save()
    backend = ScopedModelBackend()
    assert backend.get_user(users[4].pk) is None
    assert backend.get_user(10**9) is None


def test_logged_in_request_reads_no_membership_and_sees_role_changes_at_once(client, users, admin_user, areas):
    clerk = users[5]  # village clerk of west_north
    north = make_asset(actor=admin_user, area=areas.west_north, name="北村道路")
    east = make_asset(actor=admin_user, area=areas.east_south, name="东村道路")
    client.force_login(clerk)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/assets/?format=json")
    assert response.status_code == 200
    sql = " ".join(q["sql"] for q in queries)
    assert "geo_assets_membership" in sql and '"auth_user"' in sql  # joined into the user's query...
    assert not any(q["sql"].lstrip().startswith('SELECT "geo_assets_membership"') for q in queries)  # ...only there
    assert north.code in response.content.decode() and east.code not in response.content.decode()

    services.user_grant_role(actor=admin_user, username=clerk.username, role=Role.TOWNSHIP, area_code=areas.east.code)
    still = client.get("/api/v1/assets/?format=json").content.decode()
    assert north.code in still and east.code not in still  # a second role, not yet the one in use
    services.membership_activate(actor=clerk, membership_id=clerk.memberships.get(role=Role.TOWNSHIP).pk)
    after = client.get("/api/v1/assets/?format=json").content.decode()
    assert east.code in after and north.code not in after


def test_user_and_session_statements_are_prepared_once_per_connection(client, users):
    client.force_login(users[5])
    for _ in range(3):
        assert client.get("/api/v1/assets/?format=json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert sum('FROM "auth_user"' in s for s in prepared) == 1, prepared
    assert sum('FROM "django_session"' in s for s in prepared) == 1, prepared
