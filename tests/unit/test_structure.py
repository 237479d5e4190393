"""The shape of `chalicelib`: no import circle, no module over 400 lines, no `type: ignore` in the services.

The import graph is read with `ast` from the source: the modules a module names in the imports it runs
when it is imported (top level, including plain `if`/`try` blocks, but not `if TYPE_CHECKING:`); a
`from package import name` counts `package.name` too when that is a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import chalicelib

ROOT = Path(chalicelib.__file__).parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _runtime_imports(node.body)
            yield from _runtime_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _runtime_imports(block)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of the package at `root` and the package's modules importing it imports."""
    paths = {module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text()).body):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                named = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            targets.update(target for target in named if target in paths)
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle in `graph` (its modules, the first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            successor = next(stack[-1], None)
            if successor is None:
                stack.pop()
                done.add(path.pop())
            elif successor in path:
                return [*path[path.index(successor) :], successor]
            elif successor not in done:
                path.append(successor)
                stack.append(iter(sorted(graph.get(successor, ()))))
    return None


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_imports_but_not_type_checking_ones() -> None:
    graph = import_graph()
    assert "chalicelib.services.workspaces.lifecycle" in graph["chalicelib.services.workspaces.transitions"]
    # The mail port names the queue messages for its annotations only.
    assert "chalicelib.services.messages" not in graph["chalicelib.services.mail.ports"]


def test_no_import_circle_in_chalicelib() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_module_in_chalicelib_is_over_400_lines() -> None:
    too_long = {
        str(p.relative_to(ROOT.parent)): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_no_type_ignore_in_the_services() -> None:
    ignored = [
        f"{p.relative_to(ROOT.parent)}:{i}"
        for p in (ROOT / "services").rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "type: ignore" in line
    ]
    assert ignored == []
