"""The mapping crate's module graph: which top-level module of shared/src imports which (`use
crate::...` and `crate::` paths), and the cycles in it. A layered crate has none: the handlers on
the domain, the domain on `aws/`, config and errors.

    python3 tools/module_graph.py            # the graph, then its cycles (exit 1 if any)
    python3 tools/module_graph.py --cycles   # only the cycles
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "shared" / "src"
# `use crate::a::...`, `crate::a::b` in an expression or a type, and `use crate::{a, b::c}`.
CRATE_PATH = re.compile(r"\bcrate::(\{|\w+)")


def module_of(path: Path) -> str:
    """The top-level module a file belongs to: `compute/sizing.rs` is `compute`."""
    relative = path.relative_to(SOURCE)
    top = relative.parts[0]
    return "lib" if top == "lib.rs" else top.removesuffix(".rs")


def _code(text: str) -> str:
    """The text without comments and without the unit tests (`#[cfg(test)] mod tests`)."""
    text = re.sub(r"//.*", "", text)
    test_module = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    return text[:test_module.start()] if test_module else text


def _top_level_names(group: str) -> list[str]:
    """The first name of each path in a `{a::b, c::{d, e}}` group that `group` starts with."""
    names, depth, expecting = [], 0, False
    for token in re.findall(r"\w+|[{},]", group):
        if token == "{":
            depth += 1
            expecting = depth == 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                break
        elif token == ",":
            expecting = depth == 1
        elif expecting:
            names.append(token)
            expecting = False
    return names


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*.rs")):
        source = module_of(path)
        targets = edges.setdefault(source, set())
        code = _code(path.read_text())
        for match in CRATE_PATH.finditer(code):
            names = _top_level_names(code[match.start(1):]) if match.group(1).startswith("{") else [match.group(1)]
            targets.update(name for name in names if (SOURCE / f"{name}.rs").exists() or (SOURCE / name).is_dir())
        targets.discard(source)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", action="store_true", help="print only the cycles")
    args = parser.parse_args()
    edges = graph()
    if not args.cycles:
        for source in sorted(edges):
            print(f"{source} -> {', '.join(sorted(edges[source])) or '(nothing)'}")
    found = cycles(edges)
    for component in found:
        print("cycle: " + " <-> ".join(component))
    if not found:
        print("no cycles")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
