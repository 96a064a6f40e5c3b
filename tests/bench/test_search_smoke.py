"""The search benchmark (bench/search.py) runs end to end on the test world, so it cannot rot."""

from types import SimpleNamespace

from bench import search
from layers.services import SEARCH_BUDGET_MS


def test_search_benchmark_quick(db, map_world):
    asked = search.texts()
    assert asked["a type's name"].startswith(asked["its first two characters"])
    assert asked["a village's name"] == "西南村" and asked["a code's start"] == map_world.road.code[:12]
    assert asked["a character no name holds"] == "镇"  # 西镇 and 东镇 are townships: 镇 is in no asset's or village's name
    rows = search.search_benchmark(SimpleNamespace(quick=True, repeat=1, scale=1.0, out=None))
    assert [r["name"].split(":")[0] for r in rows] == [
        f"search (public, {len(asked)} texts)", "search (public)", f"search (province administrator, {len(asked)} texts)",
        "search (province administrator)", f"search (county administrator, {len(asked)} texts)",
        "search (county administrator)"]
    for r in rows:
        assert r["value"] > 0 and r["anchor"] == SEARCH_BUDGET_MS and r["target"] is None and r["pass"] is None
