"""100 executions at once through the local state machine with 20 % of Glue calls failing and
10 aborted at random moments (5 during a slow StartJobRun), their cancels failing on the first
attempt: every execution ends as its run did, with exactly one Glue run, and no run is left live."""

from harness import LocalProduct
from load import run_load


def test_one_hundred_executions_under_twenty_percent_faults():
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}, concurrency=8) as product:
        result = run_load(product, executions=100, fault_rate=0.2, timeout=600, aborts=10)
    print(result.report())
    assert result.wrong_outcomes == []
    assert result.wrong_run_counts == [], "one run per execution, never two"
    assert result.runs_left_live == 0
    assert sum(result.lambda_failures.values()) > 0, "the faults reached the functions"
    assert (result.aborted, result.aborted_during_start) == (10, 5)
    # Every cancel's first attempt failed on Glue; Lambda's retry (or the replay of the failure
    # queue) stopped each aborted run exactly once.
    assert result.aborted_runs_stopped == 10
