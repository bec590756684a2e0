"""The house as drawn (README "Layout"): the import contracts of pyproject.toml hold, no
product module imports itself back through others, and none grows past a screenful of
concepts. Each test fails with the offending names, so the fix starts from its message."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("api", "core", "schema", "resolvers", "auth", "models")
MAX_MODULE_LINES = 400  # a module this long holds more than one concept: split it by concept
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_of_pyproject_are_kept() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_product_module_is_400_lines_or_more() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    oversized = {path: lines for path, lines in sizes.items() if lines >= MAX_MODULE_LINES}
    assert not oversized, f"split these by concept (lines): {oversized}"


def _cycles(imports: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    iterative so a deep chain cannot overflow the stack), each sorted, sorted by first name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(imports[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(imports.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def test_the_cycle_finder_finds_a_circle_and_nothing_else() -> None:
    imports = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert _cycles(imports) == [["a", "b", "c"]]


def test_no_import_cycle_among_product_modules() -> None:
    """Every import counts, also one under ``TYPE_CHECKING`` or inside a function: those
    only hide a circle from the interpreter, not from the reader."""
    graph = grimp.build_graph(*PRODUCT_PACKAGES, cache_dir=None)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    cycles = _cycles(imports)
    assert not cycles, "import circles (modules importing each other, maybe through others):\n" + (
        "\n".join(" ↔ ".join(cycle) for cycle in cycles)
    )
