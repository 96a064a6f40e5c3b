"""Shared helpers of the benchmarks (issue 11, `make bench`): result rows, percentiles, peak memory.

A benchmark is a function `(options) -> list[dict]` registered in scripts/bench.py; options has `quick` (tiny data,
no targets: the test suite's smoke run), `repeat` (runs per measurement, medians reported) and `scale`.
Every row names its anchor, measured in the same run on the same machine.
"""

import statistics


def row(name: str, value: float | None, unit: str, anchor: float | None, anchor_name: str, target: float | None, *,
        higher_is_better: bool = True, **extra) -> dict:
    """One line of bench/results.json: the figure, its anchor, value ÷ anchor and whether the target holds."""
    ratio = value / anchor if anchor and value is not None else None
    passed = None if target is None or ratio is None else (ratio >= target if higher_is_better else ratio <= target)
    return {"name": name, "value": value, "unit": unit, "anchor": anchor, "anchor_name": anchor_name,
            "ratio": None if ratio is None else round(ratio, 3),
            "target": None if target is None else f"{'≥' if higher_is_better else '≤'} {target}", "pass": passed,
            **extra}


def percentile(values, q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; the median for q=50."""
    data = sorted(values)
    if not data:
        raise ValueError("no values")
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory (VmHWM). Not getrusage: a child's ru_maxrss also counts the parent's pages
    it carried between fork and exec, so a small process started by a big one would look as big as its parent."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
