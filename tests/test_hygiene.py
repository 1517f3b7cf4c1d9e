"""The test files' own rules, read from their source (no model is built):

- a test file imports shared code from helpers.py, never from another test file or from
  conftest.py (pytest loads conftest.py itself; its fixtures need no import);
- every test asserts something: an `assert`, a `raise`, or a call of `pytest.raises`,
  `pytest.warns`, `pytest.fail` or an `assert*` function (np.testing's included), made
  by the test itself or by a function of its file or of helpers.py that it calls.
"""

import ast
import re

import pytest

from helpers import TESTS

TEST_FILES = sorted(TESTS.glob("test_*.py"))
# Also inside the scripts that tests run in subprocesses (source held in strings).
SCRIPT_IMPORT = re.compile(r"^\s*(?:from|import)\s+(test_\w+|conftest)\b", re.M)
ASSERTING_CALLS = ("raises", "warns", "deprecated_call", "fail")


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from SCRIPT_IMPORT.findall(node.value)


def functions(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def called_name(call):
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def asserts(function, known, seen=()):
    """Whether `function` or a function of `known` that it calls asserts something."""
    for node in ast.walk(function):
        if isinstance(node, (ast.Assert, ast.Raise)):
            return True
        if isinstance(node, ast.Call):
            name = called_name(node)
            if name.startswith("assert") or name in ASSERTING_CALLS:
                return True
            if name in known and name not in seen and asserts(known[name], known, {*seen, name}):
                return True
    return False


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_imports_no_other_test_file(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = sorted({m for m in imported_modules(tree) if m.split(".")[-1].startswith("test_") or m.endswith("conftest")})
    assert not bad, f"{path.name} imports {bad}: move what it needs to tests/helpers.py (fixtures: conftest.py)"


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_every_test_asserts_something(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    known = {**functions(ast.parse((TESTS / "helpers.py").read_text())), **functions(tree)}
    silent = [name for name, fn in functions(tree).items() if name.startswith("test_") and not asserts(fn, known)]
    assert not silent, f"{path.name}: {silent} assert nothing, so they pass whatever the code does"


def test_the_checks_catch_what_they_forbid():
    """The rules above on a made-up file that breaks each of them (written with `TEST_` and
    `CONFTEST`, so that this file's own source keeps the first rule)."""
    source = '''
from TEST_models import SHAPE
import CONFTEST
SCRIPT = """
from TEST_export import FAMILIES
"""
def helper():
    assert True
def test_delegates():
    helper()
def test_silent():
    print("no check")
'''.replace("TEST_", "test_").replace("CONFTEST", "conftest")
    tree = ast.parse(source)
    assert sorted(imported_modules(tree)) == ["conftest", "test_export", "test_models"]
    known = functions(tree)
    assert [name for name in known if name.startswith("test_") and not asserts(known[name], known)] == ["test_silent"]
