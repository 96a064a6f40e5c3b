"""The one place settings read the environment."""

import glob
import os
import site
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def local_database_url() -> str:
    """URL of the project-local cluster started by `make db` (scripts/localdb.sh)."""
    socket_dir = BASE_DIR / "var" / "run"
    return f"postgis://assets@/assets?host={socket_dir}&port=54329"


def local_owner_url() -> str:
    """URL of the schema's owner on the project-local cluster (`scripts/localdb.sh --owner`): DATABASE_OWNER_URL."""
    return local_database_url().replace("postgis://assets@", "postgis://assets_owner@", 1)


def wheel_library(package_libs: str, pattern: str) -> str | None:
    """Path of a shared library bundled in a binary wheel (e.g. pyogrio.libs/libgdal-*.so)."""
    for root in site.getsitepackages():
        found = sorted(glob.glob(os.path.join(root, package_libs, pattern)))
        if found:
            return found[0]
    return None
