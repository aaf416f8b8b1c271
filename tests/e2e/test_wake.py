"""Glue's own events (docs/interface.md, "Glue's own events"): the run's "Glue Job State Change",
delivered by the stand-in as EventBridge does, reaches the real wake function, which ends the
wait of the execution that follows the run. The polling bounds are long here (60 s), so an
execution that ends within seconds of its run was woken, and one that ends a wait later was
ended by the backstop."""

import json
import threading
import time

import pytest
from test_state_machine import states_entered, unique

from harness import LocalProduct

WAKE_TABLE = "polysync-glue-wake-e2e"
# Each poll waits a minute: only the event can end an execution sooner.
POLL_SECONDS = 60
# Long enough that the first poll sees the run going: a cold start of a debug build took over
# 10 s on a machine busy building.
RUN_SECONDS = 20


@pytest.fixture(scope="module")
def product():
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": str(POLL_SECONDS), "POLYSYNC_POLL_MAX_SECONDS": str(POLL_SECONDS),
                       "POLYSYNC_WAKE_TABLE": WAKE_TABLE}) as local:
        yield local


@pytest.fixture(autouse=True)
def events_as_eventbridge_delivers(product):
    product.glue_events(delaySeconds=[0.1, 1.0])
    yield
    product.glue_events(function=None)
    product.clear_faults()


def _ended_after_run(product, execution, job):
    """Seconds from the run's end (Glue's CompletedOn) to the execution's end."""
    [run] = product.runs(job)
    return (execution["stopDate"] - run["CompletedOn"]).total_seconds()


def _parked(product, run_id):
    return product.dynamodb.get_item(TableName=WAKE_TABLE, Key={"runId": {"S": run_id}}, ConsistentRead=True).get("Item")


def _wake_answers(product):
    """The wake function's answers to Glue's events, from its JSON log lines."""
    answers = []
    for line in product.function_logs().splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        fields = record.get("fields", {})
        if fields.get("message") == "wake":
            answers.append(fields)
    return answers


def _follow_a_run(product, prefix, timeout):
    """A run of RUN_SECONDS that succeeds, followed by a new execution to its end."""
    job = unique(prefix)
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": RUN_SECONDS, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn, timeout=timeout)
    assert execution["status"] == "SUCCEEDED", execution
    return job, arn, execution


def _event_of(job, run_id):
    return {"version": "0", "id": unique("event"), "detail-type": "Glue Job State Change", "source": "aws.glue",
            "account": "123456789012", "time": "2026-12-03T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"jobName": job, "severity": "INFO", "state": "SUCCEEDED", "jobRunId": run_id}}


def test_the_run_s_event_ends_the_execution_within_seconds_of_the_run(product):
    job, arn, execution = _follow_a_run(product, "e2e-wake", timeout=POLL_SECONDS)
    output = json.loads(execution["output"])
    assert output["status"] == "Success" and output["glueState"] == "SUCCEEDED", output
    assert _ended_after_run(product, execution, job) < 5

    entered = states_entered(product.history(arn))
    assert entered.count("WaitForGlueEvent") == 1, "one token parked for the run"
    assert entered.count("PollAtOnce") == 1 and entered.count("Poll") == 2, " ".join(entered)
    # The token was used once and removed: nothing is left to wake.
    assert _parked(product, output["runId"]) is None


def test_without_the_event_the_backstop_ends_the_execution_on_its_schedule(product):
    product.glue_events(delaySeconds=[0.1, 1.0], dropRate=1)
    # Given up after two schedules: the backstop's own time is what the next line asserts.
    job, arn, execution = _follow_a_run(product, "e2e-wake-dropped", timeout=2 * POLL_SECONDS + 30)
    # The first poll's wait ran out: the backstop, a minute after the start, not the event.
    assert _ended_after_run(product, execution, job) > POLL_SECONDS - RUN_SECONDS - 5
    entered = states_entered(product.history(arn))
    assert "PollAtOnce" not in entered and entered.count("Poll") == 2, entered


def test_a_duplicate_event_and_an_event_for_no_followed_run_change_nothing(product):
    product.glue_events(delaySeconds=[0.1, 1.0], duplicateRate=1)
    job, arn, _ = _follow_a_run(product, "e2e-wake-twice", timeout=POLL_SECONDS)
    time.sleep(3)  # the second delivery comes up to a second or two after the first
    assert states_entered(product.history(arn)).count("PollAtOnce") == 1
    assert len(product.runs(job)) == 1
    [run] = product.runs(job)
    about_run = [a for a in _wake_answers(product) if run["Id"] in a.get("reason", "")]
    assert sorted(a["woken"] for a in about_run) == [False, True], about_run

    # A run nobody follows: answered, not failed, nothing sent.
    other = unique("e2e-wake-nobody")
    product.create_job(other)
    product.script(other, {"starting": 0.2, "running": 0.5, "end": "SUCCEEDED"})
    run_id = product.glue.start_job_run(JobName=other)["JobRunId"]
    deadline = time.monotonic() + 20
    while product.runs(other)[0]["JobRunState"] != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    failed, answer = product.invoke("polysync-glue-wake", _event_of(other, run_id))
    assert not failed, answer
    assert answer == {"woken": False, "reason": f"no execution follows run {other}/{run_id}"}


def test_a_run_followed_across_a_child_execution_is_woken_in_the_child(product):
    # Two polls per execution: the parent hands the run over after its second poll, a minute in;
    # the run ends while the child waits.
    machine = product.create_state_machine(unique("polysync-glue-job-wake-budget"), history_budget=95)
    job = unique("e2e-wake-child")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": POLL_SECONDS + 10, "end": "SUCCEEDED"})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    execution = product.wait(parent, timeout=3 * POLL_SECONDS)
    assert execution["status"] == "SUCCEEDED", execution
    assert _ended_after_run(product, execution, job) < 5
    [child] = [e for e in product.executions(machine) if e["executionArn"] != parent]
    assert "PollAtOnce" in states_entered(product.history(child["executionArn"]))
    assert "PollAtOnce" not in states_entered(product.history(parent))


def test_an_aborted_execution_leaves_no_live_token(product):
    job = unique("e2e-wake-aborted")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 6, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    deadline = time.monotonic() + 20
    while "WaitForGlueEvent" not in states_entered(product.history(arn)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1)  # the park is made
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")
    # The run ends (nobody cancels it here); its event finds the token dead and removes it.
    deadline = time.monotonic() + 20
    while product.runs(job)[0]["JobRunState"] != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    run_id = f"{job}/{product.runs(job)[0]['Id']}"
    deadline = time.monotonic() + 10
    while _parked(product, run_id) is not None:
        assert time.monotonic() < deadline, _parked(product, run_id)
        time.sleep(0.2)
    about_run = [a for a in _wake_answers(product) if product.runs(job)[0]["Id"] in a.get("reason", "")]
    assert [a["woken"] for a in about_run] == [False], about_run


def test_two_deliveries_at_once_wake_the_execution_once_and_send_the_token_once(product):
    # EventBridge delivers at least once; here both copies reach the wake together, each
    # GetJobRun a second long, so both look for the token at the same moment.
    product.glue_events(dropRate=1)
    job = unique("e2e-wake-together")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 6, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    deadline = time.monotonic() + 30
    while not (product.runs(job) and product.runs(job)[0]["JobRunState"] == "SUCCEEDED"
               and _parked(product, f"{job}/{product.runs(job)[0]['Id']}")):
        assert time.monotonic() < deadline, states_entered(product.history(arn))
        time.sleep(0.2)
    run_id = product.runs(job)[0]["Id"]
    product.fault(operation="GetJobRun", kind="slow", seconds=1.0, job=job)
    answers: list = []
    deliveries = [threading.Thread(target=lambda: answers.append(product.invoke("polysync-glue-wake", _event_of(job, run_id))))
                  for _ in range(2)]
    for delivery in deliveries:
        delivery.start()
    for delivery in deliveries:
        delivery.join()
    # While the execution still runs (its next poll's GetJobRun takes a second too), Step
    # Functions refuses the used token, as the stand-in enforces: that is what a second send
    # would have met.
    [token] = [json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["park"]["taskToken"]
               for e in product.history(arn) if e["type"] == "TaskScheduled"]
    with pytest.raises(product.sfn.exceptions.ClientError) as refused:
        product.sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut", refused.value.response
    assert product.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert [failed for failed, _ in answers] == [False, False], answers
    assert sorted(answer["woken"] for _, answer in answers) == [False, True], answers
    # The other found no token, so it sent nothing: had it sent the used one, Step Functions'
    # TaskTimedOut would make it say "no longer waits".
    [other] = [answer for _, answer in answers if not answer["woken"]]
    assert other["reason"] == f"no execution follows run {job}/{run_id}", answers
    execution = product.wait(arn, timeout=POLL_SECONDS)
    assert execution["status"] == "SUCCEEDED", execution
    assert states_entered(product.history(arn)).count("PollAtOnce") == 1
