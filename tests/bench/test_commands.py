"""The measuring commands of the bench app on small data (moved from tests/layers/test_tiles.py and
tests/reports/test_reports.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_bench_tiles_command_prints_a_table(world):
    out = StringIO()
    call_command("bench_tiles", "--zooms", "10,14", "--tiles-per-zoom", "2", "--repeat", "1", stdout=out)
    text = out.getvalue()
    assert "assets: 4" in text and "median ms" in text
    assert "clusters" in text and "detail" in text


def test_bench_reports_command(county):
    out = StringIO()
    call_command("bench_reports", stdout=out)
    text = out.getvalue()
    assert "村级报告 6 个" in text and "全县报告" in text and "条 SQL" in text


def test_load_demo_size_province_points_to_load_province():
    """The province moved out of the product's load_demo: the old spelling says where it went."""
    with pytest.raises(CommandError, match="load_province"):
        call_command("load_demo", "--size", "province")


def test_table_keeps_small_values_and_long_names():
    from bench.kit import row, table

    long = "nearby: KNN through the API, p95, county administrator (whole province)"
    text = table([{**row(long, 3.51, "ms", 2.09, "sql", 1.3, higher_is_better=False), "runs": 3,
                   "load_average": [0.8, 1.1]},
                  row("rows/s", 12345.6, "rows/s", 0.055, "x", None)])
    head, _rule, first, second = text.splitlines()
    assert first.startswith(long) and head.index("value") + 5 == first.index("3.51") + 4  # columns line up
    assert "3.51" in first and "2.09" in first and "1.679" in first and "NO" in first and first.endswith("0.8→1.1")
    assert first.split()[-2] == "3" and head.index("runs") + 4 == first.index(" 0.8→1.1")  # the median of 3 runs
    assert "12,346" in second and "0.055" in second
    ratio = table([row("one village's figures vs its own SQL, p95 of the ratios", 1.995, "×", 1.0, "sql", 1.2,
                       higher_is_better=False)]).splitlines()[2]
    assert ratio.split()[-7:-4] == ["2.00", "1", "1.995"]  # not "2" beside the anchor's "1"


def test_make_bench_takes_medians_of_three_runs_where_single_runs_straddle_the_target():
    from bench.registry import BENCHMARKS, RUNS, runs

    assert set(RUNS) <= set(BENCHMARKS)
    assert [runs(n, repeat=None, quick=False) for n in ("tiles", "reports", "nearby", "browser")] == [3, 3, 3, 3]
    assert runs("import", repeat=None, quick=False) == 1  # a million rows: once
    assert runs("tiles", repeat=None, quick=True) == 1 and runs("tiles", repeat=5, quick=False) == 5


def test_pressure_is_read_from_the_kernels_stall_totals(tmp_path):
    from bench.kit import pressure_share, pressure_totals

    for resource, total in (("cpu", 1_000_000), ("memory", 0), ("io", 250_000)):
        (tmp_path / resource).write_text(f"some avg10=0.00 avg60=0.00 avg300=0.00 total={total}\n"
                                         "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", encoding="ascii")
    before = {"cpu": 0, "memory": 0, "io": 0}
    assert pressure_totals(str(tmp_path)) == {"cpu": 1_000_000, "memory": 0, "io": 250_000}
    assert pressure_share(before, pressure_totals(str(tmp_path)), 2.0) == {"cpu": 50.0, "memory": 0.0, "io": 12.5}
    assert pressure_totals(str(tmp_path / "absent")) is None and pressure_share(None, before, 1.0) is None


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction, as between two benchmarks
def test_settle_vacuums_the_dead_rows_a_benchmark_left():
    from django.db import connection

    from bench.kit import settle
    from geo_assets.dbroles import as_owner

    with as_owner(connection), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_settle_probe (id int)")
        try:
            cursor.execute("INSERT INTO bench_settle_probe SELECT generate_series(1, 3000)")
            cursor.execute("DELETE FROM bench_settle_probe WHERE id > 100")  # 2,900 dead rows, 100 live
            assert "bench_settle_probe" not in str(settle(dead_rows=5000, wait_s=0)["tables"])  # below the bar
            settled = settle(dead_rows=1000, wait_s=0)
            cursor.execute("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'bench_settle_probe'")
            assert ("public.bench_settle_probe", 2900) in settled["tables"], settled
            # vacuumed (whether its dead rows could go depends on the oldest transaction in the cluster)
            assert cursor.fetchone()[0]
        finally:
            cursor.execute("DROP TABLE bench_settle_probe")
