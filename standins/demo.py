"""The demo: one Glue job run end to end through the real state machine, the real function
binaries and the local Glue stand-in, printed as a timeline."""

from __future__ import annotations

import json
import time

from harness import ROOT, LocalProduct

JOB = "nightly-sales"


def main() -> None:
    job_input = json.loads((ROOT / "events" / "state-machine-input.json").read_text())
    print("Bringing up the local AWS stand-in and the four Lambda binaries ...", flush=True)
    with LocalProduct({"POLYSYNC_POLL_MIN_SECONDS": "2", "POLYSYNC_POLL_MAX_SECONDS": "5"}) as product:
        product.create_job(JOB, WorkerType="G.1X", NumberOfWorkers=2, MaxRetries=1, Timeout=2880)
        # The stand-in's Glue: 3 s starting, 12 s running, then SUCCEEDED.
        product.script(JOB, {"starting": 3, "running": 12, "end": "SUCCEEDED"})
        follow(product, JOB, job_input)

        # A run that fails: the Fail cause carries its error log, as the console shows it.
        broken = f"{JOB}-broken"
        product.create_job(broken, WorkerType="G.1X", NumberOfWorkers=2, Timeout=2880)
        product.script(broken, {"starting": 2, "running": 4, "end": "FAILED",
                                "errorMessage": "[TABLE_OR_VIEW_NOT_FOUND] The table or view `sales` cannot be found."})
        broken_input = {**job_input, "job": {**job_input["job"], "externalId": broken}}
        broken_input["parameters"] = job_input["parameters"] + [
            {"name": "api_token", "direction": "Input", "value": "demo-secret-4f2a"}]
        print("\nA second job, whose script fails (its driver prints its arguments, a token among them):")
        follow(product, broken, broken_input)


def follow(product: LocalProduct, job: str, job_input: dict) -> None:
    """Starts an execution for `job` and prints its timeline, then how it ended."""
    execution_name = f"{job}-demo-{int(time.time())}"
    arn = product.start_execution(execution_name, job_input)
    print(f"Execution {execution_name} of statemachine/glue-job.asl.json\n")
    print(f"{'elapsed':>8}  {'state':<26} glue state")
    printed = 0
    while True:
        execution = product.sfn.describe_execution(executionArn=arn)
        history = product.history(arn)
        for event in history[printed:]:
            line = _timeline_line(event)
            if line:
                elapsed = (event["timestamp"] - history[0]["timestamp"]).total_seconds()
                print(f"{elapsed:7.1f}s  {line}", flush=True)
        printed = len(history)
        if execution["status"] != "RUNNING":
            break
        time.sleep(0.25)

    print(f"\nExecution {execution['status']}")
    result = json.loads(execution.get("output") or execution.get("cause") or "{}")
    if execution["status"] == "SUCCEEDED":
        print(f"Glue run {result['runId']} ended {result['glueState']} ({result['status']}), "
              f"{result.get('dpuSeconds')} DPU-seconds ({result.get('dpuSecondsSource')})")
    else:
        print(f"Error {execution.get('error')}, as the Step Functions console shows its cause:")
        print(f"  Glue state   {result.get('glueState')}")
        print(f"  message      {result.get('errorMessage')}")
        diagnosis = result.get("diagnosis")
        if diagnosis:
            print(f"  error log    {diagnosis['logGroup']} / {diagnosis['logStream']}")
            for line in diagnosis["lines"]:
                print(f"               | {line}")
            print(f"  logs         {diagnosis['logsUrl']}")
        print(f"  used         {result.get('dpuSeconds')} DPU-seconds ({result.get('dpuSecondsSource')})")
    print(f"Monitor: {result.get('monitorUrl')}")
    if execution["status"] != "SUCCEEDED":
        time.sleep(1)  # SNS hands the message to the subscribed queue
        for message in product.notifications():
            if message.get("MessageAttributes", {}).get("job", {}).get("Value") == job:
                print("\nThe message the stack's topic sent, as a subscriber reads it in a mail:")
                print(f"  Subject: {message['Subject']}\n")
                for line in message["Message"].splitlines():
                    print(f"  {line}")
    runs = product.runs(job)
    print(f"Glue runs of {job}: {len(runs)} ({', '.join(r['JobRunState'] for r in runs)})")


def _timeline_line(event: dict) -> str | None:
    details = event.get("stateEnteredEventDetails")
    if details:
        return details["name"]
    succeeded = event.get("lambdaFunctionSucceededEventDetails")
    if succeeded:
        output = json.loads(succeeded["output"])
        if "glueState" in output:
            wait = "" if output["terminal"] else f", next poll in {output['nextPollSeconds']} s"
            return f"{'  └ poll':<26} {output['glueState']} → {output['status']}{wait}"
        if "jobRunId" in output:
            return f"{'  └ started':<26} {output['runId']}"
    failed = event.get("lambdaFunctionFailedEventDetails")
    if failed:
        return f"{'  └ failed':<26} {failed.get('error')}"
    return None


if __name__ == "__main__":
    main()
