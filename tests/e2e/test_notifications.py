"""The team hears of it (issue 22, failure messages): the real state machine publishes one
message to the stack's topic for a run that ended otherwise than Success, read here from a
queue subscribed to the topic as a mailbox would be; a success sends none; a topic that refuses
the publish leaves the execution's outcome unchanged; a run well past what its history expects
sends one "late" message, across child executions too."""

import json
import time

from test_long_runs import BUDGET
from test_state_machine import CANARY, TABLE_NOT_FOUND, failed_with_canary, run_to_end, states_entered, unique


def _messages_about(product, job, wait_seconds=5.0):
    deadline = time.monotonic() + wait_seconds
    while True:
        found = [m for m in product.notifications()
                 if m.get("MessageAttributes", {}).get("job", {}).get("Value") == job]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_failed_run_sends_one_message_a_person_reads_at_a_glance(product):
    job, _, execution = failed_with_canary(product, "e2e-notify-failed", WorkerType="G.1X", NumberOfWorkers=2)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    [message] = _messages_about(product, job)
    assert message["Subject"] == f"Polysync: Glue job {job} failed"
    assert len(message["Subject"]) < 100
    body = message["Message"]
    assert body.startswith(f"Glue job {job} failed: its run ended FAILED."), body
    assert TABLE_NOT_FOUND in body
    assert "Traceback (most recent call last):" in body or "AnalysisException" in body, body
    assert "gluestudio/home" in body and "cloudwatch/home" in body, body
    assert "states/home" in body and "DPU-seconds" in body, body
    assert message["MessageAttributes"]["status"]["Value"] == "Failed"
    assert CANARY not in json.dumps(message), "no argument value, ever"
    # Exactly one, however many polls it took.
    time.sleep(1)
    assert len(_messages_about(product, job, wait_seconds=0)) == 1


def test_a_successful_run_sends_none(product):
    job, _, execution = run_to_end(product, "e2e-notify-ok", {"starting": 0.2, "running": 1})
    assert execution["status"] == "SUCCEEDED"
    assert _messages_about(product, job, wait_seconds=2) == []


def test_a_topic_that_refuses_the_publish_leaves_the_outcome_unchanged(product):
    refusing = product.create_state_machine(
        unique("polysync-glue-job-no-topic"),
        topic_arn="arn:aws:sns:us-east-1:123456789012:polysync-glue-deleted",
    )
    script = {"starting": 0.2, "running": 1, "end": "FAILED", "errorMessage": "boom"}
    _, arn, execution = run_to_end(product, "e2e-notify-refused", script, state_machine_arn=refusing)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    assert "boom" in json.loads(execution["cause"])["errorMessage"]
    failed = [e for e in product.history(arn) if e["type"] == "TaskFailed"]
    assert failed, "the publish was tried and refused"


def _with_history(product, job, seconds=1):
    """Five successful runs of about `seconds`, so start tells an expectedDuration."""
    product.create_job(job, ExecutionProperty={"MaxConcurrentRuns": 10})
    product.script(job, {"starting": 0.2, "running": seconds, "end": "SUCCEEDED"})
    for _ in range(5):
        product.glue.start_job_run(JobName=job)
    deadline = time.monotonic() + 30
    while any(run["JobRunState"] != "SUCCEEDED" for run in product.runs(job)):
        assert time.monotonic() < deadline, product.runs(job)
        time.sleep(0.2)


def _late_messages(product, job, wait_seconds):
    return [m for m in _messages_about(product, job, wait_seconds)
            if m["MessageAttributes"]["status"]["Value"] == "Late"]


def test_a_late_run_sends_one_late_message_and_is_still_followed_to_its_end(product):
    job = unique("e2e-late")
    _with_history(product, job)
    # Past p90 + the spread (a few seconds here) by far, then a success.
    product.script(job, {"starting": 0.2, "running": 9, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    [late] = _late_messages(product, job, wait_seconds=2)
    assert late["Subject"] == f"Polysync: Glue job {job} is late"
    assert late["Message"].startswith(f"Glue job {job} is late: its run has been going for"), late
    assert "successful runs took" in late["Message"] and "states/home" in late["Message"], late
    # One message in all (a success sends no other), and one NotifyLate however many polls.
    assert len(_messages_about(product, job, wait_seconds=0)) == 1
    entered = states_entered(product.history(arn))
    assert entered.count("NotifyLate") == 1 and entered.count("Poll") > 3, entered


def test_a_late_run_followed_across_child_executions_sends_one_late_message(product):
    job = unique("e2e-late-long")
    _with_history(product, job)
    # Three polls per execution: a run of 14 s needs children; it is late after a few seconds,
    # so one execution of the chain finds it late and the rest are told it was.
    machine = product.create_state_machine(unique("polysync-glue-job-late-budget"), history_budget=BUDGET)
    product.script(job, {"starting": 0.2, "running": 14, "end": "SUCCEEDED"})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    assert product.wait(parent, timeout=240)["status"] == "SUCCEEDED"
    children = [e for e in product.executions(machine) if e["executionArn"] != parent]
    assert children, "the run outlasted the parent's budget"
    assert len(_late_messages(product, job, wait_seconds=3)) == 1
    assert len(_messages_about(product, job, wait_seconds=0)) == 1
    # The budget keeps room for the late notice, in whichever execution sends it.
    for execution in product.executions(machine):
        assert len(product.history(execution["executionArn"])) <= BUDGET, execution


def test_a_late_message_that_cannot_be_sent_leaves_the_run_followed(product):
    refusing = product.create_state_machine(
        unique("polysync-glue-job-late-no-topic"),
        topic_arn="arn:aws:sns:us-east-1:123456789012:polysync-glue-deleted",
    )
    job = unique("e2e-late-refused")
    _with_history(product, job)
    product.script(job, {"starting": 0.2, "running": 8, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, refusing)
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)
    assert states_entered(history).count("NotifyLate") == 1
    assert [e for e in history if e["type"] == "TaskFailed"], "the publish was tried and refused"
