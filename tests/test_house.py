"""The house rules a reader relies on (issue 16): the apps stay in their layers with no import circle (the
import-linter contracts in pyproject.toml), and no test file imports another test file — shared fixtures live in a
folder's conftest.py, shared builders in factories/builder modules."""

import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_test_file_imports_another_test_file():
    offenders = {
        str(path.relative_to(TESTS)): sorted(m for m in imported_modules(path)
                                             if m.startswith("tests.") and m.rsplit(".", 1)[-1].startswith("test_"))
        for path in TESTS.rglob("*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_apps_stay_in_their_layers_without_circles():
    """lint-imports checks every contract of pyproject.toml: an upward import, an import between two apps of one
    layer, or a circle between the modules of an app fails here with the offending import chain."""
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--config",
                             str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


APPS = ("geo_assets", "projects", "importers", "verification", "lifecycle", "layers", "maps", "reports", "bench",
        "config")


def app_imports() -> dict[str, set[str]]:
    """Which apps each app imports directly (any module of it, at any depth, lazily or not)."""
    import grimp

    graph = grimp.build_graph(*APPS, cache_dir=None)
    return {a: {b for b in APPS if b != a and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}
            for a in APPS}


def readme_names(text: str, label: str) -> set[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"**{label}:**"))
    words = {w.strip(" `.") for w in line.removeprefix(f"**{label}:**").split(",")}
    return set() if words == {"nothing"} else words


def test_each_app_readme_says_what_it_imports_and_what_imports_it():
    """Each app's README.md has the lines `**Imports:** a, b.` and `**Imported by:** c.` (or `nothing`), kept true."""
    imports = app_imports()
    wrong = {}
    for app in APPS:
        text = (ROOT / app / "README.md").read_text(encoding="utf-8")
        said = readme_names(text, "Imports"), readme_names(text, "Imported by")
        actual = imports[app], {other for other in APPS if app in imports[other]}
        if said != actual:
            wrong[app] = {"README": said, "code": actual}
    assert wrong == {}


def local_fixtures(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in ("pytest.fixture", "fixture"):
                    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
                    names |= {k.value.value for k in keywords if k.arg == "name"} or {node.name}
    return names


def test_the_data_sets_are_fixtures_of_a_conftest():
    """`world` and `county` (the data sets most tests start from) are built by tests/factories.py and tests/world.py
    in a conftest.py, never redefined by a test file as a near-copy of another (tests/world.py says where each is)."""
    offenders = {
        str(path.relative_to(TESTS)): sorted(local_fixtures(path) & {"world", "county"})
        for path in TESTS.rglob("test_*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_template_comment_spans_two_lines():
    # Django's {# … #} ends on its own line: one left open is printed on the page ({% comment %} spans lines)
    templates = [p for p in ROOT.glob("**/templates/**/*.html") if ".venv" not in p.parts and "var" not in p.parts]
    assert len(templates) > 20
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in templates
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "{#" in line and "#}" not in line[line.index("{#"):]]
    assert offenders == []


def test_every_geometry_column_has_a_named_gist_index_and_a_validity_check(db):
    """The register's rule for geometries (CONTRIBUTING: a named GiST index and a validity constraint on every
    geometry column), read from the database itself. History tables are copies for the record, read by id only."""
    from django.apps import apps
    from django.contrib.gis.db.models import GeometryField
    from django.db import connection

    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model.__name__.startswith("Historical"):
                continue
            table = model._meta.db_table
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
            indexes = cursor.fetchall()
            cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                           "AND contype = 'c'", [table])
            checks = [definition for (definition,) in cursor.fetchall()]
            for field in model._meta.concrete_fields:
                if not isinstance(field, GeometryField) or field.generated:
                    continue
                column = connection.ops.quote_name(field.column)
                gist = [name for name, definition in indexes if f"USING gist ({column})" in definition
                        or f"USING gist ({field.column})" in definition]
                if all(name.endswith("_id") for name in gist):  # none, or only GeoDjango's spatial_index name
                    missing.append(f"{table}.{field.column}: no named GiST index")
                if not any("st_isvalid" in c.lower() and field.column in c for c in checks):
                    missing.append(f"{table}.{field.column}: no validity check")
    assert not missing, missing
