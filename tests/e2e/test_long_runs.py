"""Long runs (docs/interface.md: "Start output", "Poll", "The state machine"): start tells what the job's past runs took and the state
machine hands it to every poll; a run that outlasts an execution's history budget is followed by
child executions of the same state machine (startExecution.sync:2), never by a second run. The
budget is the definition's own setting, lowered here so that runs of seconds need children."""

import json
import time
from pathlib import Path

import pytest
from test_state_machine import lambda_outputs, states_entered, unique

ROOT = Path(__file__).resolve().parents[2]
# Events one execution may write here: three polls each, with room for the late notice and one
# wake round (shared/src/polling/ counts them: 23 to come in, 9 a poll and its wait, 29 to the
# end, 31 of detours).
BUDGET = 108


@pytest.fixture(scope="module")
def budget_machine(product):
    return product.create_state_machine(unique("polysync-glue-job-budget"), history_budget=BUDGET)


def lambda_inputs(history):
    return [json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])
            for e in history if e["type"] == "LambdaFunctionScheduled"]


def chain_of(product, machine, run_id):
    """The executions of `machine` that followed `run_id` as children, oldest first."""
    chain = []
    for execution in product.executions(machine):
        described = product.sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"]).get("runId") == run_id:
            chain.append(described)
    return sorted(chain, key=lambda e: e["startDate"])


def test_start_tells_what_past_runs_took_and_every_poll_is_told(product):
    job = unique("e2e-history")
    product.create_job(job, ExecutionProperty={"MaxConcurrentRuns": 10})
    product.script(job, {"starting": 0.2, "running": 2, "end": "SUCCEEDED"})
    for _ in range(5):
        product.glue.start_job_run(JobName=job)
    deadline = time.monotonic() + 30
    while any(run["JobRunState"] != "SUCCEEDED" for run in product.runs(job)):
        assert time.monotonic() < deadline, product.runs(job)
        time.sleep(0.2)

    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    assert product.wait(arn)["status"] == "SUCCEEDED"
    history = product.history(arn)
    started = json.loads(lambda_outputs(history)[0])
    expected = started["expectedDuration"]
    assert expected["runs"] == 5, started
    assert 2 <= expected["p50Seconds"] <= expected["p90Seconds"] <= 4, expected
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
    job = unique("e2e-long")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 16, "end": "SUCCEEDED"})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
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
    job = unique("e2e-long-failure")
    product.create_job(job)
    product.script(job, {"starting": 0.2, "running": 10, "end": "FAILED",
                         "errorMessage": "AnalysisException: table not found"})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
    ended = product.wait(parent, timeout=240)
    assert ended["status"] == "FAILED", ended
    assert ended["error"] == "Polysync.JobFailed"
    cause = json.loads(ended["cause"])
    assert cause["glueState"] == "FAILED" and "table not found" in cause["errorMessage"]


def test_stopping_the_parent_mid_way_stops_the_child_s_run(product, budget_machine):
    # A streaming job: its run lives until stopped, followed by one child after another.
    job = unique("e2e-streaming-aborted")
    product.create_job(job, command="gluestreaming")
    product.script(job, {"starting": 0.2, "running": 300, "stopping": 0.5})
    parent = product.start_execution(unique("exec"), {"job": {"externalId": job}}, budget_machine)
    deadline = time.monotonic() + 60
    while True:
        runs = product.runs(job)
        chain = chain_of(product, budget_machine, f"{job}/{runs[0]['Id']}") if runs else []
        if any(c["status"] == "RUNNING" for c in chain):
            break
        assert time.monotonic() < deadline, "no child execution"
        time.sleep(0.5)

    product.sfn.stop_execution(executionArn=parent, error="Operator", cause="stopped from the console")
    assert product.wait(parent)["status"] == "ABORTED"
    # What the EventBridge rule of template.yaml delivers to cancel: the parent's input names
    # the job, its execution tags the run.
    failed, answer = product.invoke("polysync-glue-cancel", product.execution_status_change(parent))
    assert not failed and answer["stopRequested"] is True, answer
    deadline = time.monotonic() + 30
    while product.runs(job)[0]["JobRunState"] != "STOPPED":
        assert time.monotonic() < deadline, product.runs(job)[0]["JobRunState"]
        time.sleep(0.2)
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
