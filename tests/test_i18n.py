"""Both languages complete (issue 16, item 5).

English: every message a user reads is written in English in the code and goes through gettext, so no Chinese may
stand outside a gettext call in the product's Python, templates and scripts — except data that is Chinese in either
language (the ledger's own vocabulary the importer reads, demo records), listed below with the reason.
Chinese: every message gettext sees has a translation in locale/zh_Hans (django.po and djangojs.po), found by running
makemessages over a copy of the tree, so a message added without its translation fails here.
"""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]")  # the ideographic space U+3000 is layout, not text
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
                 "npgettext", "npgettext_lazy", "gettext_noop", "_lazy", "_noop"}
# Data that is Chinese whatever the interface language: the words the importer recognises in a county's ledger and
# the tokens it writes back into one, and the demo county's records.
DATA_MODULES = {
    "importers/vocab.py": "the ledger's columns the importer recognises",
    "geo_assets/vocab.py": "the register's codes in the ledgers' wording, read and written in either language",
    "geo_assets/demo.py": "demo county records",
    "verification/demo.py": "demo verification records",
    "lifecycle/demo.py": "demo lifecycle records",
    "projects/demo.py": "demo project and fund ledgers",
}
# A line ending with this comment holds ledger/data text (e.g. a column name the importer matches), not interface.
DATA_PRAGMA = "# i18n: data"


def product_dirs() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("*/apps.py") if p.parent.name not in {"bench", "tests"}) + [ROOT / "config"]


def python_files():
    for base in product_dirs():
        for path in base.rglob("*.py"):
            if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in DATA_MODULES:
                yield path


def docstring_nodes(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def untranslated_python(path: Path, root: Path = ROOT) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    skip = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in GETTEXT_NAMES:
                skip.update(id(n) for arg in node.args for n in ast.walk(arg))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and CJK.search(node.value):
            end = getattr(node, "end_lineno", node.lineno)
            if not any(lines[i - 1].rstrip().endswith(DATA_PRAGMA) for i in range(node.lineno, end + 1)):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:40]!r}")
    return found


TEMPLATE_TRANSLATED = re.compile(
    r"\{%\s*(?:translate|trans)\s.*?%\}"
    r"|\{%\s*(blocktranslate|blocktrans)\b.*?%\}.*?\{%\s*end\1\s*%\}"
    r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{#.*?#\}|<!--.*?-->",
    re.S)


def template_files():
    yield from (ROOT / "templates").rglob("*.html")
    for base in product_dirs():
        yield from (base / "templates").rglob("*.html")


def untranslated_template(path: Path, root: Path = ROOT) -> list[str]:
    text = TEMPLATE_TRANSLATED.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(root)}:{number}: {line.strip()[:60]}"
            for number, line in enumerate(text.splitlines(), 1) if CJK.search(line)]


JS_TRANSLATED = re.compile(
    r"""\b(?:n?gettext|pgettext|npgettext)\(\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')(?:\s*,\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'))*"""
    r"|/\*.*?\*/|//[^\n]*",
    re.S)


def script_files():
    for base in product_dirs():
        for path in (base / "static").rglob("*.js"):
            if "vendor" not in path.parts:
                yield path


def untranslated_script(path: Path, root: Path = ROOT) -> list[str]:
    text = JS_TRANSLATED.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(root)}:{number}: {line.strip()[:60]}"
            for number, line in enumerate(text.splitlines(), 1) if CJK.search(line)]


def test_the_checks_find_chinese_outside_gettext(tmp_path):
    """The scanners themselves: Chinese outside gettext is found, inside it (or in a docstring/comment) is not."""
    module = tmp_path / "m.py"
    module.write_text('"""说明。"""\nfrom django.utils.translation import gettext as _\n'
                      'A = _("Asset")\nB = "资产"\nC = f"{A}不是数字"\nD = ("台账",)  # i18n: data\n', encoding="utf-8")
    page = tmp_path / "p.html"
    page.write_text('{% translate "Map" %}\n{# 注释 #}\n<h1>地图</h1>\n{% blocktranslate %}{{ n }} 项'
                    '{% endblocktranslate %}\n', encoding="utf-8")
    script = tmp_path / "s.js"
    script.write_text('// 注释\nvar a = gettext("图例");\nvar b = "图例";\n', encoding="utf-8")
    assert [hit.split(":")[1] for hit in untranslated_python(module, tmp_path)] == ["4", "5"]
    assert [hit.split(":")[1] for hit in untranslated_template(page, tmp_path)] == ["3"]
    assert [hit.split(":")[1] for hit in untranslated_script(script, tmp_path)] == ["3"]


def test_no_chinese_outside_gettext():
    found = [hit for path in python_files() for hit in untranslated_python(path)]
    found += [hit for path in template_files() for hit in untranslated_template(path)]
    found += [hit for path in script_files() for hit in untranslated_script(path)]
    assert found == [], f"{len(found)} texts a user reads are not translatable:\n" + "\n".join(found[:200])


def test_every_message_has_its_chinese_translation(tmp_path):
    """makemessages over a copy of the tree: no message without a (non-fuzzy) zh_Hans translation."""
    msgattrib = shutil.which("msgattrib")
    if not msgattrib:
        pytest.fail("GNU gettext (msgattrib) is missing: scripts/sysdeps.sh installs it")
    apps = sorted(p.parent for p in ROOT.glob("*/apps.py"))  # bench too: the settings install it
    for base in [*apps, ROOT / "config", ROOT / "templates", ROOT / "locale"]:
        shutil.copytree(base, tmp_path / base.name, ignore=shutil.ignore_patterns("__pycache__", "vendor", "*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path)
    for domain in ("django", "djangojs"):
        subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-d", domain, "-v", "0"],
                       cwd=tmp_path, check=True)
        catalogue = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        missing = []
        for option in ("--untranslated", "--only-fuzzy"):
            out = subprocess.run([msgattrib, option, "--no-obsolete", "--no-wrap", str(catalogue)],
                                 capture_output=True, text=True, check=True).stdout
            missing += [m for m in re.findall(r'^msgid "(.*)"$', out, re.M) if m]
        assert missing == [], f"{domain}.po lacks the Chinese of {len(missing)} messages:\n" + "\n".join(missing[:100])


def test_an_asset_status_reads_the_same_on_the_pages_and_in_the_ledger():
    """损毁 on the pages and notices, 损坏 in the ledger and its export (review of session 23): one word each."""
    from django.utils import translation

    from geo_assets.taxonomy import AssetStatus
    from geo_assets.vocab import STATUS_LABELS

    with translation.override("zh-hans"):
        assert {s: str(AssetStatus(s).label) for s in AssetStatus.values} == {
            s: STATUS_LABELS[s][0] for s in AssetStatus.values}
