"""Issue 20, faults: a replica that stops while reads are routed to it. The request that meets it is answered from
the primary (a GET only reads: the view runs once more there), the next ones go to the primary without trying it
for DATABASE_REPLICA_RETRY_S seconds, then it is tried again, and reads return to it by themselves once it answers."""

import socket

import pytest
from django.db import connections
from django.test import Client

from geo_assets import dbrouting
from geo_assets.taxonomy import Role
from tests.factories import make_areas, make_asset, make_user

ALIAS = "replica_stopped"
on_both = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on leaving: nothing listens there


def replica_settings(*, reachable: bool) -> dict:
    """The primary's copy as a replica alias (a TEST MIRROR: no test database of its own); unreachable: on a port
    where nothing listens, as a stopped standby."""
    primary = {**connections["default"].settings_dict, "TEST": {}}
    config = {**primary, "ATOMIC_REQUESTS": False, "TEST": {"MIRROR": "default"}}
    if not reachable:
        port = closed_port()
        config.update(HOST="127.0.0.1", PORT=str(port),
                      OPTIONS={**config.get("OPTIONS", {}), "host": "127.0.0.1", "port": port, "connect_timeout": 2})
    return connections.configure_settings({"default": primary, ALIAS: config})[ALIAS]


@pytest.fixture(scope="module")
def replica_alias(django_db_setup):
    """Defined before the test's database access is set up (which checks the aliases it is given)."""
    connections.settings[ALIAS] = replica_settings(reachable=False)
    yield ALIAS
    connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


@pytest.fixture
def stopped_replica(replica_alias, settings):
    connections[ALIAS].close()
    connections.settings[ALIAS] = replica_settings(reachable=False)
    del connections[ALIAS]
    settings.DATABASE_REPLICAS = [ALIAS]
    settings.DATABASE_REPLICA_RETRY_S = 30
    dbrouting._down_until.clear()
    yield ALIAS
    dbrouting._down_until.clear()


def replica_connected() -> bool:
    return connections[ALIAS].connection is not None


@on_both
def test_a_stopped_replica_costs_no_request_and_reads_return_to_it_when_it_answers(stopped_replica, monkeypatch):
    areas = make_areas()
    admin = make_user("admin", Role.COUNTY_ADMIN)
    road = make_asset(actor=admin, area=areas.west_south, name="甲道路")
    client = Client()
    client.force_login(admin)
    report = f"/reports/villages/{areas.west_south.code}/"  # a route read from the replica (DATABASE_REPLICA_ROUTES)

    first = client.get(report)  # meets the stopped replica: answered from the primary
    assert first.status_code == 200 and "甲道路" in first.content.decode()
    assert ALIAS in dbrouting._down_until and dbrouting.replicas_up() == []
    assert not replica_connected()

    again = client.get(report)  # within the retry time: straight to the primary, no attempt on the replica
    assert again.status_code == 200 and not replica_connected()

    # the retry time passes, the replica still stopped: tried once more, the request answered all the same
    dbrouting._down_until[ALIAS] = 0.0
    retried = client.get(report)
    assert retried.status_code == 200 and dbrouting.replicas_up() == []

    # it answers again (here: the primary's copy), the retry time passes: reads go back to it by themselves
    connections[ALIAS].close()
    connections.settings[ALIAS] = replica_settings(reachable=True)
    del connections[ALIAS]
    dbrouting._down_until[ALIAS] = 0.0
    back = client.get(report)
    assert back.status_code == 200 and "甲道路" in back.content.decode() and road.code in back.content.decode()
    assert dbrouting.replicas_up() == [ALIAS] and replica_connected()
    statuses = [first.status_code, again.status_code, retried.status_code]
    print(f"replica_stop: {len(statuses)} requests while the replica was stopped, "
          f"{sum(s != 200 for s in statuses)} failed {statuses}; reads back on the replica once it answered")


@on_both
def test_a_write_never_meets_the_replica_and_a_stopped_one_changes_nothing_for_it(stopped_replica):
    areas = make_areas()
    admin = make_user("admin", Role.COUNTY_ADMIN)
    client = Client()
    client.force_login(admin)
    response = client.post("/account/role/", {"membership": str(admin.memberships.get().pk)})
    assert response.status_code in (200, 302) and not replica_connected()
    assert dbrouting._down_until == {}
    assert areas.county.code
