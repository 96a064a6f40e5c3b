"""The verification tests' photos and records are built by tests/factories.py; this name stays for the imports of
the files another branch moves (tests/maps/test_timeline.py)."""

from tests.factories import make_verification, photo, record  # noqa: F401
