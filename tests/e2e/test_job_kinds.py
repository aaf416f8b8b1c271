"""Every kind of Glue job through the real state machine and binaries, under platform defaults
G.2X × 5, on a stand-in that refuses what Glue refuses for the job's kind (standins/polysync_standin/glue.py,
_check_sizing): the defaults reach only the jobs whose kind takes them."""

import json

import pytest

from support import states_entered, unique

KINDS = [
    # command, definition, what StartJobRun carries (WorkerType, NumberOfWorkers)
    ("glueetl", {"WorkerType": "G.1X", "NumberOfWorkers": 10}, ("G.2X", 5)),
    ("gluestreaming", {"WorkerType": "G.1X", "NumberOfWorkers": 10}, ("G.2X", 5)),
    ("pythonshell", {"MaxCapacity": 0.0625, "GlueVersion": "3.0"}, None),
    ("glueray", {"WorkerType": "Z.2X", "NumberOfWorkers": 2}, None),
]


@pytest.mark.parametrize("command,definition,sent", KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_runs_to_its_end_under_platform_defaults(product_with_platform_defaults, command, definition, sent):
    product = product_with_platform_defaults
    job = unique(f"e2e-{command}")
    product.create_job(job, command=command, **definition)
    product.script(job, {"starting": 0.3, "running": 1, "end": "SUCCEEDED"})
    arn = product.start_execution(unique("exec"), {"job": {"externalId": job}})
    execution = product.wait(arn)
    assert execution["status"] == "SUCCEEDED", execution
    assert states_entered(product.history(arn))[-1] == "Succeeded"

    [request] = [b for b in product.requests("StartJobRun") if b["JobName"] == job]
    assert (request.get("WorkerType"), request.get("NumberOfWorkers")) == (sent or (None, None))
    [run] = product.runs(job)
    assert run["JobRunState"] == "SUCCEEDED"


def test_a_job_attribute_the_kind_cannot_take_fails_the_execution_with_no_run(product_with_platform_defaults):
    product = product_with_platform_defaults
    job = unique("e2e-shell-refused")
    product.create_job(job, command="pythonshell", MaxCapacity=1.0, GlueVersion="3.0")
    arn = product.start_execution(unique("exec"), {
        "job": {"externalId": job, "attributes": {"glueWorkerType": "G.1X", "glueNumberOfWorkers": 2}},
    })
    execution = product.wait(arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Polysync.InvalidInput"
    assert "job.attributes.glueWorkerType" in execution["cause"]
    assert "pythonshell" in execution["cause"]
    assert states_entered(product.history(arn))[-1] == "StartRefused"
    assert not [b for b in product.requests("StartJobRun") if b["JobName"] == job]
    assert product.runs(job) == []


def test_the_start_output_says_why_the_platform_defaults_were_not_applied(product_with_platform_defaults):
    product = product_with_platform_defaults
    job = unique("e2e-ray-warning")
    product.create_job(job, command="glueray", WorkerType="Z.2X", NumberOfWorkers=2)
    failed, start = product.invoke("polysync-glue-start", {"job": {"externalId": job}})
    assert not failed, start
    assert start["compute"]["workerType"] == {"value": "Z.2X", "source": "definition"}
    assert start["compute"]["numberOfWorkers"] == {"value": 2, "source": "definition"}
    assert len(start["warnings"]) == 1 and "G.2X" in start["warnings"][0], json.dumps(start)
