"""The layout's rules, read from the code's own imports (the standard ``ast`` module):
no import circle between the project's modules, hidden ones (importlib) included, and no
private name imported from another module."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGES = ("index", "qa", "eval")


def modules() -> dict[str, Path]:
    out = {".".join(path.relative_to(REPO).with_suffix("").parts): path
           for pkg in PACKAGES for path in sorted((REPO / pkg).rglob("*.py")) if path.stem not in ("__init__", "__main__")}
    out["app"] = REPO / "app.py"
    return out


def imports(path: Path, known: set[str]) -> list[tuple[str, list[str]]]:
    """(module, names) for each import of a project module, wherever it stands in the file
    (imports inside functions count: a lazy import is still a dependency), and each
    ``importlib.import_module("x")`` with a literal name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                out.append((node.module, [a.name for a in node.names]))
            elif node.module in PACKAGES:  # "from qa import learned"
                out += [(f"{node.module}.{a.name}", []) for a in node.names if f"{node.module}.{a.name}" in known]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in known):
            out.append((node.args[0].value, []))
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m, _ in imports(path, set(mods)) if m != name} for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted.

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    assert cycles(graph()) == []


def test_no_private_names_imported_across_modules():
    mods = modules()
    private = [(name, target, n) for name, path in mods.items() for target, names in imports(path, set(mods))
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_the_lower_layers_never_load_the_upper():
    """index knows nothing of qa or eval; qa nothing of eval."""
    below = {"index": ("qa", "eval", "app"), "qa": ("eval", "app")}
    wrong = [(m, d) for m, deps in graph().items() for d in deps
             if m.split(".")[0] in below and d.split(".")[0] in below[m.split(".")[0]]]
    assert wrong == []
