"""The platform's own faults (issue 18): Lambda crashing, timing out, throttled, or reporting an
invocation failed while it still runs; a second stack with the same execution names; a late cancel
event. Each is injected by the stand-in as AWS produces it (standins/polysync_standin/local_lambda.py)."""

from support import (
    lambda_failures,
    scripted_job,
    states_entered,
    stop_requests,
    unique,
    until,
    until_entered,
    until_polling,
    until_run_state,
)

POLL = "polysync-glue-poll"
START = "polysync-glue-start"


def _job(product, prefix, definition=None, **script):
    """A Glue job (with these definition fields) whose runs follow the script (4 s by default)."""
    return scripted_job(product, prefix, {"starting": 0.2, "running": 4, **script}, **(definition or {}))


def test_a_poll_that_crashes_or_times_out_is_retried_and_the_healthy_run_is_not_stopped(product):
    job = _job(product, "e2e-poll-unknown")
    product.lambda_fault(POLL, kind="unknown", count=2)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn, timeout=120)
    assert execution["status"] == "SUCCEEDED", execution
    errors = [f["error"] for f in lambda_failures(product.history(arn))]
    assert errors == ["Lambda.Unknown", "Lambda.Unknown"], errors
    assert [r["JobRunState"] for r in product.runs(job)] == ["SUCCEEDED"], "never stopped"


def test_throttled_polls_wait_in_rounds_and_the_run_is_followed_to_its_end(product):
    machine = product.create_state_machine(unique("glue-job-quick"), quick_faults=True)
    job = _job(product, "e2e-poll-throttled", running="hold")
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    # Throttled through the retries and into rounds of PollFaulted, for ten seconds; the run
    # ends once the rounds began.
    product.lambda_fault(POLL, kind="throttle", seconds=10)
    until_entered(product, arn, "FirstPollFault")
    product.end_run(job, "SUCCEEDED")
    execution = product.wait(arn, timeout=120)
    assert execution["status"] == "SUCCEEDED", execution
    history = product.history(arn)
    assert "FirstPollFault" in states_entered(history)
    assert "CancelAbandonedRun" not in states_entered(history)
    assert {f["error"] for f in lambda_failures(history)} == {"Lambda.TooManyRequestsException"}
    assert [r["JobRunState"] for r in product.runs(job)] == ["SUCCEEDED"]


def test_polling_gives_up_only_after_its_rounds_and_then_stops_the_run(product):
    machine = product.create_state_machine(unique("glue-job-quick"), quick_faults=True)
    job = _job(product, "e2e-poll-gives-up", running="hold", stopping=0.3)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    until_polling(product, arn)
    product.lambda_fault(POLL, kind="throttle", seconds=600)
    try:
        execution = product.wait(arn, timeout=240)
    finally:
        product.clear_faults()
    assert (execution["status"], execution.get("error")) == ("FAILED", "Lambda.TooManyRequestsException")
    entered = states_entered(product.history(arn))
    # The first round and twelve more, then the run is stopped before the execution fails.
    assert (entered.count("FirstPollFault"), entered.count("AnotherPollFault")) == (1, 12)
    # The run is stopped, the topic told, and the execution fails.
    assert entered[-3:] == ["CancelAbandonedRun", "NotifyGaveUp", "PollGaveUp"]
    told = [m for m in product.notifications()
            if m.get("MessageAttributes", {}).get("status", {}).get("Value") == "PollGaveUp" and arn in m["Message"]]
    assert len(told) == 1 and told[0]["Subject"] == "Polysync: polling gave up on a Glue run", told
    assert "Lambda.TooManyRequestsException" in told[0]["Message"]
    assert stop_requests(product, job) == [product.runs(job)[0]["Id"]]
    until_run_state(product, job, "STOPPED")


def test_a_start_reported_failed_while_it_still_runs_makes_exactly_one_run(product):
    job = _job(product, "e2e-start-still-running")
    # Lambda tells Step Functions the invocation failed; the function goes on and starts the run.
    product.lambda_fault(START, kind="service-error", count=1)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn, timeout=180)
    assert execution["status"] == "SUCCEEDED", execution
    assert [f["error"] for f in lambda_failures(product.history(arn))] == ["Lambda.ServiceException"]
    assert len(product.runs(job)) == 1, "the retry adopted the run the first invocation made"
    assert len([b for b in product.requests("StartJobRun") if b["JobName"] == job]) == 1


def test_two_stacks_with_the_same_execution_names_never_stop_each_others_runs(product):
    job = _job(product, "e2e-two-stacks", {"ExecutionProperty": {"MaxConcurrentRuns": 2}},
               running="hold", stopping=0.3)
    dev = product.create_state_machine(unique("dev-glue-job"))
    prod = product.create_state_machine(unique("prod-glue-job"))
    name = unique("nightly")
    dev_arn = product.start_execution(name, {"job": {"externalId": job}}, dev)
    until(lambda: len(product.runs(job)) == 1, what="the dev run")
    prod_arn = product.start_execution(name, {"job": {"externalId": job}}, prod)
    until(lambda: len(product.runs(job)) == 2, what="the prod run")
    # The dev execution is aborted; the prod run (the newest, same execution name) must live.
    product.sfn.stop_execution(executionArn=dev_arn, error="Operator", cause="dev stopped")
    product.wait(dev_arn)
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(dev_arn))
    assert not failed and answer["stopRequested"], answer
    runs = {r["Arguments"]["--polysync-execution-id"]: r for r in product.runs(job)}
    # Only the dev run was asked to stop; the prod run lives on.
    assert stop_requests(product, job) == [runs[dev_arn]["Id"]]
    assert runs[prod_arn]["JobRunState"] in {"STARTING", "RUNNING"}
    assert runs[dev_arn]["JobRunState"] in {"STOPPING", "STOPPED"}
    product.sfn.stop_execution(executionArn=prod_arn)
    product.invoke("polysync-glue-cancel", product.execution_status_change(prod_arn))


def test_a_follow_input_without_what_start_told_follows_the_run(product):
    job = _job(product, "e2e-follow-partial", running=2)
    run_id = product.glue.start_job_run(JobName=job)["JobRunId"]
    arn = product.start_execution(unique("exec"), {"runId": f"{job}/{run_id}", "run": {"runId": f"{job}/{run_id}"}})
    execution = product.wait(arn, timeout=60)
    assert execution["status"] == "SUCCEEDED", execution
    assert len(product.runs(job)) == 1


def test_a_poll_of_just_a_run_id_fails_at_once_for_a_job_without_retries(product):
    job = _job(product, "e2e-bare-poll", running="hold")
    run_id = product.glue.start_job_run(JobName=job)["JobRunId"]
    product.end_run(job, "FAILED", error_message="boom")
    failed, answer = product.invoke(POLL, {"runId": f"{job}/{run_id}"})
    assert not failed, answer
    assert (answer["status"], answer["terminal"]) == ("Failed", True), answer
