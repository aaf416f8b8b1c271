"""An ended run's figures as CloudWatch metrics (issue 22, metrics): the real poll binary prints
one embedded-metric-format document per ended run, which CloudWatch Logs would turn into
metrics; the format itself is checked against the specification in shared/src/run_metrics.rs."""

import json

from test_state_machine import unique


def _documents(product, job):
    found = []
    for line in product.function_logs().splitlines():
        start = line.find('{"')
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            document = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if document.get("JobName") == job:
            found.append(document)
    return found


def test_an_ended_run_publishes_its_figures_once_and_a_live_one_none(product):
    ok = unique("e2e-metrics-ok")
    failed = unique("e2e-metrics-failed")
    for job, end in [(ok, "SUCCEEDED"), (failed, "FAILED")]:
        product.create_job(job, WorkerType="G.1X", NumberOfWorkers=2)
        product.script(job, {"starting": 0.2, "running": 2, "end": end})
    arns = [product.start_execution(unique("exec"), {"job": {"externalId": job}}) for job in (ok, failed)]
    assert [product.wait(arn)["status"] for arn in arns] == ["SUCCEEDED", "FAILED"]
    for job, outcome in [(ok, "RunsSucceeded"), (failed, "RunsFailed")]:
        [document] = _documents(product, job)  # several polls, one ended run
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Polysync/Glue"
        assert directive["Dimensions"] == [["JobName"]]
        names = {m["Name"] for m in directive["Metrics"]}
        assert {"RunSeconds", "DetectionLagSeconds", "DPUSeconds", "Attempts", outcome} <= names, names
        assert all(isinstance(document[name], (int, float)) for name in names)
        assert document[outcome] == 1
        assert 0 <= document["DetectionLagSeconds"] < 10, document
