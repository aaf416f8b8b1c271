"""The real statemachine/glue-job.asl.json, executed by moto's Step Functions interpreter, its
Lambda tasks answered by the real function binaries, Glue by the stand-in."""

import json

from support import CANARY, TABLE_NOT_FOUND, failed_with_canary, held_job, lambda_failures, lambda_outputs, states_entered, unique, until_polling


def test_success_ends_with_the_final_poll_and_one_glue_run(product):
    job = held_job(product, "e2e-success")
    execution_name = unique("exec")
    arn = product.start_execution(execution_name, {
        "job": {"externalId": job, "jobType": "AWS Glue Job"},
        "parameters": [{"name": "token", "direction": "Input", "value": CANARY}],
    })
    # The run ends once the execution has polled it and waits: polled more than once, for sure.
    until_polling(product, arn)
    product.end_run(job, "SUCCEEDED")
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["status"] == "Success" and output["glueState"] == "SUCCEEDED" and output["terminal"] is True

    history = product.history(arn)
    entered = states_entered(history)
    assert entered[:5] == ["FollowsRun", "HasParameters", "Start", "TrackRun", "Follow"]
    # Follow's two branches run side by side and their states interleave in any order (CI saw
    # WakeOrNot, WaitForGlueEvent, then Poll): each branch starts at its own first state.
    wake_branch = {"WakeOrNot", "WaitForGlueEvent", "GlueEventArrived", "NoGlueEvent"}
    followed = entered[5:]
    assert [name for name in followed if name in wake_branch][0] == "WakeOrNot", followed
    assert [name for name in followed if name not in wake_branch][0] == "Poll", followed
    assert entered.count("Poll") >= 2 and "WaitForRun" in entered, entered
    assert entered[-1] == "Succeeded"

    runs = product.runs(job)
    assert len(runs) == 1
    assert runs[0]["JobRunState"] == "SUCCEEDED"
    assert runs[0]["Arguments"]["--polysync-execution-id"] == arn, "tagged with the execution ARN"
    assert output["runId"] == f"{job}/{runs[0]['Id']}"

    # The secret reached Glue, and nothing else: no function output, no log line.
    assert runs[0]["Arguments"]["--token"] == CANARY
    assert all(CANARY not in text for text in lambda_outputs(history))
    assert CANARY not in execution["output"]
    logs = product.function_logs()
    assert "started Glue job run" in logs, "the start binary's log lines are captured"
    assert CANARY not in logs


def test_a_failed_run_ends_in_job_failed_with_its_cause(product):
    job = unique("e2e-failure")
    product.create_job(job)
    product.script(job, {"starting": 0.3, "running": 1, "end": "FAILED", "errorMessage": "AnalysisException: no table sales"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Polysync.JobFailed"
    cause = json.loads(execution["cause"])
    assert cause["glueState"] == "FAILED"
    assert "no table sales" in cause["errorMessage"]
    assert cause["monitorUrl"].startswith("https://us-east-1.console.aws.amazon.com/gluestudio/")
    assert states_entered(product.history(arn))[-1] == "Polysync.JobFailed"


def test_a_run_stopped_mid_way_ends_in_job_cancelled(product):
    job = held_job(product, "e2e-cancel")
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    until_polling(product, arn)
    run_id = f"{job}/{product.runs(job)[0]['Id']}"
    # Stopped as a person would from Polysync: the real cancel binary, invoked through Lambda.
    answer = product.lambda_.invoke(FunctionName="polysync-glue-cancel", Payload=json.dumps({"runId": run_id}))
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["stopRequested"] is True

    execution = product.wait(arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Polysync.JobCancelled"
    assert json.loads(execution["cause"])["glueState"] == "STOPPED"
    assert product.runs(job)[0]["JobRunState"] == "STOPPED"


def test_a_start_throttled_twice_is_retried_without_a_second_run(product):
    job = unique("e2e-throttled")
    product.create_job(job)
    product.script(job, {"starting": 0.3, "running": 0.5})
    product.fault(operation="StartJobRun", kind="throttle", count=2, job=job)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution

    failures = lambda_failures(product.history(arn))
    assert [f["error"] for f in failures] == ["Glue.ThrottlingException"] * 2
    assert len([b for b in product.requests("StartJobRun") if b["JobName"] == job]) == 3
    # The retried attempts looked for their run before starting one.
    assert len([b for b in product.requests("GetJobRuns") if b["JobName"] == job]) >= 2
    assert len(product.runs(job)) == 1


def test_a_refused_event_fails_at_once_and_no_glue_run_exists(product):
    job = unique("e2e-invalid")
    product.create_job(job)
    arn = product.start_execution(unique("exec"), {
        "job": {"externalId": job},
        "parameters": [{"name": "mode=full", "direction": "Input", "value": "x"}],
    })
    execution = product.wait(arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Polysync.InvalidInput"
    assert "parameters[0].name" in execution["cause"]
    history = product.history(arn)
    assert len([e for e in history if e["type"] == "LambdaFunctionScheduled"]) == 1, "never retried"
    assert states_entered(history)[-1] == "StartRefused"
    assert not [b for b in product.requests("StartJobRun") if b["JobName"] == job]
    assert product.runs(job) == []


def test_the_execution_follows_glue_s_own_retry_attempt(product):
    job = unique("e2e-glue-retry")
    product.create_job(job, MaxRetries=1)
    product.script(job, {"starting": 0.3, "running": 1, "attempts": [
        {"end": "FAILED", "errorMessage": "transient executor loss"}, {"end": "SUCCEEDED"}]})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    runs = product.runs(job)
    assert len(runs) == 2
    retry = next(r for r in runs if r["Attempt"] == 1)
    assert retry["PreviousRunId"] == next(r for r in runs if r["Attempt"] == 0)["Id"]
    assert output["runId"] == f"{job}/{retry['Id']}"
    assert output["attempt"] == 1


def test_a_failed_run_s_cause_carries_its_error_log_without_a_secret(product):
    job, arn, execution = failed_with_canary(product, "e2e-diagnosis", WorkerType="G.1X", NumberOfWorkers=2)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    cause = json.loads(execution["cause"])
    diagnosis = cause["diagnosis"]
    assert diagnosis["logGroup"] == "/aws-glue/jobs/error"
    assert diagnosis["logStream"] == cause["runId"].split("/")[-1]
    assert diagnosis["lines"][0] == "Traceback (most recent call last):"
    error = diagnosis["lines"][-1]
    assert f"AnalysisException: {TABLE_NOT_FOUND}" in error
    # The error quotes the job's arguments: the token's value is redacted, the key stays.
    assert f"--token {'****'}" in error, error
    assert diagnosis["logsUrl"].startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:")
    assert cause["dpuSeconds"] > 0 and cause["dpuSecondsSource"] == "workers"
    # The "job" printed the canary into its log: it reaches neither the cause, nor any
    # function output, nor a log line of ours.
    logs = product.session.client("logs", endpoint_url=product.url)
    printed = logs.get_log_events(logGroupName="/aws-glue/jobs/error", logStreamName=diagnosis["logStream"])
    assert any(CANARY in e["message"] for e in printed["events"][-3:]), "the job's error quoted it"
    assert CANARY not in execution["cause"]
    assert all(CANARY not in text for text in lambda_outputs(product.history(arn)))
    assert CANARY not in product.function_logs()


def test_a_failed_run_without_a_log_group_still_ends_job_failed(product):
    job = unique("e2e-no-log")
    product.create_job(job)
    product.script(job, {"starting": 0.3, "running": 1, "end": "FAILED", "logs": False,
                         "errorMessage": "no log for this one"})
    # Another test may have made the group; this run's stream is missing either way.
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    cause = json.loads(execution["cause"])
    assert cause["diagnosis"] is None
    assert "no log for this one" in cause["errorMessage"]
