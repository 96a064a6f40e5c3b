"""The map page opened without a permalink draws its first view's clusters from the page itself (issue 22): the same
document /api/v1/map/clusters/ gives the same user for that range — the same scope, the public's for the public —
cached per scope and data version without ever giving one scope's clusters to another; a permalink asks as before."""

import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser

from geo_assets.taxonomy import AssetType, Role
from tests.factories import make_asset, make_user
from tests.world import client_for

VISIBLE = {"anonymous": {"road", "greenhouse"}, "clerk": {"road", "water"}, "department": {"road"},
           "inspector": {"road", "water", "greenhouse", "livestock"}, "village": {"water"}}
WRITTEN = re.compile(r'<script id="first-clusters" type="application/json">(.*?)</script>', re.S)


def _user(world, who):
    if who == "village":
        return make_user("north_clerk", Role.VILLAGE, area=world.areas.west_north)
    return AnonymousUser() if who == "anonymous" else getattr(world, who)


def _written(client) -> list[dict]:
    response = client.get("/")
    assert response.status_code == 200
    return json.loads(WRITTEN.search(response.content.decode()).group(1))


def _api(client, r: dict) -> dict:
    response = client.get("/api/v1/map/clusters/", {k: r[k] for k in ("z", "x0", "y0", "x1", "y1")})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_the_page_holds_what_the_api_gives_the_same_user(map_world, who):
    client = client_for(_user(map_world, who))
    written = _written(client)
    assert written, "no range written for the default view"
    for r in written:
        assert r["doc"] == _api(client, r)
        # every asset of the county is in the first view: the counts are exactly the assets this user may see
        assert sum(c[0] for c in r["doc"]["clusters"]) == len(VISIBLE[who])


def test_the_cache_never_gives_one_scope_anothers_and_follows_the_data(map_world):
    w = map_world
    users = {who: _user(w, who) for who in ("inspector", "anonymous", "department", "village", "clerk")}
    for _round in range(2):  # the second round from the cache
        for who, user in users.items():
            for r in _written(client_for(user)):
                assert sum(c[0] for c in r["doc"]["clusters"]) == len(VISIBLE[who]), who
    # a write through the services moves the data version: the next page has the new asset
    make_asset(actor=w.admin, name="西北村第二饮水站", asset_type=AssetType.WATER_SUPPLY, area=w.areas.west_north)
    for who, expected in (("inspector", 5), ("anonymous", 2), ("village", 2)):
        client = client_for(users[who])
        for r in _written(client):
            assert sum(c[0] for c in r["doc"]["clusters"]) == expected, who
            assert r["doc"] == _api(client, r)
