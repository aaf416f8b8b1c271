"""Load with faults: many executions at once through the local state machine while the Glue
stand-in throttles and fails a share of every Glue call, and some executions are aborted at
random moments, half of them during a slow StartJobRun. Each abort reaches the real cancel
binary as EventBridge delivers it: asynchronously, its first attempt failing, retried as Lambda
retries, and what still fails goes to an on-failure queue that is replayed at the end
(tools/replay_cancel_failures.py). Bounded in count and time, on 127.0.0.1 only. Used by
tests/e2e/test_load.py and, for the figures in RELIABILITY.md, run as
`.venv/bin/python standins/load.py [executions] [fault rate] [aborts]`."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import LocalProduct
from replay_cancel_failures import replay

# Every fifth job ends FAILED, so both ends of the Choice are exercised under load.
FAILING_EVERY = 5
# The Glue operations the functions call while following a run.
FUNCTION_OPERATIONS = ("StartJobRun", "GetJobRun", "GetJobRuns", "GetJob")
FINAL_STATES = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}
# A Glue call of the SDK's standard retry mode makes three attempts: three server faults in a
# row fail the first cancel attempt.
SDK_ATTEMPTS = 3


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
    aborted: int = 0
    aborted_during_start: int = 0
    aborted_runs_stopped: int = 0
    wrong_run_counts: list = field(default_factory=list)
    replayed_from_queue: int = 0
    healthy_runs_stopped: int = 0
    transitions: int = 0

    def report(self) -> str:
        lines = [
            f"executions: {self.executions}, injected fault rate per Glue call: {self.fault_rate:.0%}",
            f"wall time: {self.seconds:.1f} s, Glue calls: {self.glue_calls}",
            f"outcomes: {dict(self.outcomes)}",
            f"executions in the wrong end state: {len(self.wrong_outcomes)}",
            f"Glue runs per execution: {dict(self.runs_per_execution)} (wrong: {self.wrong_run_counts})",
            f"runs left live: {self.runs_left_live}",
            f"Lambda task failures retried or caught by the state machine: {dict(self.lambda_failures)}",
            f"aborted: {self.aborted} ({self.aborted_during_start} during Start), each cancel's first "
            f"attempt failing; aborted executions whose run is STOPPED (or that made none): "
            f"{self.aborted_runs_stopped}; "
            f"replayed from the failure queue: {self.replayed_from_queue}",
            f"healthy runs stopped (a run of an execution nobody aborted): {self.healthy_runs_stopped}",
            f"state transitions: {self.transitions} ({self.transitions / max(self.executions, 1):.1f} per "
            f"execution); Glue calls per execution: {self.glue_calls / max(self.executions, 1):.1f}",
        ]
        return "\n".join(lines)


def abort(product: LocalProduct, arn: str, job: str, after: float) -> None:
    """Aborts the execution after `after` seconds and delivers its ABORTED event at once, as
    EventBridge does: an asynchronous invocation of cancel (moto's interpreter settles an abort
    only when the task under way returns). The cancel's first attempt fails: its Glue reads meet
    more server faults than the SDK retries, and Lambda's retry (the stand-in's) carries it."""
    time.sleep(after)
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="load: aborted")
    event = product.execution_status_change(arn)
    event["detail"].update(status="ABORTED", stopDate=int(time.time() * 1000))
    product.fault(operation="GetJobRuns", kind="http500", count=SDK_ATTEMPTS, job=job)
    product.invoke_async("polysync-glue-cancel", event)


def run_load(product: LocalProduct, executions: int, fault_rate: float, timeout: float = 600,
             aborts: int = 0, seed: int = 7) -> LoadResult:
    prefix = f"load-{int(time.time())}"
    jobs = [f"{prefix}-{i:03d}" for i in range(executions)]
    rng = random.Random(seed)
    aborted = sorted(rng.sample(range(executions), aborts))
    # Half are aborted during a StartJobRun that takes 3 s, the others while polling.
    during_start = set(aborted[::2])
    for index, job in enumerate(jobs):
        product.create_job(job)
        if index in aborted:
            product.script(job, {"starting": 0.5, "running": 600, "stopping": 0.5})
            if index in during_start:
                product.fault(operation="StartJobRun", kind="slow", seconds=3, count=1, job=job)
            continue
        end = "FAILED" if index % FAILING_EVERY == 0 else "SUCCEEDED"
        product.script(job, {"starting": 0.5, "running": 1 + index % 4, "end": end, "errorMessage": "scripted failure"})
    sqs = product.session.client("sqs", endpoint_url=product.url)
    queue_url = sqs.create_queue(QueueName=f"{prefix}-cancel-failures")["QueueUrl"]
    product.on_failure("polysync-glue-cancel", queue_url)
    calls_before = function_calls(product)
    # Half throttling, half bare server faults, on every Glue operation.
    product.fault(operation="*", kind="throttle", rate=fault_rate / 2)
    product.fault(operation="*", kind="http500", rate=fault_rate / (2 - fault_rate))
    began = time.monotonic()
    arns = {job: product.start_execution(f"{job}-exec", {"job": {"externalId": job}}) for job in jobs}
    result = LoadResult(executions=executions, fault_rate=fault_rate, seconds=0,
                        aborted=len(aborted), aborted_during_start=len(during_start))
    finished = follow(product, result, jobs, arns, aborted, began, timeout, sqs, queue_url,
                      lambda i: rng.uniform(0.3, 1.0) if i in during_start else rng.uniform(4, 10))
    judge(product, result, jobs, arns, finished, set(aborted))
    result.glue_calls = function_calls(product) - calls_before
    return result


def follow(product: LocalProduct, result: LoadResult, jobs: list[str], arns: dict[str, str],
           aborted: list[int], began: float, timeout: float, sqs, queue_url: str,
           abort_after: Callable[[int], float]) -> dict[str, dict]:
    """Aborts each execution of `aborted` after abort_after(index) seconds, waits for every
    execution to end, clears the faults, lets the cancels still under Lambda's retries settle
    (each looks for at most START_WINDOW), replays what they could not deliver from the failure
    queue, and counts the aborted executions whose runs are STOPPED. Returns each execution's
    description."""
    aborters = [threading.Thread(target=abort, args=(product, arns[jobs[i]], jobs[i], abort_after(i)))
                for i in aborted]
    for thread in aborters:
        thread.start()
    try:
        for thread in aborters:
            thread.join(timeout)
        finished = {job: product.wait(arn, timeout=timeout) for job, arn in arns.items()}
    finally:
        result.seconds = time.monotonic() - began
        product.clear_faults()
    aborted_jobs = [jobs[i] for i in aborted]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(r["JobRunState"] not in FINAL_STATES
                                              for j in aborted_jobs for r in product.runs(j)):
        time.sleep(0.5)
    result.replayed_from_queue = replay(sqs, product.lambda_, queue_url, "polysync-glue-cancel")["replayed"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(r["JobRunState"] == "STOPPING" for j in jobs for r in product.runs(j)):
        time.sleep(0.5)
    result.aborted_runs_stopped = sum(
        all(r["JobRunState"] == "STOPPED" for r in product.runs(j)) for j in aborted_jobs)
    return finished


def function_calls(product: LocalProduct) -> int:
    """The Glue calls of the kinds the functions make, so far."""
    return sum(len(product.requests(op)) for op in FUNCTION_OPERATIONS)


def expected_end(index: int) -> tuple[str, str | None]:
    """How the execution of the index-th job ends when nobody aborts it: every fifth fails."""
    return ("FAILED", "Polysync.JobFailed") if index % FAILING_EVERY == 0 else ("SUCCEEDED", None)


def judge(product: LocalProduct, result: LoadResult, jobs: list[str], arns: dict[str, str],
          finished: dict[str, dict], aborted: set[int]) -> None:
    """Each execution's end against its run's, its runs (by its tag), what is left live and the
    Lambda failures the state machine met."""
    for index, job in enumerate(jobs):
        execution = finished[job]
        if index in aborted:
            # moto settles an abort once the task under way returns, and records that task's
            # error if it failed (a StartJobRun fault): ABORTED on AWS, FAILED here.
            expected = (execution["status"], execution.get("error")) if execution["status"] in {
                "ABORTED", "FAILED"} else ("ABORTED", None)
        else:
            expected = expected_end(index)
        outcome = (execution["status"], execution.get("error"))
        result.outcomes[f"{outcome[0]} {outcome[1] or ''}".strip()] += 1
        if outcome != expected:
            result.wrong_outcomes.append((job, outcome, execution.get("cause")))
        runs = product.runs(job)
        tagged = [r for r in runs if r.get("Arguments", {}).get("--polysync-execution-id") == arns[job]]
        result.runs_per_execution[len(tagged)] += 1
        # An execution aborted during Start may have no run (its StartJobRun failed); any other
        # has exactly one, and none has two.
        if len(tagged) > 1 or (not tagged and index not in aborted):
            result.wrong_run_counts.append((job, len(tagged)))
        result.runs_left_live += sum(r["JobRunState"] not in FINAL_STATES for r in runs)
        if index not in aborted:
            result.healthy_runs_stopped += sum(r["JobRunState"] == "STOPPED" for r in tagged)
        history = product.history(arns[job])
        result.transitions += sum(event["type"].endswith("StateEntered") for event in history)
        for event in history:
            if event["type"] == "LambdaFunctionFailed":
                result.lambda_failures[event["lambdaFunctionFailedEventDetails"]["error"]] += 1


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    fault_rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    aborts = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}, concurrency=8) as product:
        print(run_load(product, executions, fault_rate, aborts=aborts).report())


if __name__ == "__main__":
    main()
