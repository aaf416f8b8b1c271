"""The team hears of it (issue 22, failure messages): the real state machine publishes one
message to the stack's topic for a run that ended otherwise than Success, read here from a
queue subscribed to the topic as a mailbox would be; a success sends none; a topic that refuses
the publish leaves the execution's outcome unchanged; a run well past what its history expects
sends one "late" message, across child executions too."""

import json

from support import (
    BUDGET,
    CANARY,
    TABLE_NOT_FOUND,
    failed_with_canary,
    messages_about,
    run_to_end,
    states_entered,
    unique,
    until,
    until_entered,
    with_history,
)


def _published(history):
    """The execution's publishes to the topic that SNS took."""
    return [e for e in history if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resourceType"] == "sns"]


def test_a_failed_run_sends_one_message_a_person_reads_at_a_glance(product):
    job, arn, execution = failed_with_canary(product, "e2e-notify-failed", WorkerType="G.1X", NumberOfWorkers=2)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    # Exactly one, however many polls it took: one publish in the history, one in the mailbox.
    assert len(_published(product.history(arn))) == 1
    [message] = messages_about(product, job)
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


def test_a_successful_run_sends_none(product):
    job, arn, execution = run_to_end(product, "e2e-notify-ok", {"starting": 0.2, "running": 1})
    assert execution["status"] == "SUCCEEDED"
    assert _published(product.history(arn)) == []
    assert messages_about(product, job) == []


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


def _late_messages(product, job):
    return [m for m in messages_about(product, job) if m["MessageAttributes"]["status"]["Value"] == "Late"]


def test_a_late_run_sends_one_late_message_and_is_still_followed_to_its_end(product):
    job = unique("e2e-late")
    with_history(product, job)
    # Past p90 + the spread (a few seconds here), and polled twice more after, then a success.
    product.script(job, {"starting": 0.2, "running": "hold"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    entered = until_entered(product, arn, "NotifyLate")
    until_entered(product, arn, "Poll", times=entered.count("Poll") + 2)
    product.end_run(job, "SUCCEEDED")
    assert product.wait(arn)["status"] == "SUCCEEDED"
    [late] = _late_messages(product, job)
    assert late["Subject"] == f"Polysync: Glue job {job} is late"
    assert late["Message"].startswith(f"Glue job {job} is late: its run has been going for"), late
    assert "successful runs took" in late["Message"] and "states/home" in late["Message"], late
    # One message in all (a success sends no other), and one NotifyLate however many polls.
    assert len(messages_about(product, job)) == 1
    entered = states_entered(product.history(arn))
    assert entered.count("NotifyLate") == 1 and entered.count("Poll") > 3, entered


def test_a_late_run_followed_across_child_executions_sends_one_late_message(product):
    job = unique("e2e-late-long")
    with_history(product, job)
    # Three polls per execution: the run outlives two executions; one of the chain finds it late
    # and the rest are told it was.
    machine = product.create_state_machine(unique("polysync-glue-job-late-budget"), history_budget=BUDGET)
    product.script(job, {"starting": 0.2, "running": "hold"})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    until(lambda: len(product.executions(machine)) >= 3 and _late_messages(product, job), seconds=240,
          what="a late message and two child executions")
    product.end_run(job, "SUCCEEDED")
    assert product.wait(parent, timeout=240)["status"] == "SUCCEEDED"
    assert len(_late_messages(product, job)) == 1
    assert len(messages_about(product, job)) == 1
    # The budget keeps room for the late notice, in whichever execution sends it.
    for execution in product.executions(machine):
        assert len(product.history(execution["executionArn"])) <= BUDGET, execution


def test_a_late_message_that_cannot_be_sent_leaves_the_run_followed(product):
    refusing = product.create_state_machine(
        unique("polysync-glue-job-late-no-topic"),
        topic_arn="arn:aws:sns:us-east-1:123456789012:polysync-glue-deleted",
    )
    job = unique("e2e-late-refused")
    with_history(product, job)
    product.script(job, {"starting": 0.2, "running": "hold"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, refusing)
    entered = until_entered(product, arn, "NotifyLate")
    until_entered(product, arn, "Poll", times=entered.count("Poll") + 2)
    product.end_run(job, "SUCCEEDED")
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)
    assert states_entered(history).count("NotifyLate") == 1
    assert [e for e in history if e["type"] == "TaskFailed"], "the publish was tried and refused"
