"""The run options a Glue user asks of a run (issue 20) through the real state machine and
binaries: a Flex run, a Python shell run sized by MaxCapacity, and the refusals start makes
before Glue would, which the stand-in makes too (standins/polysync_standin/glue.py, `_check_run_options`;
where Glue's exact wording is not on record its messages are the stand-in's own)."""

import json

import botocore.exceptions
import pytest

from support import scripted_job, states_entered, unique


def _started_with(product, job):
    return [body for body in product.requests("StartJobRun") if body["JobName"] == job]


def test_a_flex_run_goes_end_to_end_and_says_so(product):
    job = scripted_job(product, "e2e-flex", GlueVersion="4.0")
    arn = product.start_execution(unique("exec"), {
        "job": {"externalId": job, "attributes": {"glueExecutionClass": "FLEX",
                                                  "glueNotifyDelayAfterMinutes": 90}},
    })
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    [request] = _started_with(product, job)
    assert request["ExecutionClass"] == "FLEX"
    assert request["NotificationProperty"] == {"NotifyDelayAfter": 90}
    [run] = product.runs(job)
    assert run["ExecutionClass"] == "FLEX" and run["JobRunState"] == "SUCCEEDED"
    start = next(
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]) for e in product.history(arn)
        if e["type"] == "LambdaFunctionSucceeded" and "compute" in e["lambdaFunctionSucceededEventDetails"]["output"]
    )
    assert start["compute"]["executionClass"] == {"value": "FLEX", "source": "job"}


def test_a_python_shell_run_sized_by_max_capacity_goes_end_to_end(product):
    job = scripted_job(product, "e2e-shell-dpu", command="pythonshell", MaxCapacity=1.0, GlueVersion="3.0")
    arn = product.start_execution(unique("exec"), {
        "job": {"externalId": job, "attributes": {"glueMaxCapacity": 0.0625}},
    })
    assert product.wait(arn)["status"] == "SUCCEEDED"
    [request] = _started_with(product, job)
    assert request["MaxCapacity"] == 0.0625
    assert "WorkerType" not in request and "NumberOfWorkers" not in request


@pytest.mark.parametrize("command,version,attributes,attribute", [
    ("pythonshell", "3.0", {"glueExecutionClass": "FLEX"}, "glueExecutionClass"),
    ("glueetl", "2.0", {"glueExecutionClass": "FLEX"}, "glueExecutionClass"),
    ("pythonshell", "3.0", {"glueMaxCapacity": 0.5}, "glueMaxCapacity"),
    ("glueetl", "4.0", {"glueMaxCapacity": 10}, "glueMaxCapacity"),
    ("glueetl", "4.0", {"glueJobRunQueuing": True, "glueExecutionClass": "FLEX"}, "glueJobRunQueuing"),
])
def test_a_run_option_the_job_cannot_take_is_refused_before_glue(product, command, version, attributes, attribute):
    job = scripted_job(product, "e2e-refused-option", command=command, GlueVersion=version)
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job, "attributes": attributes}})
    execution = product.wait(arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Polysync.InvalidInput"
    assert f"job.attributes.{attribute}" in execution["cause"], execution["cause"]
    assert states_entered(product.history(arn))[-1] == "StartRefused"
    assert _started_with(product, job) == []


@pytest.mark.parametrize("command,version,request_fields,definition", [
    ("pythonshell", "3.0", {"ExecutionClass": "FLEX"}, {}),
    ("glueetl", "2.0", {"ExecutionClass": "FLEX"}, {}),
    ("pythonshell", "3.0", {"MaxCapacity": 0.5}, {}),
    ("glueetl", "4.0", {"MaxCapacity": 10.0}, {}),
    ("glueetl", "1.0", {"MaxCapacity": 10.0, "WorkerType": "G.1X", "NumberOfWorkers": 2}, {}),
    ("glueetl", "4.0", {"JobRunQueuingEnabled": True, "ExecutionClass": "FLEX"}, {}),
    ("glueetl", "4.0", {"JobRunQueuingEnabled": True}, {"MaxRetries": 1}),
])
def test_the_stand_in_refuses_each_rule_as_glue_does(product, command, version, request_fields, definition):
    # Glue's exact answers to these are not on record: the code is Glue's, the wording the stand-in's.
    job = scripted_job(product, "e2e-standin-option", command=command, GlueVersion=version, **definition)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        product.glue.start_job_run(JobName=job, **request_fields)
    assert refused.value.response["Error"]["Code"] == "InvalidInputException"
    assert product.runs(job) == []


def test_a_glue_5_run_s_diagnosis_holds_its_traceback_from_its_driver_output(product):
    job = scripted_job(product, "e2e-glue5-diagnosis", GlueVersion="5.0", WorkerType="G.1X", NumberOfWorkers=2)
    product.script(job, {"starting": 0.3, "running": 1, "end": "FAILED",
                         "errorMessage": "[TABLE_OR_VIEW_NOT_FOUND] The table or view `sales` cannot be found."})
    arn = product.start_execution(unique("exec"), {
        "job": {"externalId": job},
        "parameters": [{"name": "token", "direction": "Input", "value": "canary-glue5-3b9e"}],
    })
    execution = product.wait(arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "Polysync.JobFailed")
    cause = json.loads(execution["cause"])
    diagnosis = cause["diagnosis"]
    run_id = cause["runId"].split("/")[-1]
    # Glue 5.0 writes Spark's log4j lines to /error and the traceback to /output.
    assert (diagnosis["logGroup"], diagnosis["logStream"]) == ("/aws-glue/jobs/output", f"{run_id}-driver")
    assert diagnosis["lines"][0] == "Traceback (most recent call last):"
    assert "AnalysisException" in diagnosis["lines"][-1]
    assert "canary-glue5-3b9e" not in execution["cause"]
