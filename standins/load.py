"""Load with faults: many executions at once through the local state machine while the Glue
stand-in throttles and fails a share of every Glue call. Bounded in count and time, on
127.0.0.1 only. Used by tests/e2e/test_load.py and, for the figures in RELIABILITY.md, run as
`.venv/bin/python standins/load.py [executions] [fault rate]`."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from harness import LocalProduct

# Every fifth job ends FAILED, so both ends of the Choice are exercised under load.
FAILING_EVERY = 5
# The Glue operations the functions call while following a run.
FUNCTION_OPERATIONS = ("StartJobRun", "GetJobRun", "GetJobRuns", "GetJob")


@dataclass
class LoadResult:
    executions: int
    fault_rate: float
    seconds: float
    outcomes: Counter = field(default_factory=Counter)
    wrong_outcomes: list = field(default_factory=list)
    runs_per_execution: Counter = field(default_factory=Counter)
    runs_left_live: int = 0
    glue_calls: int = 0
    lambda_failures: Counter = field(default_factory=Counter)

    def report(self) -> str:
        lines = [
            f"executions: {self.executions}, injected fault rate per Glue call: {self.fault_rate:.0%}",
            f"wall time: {self.seconds:.1f} s, Glue calls: {self.glue_calls}",
            f"outcomes: {dict(self.outcomes)}",
            f"executions in the wrong end state: {len(self.wrong_outcomes)}",
            f"Glue runs per execution: {dict(self.runs_per_execution)}",
            f"runs left live: {self.runs_left_live}",
            f"Lambda task failures retried or caught by the state machine: {dict(self.lambda_failures)}",
        ]
        return "\n".join(lines)


def run_load(product: LocalProduct, executions: int, fault_rate: float, timeout: float = 600) -> LoadResult:
    prefix = f"load-{int(time.time())}"
    jobs = [f"{prefix}-{i:03d}" for i in range(executions)]
    for index, job in enumerate(jobs):
        product.create_job(job)
        end = "FAILED" if index % FAILING_EVERY == 0 else "SUCCEEDED"
        product.script(job, {"starting": 0.5, "running": 1 + index % 4, "end": end, "errorMessage": "scripted failure"})
    def function_calls() -> int:
        return sum(len(product.requests(op)) for op in FUNCTION_OPERATIONS)

    calls_before = function_calls()
    # Half throttling, half bare server faults, on every Glue operation.
    product.fault(operation="*", kind="throttle", rate=fault_rate / 2)
    product.fault(operation="*", kind="http500", rate=fault_rate / (2 - fault_rate))
    began = time.monotonic()
    arns = {job: product.start_execution(f"{job}-exec", {"job": {"externalId": job}}) for job in jobs}
    result = LoadResult(executions=executions, fault_rate=fault_rate, seconds=0)
    try:
        finished = {job: product.wait(arn, timeout=timeout) for job, arn in arns.items()}
    finally:
        result.seconds = time.monotonic() - began
        product.clear_faults()
    for index, job in enumerate(jobs):
        execution = finished[job]
        expected = ("FAILED", "Polysync.JobFailed") if index % FAILING_EVERY == 0 else ("SUCCEEDED", None)
        outcome = (execution["status"], execution.get("error"))
        result.outcomes[f"{outcome[0]} {outcome[1] or ''}".strip()] += 1
        if outcome != expected:
            result.wrong_outcomes.append((job, outcome, execution.get("cause")))
        runs = product.runs(job)
        tagged = [r for r in runs if r.get("Arguments", {}).get("--polysync-execution-id") == f"{job}-exec"]
        result.runs_per_execution[len(tagged)] += 1
        result.runs_left_live += sum(r["JobRunState"] not in {"SUCCEEDED", "FAILED", "STOPPED"} for r in runs)
        for event in product.history(arns[job]):
            if event["type"] == "LambdaFunctionFailed":
                result.lambda_failures[event["lambdaFunctionFailedEventDetails"]["error"]] += 1
    result.glue_calls = function_calls() - calls_before
    return result


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    fault_rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}, concurrency=8) as product:
        print(run_load(product, executions, fault_rate).report())


if __name__ == "__main__":
    main()
