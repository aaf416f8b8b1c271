"""The night of issue 18: many executions started within a minute against Glue's account
limits and Lambda's own faults, on the real definition (its real retry intervals and fault
rounds). Bounded in count and time, on 127.0.0.1 only. For RELIABILITY.md:

    .venv/bin/python standins/night.py EXECUTIONS [--queuing] [--throttle-seconds S]

- the account may run EXECUTIONS / 5 runs at once, and StartJobRun 10 times a second;
- every function is throttled (Lambda.TooManyRequestsException) for the first S seconds
  (default 600), and each function's concurrency is limited to 20;
- after that, 5 % of invocations of each function meet each of Lambda's faults: reported failed
  while the function runs on (Lambda.ServiceException), a crash before its work, a crash after
  it (Lambda.Unknown), a throttle;
- 20 executions are aborted (5 during a slow StartJobRun), their cancels delivered as EventBridge
  delivers them;
- with --queuing every job has JobRunQueuingEnabled, so a run over the quota waits in WAITING.

Prints the figures of load.LoadResult and the time to drain the night.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from harness import LocalProduct
from load import LoadResult, expected_end, follow, function_calls, judge

FUNCTIONS = ("polysync-glue-start", "polysync-glue-poll", "polysync-glue-cancel")
LAMBDA_FAULTS = ({"kind": "service-error"}, {"kind": "unknown"}, {"kind": "unknown", "afterRunning": True},
                 {"kind": "throttle"})
# 20 aborts, a quarter of them during Start (fewer in a smaller night: a tenth of it).
ABORTS = 20


def run_night(product: LocalProduct, executions: int, queuing: bool, throttle_seconds: float,
              seed: int = 11, timeout: float = 5400) -> LoadResult:
    rng = random.Random(seed)
    prefix = f"night-{int(time.time())}"
    jobs = [f"{prefix}-{i:03d}" for i in range(executions)]
    aborted = sorted(rng.sample(range(executions), min(ABORTS, executions // 10)))
    during_start = set(aborted[: len(aborted) // 4])
    for index, job in enumerate(jobs):
        product.create_job(job, JobRunQueuingEnabled=queuing)
        if index in aborted:
            product.script(job, {"starting": 1, "running": 3600, "stopping": 1})
            if index in during_start:
                product.fault(operation="StartJobRun", kind="slow", seconds=3, count=1, job=job)
            continue
        end = expected_end(index)[0]
        product.script(job, {"starting": 5, "running": rng.uniform(30, 120), "end": end,
                             "errorMessage": "scripted failure"})
    sqs = product.session.client("sqs", endpoint_url=product.url)
    queue_url = sqs.create_queue(QueueName=f"{prefix}-cancel-failures")["QueueUrl"]
    product.on_failure("polysync-glue-cancel", queue_url)
    product.glue_limits(maxConcurrentRuns=max(executions // 5, 1), startJobRunPerSecond=10)
    for function in FUNCTIONS:
        product.lambda_concurrency(function, 20)
        if throttle_seconds > 0:
            product.lambda_fault(function, kind="throttle", seconds=throttle_seconds)
    calls_before = function_calls(product)

    def faults_after_the_throttle() -> None:
        time.sleep(throttle_seconds)
        for function in FUNCTIONS:
            for fault in LAMBDA_FAULTS:
                product.lambda_fault(function, rate=0.05, **fault)

    threading.Thread(target=faults_after_the_throttle, daemon=True).start()
    began = time.monotonic()
    arns: dict[str, str] = {}
    # Started within one minute, as hundreds of schedules firing at 02:00.
    for index, job in enumerate(jobs):
        target = began + 60 * index / executions
        time.sleep(max(0.0, target - time.monotonic()))
        arns[job] = product.start_execution(f"{job}-exec", {"job": {"externalId": job}})
    # No Glue call is faulted here (fault_rate 0): the faults are Lambda's, 5 % of each kind.
    result = LoadResult(executions=executions, fault_rate=0.0, seconds=0, aborted=len(aborted),
                        aborted_during_start=len(during_start))
    try:
        finished = follow(product, result, jobs, arns, aborted, began, timeout, sqs, queue_url,
                          lambda i: rng.uniform(0.3, 1.0) if i in during_start
                          else throttle_seconds + rng.uniform(60, 300))
    finally:
        product.glue_limits(maxConcurrentRuns=None, startJobRunPerSecond=None)
    judge(product, result, jobs, arns, finished, set(aborted))
    result.glue_calls = function_calls(product) - calls_before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executions", type=int)
    parser.add_argument("--queuing", action="store_true")
    parser.add_argument("--throttle-seconds", type=float, default=600)
    args = parser.parse_args()
    # Polling bounds of a real night: the functions' defaults would poll minutes apart.
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "15", "POLYSYNC_POLL_MAX_SECONDS": "60"}, concurrency=8) as product:
        result = run_night(product, args.executions, args.queuing, args.throttle_seconds)
    print(f"night: {args.executions} executions within a minute, queuing {'on' if args.queuing else 'off'}, "
          f"Lambda throttled for the first {args.throttle_seconds:.0f} s")
    print(f"time to drain the night: {result.seconds:.0f} s")
    print(result.report())


if __name__ == "__main__":
    main()
