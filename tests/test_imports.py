"""No import circles in keras_resnets: every arrow points down.

The graph is read from the source with `ast`, from every import statement, at module level
and inside functions alike (a lazy import closes a circle as surely as an eager one; it only
fails later). How a statement counts, for an importer `m`:

- The imported module is an edge: `import a.b.c` and `from a.b.c import x` give `a.b.c`;
  `from a.b import c` gives `a.b.c` where that is a module, else `a.b` (c is a name there).
- Importing `a.b.c` first runs `a/__init__.py` and `a/b/__init__.py`, so each package
  between the root and the target is an edge too, except two kinds:
  - the root façade `keras_resnets`: its exports are resolved lazily (PEP 562, through
    `importlib`), so importing `keras_resnets.x` costs only the façade's own module-level
    imports; an explicit `import keras_resnets` (then `kr.name`) is an edge to it.
  - the importer's own ancestor packages: Python starts them before `m`'s first line, so a
    submodule importing a sibling (`a.b.d` importing `a.b.c`) adds nothing.
- `importlib.import_module` calls are not import statements and are not counted: the façades
  (`keras_resnets`, `keras_resnets.metrics`) use them only to resolve their lazy exports.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = "keras_resnets"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / ROOT


def package_modules():
    """{module name: (source path, is a package)} for every .py file of the package."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def _absolute(node, importer, is_package):
    """The module a `from` statement names, relative imports resolved."""
    if not node.level:
        return node.module
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_targets(tree, importer, is_package, modules):
    """The keras_resnets modules each import statement of `tree` names (rule 1 above)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, importer, is_package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def dependencies(importer, target, modules):
    """Edges of one import of `target` by `importer`: it, and the packages it passes through."""
    if target != ROOT and not target.startswith(ROOT + "."):
        return set()
    while target not in modules:  # `import a.b.c` where c is not a module of ours
        target = target.rsplit(".", 1)[0]
    edges = {target}
    parts = target.split(".")
    ancestors = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 1)}
    for i in range(2, len(parts)):
        package = ".".join(parts[:i])
        if package not in ancestors:
            edges.add(package)
    edges.discard(importer)
    return edges


def import_graph():
    modules = package_modules()
    graph = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = set()
        for target in imported_targets(tree, name, is_package, modules):
            graph[name] |= dependencies(name, target, modules)
    return graph


def cycles(graph):
    """One cycle (a list of modules, first repeated last) per strongly connected component."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(component, graph) for component in components]


def _cycle_in(component, graph):
    """A shortest path from the component's first module back to itself."""
    start = min(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for successor in sorted(graph[path[-1]] & component):
            if successor == start:
                return path + [start]
            if successor not in seen:
                seen.add(successor)
                paths.append(path + [successor])
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def test_the_walker_sees_lazy_imports_and_names_a_circle():
    tree = ast.parse("def f():\n    from keras_resnets.b import c\n")
    modules = {"keras_resnets.a": None, "keras_resnets.b": None, "keras_resnets.b.c": None}
    assert list(imported_targets(tree, "keras_resnets.a", False, modules)) == ["keras_resnets.b.c"]
    # keras_resnets.b's __init__ runs first, so it is an edge; the root is not.
    assert dependencies("keras_resnets.a", "keras_resnets.b.c", modules) == {"keras_resnets.b", "keras_resnets.b.c"}
    # A sibling's package is the importer's own ancestor, already started.
    assert dependencies("keras_resnets.b.d", "keras_resnets.b.c", modules) == {"keras_resnets.b.c"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_package_imports_in_no_circle():
    found = cycles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_convert_is_a_leaf_handed_its_layout():
    """Nothing of convert/ but its command line imports outside convert/; a file without a
    weights row gets its layout from the architecture, which every torch row agrees with."""
    for module, targets in import_graph().items():
        if module.startswith(f"{ROOT}.convert") and module != f"{ROOT}.convert.__main__":
            outside = {t for t in targets if not t.startswith(f"{ROOT}.convert")}
            assert not outside, f"{module} imports {sorted(outside)}"
    import keras_resnets as kr
    from keras_resnets import convert, weights

    for entry in weights.TABLE:
        if entry.layout in convert.LAYOUTS and convert.LAYOUTS[entry.layout][0] is convert.read_checkpoint:
            assert convert.layout_for(kr.get_spec(entry.model)) == entry.layout, (entry.model, entry.tag)


def test_optimised_python_imports_and_builds(tmp_path):
    """`python -OO` drops docstrings; the generated constructor docs must not need them."""
    script = (
        "import keras_resnets.resnet, keras_resnets.cifar as cifar\n"
        "from keras_resnets.core.analysis import trainable_params\n"
        "print(trainable_params(cifar.ResNet20(weights=None)))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(PACKAGE_DIR.parent)}
    done = subprocess.run([sys.executable, "-OO", "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "269722"


def _defined_names(path):
    """Names a module defines or imports, and the keys of a lazy façade's `_API` table."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                    if target.id == "_API" and isinstance(node.value, ast.Dict):
                        names |= {key.value for key in node.value.keys}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def test_docs_name_only_modules_and_names_that_exist():
    """`keras_resnets.a.b` in a docstring, comment or README names a module, or a name in one."""
    import re

    modules = package_modules()
    entrypoints = set(re.findall(r"^(\w+) = entrypoint\(", "\n".join(
        path.read_text() for path, _ in modules.values()), re.M))  # fmt: skip
    root = PACKAGE_DIR.parent
    stale = []
    for path in [*PACKAGE_DIR.rglob("*.py"), *(root / "apps").glob("*.py"), root / "README.md"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for reference in re.findall(rf"\b{ROOT}(?:\.\w+)+", line):
                parts = reference.split(".")
                known = max(k for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in modules)
                rest = parts[known:]
                if rest and rest[0] not in _defined_names(modules[".".join(parts[:known])][0]) | entrypoints:
                    stale.append(f"{path.relative_to(root)}:{number}: {reference}")
    assert not stale, "references to nothing:\n" + "\n".join(stale)
