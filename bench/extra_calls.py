"""What the calls added to a path cost: the release binaries, warm, through a local Lambda
Runtime API against the Glue stand-in, two events of one function interleaved:

- start of a job with 25 past successes, without a worker pair (StartJobRun, then one page of
  GetJobRuns and GetJob together for what poll is told: the expected duration and MaxRetries)
  and with one (GetJob first, which every sized start makes to check the job's kind; then
  GetJobRuns); and of a job none of whose runs counts (runs of 0 s), which scans the most:
  four pages;
- poll of a run that SUCCEEDED and of one that FAILED (GetLogEvents for its diagnosis), as the
  state machine hands them over (with the MaxRetries start told), and of the failed one given
  just its runId (poll then reads MaxRetries with GetJob); and the peak RSS of a fresh poll
  process serving each failure, against the SDK-only baseline's.

Prints the median and 90th percentile of each and the differences.

    .venv/bin/python bench/extra_calls.py [ROUNDS]     (after cargo build --release --bins)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from cold_start import RELEASE, SDK_BASELINE, fixture, invoke, measure, started, vm_hwm
from harness import LocalProduct

ROOT = Path(__file__).resolve().parent.parent


def compare(binary: Path, env: dict, events: dict, rounds: int) -> tuple[dict, float]:
    """Median and p90 milliseconds per event, interleaved so the stand-in's drift weighs on
    both alike, and the process's peak RSS (KiB) at the end."""
    timings: dict[str, list[float]] = {name: [] for name in events}
    with started(binary, env) as (api, process, _):
        invoke(api, "warm-up", next(iter(events.values())), binary)
        for index in range(rounds):
            for number, (name, event) in enumerate(events.items()):
                # The request id goes into a URL path: no spaces.
                seconds, _ = invoke(api, f"{index}-{number}", event, binary)
                timings[name].append(seconds * 1000)
        rss = vm_hwm(process.pid)
    figures = {}
    for name, values in timings.items():
        values.sort()
        figures[name] = (statistics.median(values), values[int(len(values) * 0.9)])
    return figures, rss


def report(figures: dict) -> None:
    for name, (median, p90) in figures.items():
        print(f"  {name:<44} median {median:6.2f} ms   p90 {p90:6.2f} ms")
    medians = [median for median, _ in figures.values()]
    for other in medians[1:]:
        print(f"  difference at the median: {other - medians[0]:.2f} ms")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with LocalProduct() as product:
        env, events = fixture(product)
        # A run that failed, with the driver log the stand-in writes where Glue does.
        product.create_job("bench-failed", WorkerType="G.1X", NumberOfWorkers=2,
                           ExecutionProperty={"MaxConcurrentRuns": 10})
        product.script("bench-failed", {"starting": 0, "running": 0, "end": "FAILED",
                                        "errorMessage": "bench failure"})
        failed = product.glue.start_job_run(JobName="bench-failed", Arguments={"--token": "bench-secret"})["JobRunId"]
        assert product.glue.get_job_run(JobName="bench-failed", RunId=failed)["JobRun"]["JobRunState"] == "FAILED"

        # A job with a history: 25 runs of about a second, all succeeded.
        product.create_job("bench-history", ExecutionProperty={"MaxConcurrentRuns": 1000})
        product.script("bench-history", {"starting": 0, "running": 1, "end": "SUCCEEDED"})
        for _ in range(25):
            product.glue.start_job_run(JobName="bench-history")
        time.sleep(2.5)
        assert all(r["JobRunState"] == "SUCCEEDED" for r in product.runs("bench-history"))

        print(f"start ({rounds} each)")
        start, _ = compare(RELEASE / "polysync-glue-start", env, {
            "25 past successes, no pair (reads after)": {"job": {"externalId": "bench-history"}},
            "25 past successes, a pair (GetJob first)": {"job": {"externalId": "bench-history",
                                                   "attributes": {"glueWorkerType": "G.2X", "glueNumberOfWorkers": 4}}},
            "no run that counts (four pages)": {"job": {"externalId": "bench-job"}},
        }, rounds)
        report(start)

        print(f"poll ({rounds} each)")
        failed_event: dict = {"runId": f"bench-failed/{failed}", "maxRetries": 0}
        bare_failed_event: dict = {"runId": f"bench-failed/{failed}"}
        poll, _ = compare(RELEASE / "polysync-glue-poll", env, {
            "a SUCCEEDED run": events["polysync-glue-poll"],
            "a FAILED run (diagnosis read)": failed_event,
            "a FAILED run, just its runId (GetJob too)": bare_failed_event,
        }, rounds)
        report(poll)
        # Peak RSS of a fresh process that polls the failed run (twice, as cold_start.py
        # measures), against the SDK-only baseline's; medians of 10 each.
        baseline = statistics.median(measure(RELEASE / SDK_BASELINE, events[SDK_BASELINE], env)["rss_kib"]
                                     for _ in range(10))
        for label, event in [("the failed run", failed_event), ("the failed run by its runId alone", bare_failed_event)]:
            poll_rss = statistics.median(measure(RELEASE / "polysync-glue-poll", event, env)["rss_kib"]
                                         for _ in range(10))
            print(f"  peak RSS polling {label}: {poll_rss:.0f} KiB, {poll_rss / baseline:.2f}x the SDK-only "
                  f"baseline's {baseline:.0f} KiB")


if __name__ == "__main__":
    main()
