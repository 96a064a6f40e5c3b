"""Profiles behind docs/performance.md's issue-22 figures: `python -m bench.profiles.<name> …` against DATABASE_URL
(the benchmark province, as the schema's owner). They print; they measure nothing `make bench` relies on."""
