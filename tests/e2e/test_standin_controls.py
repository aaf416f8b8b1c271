"""The stand-in's own controls, without a product: a gate holds the calls it matches, in order,
until released, and a call that arrives after a release is held, not let through in another's
place (standins/polysync_standin/state.py)."""

import threading

from harness import until
from polysync_standin.state import Gate


def _arrive(gate, passed, name):
    thread = threading.Thread(target=lambda: (gate.pass_through(), passed.append(name)))
    thread.start()
    return thread


def test_a_gate_holds_calls_until_released_oldest_first_and_holds_later_ones():
    gate = Gate({"operation": "GetJobRun"})
    assert gate.matches(operation="GetJobRun", job="j") and not gate.matches(operation="GetJob")
    passed: list[str] = []
    first = _arrive(gate, passed, "first")
    until(lambda: gate.counts()["held"] == 1, seconds=5)
    second = _arrive(gate, passed, "second")
    until(lambda: gate.counts()["held"] == 2, seconds=5)
    assert gate.release(1) == 1
    first.join(5)
    assert passed == ["first"] and gate.counts() == {"held": 1, "passed": 1}
    # Two wait; released twice at once, the two go, and the second release lets nothing more
    # through: the call that comes next is held.
    third = _arrive(gate, passed, "third")
    until(lambda: gate.counts()["held"] == 2, seconds=5)
    assert (gate.release(None), gate.release(None)) == (2, 0)
    second.join(5)
    third.join(5)
    assert sorted(passed) == ["first", "second", "third"]
    fourth = _arrive(gate, passed, "fourth")
    until(lambda: gate.counts()["held"] == 1, seconds=5)
    assert "fourth" not in passed
    gate.open()
    fourth.join(5)
    assert passed[-1] == "fourth" and gate.counts() == {"held": 0, "passed": 4}
