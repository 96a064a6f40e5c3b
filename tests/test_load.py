"""The load test's smoke run (issue 20, "Load and faults"): the same locustfile `make load` runs
(bench/load/locustfile.py), 30 seconds against `make serve`'s stack on the test database with the map world:
no request fails, every user class made its requests, and every write the server accepted is in the database once.
The figures are printed; `make load` measures on the benchmark province (docs/performance.md)."""

import json

import pytest
from django.db import connection

from bench.load.faults import url_of
from bench.load.plan import plan_prepare
from bench.load.runner import MemoryWatch, figures, locust_run, requests_read, serving, writes_check
from verification.models import Verification

GROUPS = {"login", "tile", "search", "panel", "verification", "lifecycle", "report"}


@pytest.fixture
def plan(live_map_world, tmp_path):
    plan_prepare(tmp_path / "plan.json", sample=60)
    return tmp_path / "plan.json"


def test_locust_smoke_run_against_make_serve(plan, tmp_path, monkeypatch):
    monkeypatch.setenv("LOAD_RESEND_SHARE", "0.5")  # enough resends in 30 s to see them answered
    out = tmp_path / "locust"
    with serving(url_of(connection), tmp_path / "server", workers=2, threads=2) as server, \
            MemoryWatch(server) as memory:
        start, end = locust_run(server, plan, out, users=8, seconds=30)
    rows = requests_read(out)
    fig = figures(rows, end - start)
    # each request says whose it was; after their logins, the accounts' requests all had a session
    assert {who for _t, _name, group, *_r, who in rows if group != "login"} == {
        "load-map", "load-clerk", "load-verifier (token)"}
    writes = writes_check(out)
    print(f"\nsmoke: {fig.rate:.1f} req/s, tiles p95 {fig.tile_p95} ms, peak RSS {memory.peak_mb:.0f} MB, "
          f"writes {json.dumps(writes)}\n{json.dumps(fig.groups, indent=1)}")
    assert fig.failures == 0, fig.failed
    assert set(fig.groups) == GROUPS, fig.groups  # every user class made requests
    assert all(group["requests"] > 0 for group in fig.groups.values())
    assert writes["verifications"] > 0 and writes["lifecycle_steps"] > 0
    assert writes["resends_answered"] > 0  # the same client_id again: 200 with the first record
    assert writes["lost"] == 0 and writes["duplicates"] == 0
    # the resends made no record: one verification per client_id the phones used
    ours = Verification.objects.filter(note__startswith="load ")
    assert ours.count() == ours.values("client_id").distinct().count() == writes["verifications"]
    assert memory.peak_mb > 0
