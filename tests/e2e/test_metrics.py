"""An ended run's figures as CloudWatch metrics (issue 22, metrics): the real poll binary prints
one embedded-metric-format document per ended run, which CloudWatch Logs would turn into
metrics; the format itself is checked against the specification in shared/src/run_metrics.rs."""

import json

from support import held_job, unique, until_polling


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
    ok = held_job(product, "e2e-metrics-ok", WorkerType="G.1X", NumberOfWorkers=2)
    failed = held_job(product, "e2e-metrics-failed", WorkerType="G.1X", NumberOfWorkers=2)
    arns = [product.start_execution(unique("exec"), {"job": {"externalId": job}}) for job in (ok, failed)]
    # Each run is polled live (no document) before it ends.
    for arn in arns:
        until_polling(product, arn)
    product.end_run(ok, "SUCCEEDED")
    product.end_run(failed, "FAILED")
    assert [product.wait(arn)["status"] for arn in arns] == ["SUCCEEDED", "FAILED"]
    for job, arn, outcome in [(ok, arns[0], "RunsSucceeded"), (failed, arns[1], "RunsFailed")]:
        [document] = _documents(product, job)  # several polls, one ended run
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Polysync/Glue"
        assert directive["Dimensions"] == [["JobName"]]
        names = {m["Name"] for m in directive["Metrics"]}
        assert {"RunSeconds", "DetectionLagSeconds", "DPUSeconds", "Attempts", outcome} <= names, names
        assert all(isinstance(document[name], (int, float)) for name in names)
        assert document[outcome] == 1
        # The lag runs from the run's end (the instant the test ended it, whenever it is read)
        # to the final poll, which ran between its invocation's scheduling and its answer.
        history = product.history(arn)
        scheduled = [e["timestamp"] for e in history if e["type"] == "LambdaFunctionScheduled"][-1]
        answered = [e["timestamp"] for e in history if e["type"] == "LambdaFunctionSucceeded"][-1]
        [run] = product.runs(job)
        earliest, latest = ((at - run["CompletedOn"]).total_seconds() for at in (scheduled, answered))
        assert earliest - 0.01 <= document["DetectionLagSeconds"] <= latest + 0.01, (earliest, document, latest)
        assert document["RunSeconds"] == run["ExecutionTime"]
