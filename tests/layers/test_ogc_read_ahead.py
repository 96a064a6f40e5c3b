"""Read-ahead of the /ogc/ asset pages (layers.ogc.items_page_served): while a client reads page k, the process
computes page k+1 on a thread of its own and hands it over to exactly that request — same user, same scope, same
language, same parameters — and to no other. Committed data (transactional tests): the thread has a connection of
its own."""

import datetime
import json
import threading

import pytest
from django.conf import settings
from django.http import QueryDict

from geo_assets.models import Asset, Membership
from layers import ogc
from tests.factories import make_asset
from tests.layers.conftest import as_user
from tests.world import build_map_world

pytestmark = pytest.mark.django_db(transaction=True)


def decoded(encoded: dict) -> list[dict]:
    return json.loads("[" + encoded["features"].decode() + "]")


def more_assets(world, n: int = 9):
    for i in range(n):
        make_asset(actor=world.admin, name=f"西南村道路{i}", area=world.areas.west_south, is_published=i % 2 == 0)
    Asset.objects.filter(pk=world.water.pk).update(updated_at=datetime.datetime(2025, 6, 1, 8, 30, tzinfo=datetime.UTC))


def next_of(data: dict) -> str:
    return next(link["href"] for link in data["links"] if link["rel"] == "next")


@pytest.fixture
def counted(monkeypatch):
    """The threads on which items_page_encoded computed a page, in order."""
    calls = []
    real = ogc.items_page_encoded

    def spy(collection, query, user, **kwargs):
        calls.append(threading.current_thread().name)
        return real(collection, query, user, **kwargs)

    monkeypatch.setattr(ogc, "items_page_encoded", spy)
    ogc.READ_AHEAD.entries.clear()
    yield calls
    for _started, future in list(ogc.READ_AHEAD.entries.values()):
        future.cancel()
    ogc.READ_AHEAD.entries.clear()


def test_read_ahead_serves_the_next_page_computed_while_the_client_reads(counted):
    world = build_map_world()
    more_assets(world)
    client = as_user(world.inspector)
    first = client.get("/ogc/collections/assets/items?limit=4").json()
    assert len(ogc.READ_AHEAD.entries) == 1  # page 2, on its way
    second = client.get(next_of(first)).json()
    assert counted[0] == "MainThread" and all(n.startswith("ogc-read-ahead") for n in counted[1:])
    assert counted.count("MainThread") == 1  # page 2 came from the read-ahead, not from the request
    # and it is the page the request would have computed, without numberMatched as any follow-up page
    found = ogc.collection_get("assets", world.inspector)
    query = ogc.items_query(found, QueryDict(next_of(first).split("?", 1)[1]), world.inspector)
    python = ogc.items_page(found, query, world.inspector)
    assert second["features"] == python["features"] and "numberMatched" not in second
    seen = [f["id"] for f in first["features"] + second["features"]]
    url = next_of(second)
    while url:
        page = client.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == Asset.objects.count() == 13
    assert counted.count("MainThread") == 1  # every later page was read ahead too


def test_read_ahead_is_not_handed_to_another_user_scope_or_language(counted):
    world = build_map_world()
    more_assets(world)
    clerk = as_user(world.clerk)  # township 西镇: the road, the water and the new roads
    first = clerk.get("/ogc/collections/assets/items?limit=2").json()
    url = next_of(first)
    # another user asking for the same page: computed for them, not handed the clerk's
    inspector_page = as_user(world.inspector).get(url).json()
    assert counted.count("MainThread") == 2
    # the clerk moved to 东镇 meanwhile: the page read ahead under the old scope is not used
    Membership.objects.filter(user=world.clerk).update(area=world.areas.east)
    moved = clerk.get(url).json()
    assert counted.count("MainThread") == 3
    assert {f["id"] for f in moved["features"]} == {world.greenhouse.code, world.livestock.code}  # 东镇's, after the key
    assert {f["id"] for f in inspector_page["features"]} == {world.greenhouse.code, world.livestock.code}
    # another language (the language cookie): the labels differ, so the page read ahead is not used either
    inspector = as_user(world.inspector)
    first = inspector.get("/ogc/collections/assets/items?limit=3").json()
    assert counted.count("MainThread") == 4 and not first["features"][0]["properties"]["category_label"].isascii()
    inspector.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = inspector.get(next_of(first)).json()
    assert counted.count("MainThread") == 5
    assert all(f["properties"]["category_label"].isascii() for f in english["features"])
