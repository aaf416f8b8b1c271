"""The team hears of it (issue 22, failure messages): the real state machine publishes one
message to the stack's topic for a run that ended otherwise than Success, read here from a
queue subscribed to the topic as a mailbox would be; a success sends none; a topic that refuses
the publish leaves the execution's outcome unchanged."""

import json
import time

from test_state_machine import CANARY, TABLE_NOT_FOUND, failed_with_canary, run_to_end, unique


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
