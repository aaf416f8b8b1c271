"""How soon an execution sees its run's end, with Glue's events and without: the local state
machine, the real functions (the debug build, as the e2e tests run them) and the stand-in's
Glue events, with polling bounds set long (60 s) so the backstop alone would take a minute.

Starts ROUNDS executions at once, each on its own job with a run of 10 to 25 s, twice: with
Glue's events delivered as EventBridge usually does (0.1 to 1 s late), and with every event
dropped. Prints, for each, the seconds from the run's end (Glue's CompletedOn) to the
execution's end, median and 95th percentile, and the states entered per execution (each a
state transition).

    .venv/bin/python bench/wake_lag.py [ROUNDS]     (after cargo build --bins)
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from harness import LocalProduct

POLL_SECONDS = 60
WAKE_TABLE = "polysync-glue-wake-bench"


def follow_all(product: LocalProduct, label: str, rounds: int) -> None:
    stamp = int(time.time())
    jobs = [f"bench-wake-{label}-{stamp}-{index}" for index in range(rounds)]
    executions = []
    for job in jobs:
        product.create_job(job)
        product.script(job, {"starting": 0.2, "running": random.uniform(10, 25), "end": "SUCCEEDED"})
        executions.append(product.start_execution(f"{job}-exec", {"job": {"externalId": job}}))
    lags, transitions = [], []
    for job, arn in zip(jobs, executions, strict=True):
        execution = product.wait(arn, timeout=POLL_SECONDS * 3)
        if execution["status"] != "SUCCEEDED":
            raise SystemExit(f"{arn} ended {execution['status']}")
        [run] = product.runs(job)
        lags.append((execution["stopDate"] - run["CompletedOn"]).total_seconds())
        transitions.append(sum(1 for event in product.history(arn) if "stateEnteredEventDetails" in event))
    lags.sort()
    p95 = lags[round((len(lags) - 1) * 0.95)]
    print(
        f"{label:<10} executions {rounds:>3}  lag median {statistics.median(lags):6.2f} s  p95 {p95:6.2f} s"
        f"  max {lags[-1]:6.2f} s  transitions mean {statistics.mean(transitions):5.1f}"
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = {
        "POLYSYNC_POLL_MIN_SECONDS": str(POLL_SECONDS),
        "POLYSYNC_POLL_MAX_SECONDS": str(POLL_SECONDS),
        "POLYSYNC_WAKE_TABLE": WAKE_TABLE,
    }
    with LocalProduct(env, concurrency=8) as product:
        product.glue_events(delaySeconds=[0.1, 1.0])
        follow_all(product, "delivered", rounds)
        product.glue_events(dropRate=1.0)
        follow_all(product, "dropped", rounds)


if __name__ == "__main__":
    main()
