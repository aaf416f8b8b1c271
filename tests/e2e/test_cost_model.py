"""The polling cost model (shared/src/polling/) against a real execution's history: the
transitions and history events the local interpreter records for a short run are what the
model counts for the same number of polls, and each wait is the poll's nextPollSeconds. The
model's per-part counts come from the model itself (`poll_cost --shape`), which reads them from
statemachine/glue-job.asl.json: one source."""

import json
import subprocess
from pathlib import Path

from test_state_machine import unique

ROOT = Path(__file__).resolve().parents[2]


def model_shape():
    answer = subprocess.run(
        ["cargo", "run", "--locked", "--quiet", "-p", "polysync-glue", "--features", "cost-model", "--example", "poll_cost", "--", "--shape"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(answer.stdout)


def test_a_short_run_costs_what_the_model_counts(product):
    job = unique("e2e-cost")
    product.create_job(job)
    product.script(job, {"starting": 1, "running": 8})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}, "parameters": []})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)

    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    polls = entered.count("Poll")
    waits = entered.count("WaitForRun")
    assert polls >= 3 and waits == polls - 1
    shape = model_shape()

    def total(key):
        return (shape["before_loop"][key] + shape["per_poll"][key] * polls
                + shape["per_wait"][key] * waits + shape["at_end"][key])

    assert len(entered) == total("transitions")
    assert len(history) == total("events")

    # Each WaitForRun waited what the poll before it asked for.
    asked = [json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]).get("nextPollSeconds")
             for e in history if e["type"] == "LambdaFunctionSucceeded"][1:]  # [0] is start
    waited = []
    for index, event in enumerate(history):
        if event["type"] == "WaitStateEntered":
            exited = next(e for e in history[index:] if e["type"] == "WaitStateExited")
            waited.append((exited["timestamp"] - event["timestamp"]).total_seconds())
    # The last poll's ask is never waited: it saw the run's end.
    assert len(waited) == len(asked) - 1, (waited, asked)
    for seconds, expected in zip(waited, asked[:-1], strict=True):
        assert expected - 0.5 <= seconds <= expected + 1.5, (waited, asked)
