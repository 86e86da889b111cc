"""The dependency rules of the design (README, "How it is built"), read from the imports of every module.

Each rule is a statement about the import graph that ast sees: module-level and function-level imports
alike, since a lazy import is still a dependency. A rule that breaks names the module and the import.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("certbank_core", "itembank", "psychometrics", "blueprints", "reports", "workflows")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub when there is one, else names of pkg
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
    return found


def _project_modules() -> dict[str, Path]:
    """Every module of the project by dotted name (tests and bench are not part of the product)."""
    modules = {"cli": ROOT / "cli.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            modules[_module_name(path)] = path
    return modules


MODULES = _project_modules()
IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def _real(imported: str) -> str | None:
    """The project module an import names (the longest existing prefix), or None for third-party names."""
    parts = imported.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in MODULES:
            return candidate
    return None


def _violations(package: str, forbidden) -> list[str]:
    out = []
    for name, imported in sorted(IMPORTS.items()):
        if _top(name) != package:
            continue
        for target in sorted(imported):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                out.append(f"{name} imports {target}")
    return sorted(set(out))


def test_the_graph_was_read():
    # A rule over an empty graph would pass vacuously: make sure the walk found the house.
    assert len(MODULES) > 60
    assert "psychometrics.irt.estimation" in MODULES and "workflows.analysis" in MODULES
    assert "psychometrics.irt.models" in IMPORTS["blueprints.verify"]


@pytest.mark.parametrize("package, forbidden", [
    # numerics know no bank, files layer, CLI or spreadsheet
    ("psychometrics", ("itembank", "workflows", "reports", "blueprints", "cli", "sqlite3", "click", "openpyxl")),
    # the bank is the only SQL and knows no numerics beyond pandas
    ("itembank", ("psychometrics", "workflows", "reports", "blueprints", "cli", "scipy", "click", "girth")),
    # reports render result objects: no bank, no assembly, no application, no numerics
    ("reports", ("itembank", "blueprints", "workflows", "psychometrics", "cli", "sqlite3", "click")),
    # the neutral module stands on nothing of ours
    ("certbank_core", ("itembank", "psychometrics", "workflows", "reports", "blueprints", "cli")),
    # the application layer is not a CLI
    ("workflows", ("cli", "click")),
    ("blueprints", ("workflows", "reports", "cli", "sqlite3", "click", "openpyxl")),
])
def test_layer_rules(package, forbidden):
    assert _violations(package, forbidden) == []


def test_blueprints_use_only_the_item_model_and_the_irt_models():
    allowed = {"itembank.model", "psychometrics.irt.models"}
    bad = [f"{name} imports {_real(t)}" for name, imported in IMPORTS.items() if _top(name) == "blueprints"
           for t in imported if _real(t) and _top(_real(t)) in ("itembank", "psychometrics")
           and _real(t) not in allowed]
    assert sorted(set(bad)) == []


def test_cli_calls_only_the_application_layer_and_the_bank():
    bad = [t for t in IMPORTS["cli"] if _real(t) and _top(_real(t)) not in ("workflows", "itembank", "certbank_core")]
    assert sorted(bad) == []


def test_only_the_girth_adapter_imports_girth():
    users = sorted(name for name, imported in IMPORTS.items() if any(_top(t) == "girth" for t in imported))
    assert users == ["psychometrics.irt.girth_adapter"]


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan 1972), package faces left out: an
    ``__init__`` that re-exports its own submodules is not a loop a reader has to follow."""
    faces = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    graph = {}
    for name, imported in IMPORTS.items():
        targets = {_real(t) for t in imported} - {None, name}
        graph[name] = {t for t in targets if t not in faces and t in MODULES} if name not in faces else set()
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles() == []


def test_the_cycle_check_can_fail():
    # The same algorithm on a graph with a known loop finds it (guards against a check that never fires).
    saved = dict(IMPORTS)
    try:
        IMPORTS["workflows.outputs"] = IMPORTS["workflows.outputs"] | {"workflows.analysis"}
        IMPORTS["workflows.analysis"] = IMPORTS["workflows.analysis"] | {"workflows.outputs"}
        assert ["workflows.analysis", "workflows.outputs"] in _cycles()
    finally:
        IMPORTS.clear()
        IMPORTS.update(saved)
