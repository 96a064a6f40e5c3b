"""The tile benchmarks (bench/layers.py, `make bench`) run end to end on tiny data: a real gunicorn server, the
HTTP trace, the SQL anchor and the low-zoom comparison, so they cannot rot."""

from types import SimpleNamespace

from bench import layers

QUICK = SimpleNamespace(quick=True, repeat=1, scale=1.0)


def _check(rows, names):
    assert [r["name"].split(":")[0] for r in rows] == names
    for r in rows:
        assert set(r) >= {"name", "value", "unit", "anchor", "anchor_name", "ratio", "target", "pass"}
        assert r["value"] > 0 and r["anchor"] > 0 and r["ratio"] is not None, r
        assert r["anchor_name"] and r["target"] is None and r["pass"] is None  # quick: no targets


def test_tiles_benchmark_quick(committed_world):
    rows = layers.tiles_benchmark(QUICK)
    http = "tiles z10–z14 HTTP ({}, 40 tiles, 8 conn)"
    _check(rows, [http.format("inspector"), http.format("inspector"), "tiles z10–z14 (inspector)",
                  http.format("public"), http.format("public"), "tiles z10–z14 (public)"])
    p95 = rows[0]
    assert p95["unit"] == "ms" and p95["worker_rss_mb"] > 0 and p95["client_rss_mb"] > 0
    assert p95["requests"] == 40 and p95["cpu_ms_per_request"]["server"] >= 0
    assert set(p95["statements"]) <= {"precomputed", "detail", "clusters"}
    assert rows[2]["value"] <= rows[2]["anchor"]  # no tile over MAX_TILE_BYTES


def test_lowzoom_benchmark_quick(committed_world):
    rows = layers.lowzoom_benchmark(QUICK)
    names = ["low-zoom z6–z9 (inspector)", "low-zoom z6–z9 (public)", "low-zoom z6–z9 (inspector, status=idle,damaged)"]
    _check(rows, [name for name in names for _ in range(2)])
    assert rows[0]["statements"] == {"precomputed": rows[0]["tiles"]} and rows[0]["live_p95_ms"] > 0
    assert rows[1]["value"] < rows[1]["anchor"]  # clusters are smaller than every asset drawn
