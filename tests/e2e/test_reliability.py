"""Never a duplicate, never an orphan: the state machine and the binaries under lost replies,
aborted and timed-out executions."""

import time

from test_state_machine import states_entered, unique


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
    assert runs[0]["Arguments"]["--polysync-execution-id"] == execution_name
    assert len([b for b in product.requests("StartJobRun") if b["JobName"] == job]) == 1


def _wait_until_polling(product, arn):
    deadline = time.monotonic() + 60
    while "WaitForRun" not in states_entered(product.history(arn)):
        assert time.monotonic() < deadline, "the execution never reached its polling loop"
        time.sleep(0.2)


def _deliver_status_change_and_expect_stopped(product, arn, job):
    # What the EventBridge rule of template.yaml delivers to the cancel function.
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(arn))
    assert not failed, answer
    assert answer["stopRequested"] is True
    # STOPPED within one poll interval (the e2e bounds are 1-2 s).
    deadline = time.monotonic() + 2.0
    while product.runs(job)[0]["JobRunState"] != "STOPPED":
        assert time.monotonic() < deadline, product.runs(job)[0]["JobRunState"]
        time.sleep(0.1)


def test_an_aborted_execution_leaves_no_run_behind(product):
    job = unique("e2e-aborted")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 300, "stopping": 0.5})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    _wait_until_polling(product, arn)
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")
    assert product.wait(arn)["status"] == "ABORTED"
    _deliver_status_change_and_expect_stopped(product, arn, job)


def test_a_timed_out_execution_leaves_no_run_behind(product):
    job = unique("e2e-timed-out")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 300, "stopping": 0.5})
    machine = product.create_state_machine(unique("glue-job-timeout"), timeout_seconds=6)
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
