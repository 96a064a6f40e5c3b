"""How a web process's Python runs once Django is loaded: its garbage collector (config/wsgi.py; the benchmarks'
child processes that stand for a worker call the same function).

CPython's cyclic collector runs a full collection (every tracked object) every few hundred thousand allocations: with
Django, GeoDjango and the apps loaded that is ~110 000 objects, 50–95 ms on the benchmark machine, in the middle of
whatever request is being served — one village's report in ten took it (docs/performance.md). The objects loaded at
start live as long as the process: frozen, no collection looks at them again. A young generation of 20 000 objects
instead of 700 makes a report's thousands of rows one or two collections instead of a dozen."""

import gc

YOUNG_THRESHOLD = 20_000  # CPython's default: 700
OLDER_THRESHOLDS = (10, 10)  # CPython's defaults


def web_process_ready() -> None:
    """Once per process, after Django and the apps are loaded: what exists now is kept for the process's life."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
