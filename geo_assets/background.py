"""Background work besides imports that the worker (`manage.py importers_worker`) runs: an app registers each kind
in its AppConfig.ready, so the worker runs it without importing the app (no import across apps of one layer)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    claim: Callable[[], object | None]  # the next waiting item, marked as taken, or None
    run: Callable[[object], str]  # runs the item; returns the line the worker prints


KINDS: dict[str, Kind] = {}


def kind_register(*, name: str, claim, run) -> None:
    KINDS[name] = Kind(name, claim, run)


def next_item() -> tuple[Kind, object] | None:
    """The first waiting item of any registered kind."""
    for kind in KINDS.values():
        item = kind.claim()
        if item is not None:
            return kind, item
    return None
