"""The packages import one another in one direction: no cycle joins ``kiosk`` and ``inventory``,
and ``hardware`` imports neither.

The graph is read from the source with :mod:`ast`, one node per module, and counts every import
statement wherever it stands: an import inside a function only defers a cycle, it does not
remove it. ``from package import name`` points at the submodule when ``name`` is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kiosk", "inventory", "hardware")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> list[str]:
    """Every module name the file's import statements name, wherever they stand: for
    ``from package import name`` both the package and ``package.name``."""
    module = _module_name(path, root)
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if path.name != "__init__.py":
                    package.pop()
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            names.extend([base, *submodules])
    return names


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Each module of the packages → the modules of the packages it imports."""
    modules = {
        _module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        named = {name for name in _imports(path, root) if name in modules}
        # ``from kiosk import audit`` depends on kiosk.audit, not on kiosk/__init__.py: a
        # package counts only when nothing below it was named.
        graph[module] = {
            name
            for name in named
            if name != module and not any(other.startswith(name + ".") for other in named)
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_graph_sees_deferred_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .. import b\n")
    (package / "a.py").write_text("import os\n\n\ndef later():\n    from pkg import b, c\n")
    (package / "b.py").write_text("from pkg.c import thing\n")
    (package / "c.py").write_text("from . import sub\nthing = 1\n")
    assert import_graph(tmp_path, ("pkg",)) == {
        "pkg": set(),
        "pkg.sub": {"pkg.b"},
        "pkg.a": {"pkg.b", "pkg.c"},
        "pkg.b": {"pkg.c"},
        "pkg.c": {"pkg.sub"},
    }
    assert cycles(import_graph(tmp_path, ("pkg",))) == [{"pkg.b", "pkg.c", "pkg.sub"}]


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_joins_kiosk_and_inventory():
    joined = [
        sorted(component)
        for component in cycles(import_graph())
        if {"kiosk", "inventory"} <= {_package(module) for module in component}
    ]
    assert joined == []


@pytest.mark.parametrize("forbidden", ["kiosk", "inventory", "flask"])
def test_hardware_imports_no_kiosk_inventory_or_flask(forbidden):
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "hardware").rglob("*.py"))
        for name in _imports(path, ROOT)
        if name.split(".", 1)[0] == forbidden
    ]
    assert offenders == []
