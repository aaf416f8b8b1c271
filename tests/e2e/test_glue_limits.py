"""Glue's account-level limits (issue 18): the account's quota of concurrent runs, the
StartJobRun request rate, and job run queuing, enforced by the stand-in as Glue documents them
(standins/polysync_standin/glue.py, `_capacity_refusal`, `_queues`, `throttled`)."""


import botocore.exceptions
import pytest

from harness import LocalProduct
from support import held_job, lambda_failures, poll_outputs, scripted_job, unique, until


@pytest.fixture(scope="module")
def account():
    # Its own stand-in: the limits count every live run of the account, and other tests leave
    # theirs.
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "1", "POLYSYNC_POLL_MAX_SECONDS": "2"}) as local:
        yield local


@pytest.fixture(scope="module")
def quick(account):
    """A state machine of the account whose fault rounds are seconds long."""
    return account.create_state_machine("glue-job-quick", quick_faults=True)


@pytest.fixture
def limits(account):
    yield account.glue_limits
    account.glue_limits(maxConcurrentRuns=None, startJobRunPerSecond=None)



def _refused(account, arn, error):
    return [f for f in lambda_failures(account.history(arn)) if f["error"] == error]


def test_a_start_over_the_account_quota_is_retried_until_capacity_frees(account, limits, quick):
    limits(maxConcurrentRuns=1)
    # The first holds the one slot until the second's start has met the quota.
    first, second = held_job(account, "e2e-quota-a"), scripted_job(account, "e2e-quota-b")
    first_arn = account.start_execution(unique("exec"), {"job": {"externalId": first}}, quick)
    until(lambda: account.runs(first), what="the first run")
    second_arn = account.start_execution(unique("exec"), {"job": {"externalId": second}}, quick)
    until(lambda: _refused(account, second_arn, "Glue.ConcurrentRunsExceededException"), what="the second start refused")
    account.end_run(first, "SUCCEEDED")
    assert account.wait(first_arn, timeout=120)["status"] == "SUCCEEDED"
    assert account.wait(second_arn, timeout=120)["status"] == "SUCCEEDED"
    errors = {f["error"] for f in lambda_failures(account.history(second_arn))}
    assert errors == {"Glue.ConcurrentRunsExceededException"}, errors
    assert [len(account.runs(job)) for job in (first, second)] == [1, 1]


def test_a_queued_run_waits_with_its_state_detail_then_runs(account, limits):
    limits(maxConcurrentRuns=1)
    first = held_job(account, "e2e-queue-a")
    queued = scripted_job(account, "e2e-queue-b", JobRunQueuingEnabled=True)
    first_arn = account.start_execution(unique("exec"), {"job": {"externalId": first}})
    until(lambda: account.runs(first), what="the first run")
    queued_arn = account.start_execution(unique("exec"), {"job": {"externalId": queued}})
    until(lambda: account.runs(queued), what="the queued run")
    run = account.runs(queued)[0]
    assert run["JobRunState"] == "WAITING", run
    assert "concurrently" in run["StateDetail"], run
    account.end_run(first, "SUCCEEDED")
    assert account.wait(queued_arn, timeout=120)["status"] == "SUCCEEDED"
    assert account.wait(first_arn, timeout=60)["status"] == "SUCCEEDED"
    assert lambda_failures(account.history(queued_arn)) == [], "queued, never refused"
    assert len(account.runs(queued)) == 1


def test_a_run_queued_by_its_attribute_waits_with_its_state_detail_then_runs(account, limits):
    limits(maxConcurrentRuns=1)
    # The first holds the one slot until polls of the second saw it wait; the second runs until
    # a poll saw it run.
    first = held_job(account, "e2e-attr-queue-a")
    queued = held_job(account, "e2e-attr-queue-b")
    first_arn = account.start_execution(unique("exec"), {"job": {"externalId": first}})
    until(lambda: account.runs(first), what="the first run")
    queued_arn = account.start_execution(unique("exec"), {
        "job": {"externalId": queued, "attributes": {"glueJobRunQueuing": True}},
    })
    until(lambda: account.runs(queued), what="the queued run")
    assert account.runs(queued)[0]["JobRunState"] == "WAITING"

    def polls_in(state):
        return [o for o in poll_outputs(account.history(queued_arn)) if o["glueState"] == state]

    # A poll while it waits says why: WAITING, with Glue's StateDetail.
    polled = until(lambda: polls_in("WAITING"), what="a poll of the waiting run")
    assert polled[0]["status"] == "Starting" and "waiting for resources" in polled[0]["stateDetail"], polled[0]
    account.end_run(first, "SUCCEEDED")
    until(lambda: polls_in("RUNNING"), what="a poll of the admitted run")
    account.end_run(queued, "SUCCEEDED")
    assert account.wait(queued_arn, timeout=120)["status"] == "SUCCEEDED"
    assert account.wait(first_arn, timeout=60)["status"] == "SUCCEEDED"
    # Then it ran: WAITING, RUNNING, SUCCEEDED, as the polls saw it.
    seen = [o["glueState"] for o in poll_outputs(account.history(queued_arn))]
    assert seen.index("WAITING") < seen.index("RUNNING") < seen.index("SUCCEEDED"), seen
    [request] = [b for b in account.requests("StartJobRun") if b["JobName"] == queued]
    assert request["JobRunQueuingEnabled"] is True
    assert lambda_failures(account.history(queued_arn)) == [], "queued, never refused"
    assert len(account.runs(queued)) == 1


def test_only_a_job_without_retries_queues(account, limits):
    limits(maxConcurrentRuns=1)
    busy = held_job(account, "e2e-queue-busy")
    account.glue.start_job_run(JobName=busy)
    retried = scripted_job(account, "e2e-queue-retries", JobRunQueuingEnabled=True, MaxRetries=1)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        account.glue.start_job_run(JobName=retried)
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    # The run's own setting wins over the job's.
    plain = scripted_job(account, "e2e-queue-per-run")
    run_id = account.glue.start_job_run(JobName=plain, JobRunQueuingEnabled=True)["JobRunId"]
    assert account.glue.get_job_run(JobName=plain, RunId=run_id)["JobRun"]["JobRunState"] == "WAITING"
    account.end_run(busy, "SUCCEEDED")


def test_starts_over_the_request_rate_are_retried_without_a_second_run(account, limits, quick):
    limits(startJobRunPerSecond=1)
    jobs = [scripted_job(account, "e2e-rate") for _ in range(4)]
    # The four first StartJobRun calls are held until all four wait, then go on together: within
    # one second of each other, whatever the machine's load.
    gate = unique("start-job-run")
    account.gate(gate, operation="StartJobRun")
    try:
        arns = [account.start_execution(unique("exec"), {"job": {"externalId": job}}, quick) for job in jobs]
        until(lambda: account.gate_counts(gate)["held"] == 4, what="four starts at StartJobRun")
    finally:
        account.open_gate(gate)
    assert [account.wait(arn, timeout=120)["status"] for arn in arns] == ["SUCCEEDED"] * 4
    throttled = [f for arn in arns for f in lambda_failures(account.history(arn))]
    assert throttled and {f["error"] for f in throttled} == {"Glue.ThrottlingException"}
    assert [len(account.runs(job)) for job in jobs] == [1, 1, 1, 1]
