"""The house: packages along the data flow, imports running one way, no cycles (issue 13).

Layers from the bottom up; a module may import its own package and the layers below,
never a layer above or a sibling on its own layer (data and models know nothing of each
other). `cli` sits on top; the top-level `seqcli` package only holds the version.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seqcli

PACKAGE = Path(seqcli.__file__).resolve().parent
LAYERS: list[set[str]] = [
    {"core"},
    {"data", "models"},
    {"views"},
    {"runs"},
    {"inference"},
    {"training"},
    {"compare"},
    {"cli"},
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> list[tuple[str, bool]]:
    """(seqcli module imported, whether the import sits inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
             for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqcli"):
            found += [(f"{node.module}.{a.name}", id(node) in inner) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in inner) for a in node.names if a.name.startswith("seqcli")]
    return found


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def resolve(name: str, known: dict[str, Path]) -> str:
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


# Data, not code: the installed package holds the embedded corpus as seqcli.corpora.
DATA_PACKAGES = {"corpora"}


def test_every_package_has_a_layer() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages - DATA_PACKAGES == set(RANK)
    loose = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert loose == set(), "modules belong in a package named for their layer"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_run_down_the_layers(module: str) -> None:
    known = modules()
    own = package_of(module)
    if own is None:
        return  # seqcli itself and seqcli.__main__ (which calls the CLI)
    wrong = []
    for target, in_function in imports(known[module]):
        if in_function and own != "cli":
            wrong.append(f"{target} imported inside a function (only cli/ imports lazily)")
        other = package_of(resolve(target, known))
        if other is None or other == own:
            continue
        if RANK[other] >= RANK[own]:
            wrong.append(f"{target} ({other} is {'a sibling' if RANK[other] == RANK[own] else 'above'})")
    assert wrong == []


def test_no_import_cycles() -> None:
    known = modules()
    graph = {m: {resolve(t, known) for t, _ in imports(p)} - {m} for m, p in known.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            assert visit(start, []) is None
