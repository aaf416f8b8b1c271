"""The polling cost model (shared/src/polling/) against a real execution's history: the
transitions and history events the local interpreter records for a short run are what the
model counts for the same number of polls, and each wait is the poll's nextPollSeconds. The
model's per-part counts come from the model itself (`poll_cost --shape`), which reads them from
statemachine/glue-job.asl.json: one source."""

import json
import subprocess
from pathlib import Path

from harness import definition_with_substitutions, named_states
from support import held_job, states_entered, unique, until_entered

ROOT = Path(__file__).resolve().parents[2]


def model_shape():
    answer = subprocess.run(
        ["cargo", "run", "--locked", "--quiet", "-p", "polysync-glue", "--features", "cost-model", "--example", "poll_cost", "--", "--shape"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(answer.stdout)


def test_a_short_run_costs_what_the_model_counts(product):
    job = held_job(product, "e2e-cost")
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}, "parameters": []})
    # Three polls that see it going, and the wake branch settled (the wake is off here: its park
    # answers at once, however cold the function), then the run's end: the model counts a
    # Parallel whose two branches both ran their course before the loop's end.
    until_entered(product, arn, "WaitForRun", times=3)
    until_entered(product, arn, "NoGlueEvent")
    product.end_run(job, "SUCCEEDED")
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)

    entered = states_entered(history)
    polls = entered.count("Poll")
    waits = entered.count("WaitForRun")
    assert polls >= 4 and waits == polls - 1, entered
    shape = model_shape()

    def total(key):
        return (shape["before_loop"][key] + shape["per_poll"][key] * polls
                + shape["per_wait"][key] * waits + shape["at_end"][key])

    assert len(entered) == total("transitions"), (entered, shape)
    assert len(history) == total("events"), ([e["type"] for e in history], shape)

    # Each WaitForRun waits what the poll before it asked for: the deployed definition's Wait
    # reads its seconds from the poll's answer, and each wait's input carries that answer. How
    # long the interpreter then waits is its own affair (and the wake lag's benchmark's).
    definition = json.loads(definition_with_substitutions("arn:aws:sns:us-east-1:123456789012:topic"))
    [wait] = [s for name, s in named_states(definition["States"]) if name == "WaitForRun"]
    assert wait == {**wait, "Type": "Wait", "SecondsPath": "$.poll.nextPollSeconds"} and "Seconds" not in wait, wait
    asked = [json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]).get("nextPollSeconds")
             for e in history if e["type"] == "LambdaFunctionSucceeded"][1:]  # [0] is start
    given = [json.loads(e["stateEnteredEventDetails"]["input"])["poll"]["nextPollSeconds"]
             for e in history if e["type"] == "WaitStateEntered"]
    exited = [e for e in history if e["type"] == "WaitStateExited"]
    # The last poll's ask is never waited: it saw the run's end. Every wait ran its course.
    assert given == asked[:-1] and len(exited) == len(given), (given, asked)
