"""Issue 16 item 2: measurement lives in bench/ alone. No module of the product (its apps and config/) imports
bench, none of them holds a benchmark module, and the production settings do not install the bench app."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
REAL_SECRET = "k3J9-vQ2_xP7zL0mN5bR8tW1yC4fH6dG9sA2eU5iO8pK1jM3nB7vX0qZ4wE6rT9"


def product_packages() -> list[Path]:
    """Every installed app with a folder in the project except bench, and config/."""
    apps = [app.split(".")[0] for app in settings.INSTALLED_APPS]
    folders = [ROOT / app for app in apps if (ROOT / app / "__init__.py").exists() and app != "bench"]
    return [*folders, ROOT / "config"]


def bench_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        names += [m for m in modules if m == "bench" or m.startswith("bench.")]
    return names


def test_the_product_apps_are_the_expected_ones():
    names = {p.name for p in product_packages()}
    assert {"geo_assets", "importers", "layers", "maps", "reports", "verification", "config"} <= names
    assert "bench" in settings.INSTALLED_APPS  # development and test settings install it


def test_no_product_module_imports_bench():
    offenders = {str(path.relative_to(ROOT)): found for package in product_packages()
                 for path in sorted(package.rglob("*.py")) if (found := bench_imports(path))}
    assert offenders == {}


def test_no_benchmark_module_left_in_the_product():
    left = [str(path.relative_to(ROOT)) for package in product_packages() for path in package.rglob("*.py")
            if path.stem in ("bench", "benchkit", "province") or path.stem.startswith("bench_")]
    assert left == []


def test_production_settings_do_not_install_bench():
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings_production", SECRET_KEY=REAL_SECRET,
               ALLOWED_HOSTS="assets.example.gov.cn",
               DATABASE_URL=os.environ.get("DATABASE_URL", "postgis://assets@/assets?host=/nonexistent"))
    script = ("import json, django; django.setup(); from django.conf import settings; "
              "from django.core.management import get_commands; "
              "print(json.dumps([list(settings.INSTALLED_APPS), sorted(get_commands())]))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    apps, commands = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bench" not in apps and not [app for app in apps if app.startswith("bench.")]
    assert {"geo_assets", "reports"} <= set(apps)
    assert not {"bench", "bench_import", "bench_tiles", "bench_reports", "load_province"} & set(commands)
    assert "load_demo" in commands
