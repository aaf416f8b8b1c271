"""The README's picture of the state machine is the definition's (tools/asl_graph.py)."""

import json
import re

from asl_graph import DEFINITION, README, flowchart, node_id, readme_block, readme_graph
from harness import named_states

EDGE = re.compile(r'^\s+(\S+) -(?:->|\.->)(?:\|"[^"]*"\|)? (\S+)$')


def test_the_readme_graph_is_generated_from_the_definition():
    definition = json.loads(DEFINITION.read_text())
    assert readme_graph(README.read_text()) == readme_block(definition), (
        "README.md's graph is not the definition's: run `.venv/bin/python tools/asl_graph.py --write`"
    )


def test_every_state_and_transition_is_drawn_and_nothing_else():
    definition = json.loads(DEFINITION.read_text())
    chart = flowchart(definition)
    expected = {("start", node_id(definition["StartAt"]))}
    for name, state in named_states(definition["States"]):
        assert f'{node_id(name)}' in chart and f'"{name}' in chart, name
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        expected |= {(node_id(name), node_id(target)) for target in targets if target}
    drawn = {(m.group(1), m.group(2)) for line in chart.splitlines() if (m := EDGE.match(line))}
    assert drawn == expected, (drawn ^ expected)
