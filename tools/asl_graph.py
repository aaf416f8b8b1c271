"""The state machine's graph, generated from its definition (statemachine/glue-job.asl.json) as
a Mermaid flowchart, which the repository host renders in the README. A newcomer sees the spine
before reading JSON, and tests/iac/test_readme_graph.py fails when the picture and the ASL differ.

    .venv/bin/python tools/asl_graph.py           # prints the flowchart
    .venv/bin/python tools/asl_graph.py --write   # writes it into README.md, between its markers

Shapes: a Task is a box, a Choice a rhombus, a Wait a stadium, a Pass a parallelogram, a Parallel
a subgraph of its branches; Succeed and Fail states are circles, the Fail ones red. An arrow is a
Next, a Choice's rule (labelled) or Default; a dashed arrow is a Catch, labelled with its errors.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "statemachine" / "glue-job.asl.json"
README = ROOT / "README.md"
START, END = "<!-- asl-graph:start (tools/asl_graph.py --write) -->", "<!-- asl-graph:end -->"
OPERATORS = {
    "StringEquals": "=", "NumericGreaterThan": ">", "NumericLessThan": "<", "BooleanEquals": "=",
    "NumericEquals": "=", "NumericGreaterThanEquals": ">=", "NumericLessThanEquals": "<=",
}


def node_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _rule(rule: dict[str, Any]) -> str:
    """A Choice rule, short: `poll.status = Success`, `runId present`, joined with and/or."""
    for joiner in ("And", "Or"):
        if joiner in rule:
            return f" {joiner.lower()} ".join(_rule(r) for r in rule[joiner])
    if "Not" in rule:
        return f"not {_rule(rule['Not'])}"
    variable = rule["Variable"].removeprefix("$.")
    for key, value in rule.items():
        if key in {"Variable", "Next"}:
            continue
        if key == "IsPresent":
            return f"{variable} {'present' if value else 'absent'}"
        if key.startswith("Is"):
            return f"{variable} is {key[2:].lower()}"
        shown = str(value).lower() if isinstance(value, bool) else value
        return f"{variable} {OPERATORS.get(key, key)} {shown}"
    return variable


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _shape(name: str, state: dict[str, Any]) -> str:
    kind, text = state["Type"], _label(name)
    return {
        "Task": f'["{text}"]', "Choice": f'{{"{text}"}}', "Wait": f'(["{text}"])', "Pass": f'[/"{text}"/]',
        "Succeed": f'(("{text}"))', "Fail": f'(("{text}"))', "Map": f'[["{text}"]]',
    }[kind]


def _states(states: dict[str, Any], indent: str, lines: list[str], edges: list[str], fails: list[str]) -> None:
    for name, state in states.items():
        nid = node_id(name)
        if state["Type"] == "Parallel":
            lines.append(f'{indent}subgraph {nid} ["{_label(name)} (Parallel)"]')
            for index, branch in enumerate(state["Branches"]):
                lines.append(f'{indent}  subgraph {nid}_{index} [" "]')
                _states(branch["States"], indent + "    ", lines, edges, fails)
                lines.append(f"{indent}  end")
            lines.append(f"{indent}end")
        else:
            lines.append(f"{indent}{nid}{_shape(name, state)}")
        if state["Type"] == "Fail":
            fails.append(nid)
        if "Next" in state:
            edges.append(f"  {nid} --> {node_id(state['Next'])}")
        for rule in state.get("Choices", []):
            edges.append(f'  {nid} -->|"{_label(_rule(rule))}"| {node_id(rule["Next"])}')
        if "Default" in state:
            edges.append(f'  {nid} -->|"otherwise"| {node_id(state["Default"])}')
        for catch in state.get("Catch", []):
            errors = ", ".join(catch["ErrorEquals"])
            edges.append(f'  {nid} -.->|"{_label(errors)}"| {node_id(catch["Next"])}')


def flowchart(definition: dict[str, Any]) -> str:
    lines = ["flowchart TD", "  start(( ))"]
    edges = [f"  start --> {node_id(definition['StartAt'])}"]
    fails: list[str] = []
    _states(definition["States"], "  ", lines, edges, fails)
    lines += edges
    if fails:
        lines.append("  classDef fail fill:#fdd,stroke:#c00")
        lines.append(f"  class {','.join(fails)} fail")
    return "\n".join(lines) + "\n"


def readme_block(definition: dict[str, Any]) -> str:
    return f"{START}\n```mermaid\n{flowchart(definition)}```\n{END}"


def readme_graph(readme: str) -> str | None:
    """The block README.md holds now, markers included, or None."""
    start, end = readme.find(START), readme.find(END)
    return readme[start:end + len(END)] if start >= 0 and end > start else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the graph into README.md")
    args = parser.parse_args()
    definition = json.loads(DEFINITION.read_text())
    if not args.write:
        print(flowchart(definition), end="")
        return
    readme = README.read_text()
    current = readme_graph(readme)
    if current is None:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    README.write_text(readme.replace(current, readme_block(definition)))


if __name__ == "__main__":
    main()
