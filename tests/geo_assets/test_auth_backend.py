"""geo_assets.auth.ScopedModelBackend: the user and the role scope in one query, never stale."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo_assets import services
from geo_assets.access import PUBLIC_SCOPE, scope_for
from geo_assets.auth import ScopedModelBackend
from geo_assets.models import Session
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


def test_user_and_session_statement_is_prepared_once_per_connection(client, users):
    client.force_login(users[5])
    for _ in range(3):
        assert client.get("/api/v1/assets/?format=json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 1, prepared
    assert 'FROM "geo_assets_session"' in prepared[0] and 'FROM "auth_user"' in prepared[0]


def _auth_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if '"auth_user"' in q["sql"] or '"geo_assets_session"' in q["sql"]]


def test_logged_in_request_reads_session_and_user_in_one_statement(client, users):
    for user in users[:6]:
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/assets/?format=json")
        assert response.status_code == 200
        assert response.wsgi_request.user.pk == user.pk
        assert scope_for(response.wsgi_request.user) == scope_for(get_user_model().objects.get(pk=user.pk))
        assert len(_auth_statements(queries)) == 1, (user.username, _auth_statements(queries))


def test_session_without_user_id_still_resolves_its_user(client, users):
    """A session saved before the user's id was kept beside it (carried over by the migration): the user is read
    by its own statement."""
    client.force_login(users[4])
    Session.objects.filter(pk=client.session.session_key).update(user_id=None)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/assets/?format=json")
    assert response.status_code == 200 and response.wsgi_request.user.pk == users[4].pk
    assert len(_auth_statements(queries)) == 2


def test_session_user_id_disagreeing_with_its_data_is_not_trusted(client, users):
    client.force_login(users[4])
    Session.objects.filter(pk=client.session.session_key).update(user_id=users[0].pk)  # the county administrator
    response = client.get("/api/v1/assets/?format=json")
    assert response.status_code == 200 and response.wsgi_request.user.pk == users[4].pk
    assert scope_for(response.wsgi_request.user).role == Role.TOWNSHIP


def test_deactivated_or_changed_password_user_is_logged_out_by_the_joined_read(client, users):
    client.force_login(users[4])
    get_user_model().objects.filter(pk=users[4].pk).update(is_active=False)
    assert not client.get("/api/v1/assets/?format=json").wsgi_request.user.is_authenticated
    client.force_login(users[3])
    user = get_user_model().objects.get(pk=users[3].pk)
    user.set_password("another-long-password-1")
    user.save()
    assert not client.get("/api/v1/assets/?format=json").wsgi_request.user.is_authenticated


def test_session_keeps_its_user_id(client, users):
    client.force_login(users[2])
    assert Session.objects.get(pk=client.session.session_key).user_id == users[2].pk
    client.logout()
    assert not Session.objects.filter(user_id=users[2].pk).exists()


def test_clearsessions_deletes_the_expired_sessions_only(client, users):
    """deploy/systemd/assets-clearsessions.timer runs it daily, as the application's role."""
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    client.force_login(users[4])
    live = client.session.session_key
    Session.objects.create(session_key="x" * 32, session_data="", user_id=users[3].pk,
                           expire_date=timezone.now() - datetime.timedelta(seconds=1))
    call_command("clearsessions")
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
