"""The house rules of the test suite that a reader relies on (issue 16): no test file imports another test file —
shared fixtures live in a folder's conftest.py, shared builders in factories/builder modules."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


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


# The lifecycle tests' own `county` fixtures: those files move to tests/lifecycle/ on another branch (issue 16 item
# 3), which consolidates them there; remove an entry once its fixture is in a conftest.py.
LOCAL_DATA_FIXTURES_PENDING = {"test_lifecycle.py", "test_lifecycle_rules.py", "test_lifecycle_pages.py",
                               "test_lifecycle_pages_browser.py"}


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
        if path.name not in LOCAL_DATA_FIXTURES_PENDING and path.parent.name != "lifecycle"
    }
    assert {path: names for path, names in offenders.items() if names} == {}
