from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The measurement app (issue 11, issue 16 item 2): benchmarks, the benchmark province and their commands.
    Installed by config/settings.py (development, tests) only; config/settings_production.py removes it."""

    name = "bench"
    label = "bench"
    verbose_name = "基准测试 (benchmarks)"
