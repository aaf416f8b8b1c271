"""Never a duplicate, never an orphan: the state machine and the binaries under lost replies,
aborted and timed-out executions."""

import json
import threading
import time

import pytest

from replay_cancel_failures import replay
from support import held_job, stop_requests, unique, until, until_polling, until_run_state


def test_a_start_whose_reply_was_lost_is_retried_into_the_same_run(product):
    job = unique("e2e-lost-reply")
    product.create_job(job)
    product.script(job, {"starting": 0.3, "running": 0.5})
    # Glue starts the run, and the answer never reaches the start function.
    product.fault(operation="StartJobRun", kind="lost-reply", count=1, job=job)
    execution_name = unique("exec")
    arn = product.start_execution(execution_name, {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    failures = [e for e in product.history(arn) if e["type"] == "LambdaFunctionFailed"]
    assert [f["lambdaFunctionFailedEventDetails"]["error"] for f in failures] == ["Glue.Unavailable"]
    runs = product.runs(job)
    assert len(runs) == 1, "the retried start adopted the run instead of starting a second"
    assert runs[0]["Arguments"]["--polysync-execution-id"] == arn, "tagged with the execution ARN"
    assert len([b for b in product.requests("StartJobRun") if b["JobName"] == job]) == 1


def _deliver_status_change_and_expect_stopped(product, arn, job, include_input=True):
    # What the EventBridge rule of template.yaml delivers to the cancel function.
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(arn, include_input))
    assert not failed, answer
    assert answer["stopRequested"] is True
    # Glue was asked to stop that run, once, and it stops.
    assert stop_requests(product, job) == [product.runs(job)[0]["Id"]]
    until_run_state(product, job, "STOPPED")


def _aborted_while_polling(product, prefix):
    """A run kept live, and its execution aborted from the console once it polls."""
    job = held_job(product, prefix)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    until_polling(product, arn)
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")
    assert product.wait(arn)["status"] == "ABORTED"
    return arn, job


@pytest.mark.parametrize("include_input", [True, False], ids=["with input", "input left out"])
def test_an_aborted_execution_leaves_no_run_behind(product, include_input):
    arn, job = _aborted_while_polling(product, "e2e-aborted")
    # Past 248 KB of input and output, the event has no input: cancel reads it (DescribeExecution).
    _deliver_status_change_and_expect_stopped(product, arn, job, include_input)


def test_a_timed_out_execution_leaves_no_run_behind(product):
    job = held_job(product, "e2e-timed-out")
    # Time for the start and a first poll even on a loaded machine, then the definition's own
    # timeout ends the execution while its run is live.
    machine = product.create_state_machine(unique("glue-job-timeout"), timeout_seconds=30)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    execution = product.wait(arn, timeout=60)
    assert execution["status"] == "TIMED_OUT", execution
    assert product.runs(job)[0]["JobRunState"] == "RUNNING", "left running until cancel"
    _deliver_status_change_and_expect_stopped(product, arn, job)


def test_the_status_change_of_a_succeeded_execution_stops_nothing(product):
    job = unique("e2e-succeeded")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 0.3})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(arn))
    assert not failed and answer["stopRequested"] is False
    assert not [b for b in product.requests("BatchStopJobRun") if b["JobName"] == job]


def test_an_execution_aborted_during_a_start_leaves_no_run_behind(product):
    job = held_job(product, "e2e-abort-during-start")
    # StartJobRun is held: the execution is aborted while the start function waits for Glue.
    gate = unique("start-job-run")
    product.gate(gate, operation="StartJobRun", job=job)
    try:
        arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
        until(lambda: product.gate_counts(gate)["held"] == 1, what="the start at StartJobRun")
        product.sfn.stop_execution(executionArn=arn, error="Operator", cause="aborted during Start")
        # On AWS the ABORTED event leaves at once, while the start function still waits for Glue
        # (moto's interpreter only settles the abort once the task returns): deliver it now.
        event = product.execution_status_change(arn)
        event["detail"].update(status="ABORTED", stopDate=int(time.time() * 1000))
        assert product.runs(job) == [], "the run does not exist yet when the abort is delivered"
        def looks():
            return len([b for b in product.requests("GetJobRuns") if b["JobName"] == job])

        looked_before = looks()  # start's own reads of the job's history
        answers: list = []
        cancel = threading.Thread(target=lambda: answers.append(product.invoke("polysync-glue-cancel", event)))
        cancel.start()
        # Cancel has sent its first look for the run; then the start goes through.
        until(lambda: looks() > looked_before, what="cancel's first look")
        product.release(gate)
        cancel.join()
    finally:
        product.open_gate(gate)
    [(failed, answer)] = answers
    assert not failed, answer
    assert answer["stopRequested"] is True, answer
    assert stop_requests(product, job) == [product.runs(job)[0]["Id"]]
    until_run_state(product, job, "STOPPED")
    product.wait(arn)
    assert len(product.runs(job)) == 1


def test_a_refused_execution_and_one_of_an_unknown_job_have_nothing_to_stop(product):
    job = unique("e2e-refused")
    product.create_job(job)
    refused = product.start_execution(unique("exec"), {
        "job": {"externalId": job, "attributes": {"glueTimeoutMinute": 5}},
    })
    unknown = product.start_execution(unique("exec"), {"job": {"externalId": unique("no-such-job")}})
    for arn, error, reason in [
        (refused, "Polysync.InvalidInput", "no run"),
        (unknown, "Glue.EntityNotFoundException", "does not exist"),
    ]:
        execution = product.wait(arn)
        assert (execution["status"], execution["error"]) == ("FAILED", error)
        failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(arn))
        assert not failed, answer
        assert answer["stopRequested"] is False
        assert reason in answer["message"], answer


def test_a_cancel_that_fails_through_lambda_s_retries_lands_in_the_queue_and_is_replayed(product):
    arn, job = _aborted_while_polling(product, "e2e-replay")
    sqs = product.session.client("sqs", endpoint_url=product.url)
    queue = sqs.create_queue(QueueName=unique("cancel-failures"))["QueueUrl"]
    product.on_failure("polysync-glue-cancel", queue, retry_seconds=0.5)
    # Glue fails every read of all three attempts (three SDK attempts each).
    product.fault(operation="GetJobRuns", kind="http500", count=9, job=job)
    product.invoke_async("polysync-glue-cancel", product.execution_status_change(arn))
    messages = until(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, VisibilityTimeout=0).get("Messages"),
                     what="the failed cancel reaching the queue")
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == "Glue.Unavailable"
    assert product.runs(job)[0]["JobRunState"] == "RUNNING", "left running until the replay"

    assert stop_requests(product, job) == []
    counts = replay(sqs, product.lambda_, queue, "polysync-glue-cancel")
    assert counts == {"replayed": 1, "failed again": 0, "unreadable": 0}
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    assert stop_requests(product, job) == [product.runs(job)[0]["Id"]]
    until_run_state(product, job, "STOPPED")
