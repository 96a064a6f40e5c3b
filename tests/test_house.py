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
