"""Glue's own events (docs/interface.md, "Glue's own events"): the run's "Glue Job State Change",
delivered by the stand-in as EventBridge does, reaches the real wake function, which ends the
wait of the execution that follows the run. The polling bounds are long here (60 s) and each
run lives until the test ends it, once the execution waits with its token parked: what ended
the wait is read from the history (a WaitForRun cut short and a PollAtOnce, or a wait that ran
its course) and from the stand-in's record of each delivery, never from the clock."""

import json
import threading
from typing import Any

import pytest

from harness import LocalProduct
from support import held_job, states_entered, unique, until, until_entered

WAKE_TABLE = "polysync-glue-wake-e2e"
# Each poll waits a minute: only the event can end an execution sooner.
POLL_SECONDS = 60


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


def _parked(product, run_id):
    return product.dynamodb.get_item(TableName=WAKE_TABLE, Key={"runId": {"S": run_id}}, ConsistentRead=True).get("Item")


def _parked_tokens(history):
    return [json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["park"]["taskToken"]
            for e in history if e["type"] == "TaskScheduled"]


def _waits(history, state="WaitForRun"):
    """(entered, exited) counts of a Wait state: one entered but never exited was cut short."""
    entered = sum(1 for e in history if e["type"] == "WaitStateEntered" and e["stateEnteredEventDetails"]["name"] == state)
    exited = sum(1 for e in history if e["type"] == "WaitStateExited" and e["stateExitedEventDetails"]["name"] == state)
    return entered, exited


def _wake_answers(product, run_id):
    """The wake function's answers to each delivery of the run's event (dropped ones have none)."""
    return [answer for d in product.deliveries(run_id) for answer in d.get("answers", [])]


def _follow_until_parked(product: LocalProduct, prefix: str, machine: str | None = None) -> tuple[str, str, str]:
    """A held run followed by a new execution, up to where it polled once, waits, and has its
    token parked under the run: (job, execution ARN, run id)."""
    job = held_job(product, prefix)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)
    until_entered(product, arn, "WaitForRun")
    run_id = f"{job}/{product.runs(job)[0]['Id']}"
    until(lambda: _parked(product, run_id), what=f"the token parked under {run_id}")
    return job, arn, run_id


def _event_of(job, run_id):
    return {"version": "0", "id": unique("event"), "detail-type": "Glue Job State Change", "source": "aws.glue",
            "account": "123456789012", "time": "2026-12-03T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"jobName": job, "severity": "INFO", "state": "SUCCEEDED", "jobRunId": run_id}}


def test_the_run_s_event_ends_the_wait_and_the_execution(product):
    job, arn, run_id = _follow_until_parked(product, "e2e-wake")
    product.end_run(job, "SUCCEEDED")
    execution = product.wait(arn, timeout=POLL_SECONDS)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["status"] == "Success" and output["glueState"] == "SUCCEEDED", output

    history = product.history(arn)
    entered = states_entered(history)
    assert entered.count("WaitForGlueEvent") == 1, "one token parked for the run"
    assert entered.count("PollAtOnce") == 1 and entered.count("Poll") == 2, " ".join(entered)
    # The event, not the schedule: the one wait was cut short.
    assert _waits(history) == (1, 0), entered
    # The wake's answer is recorded once it returns, which can be after the execution ended.
    glue_run_id = run_id.split("/")[1]
    until(lambda: _wake_answers(product, glue_run_id), what="the wake's answer")
    [delivery] = product.deliveries(glue_run_id)
    assert [a["woken"] for a in delivery["answers"]] == [True], delivery
    # The token was used once and removed: nothing is left to wake.
    assert _parked(product, output["runId"]) is None


def test_without_the_event_the_backstop_ends_the_execution_on_its_schedule(product):
    product.glue_events(delaySeconds=[0.1, 1.0], dropRate=1)
    job, arn, run_id = _follow_until_parked(product, "e2e-wake-dropped")
    product.end_run(job, "SUCCEEDED")
    # Given up after two schedules: the backstop's own wait is a minute.
    execution = product.wait(arn, timeout=2 * POLL_SECONDS + 30)
    assert execution["status"] == "SUCCEEDED", execution
    history = product.history(arn)
    entered = states_entered(history)
    assert "PollAtOnce" not in entered and entered.count("Poll") == 2, entered
    # The wait ran its course, and EventBridge delivered nothing.
    assert _waits(history) == (1, 1), entered
    assert [d["dropped"] for d in product.deliveries(run_id.split("/")[1])] == [True]


def test_a_duplicate_event_and_an_event_for_no_followed_run_change_nothing(product):
    product.glue_events(delaySeconds=[0.1, 1.0], duplicateRate=1)
    job, arn, run_id = _follow_until_parked(product, "e2e-wake-twice")
    product.end_run(job, "SUCCEEDED")
    assert product.wait(arn, timeout=POLL_SECONDS)["status"] == "SUCCEEDED"
    glue_run_id = run_id.split("/")[1]
    # Both deliveries arrive, whenever the second comes: counted, not waited for.
    until(lambda: len(_wake_answers(product, glue_run_id)) == 2, what="the second delivery")
    assert sorted(a["woken"] for a in _wake_answers(product, glue_run_id)) == [False, True]
    assert states_entered(product.history(arn)).count("PollAtOnce") == 1
    assert len(product.runs(job)) == 1

    # A run nobody follows: answered, not failed, nothing sent.
    other = held_job(product, "e2e-wake-nobody")
    other_run = product.glue.start_job_run(JobName=other)["JobRunId"]
    product.end_run(other, "SUCCEEDED")
    failed, answer = product.invoke("polysync-glue-wake", _event_of(other, other_run))
    assert not failed, answer
    assert answer == {"woken": False, "reason": f"no execution follows run {other}/{other_run}"}


def test_a_run_followed_across_a_child_execution_is_woken_in_the_child(product):
    # Two polls per execution: the parent hands the run over after its second poll, a minute in;
    # the run ends once the child has polled it, waits, and has its own token parked.
    machine = product.create_state_machine(unique("polysync-glue-job-wake-budget"), history_budget=95)
    job = held_job(product, "e2e-wake-child")
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, machine)

    def child_parked() -> Any:
        children = [e["executionArn"] for e in product.executions(machine) if e["executionArn"] != parent]
        if not children or not product.runs(job):
            return None
        item = _parked(product, f"{job}/{product.runs(job)[0]['Id']}")
        history = product.history(children[0])
        tokens = _parked_tokens(history)
        waits = "WaitForRun" in states_entered(history)
        return waits and item and tokens and item["taskToken"]["S"] == tokens[-1] and children[0]

    child = until(child_parked, seconds=3 * POLL_SECONDS, what="the child's token parked")
    product.end_run(job, "SUCCEEDED")
    execution = product.wait(parent, timeout=POLL_SECONDS)
    assert execution["status"] == "SUCCEEDED", execution
    child_history = product.history(child)
    assert "PollAtOnce" in states_entered(child_history)
    assert _waits(child_history) == (1, 0), "the child's wait was cut short"
    assert "PollAtOnce" not in states_entered(product.history(parent))


def test_an_aborted_execution_leaves_no_live_token(product):
    job, arn, run_id = _follow_until_parked(product, "e2e-wake-aborted")
    product.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")
    # The run ends (nobody cancels it here); its event finds the token dead and removes it.
    product.end_run(job, "SUCCEEDED")
    until(lambda: _parked(product, run_id) is None, what="the dead token removed")
    glue_run_id = run_id.split("/")[1]
    until(lambda: _wake_answers(product, glue_run_id), what="the event's delivery")
    assert [a["woken"] for a in _wake_answers(product, glue_run_id)] == [False]


def test_two_deliveries_at_once_wake_the_execution_once_and_send_the_token_once(product):
    # EventBridge delivers at least once; here both copies reach the wake together: their
    # GetJobRun calls are held at a gate until both wait there, so both look for the token at
    # the same moment.
    product.glue_events(dropRate=1)
    job, arn, run_id = _follow_until_parked(product, "e2e-wake-together")
    product.end_run(job, "SUCCEEDED")
    glue_run_id = run_id.split("/")[1]
    gate = unique("get-job-run")
    product.gate(gate, operation="GetJobRun", job=job)
    try:
        answers: list = []
        deliveries = [threading.Thread(target=lambda: answers.append(product.invoke("polysync-glue-wake", _event_of(job, glue_run_id))))
                      for _ in range(2)]
        for delivery in deliveries:
            delivery.start()
        until(lambda: product.gate_counts(gate)["held"] == 2, what="both wakes at GetJobRun")
        product.release(gate, count=2)
        for delivery in deliveries:
            delivery.join()
        # The gate still holds the poll that the wake set off, so the execution still runs: Step
        # Functions refuses the used token, as the stand-in enforces; that is what a second send
        # would have met.
        [token] = _parked_tokens(product.history(arn))
        with pytest.raises(product.sfn.exceptions.ClientError) as refused:
            product.sfn.send_task_success(taskToken=token, output="{}")
        assert refused.value.response["Error"]["Code"] == "TaskTimedOut", refused.value.response
        assert product.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    finally:
        product.open_gate(gate)
    assert [failed for failed, _ in answers] == [False, False], answers
    assert sorted(answer["woken"] for _, answer in answers) == [False, True], answers
    # The other found no token, so it sent nothing: had it sent the used one, Step Functions'
    # TaskTimedOut would make it say "no longer waits".
    [other] = [answer for _, answer in answers if not answer["woken"]]
    assert other["reason"] == f"no execution follows run {run_id}", answers
    execution = product.wait(arn, timeout=POLL_SECONDS)
    assert execution["status"] == "SUCCEEDED", execution
    assert states_entered(product.history(arn)).count("PollAtOnce") == 1
