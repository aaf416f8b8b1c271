"""Long runs (docs/interface.md: "Start output", "Poll", "The state machine"): start tells what the job's past runs took and the state
machine hands it to every poll; a run that outlasts an execution's history budget is followed by
child executions of the same state machine (startExecution.sync:2), never by a second run. The
budget is the definition's own setting, lowered here so that runs of seconds need children; each
long run lives until the test ends it, once the chain it needs is there."""

import json
from pathlib import Path

import pytest

from support import (
    BUDGET,
    chain_of,
    held_job,
    lambda_inputs,
    lambda_outputs,
    states_entered,
    unique,
    until,
    until_run_state,
    with_history,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def budget_machine(product):
    return product.create_state_machine(unique("polysync-glue-job-budget"), history_budget=BUDGET)


def _until_children(product, machine, job, count):
    """Waits until `count` children follow the job's run and the newest still runs; the chain."""
    def grown():
        runs = product.runs(job)
        chain = chain_of(product, machine, f"{job}/{runs[0]['Id']}") if runs else []
        return len(chain) >= count and chain[-1]["status"] == "RUNNING" and chain
    return until(grown, seconds=240, what=f"{count} child execution(s) following {job}")


def test_start_tells_what_past_runs_took_and_every_poll_is_told(product):
    job = unique("e2e-history")
    with_history(product, job, seconds=2)

    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)
    started = json.loads(lambda_outputs(history)[0])
    expected = started["expectedDuration"]
    assert expected["runs"] == 5, started
    # Each past run took what its script said, whenever it was read: its wall seconds as Glue's
    # timestamps give them (whole seconds, as start counts them).
    past = product.runs(job)[1:]  # newest first: the execution's own run is [0]
    took = sorted(int(r["CompletedOn"].timestamp()) - int(r["StartedOn"].timestamp()) for r in past)
    assert took[0] <= expected["p50Seconds"] <= expected["p90Seconds"] <= took[-1], (took, expected)
    # Every poll is told the expected duration and the job's MaxRetries (read once, by start).
    assert started["maxRetries"] == 0
    polls = [event for event in lambda_inputs(history) if "historyBudget" in event]
    assert polls and all(event["expectedDuration"] == expected for event in polls)
    assert all(event["maxRetries"] == 0 for event in polls)


def test_a_job_without_past_runs_is_followed_by_its_age(product):
    job = unique("e2e-no-history")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 1, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    started = json.loads(lambda_outputs(product.history(arn))[0])
    assert started["expectedDuration"] is None


def test_a_long_run_is_followed_across_child_executions_to_its_end(product, budget_machine):
    job = held_job(product, "e2e-long")
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
    _until_children(product, budget_machine, job, 2)
    product.end_run(job, "SUCCEEDED")
    ended = product.wait(parent, timeout=240)
    assert ended["status"] == "SUCCEEDED", ended
    output = json.loads(ended["output"])
    assert output["status"] == "Success" and output["glueState"] == "SUCCEEDED"

    runs = product.runs(job)
    assert len(runs) == 1, "children follow the run; none starts another"
    run_id = f"{job}/{runs[0]['Id']}"
    chain = chain_of(product, budget_machine, run_id)
    assert len(chain) >= 2, [c["name"] for c in chain]
    # Each child was started by the execution before it, and ended as it did.
    started_by = [json.loads(c["input"])["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] for c in chain]
    assert started_by == [parent] + [c["executionArn"] for c in chain[:-1]]
    assert all(c["status"] == "SUCCEEDED" for c in chain)
    # No execution wrote more history than the budget; only the first ran Start.
    for arn in [parent] + [c["executionArn"] for c in chain]:
        history = product.history(arn)
        assert len(history) <= BUDGET, (arn, len(history))
        assert ("Start" in states_entered(history)) == (arn == parent)
    last = product.history(chain[-1]["executionArn"])
    assert states_entered(last)[-1] == "Succeeded"
    # The parent ends as its child did: from ChildSucceeded out of the loop's branch to Succeeded.
    entered = states_entered(product.history(parent))
    assert "ChildSucceeded" in entered and entered[-2:] == ["ReadSuccess", "Succeeded"], entered


def test_a_failure_seen_by_a_child_fails_the_parent_the_same_way(product, budget_machine):
    job = held_job(product, "e2e-long-failure")
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
    _until_children(product, budget_machine, job, 1)
    product.end_run(job, "FAILED", error_message="AnalysisException: table not found")
    ended = product.wait(parent, timeout=240)
    assert ended["status"] == "FAILED", ended
    assert ended["error"] == "Polysync.JobFailed"
    cause = json.loads(ended["cause"])
    assert cause["glueState"] == "FAILED" and "table not found" in cause["errorMessage"]


def test_stopping_the_parent_mid_way_stops_the_child_s_run(product, budget_machine):
    # A streaming job: its run lives until stopped, followed by one child after another.
    job = held_job(product, "e2e-streaming-aborted", command="gluestreaming")
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
    _until_children(product, budget_machine, job, 1)

    product.sfn.stop_execution(executionArn=parent, error="Operator", cause="stopped from the console")
    assert product.wait(parent)["status"] == "ABORTED"
    # What the EventBridge rule of template.yaml delivers to cancel: the parent's input names
    # the job, its execution tags the run.
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(parent))
    assert not failed and answer["stopRequested"] is True, answer
    until_run_state(product, job, "STOPPED")
    # The children end too (on AWS Step Functions stops them with the parent; here the last
    # one sees the run STOPPED): none is left polling.
    run_id = f"{job}/{product.runs(job)[0]['Id']}"
    for child in chain_of(product, budget_machine, run_id):
        assert product.wait(child["executionArn"], timeout=60)["status"] != "RUNNING"
    # A child's own status change names the run: cancel finds nothing left to stop.
    failed, answer = product.invoke("polysync-glue-cancel", {"runId": run_id})
    assert not failed and answer["stopRequested"] is False and answer["status"] == "Cancelled", answer
    assert len(product.runs(job)) == 1


def test_an_execution_given_a_run_follows_it_and_starts_none(product):
    # events/follow-run.json, as a person would start it from the console, without the history.
    job = unique("e2e-follow")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 3, "end": "SUCCEEDED"})
    run_id = f"{job}/{product.glue.start_job_run(JobName=job)['JobRunId']}"
    follow = json.loads((ROOT / "events" / "follow-run.json").read_text())
    # As a parent hands it on; as a person might write it, without lateNoticeSent; a bare runId.
    as_child = {**follow, "runId": run_id, "run": {**follow["run"], "runId": run_id}}
    without_late_notice = {"runId": run_id, "run": as_child["run"]}
    for given in [as_child, without_late_notice, {"runId": run_id}]:
        arn = product.start_execution(unique("exec"), given)
        ended = product.wait(arn)
        assert ended["status"] == "SUCCEEDED", ended
        assert json.loads(ended["output"])["runId"] == run_id
        entered = states_entered(product.history(arn))
        assert "Start" not in entered and entered[0] == "FollowsRun"
    assert len(product.runs(job)) == 1
