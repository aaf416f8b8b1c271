"""The polling cost model (shared/src/polling.rs) against a real execution's history: the
transitions and history events the local interpreter records for a short run are what the
model counts for the same number of polls, and each wait is the poll's nextPollSeconds."""

import json

from test_state_machine import unique

# shared/src/polling.rs, module `shape`: transitions and history events of the definition.
TRANSITIONS_BEFORE_LOOP, TRANSITIONS_PER_POLL, TRANSITIONS_PER_WAIT, TRANSITIONS_AT_END = 3, 2, 1, 1
EVENTS_BEFORE_LOOP, EVENTS_PER_POLL, EVENTS_PER_WAIT, EVENTS_AT_END = 10, 7, 2, 3


def test_a_short_run_costs_what_the_model_counts(product):
    job = unique("e2e-cost")
    product.create_job(job)
    product.script(job, {"starting": 1, "running": 5})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}, "parameters": []})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)

    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    polls = entered.count("Poll")
    waits = entered.count("WaitForRun")
    assert polls >= 3 and waits == polls - 1
    assert len(entered) == (TRANSITIONS_BEFORE_LOOP + TRANSITIONS_PER_POLL * polls
                            + TRANSITIONS_PER_WAIT * waits + TRANSITIONS_AT_END)
    assert len(history) == EVENTS_BEFORE_LOOP + EVENTS_PER_POLL * polls + EVENTS_PER_WAIT * waits + EVENTS_AT_END

    # Each WaitForRun waited what the poll before it asked for.
    asked = [json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]).get("nextPollSeconds")
             for e in history if e["type"] == "LambdaFunctionSucceeded"][1:]  # [0] is start
    waited = []
    for index, event in enumerate(history):
        if event["type"] == "WaitStateEntered":
            exited = next(e for e in history[index:] if e["type"] == "WaitStateExited")
            waited.append((exited["timestamp"] - event["timestamp"]).total_seconds())
    for seconds, expected in zip(waited, asked):
        assert expected - 0.5 <= seconds <= expected + 1.5, (waited, asked)
