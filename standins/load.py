"""Load with faults: many executions at once through the local state machine while the Glue
stand-in throttles and fails a share of every Glue call, and some executions are aborted at
random moments, half of them during a slow StartJobRun. Each abort reaches the real cancel
binary as EventBridge delivers it: asynchronously, its first attempt failing, retried as Lambda
retries, and what still fails goes to an on-failure queue that is replayed at the end
(tools/replay_cancel_failures.py). Bounded in count and time, on 127.0.0.1 only. Used by
tests/e2e/test_load.py and, for the figures in RELIABILITY.md, run as
`.venv/bin/python standins/load.py [executions] [fault rate] [aborts]`."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness import LocalProduct

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from replay_cancel_failures import replay  # noqa: E402

# Every fifth job ends FAILED, so both ends of the Choice are exercised under load.
FAILING_EVERY = 5
# The Glue operations the functions call while following a run.
FUNCTION_OPERATIONS = ("StartJobRun", "GetJobRun", "GetJobRuns", "GetJob")
FINAL_STATES = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}
# Lambda retries a failed asynchronous invocation twice (here after a second, not minutes).
ASYNC_ATTEMPTS = 3
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
    cancel_attempts: Counter = field(default_factory=Counter)
    replayed_from_queue: int = 0

    def report(self) -> str:
        lines = [
            f"executions: {self.executions}, injected fault rate per Glue call: {self.fault_rate:.0%}",
            f"wall time: {self.seconds:.1f} s, Glue calls: {self.glue_calls}",
            f"outcomes: {dict(self.outcomes)}",
            f"executions in the wrong end state: {len(self.wrong_outcomes)}",
            f"Glue runs per execution: {dict(self.runs_per_execution)}",
            f"runs left live: {self.runs_left_live}",
            f"Lambda task failures retried or caught by the state machine: {dict(self.lambda_failures)}",
            f"aborted: {self.aborted} ({self.aborted_during_start} during Start); cancel deliveries by "
            f"attempts needed: {dict(self.cancel_attempts)}; replayed from the failure queue: "
            f"{self.replayed_from_queue}",
        ]
        return "\n".join(lines)


def deliver_async(product: LocalProduct, event: dict, queue_url: str) -> int:
    """Invokes cancel as Lambda invokes an EventBridge target: retried on error, then the
    on-failure record goes to the queue. Returns the attempts made (0 when all failed)."""
    for attempt in range(1, ASYNC_ATTEMPTS + 1):
        failed, answer = product.invoke("polysync-glue-cancel", event)
        if not failed:
            return attempt
        time.sleep(1)
    record = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted",
                                                   "approximateInvokeCount": ASYNC_ATTEMPTS},
              "requestPayload": event, "responsePayload": answer}
    product.session.client("sqs", endpoint_url=product.url).send_message(QueueUrl=queue_url,
                                                                          MessageBody=json.dumps(record))
    return 0


def abort(product: LocalProduct, arn: str, job: str, after: float, queue_url: str, attempts: Counter) -> None:
    """Aborts the execution after `after` seconds and delivers its ABORTED event at once, as
    EventBridge does (moto's interpreter settles an abort only when the task under way returns).
    The cancel's first attempt fails: its Glue reads meet more server faults than the SDK retries."""
    time.sleep(after)
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="load: aborted")
    event = product.execution_status_change(arn)
    event["detail"].update(status="ABORTED", stopDate=int(time.time() * 1000))
    product.fault(operation="GetJobRuns", kind="http500", count=SDK_ATTEMPTS, job=job)
    attempts[deliver_async(product, event, queue_url)] += 1


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
    queue_url = product.session.client("sqs", endpoint_url=product.url).create_queue(
        QueueName=f"{prefix}-cancel-failures")["QueueUrl"]
    def function_calls() -> int:
        return sum(len(product.requests(op)) for op in FUNCTION_OPERATIONS)

    calls_before = function_calls()
    # Half throttling, half bare server faults, on every Glue operation.
    product.fault(operation="*", kind="throttle", rate=fault_rate / 2)
    product.fault(operation="*", kind="http500", rate=fault_rate / (2 - fault_rate))
    began = time.monotonic()
    arns = {job: product.start_execution(f"{job}-exec", {"job": {"externalId": job}}) for job in jobs}
    result = LoadResult(executions=executions, fault_rate=fault_rate, seconds=0,
                        aborted=len(aborted), aborted_during_start=len(during_start))
    aborters = [
        threading.Thread(target=abort, args=(product, arns[jobs[i]], jobs[i],
                                             rng.uniform(0.3, 1.0) if i in during_start else rng.uniform(4, 10),
                                             queue_url, result.cancel_attempts))
        for i in aborted
    ]
    for thread in aborters:
        thread.start()
    try:
        for thread in aborters:
            thread.join(timeout)
        finished = {job: product.wait(arn, timeout=timeout) for job, arn in arns.items()}
    finally:
        result.seconds = time.monotonic() - began
        product.clear_faults()
    # What Lambda could not deliver waits in the queue: the operator's replay.
    sqs = product.session.client("sqs", endpoint_url=product.url)
    result.replayed_from_queue = replay(sqs, product.lambda_, queue_url, "polysync-glue-cancel")["replayed"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(r["JobRunState"] == "STOPPING" for j in jobs for r in product.runs(j)):
        time.sleep(0.5)
    for index, job in enumerate(jobs):
        execution = finished[job]
        if index in aborted:
            # moto settles the abort once the task under way returns; the run is STOPPED either way.
            expected = ("ABORTED", None)
        elif index % FAILING_EVERY == 0:
            expected = ("FAILED", "Polysync.JobFailed")
        else:
            expected = ("SUCCEEDED", None)
        outcome = (execution["status"], execution.get("error"))
        result.outcomes[f"{outcome[0]} {outcome[1] or ''}".strip()] += 1
        if outcome != expected:
            result.wrong_outcomes.append((job, outcome, execution.get("cause")))
        runs = product.runs(job)
        tagged = [r for r in runs if r.get("Arguments", {}).get("--polysync-execution-id") == f"{job}-exec"]
        result.runs_per_execution[len(tagged)] += 1
        result.runs_left_live += sum(r["JobRunState"] not in FINAL_STATES for r in runs)
        for event in product.history(arns[job]):
            if event["type"] == "LambdaFunctionFailed":
                result.lambda_failures[event["lambdaFunctionFailedEventDetails"]["error"]] += 1
    result.glue_calls = function_calls() - calls_before
    return result


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    fault_rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    aborts = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}, concurrency=8) as product:
        print(run_load(product, executions, fault_rate, aborts=aborts).report())


if __name__ == "__main__":
    main()
