"""The map's search (/api/v1/search/, layers.services.assets_searched): each way of finding an asset, the public's
names only, and a short text that cannot be looked for everywhere in time (geo_assets.dbrouting.statement_budget)."""

import contextlib

import pytest
from django.db import connection, transaction
from django.test import Client

from geo_assets.dbrouting import OverBudget, statement_budget
from geo_assets.taxonomy import AssetType
from tests.factories import make_asset
from tests.layers.conftest import as_user


def found(client, q: str) -> list[str]:
    return [r["code"] for r in client.get("/api/v1/search/", {"q": q}).json()["results"] if r["kind"] == "asset"]


def test_an_asset_is_found_by_a_long_or_short_part_of_its_name_by_its_codes_start_and_by_its_village(world):
    inspector = as_user(world.inspector)
    assert found(inspector, "村饮水站") == [world.water.code]  # three characters or more: the trigram index
    assert found(inspector, "饮水") == [world.water.code]  # fewer: read in code order
    assert found(inspector, world.water.code[:14]) == [world.water.code]
    assert found(inspector, world.water.code[:2]) == sorted(
        a.code for a in (world.road, world.water, world.greenhouse, world.livestock))
    assert found(inspector, world.water.code[3:]) == []  # a code is found by its start only
    assert found(inspector, "东南村") == [world.greenhouse.code]  # the village's name, not the asset's
    assert found(inspector, "没有这个") == [] and found(inspector, "%") == [] and found(inspector, "_") == []


def test_the_public_finds_a_household_asset_by_its_public_name_never_by_the_beneficiarys(world):
    household = make_asset(actor=world.admin, name="欧阳春福到户养殖", asset_type=AssetType.LIVESTOCK,
                           area=world.areas.west_south, is_published=True)
    household.refresh_from_db()
    assert "欧阳春福" not in household.public_name
    for q in ("欧阳春福", "欧阳"):
        assert found(Client(), q) == [], q
        assert found(as_user(world.inspector), q) == [household.code], q
    assert household.code in found(Client(), household.public_name[:4])


def test_a_short_text_over_its_budget_keeps_the_villages_matches_and_says_the_search_is_incomplete(world, monkeypatch):
    from layers import services

    @contextlib.contextmanager
    def over(using, *, ms):
        raise OverBudget(f"over {ms} ms")
        yield

    body = Client().get("/api/v1/search/", {"q": "南村"}).json()
    assert body["complete"] is True and "note" not in body
    monkeypatch.setattr(services, "statement_budget", over)
    body = Client().get("/api/v1/search/", {"q": "南村"}).json()
    assert body["complete"] is False and "3" in body["note"]
    # the greenhouse of 东南村 through its village; the road of 西南村 is found the same way
    assert {r["code"] for r in body["results"] if r["kind"] == "asset"} == {world.greenhouse.code, world.road.code}
    long = Client().get("/api/v1/search/", {"q": "东南村大"}).json()  # the trigram path has no budget to run over
    assert long["complete"] is True and [r["code"] for r in long["results"]] == [world.greenhouse.code]


@pytest.mark.django_db
@pytest.mark.parametrize("outer", [False, True])
def test_a_statement_over_its_budget_is_cancelled_and_the_transactions_setting_stays(outer):
    def timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    with transaction.atomic() if outer else contextlib.nullcontext():
        before = timeout()
        with pytest.raises(OverBudget), statement_budget("default", ms=50):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")
        assert timeout() == before
        with statement_budget("default", ms=1000):
            assert timeout() == "1s"
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        assert timeout() == before
        with connection.cursor() as cursor:  # the enclosing transaction still works
            cursor.execute("SELECT 2")
            assert cursor.fetchone() == (2,)
