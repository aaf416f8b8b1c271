"""The end-to-end suites' shared helpers: names, what a history says, and the runs and waits
every suite needs. Each waits through the harness's `until`, a deadline that only keeps a broken
test from hanging; what a test asserts comes from histories, records and stand-in controls."""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

from harness import LocalProduct, until

CANARY = "canary-secret-7d41"
TABLE_NOT_FOUND = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `sales` cannot be found."
# Events one execution may write in the budget suites: three polls each, with room for the late
# notice and one wake round (shared/src/polling/ counts them: 23 to come in, 9 a poll and its
# wait, 29 to the end, 31 of detours).
BUDGET = 108
# A run that lives until the test ends it.
HELD = {"starting": 0.2, "running": "hold"}
_names = itertools.count()


def unique(prefix: str) -> str:
    # The worker's id too: xdist workers start their counters together.
    return f"{prefix}-{int(time.time())}-{os.environ.get('PYTEST_XDIST_WORKER', 'gw')}-{next(_names)}"


def states_entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def lambda_failures(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["lambdaFunctionFailedEventDetails"] for e in history if e["type"] == "LambdaFunctionFailed"]


def lambda_outputs(history: list[dict[str, Any]]) -> list[str]:
    return [e["lambdaFunctionSucceededEventDetails"]["output"] for e in history if e["type"] == "LambdaFunctionSucceeded"]


def lambda_inputs(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])
            for e in history if e["type"] == "LambdaFunctionScheduled"]


def poll_outputs(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each poll answered (start's answer, the first, has no `terminal`)."""
    return [o for o in map(json.loads, lambda_outputs(history)) if "terminal" in o]


def scripted_job(product: LocalProduct, prefix: str, script: dict[str, Any] | None = None,
                 command: str = "glueetl", **definition: Any) -> str:
    """A job of its own (of that kind and definition) whose runs follow `script` (default: a
    short success)."""
    job = unique(prefix)
    product.create_job(job, command=command, **definition)
    product.script(job, script or {"starting": 0.2, "running": 0.5})
    return job


def held_job(product: LocalProduct, prefix: str, **definition: Any) -> str:
    """A job of its own whose runs live until the test ends them (`product.end_run`)."""
    return scripted_job(product, prefix, HELD, **definition)


def stop_requests(product: LocalProduct, job: str) -> list[str]:
    """The run ids Glue was asked to stop (BatchStopJobRun) for `job`, in order."""
    return [run_id for b in product.requests("BatchStopJobRun") if b["JobName"] == job for run_id in b["JobRunIds"]]


def run_to_end(product: LocalProduct, prefix: str, script: dict[str, Any], parameters: Any = (),
               state_machine_arn: str | None = None, **definition: Any) -> tuple[str, str, dict[str, Any]]:
    """A job of its own whose run follows `script`, and its execution followed to the end:
    (job, execution ARN, the execution as DescribeExecution ends it)."""
    job = unique(prefix)
    product.create_job(job, **definition)
    product.script(job, script)
    job_input = {"job": {"externalId": job}, "parameters": list(parameters)}
    arn = product.start_execution(unique("exec"), job_input, state_machine_arn)
    return job, arn, product.wait(arn)


def failed_with_canary(product: LocalProduct, prefix: str, **definition: Any) -> tuple[str, str, dict[str, Any]]:
    """`run_to_end` of a run that fails with TABLE_NOT_FOUND, given the canary as a parameter
    (its driver prints it, as a careless script does)."""
    script = {"starting": 0.3, "running": 1, "end": "FAILED", "errorMessage": TABLE_NOT_FOUND}
    canary = [{"name": "token", "direction": "Input", "value": CANARY}]
    return run_to_end(product, prefix, script, canary, **definition)


def until_entered(product: LocalProduct, arn: str, state: str, times: int = 1) -> list[str]:
    """Waits until the execution has entered `state` `times` times; what it entered so far."""
    return until(lambda: (entered := states_entered(product.history(arn))).count(state) >= times and entered,
                 what=f"{arn} entering {state} {times} time(s)")


def until_polling(product: LocalProduct, arn: str) -> None:
    """Waits until the execution has polled its run once and waits for the next poll."""
    until_entered(product, arn, "WaitForRun")


def until_run_state(product: LocalProduct, job: str, state: str) -> dict[str, Any]:
    """Waits until the job's newest run is in `state`; that run."""
    return until(lambda: (runs := product.runs(job)) and runs[0]["JobRunState"] == state and runs[0],
                 what=f"{job}'s run reaching {state}")


def messages_about(product: LocalProduct, job: str) -> list[dict[str, Any]]:
    """The topic's messages about `job` so far. SNS hands a message to its subscribed queue
    within Publish, so once the execution that publishes has ended, this is all it sent."""
    return [m for m in product.notifications()
            if m.get("MessageAttributes", {}).get("job", {}).get("Value") == job]


def with_history(product: LocalProduct, job: str, seconds: float = 1) -> None:
    """Five successful runs of `seconds` each (timestamps follow the script), so that start
    tells an expectedDuration."""
    product.create_job(job, ExecutionProperty={"MaxConcurrentRuns": 10})
    product.script(job, {"starting": 0.2, "running": seconds, "end": "SUCCEEDED"})
    for _ in range(5):
        product.glue.start_job_run(JobName=job)
    until(lambda: all(run["JobRunState"] == "SUCCEEDED" for run in product.runs(job)), what=f"{job}'s past runs")


def chain_of(product: LocalProduct, machine: str, run_id: str) -> list[dict[str, Any]]:
    """The executions of `machine` that followed `run_id` as children, oldest first."""
    chain = []
    for execution in product.executions(machine):
        described = product.sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"]).get("runId") == run_id:
            chain.append(described)
    return sorted(chain, key=lambda e: e["startDate"])
