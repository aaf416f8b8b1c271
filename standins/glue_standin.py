"""Polysync's local AWS stand-in, for tests and the demo only.

It is the moto server (every service moto has, Glue and Step Functions among them) with a small
test extension for what moto 5.2 lacks in Glue:

- BatchStopJobRun: a live run goes STOPPING, then STOPPED; an unknown or already-final run comes
  back in ``Errors``, as Glue reports it.
- Scripted runs: per job, how long a run stays STARTING / WAITING / RUNNING and how it ends
  (SUCCEEDED, FAILED with an ErrorMessage, TIMEOUT, ERROR, EXPIRED, STOPPED), and Glue's own
  retry attempts when the job's MaxRetries > 0 (a new run with PreviousRunId and Attempt).
  An ended run writes a Spark driver log to moto's CloudWatch Logs where Glue writes it
  (`/aws-glue/jobs/error`, stream = run id), printing its arguments as a careless script
  would, and ending a failure in a Python traceback (`"logs": false` leaves no log group).
- Glue's sizing rules on StartJobRun (``_check_sizing``): what real Glue refuses for the job's
  kind and worker type, moto accepts; here it is refused with Glue's exception and message.
- MaxConcurrentRuns counted over every live state, as Glue does.
- Account-level limits, off unless set (``glue-limits``): a quota of concurrent runs across every
  job (``ConcurrentRunsExceededException``), a StartJobRun request rate (``ThrottlingException``),
  and job run queuing (``JobRunQueuingEnabled`` on the run, else the job's): a run that a quota
  or MaxConcurrentRuns would refuse waits in WAITING with a ``StateDetail`` instead, and starts
  when capacity frees (``_admit_waiting``).
- GetJobRuns newest first, as Glue lists them.
- Fault injection per operation (ThrottlingException, a bare HTTP 500, a reply lost after the
  request was carried out, a slow answer) at a rate or for a count of calls.
- A record of every Glue request body, so tests can assert what went over the wire.
- Glue's own events (``glue-events``, off unless set): a run that ends SUCCEEDED, FAILED, TIMEOUT
  or STOPPED sends a "Glue Job State Change" event (none for ERROR or EXPIRED) to a function, as
  EventBridge delivers it: asynchronously, after a delay, sometimes late, twice or never (rates
  for tests). Glue developer guide, "Automating AWS Glue with EventBridge": the event's shape and
  the states that send one; EventBridge delivery is at least once and best effort.

and for Step Functions:

- moto's state-machine interpreter is on, so executions run the real ASL;
- its StartExecution integration speaks the API's parameter names (``_sfn_parameters``), so a
  child execution (``startExecution.sync:2``) starts and is followed as on AWS;
- Lambda Invoke is forwarded to a Lambda Invoke API that runs the real function binaries
  (``cargo lambda watch``), set with the control endpoint below. A function error comes back as
  Lambda reports it (``X-Amz-Function-Error``), so Retry and Catch see the contract's errorType.
  An asynchronous invocation (as EventBridge makes) is accepted with 202, retried twice on a
  function error, then recorded in the function's on-failure queue.
- Lambda's own faults, which moto's Lambda never has (``_lambda_fault``): an invocation reported
  failed (``Lambda.ServiceException``) while the function keeps running, ``Lambda.Unknown`` (a
  timeout, out of memory or a crash, before or after the function did its work), throttling
  (``Lambda.TooManyRequestsException``) for a count, a rate or a stretch of seconds, and a
  function's concurrency limit. moto's interpreter names every Lambda service error
  ``Exception``; here it is ``Lambda.<code>`` and an error without a type ``Lambda.Unknown``, as
  Step Functions reports them (``_lambda_failure``).
- ``$$.Execution.RedriveCount`` in the context object (0: moto has no RedriveExecution).

Control endpoints (JSON), beside the AWS APIs on the same port:
  POST   /polysync-standin/jobs/<job name>/script   body: a run script (see RunScript)
  POST   /polysync-standin/faults                   body: {"operation", "kind", "rate"?, "count"?, "job"?, "seconds"?}
  DELETE /polysync-standin/faults
  GET    /polysync-standin/requests?operation=StartJobRun
  POST   /polysync-standin/lambda                   body: {"url": "<Lambda Invoke API of the binaries>"}
  POST   /polysync-standin/lambda/<function>/async  body: {"onFailure": queue URL, "maximumRetryAttempts"?, "retrySeconds"?}
  POST   /polysync-standin/lambda/<function>/faults body: {"kind", "rate"?, "count"?, "seconds"?, "afterRunning"?}
  POST   /polysync-standin/lambda/<function>/concurrency  body: {"limit": N}
  GET    /polysync-standin/lambda/<function>/invocations  (how many the function received)
  POST   /polysync-standin/glue-limits             body: {"maxConcurrentRuns"?, "startJobRunPerSecond"?}
  POST   /polysync-standin/glue-events             body: {"function", "delaySeconds"?: [low, high], "dropRate"?,
                                                          "duplicateRate"?, "lateRate"?, "lateSeconds"?}
  GET    /polysync-standin/health

Started by the test harnesses (``standins/harness.py``, ``tests/src/lib.rs``); prints ``POLYSYNC_STANDIN_URL=http://127.0.0.1:<port>`` once it
listens, and exits by itself when the process that started it is gone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from moto.core.config import default_user_config
from moto.core.exceptions import AWSError
from moto.glue import models as glue_models
from moto.glue import responses as glue_responses
from moto.glue.exceptions import ConcurrentRunsExceededException, InvalidInputException
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.stepfunctions.parser import models as sfn_parser_models
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.backend import execution_worker
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FINAL_STATES = {"SUCCEEDED", "STOPPED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"}
# Glue retries a run that failed; a timeout or a stop is not retried.
RETRIED_STATES = {"FAILED", "ERROR"}
# The log group Glue names in a run's LogGroupName, and writes `/error` and `/output` under.
GLUE_LOG_GROUP = "/aws-glue/jobs"
DEFAULT_SCRIPT = {"starting": 0.2, "waiting": 0.0, "running": 0.5, "stopping": 0.3, "end": "SUCCEEDED"}

# throttle: ThrottlingException; http500: a bare server fault; lost-reply: carried out, then a
# 500; slow: carried out after `seconds` (a StartJobRun still under way when its execution ends).
FAULT_KINDS = {"throttle", "http500", "lost-reply", "slow"}

_lock = threading.RLock()
_scripts: dict[str, dict[str, Any]] = {}
_faults: list[dict[str, Any]] = []
# Bounded, so a long load run cannot grow the stand-in without end; far above what any test reads.
_requests: deque[dict[str, Any]] = deque(maxlen=500_000)
_random = random.Random(int(os.environ.get("POLYSYNC_STANDIN_SEED", "7")))
_lambda_url: list[str] = []
# Per function name: {"onFailure": queue URL, "maximumRetryAttempts", "retrySeconds"}.
_async: dict[str, dict[str, Any]] = {}
# Per function name: faults ({"kind", "rate"?, "count"?, "until"?, "afterRunning"?}), the
# concurrency limit, how many invocations run now and how many arrived in all.
LAMBDA_FAULT_KINDS = {"service-error", "unknown", "throttle"}
_lambda_faults: dict[str, list[dict[str, Any]]] = {}
_lambda_limits: dict[str, int] = {}
_lambda_running: dict[str, int] = {}
_lambda_invocations: dict[str, int] = {}
# Glue's account-level limits (None: none), the runs of every job, when StartJobRun was last
# called, and each job's JobRunQueuingEnabled as CreateJob / UpdateJob set it (moto drops it).
_glue_limits: dict[str, Any] = {"maxConcurrentRuns": None, "startJobRunPerSecond": None}
_all_runs: list[Any] = []
_recent_starts: deque[float] = deque(maxlen=10_000)
_job_queuing: dict[str, bool] = {}
# Where Glue's run events go (None: nowhere) and how EventBridge delivers them.
GLUE_EVENT_STATES = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"}
_glue_events: dict[str, Any] = {"function": None}
# What the StartJobRun being served asks of queuing and of the execution class (moto drops both).
_request_options = threading.local()
LAMBDA_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def _now() -> datetime:
    return datetime.now(UTC)


class RunScript:
    """The life of one run: seconds in each live state, then its end."""

    def __init__(self, script: dict[str, Any], attempt: int) -> None:
        merged = {**DEFAULT_SCRIPT, **script}
        attempts = script.get("attempts") or []
        if attempts:
            merged.update(attempts[min(attempt, len(attempts) - 1)])
        end = merged["end"]
        if end not in FINAL_STATES:
            raise ValueError(f"unknown end state {end!r}")
        self.phases = [
            ("STARTING", float(merged["starting"])),
            ("WAITING", float(merged["waiting"])),
            ("RUNNING", float(merged["running"])),
        ]
        self.stopping = float(merged["stopping"])
        self.end = end
        self.error_message = merged.get("errorMessage")
        # Whether the run writes its driver log; false for a job whose log group is missing.
        self.logs = bool(merged.get("logs", True))


# --- Glue runs that follow a script -------------------------------------------------------------


def _state_at(run: Any, at: datetime) -> str:
    if run.standin_waiting_since is not None:
        return "WAITING"
    script: RunScript = run.standin_script
    elapsed = (at - run.standin_created).total_seconds()
    stop_at = run.standin_stop_requested
    natural = script.end
    natural_end_after = 0.0
    for state, seconds in script.phases:
        if elapsed < natural_end_after + seconds:
            natural = state
            break
        natural_end_after += seconds
    if stop_at is not None:
        since_stop = (at - stop_at).total_seconds()
        return "STOPPING" if since_stop < script.stopping else "STOPPED"
    return natural


def _status(run: Any) -> str:
    with _lock:
        _admit_waiting()
        state = _state_at(run, _now())
        if state in FINAL_STATES and run.standin_final is None:
            _finish(run, state)
        return run.standin_final or state


def _driver_log(run: Any, state: str) -> list[str]:
    """What a Spark driver writes to its error stream, printing its arguments as a careless
    script does; a failure ends in a Python traceback from a Spark AnalysisException."""
    arguments = " ".join(f"{key} {value}" for key, value in sorted((run.arguments or {}).items()))
    lines = [
        "INFO GlueContext: GlueContext initialized",
        f"INFO {run.job_name}: starting with arguments {arguments}",
        "INFO SparkContext: Running Spark version 3.5.4-amzn-0",
    ]
    if state == "SUCCEEDED":
        lines += [f"INFO DAGScheduler: Job {n} finished: save at job.py:{40 + n}" for n in range(3)]
        return lines + ["INFO ShutdownHookManager: Shutdown hook called"]
    message = run.standin_script.error_message or f"Job run ended {state} (scripted)"
    return lines + [
        "Traceback (most recent call last):",
        f'  File "/tmp/{run.job_name}.py", line 42, in <module>',
        '    df = spark.sql("select * from sales where day = \'" + args["run_date"] + "\'")',
        '  File "/opt/amazon/spark/python/lib/pyspark.zip/pyspark/sql/session.py", line 1631, in sql',
        "    return DataFrame(self._jsparkSession.sql(sqlQuery, litArgs), self)",
        # An error message that quotes the job's options, values and all, as many do.
        f"pyspark.errors.exceptions.captured.AnalysisException: {message} (options: {arguments})",
        "INFO ShutdownHookManager: Shutdown hook called",
    ]


def _write_driver_log(run: Any, state: str) -> None:
    """The run's driver log where Glue writes it (Glue developer guide, "Logging for AWS Glue
    jobs"), in moto's CloudWatch Logs: up to Glue 4.0 all of it in `{LogGroupName}/error`,
    stream = run id; from Glue 5.0 in streams `{run id}-driver`, Spark's log4j lines in `/error`
    and the job's own output, its Python traceback included, in `/output`."""
    from moto.logs.models import logs_backends

    backend = run.standin_job.backend if hasattr(run.standin_job, "backend") else None
    account, region = (backend.account_id, backend.region_name) if backend else ("123456789012", "us-east-1")
    logs = logs_backends[account][region]
    lines = _driver_log(run, state)
    if _major_version(run.standin_job) >= 5:
        stream = f"{run.job_run_id}-driver"
        spark = [line for line in lines if line.startswith("INFO ")]
        written = [("/error", stream, spark), ("/output", stream, [line for line in lines if line not in spark])]
    else:
        written = [("/error", run.job_run_id, lines)]
    at = int(_now().timestamp() * 1000)
    for suffix, stream, stream_lines in written:
        group = f"{GLUE_LOG_GROUP}{suffix}"
        if group not in logs.groups:
            logs.create_log_group(group, {})
        logs.create_log_stream(group, stream)
        events = [{"timestamp": at + index, "message": line} for index, line in enumerate(stream_lines)]
        if events:
            logs.put_log_events(group, stream, events)


def _finish(run: Any, state: str) -> None:
    run.standin_final = state
    run.completed_on = _now()
    run.standin_execution_time = int((run.completed_on - run.standin_created).total_seconds())
    if state in {"FAILED", "ERROR", "TIMEOUT"}:
        run.standin_error_message = run.standin_script.error_message or f"Job run ended {state} (scripted)"
    if run.standin_script.logs:
        _write_driver_log(run, state)
    _send_glue_event(run, state)
    job = run.standin_job
    if state in RETRIED_STATES and run.standin_attempt < (job.max_retries or 0):
        try:
            _start_run(job, run.standin_request, previous=run)
        except ConcurrentRunsExceededException:
            pass  # Glue too skips the retry when the job is at its concurrency limit


def _send_glue_event(run: Any, state: str) -> None:
    """The run's "Glue Job State Change", delivered as EventBridge delivers to a Lambda target:
    an asynchronous invocation after a delay; dropped, late or twice at the configured rates."""
    settings = dict(_glue_events)
    function = settings.get("function")
    if not function or state not in GLUE_EVENT_STATES:
        return
    event = {
        "version": "0", "id": f"{run.job_run_id}-{state}", "detail-type": "Glue Job State Change",
        "source": "aws.glue", "account": "123456789012", "time": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [],
        "detail": {"jobName": run.job_name, "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
                   "state": state, "jobRunId": run.job_run_id, "message": f"Job run {state.lower()}"},
    }
    payload = json.dumps(event).encode()
    if _random.random() < float(settings.get("dropRate", 0)):
        return
    low, high = settings.get("delaySeconds", [0.1, 1.0])
    delays = [_random.uniform(low, high)]
    if _random.random() < float(settings.get("lateRate", 0)):
        delays[0] += float(settings.get("lateSeconds", 30))
    if _random.random() < float(settings.get("duplicateRate", 0)):
        delays.append(delays[0] + _random.uniform(low, high))

    def deliver(after: float) -> None:
        time.sleep(after)
        _invoke_lambda_async(function_arn_of(function), payload)

    for after in delays:
        threading.Thread(target=deliver, args=(after,), daemon=True).start()


def function_arn_of(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def _end_runs_on_time() -> None:
    """Glue ends a run whether or not anyone reads it: while events are on, runs are finished at
    their scripted time (the stand-in otherwise finishes them when they are read)."""
    while True:
        time.sleep(0.1)
        if not _glue_events.get("function"):
            continue
        with _lock:
            live = [run for run in _all_runs if run.standin_final is None]
        for run in live:
            _status(run)


def _set_status(run: Any, value: str) -> None:
    run._status = value


def _as_dict(run: Any) -> dict[str, Any]:
    state = run.status
    result = _original_run_as_dict(run)
    result.update(
        {
            "JobRunState": state,
            "Attempt": run.standin_attempt,
            "StartedOn": run.standin_created,
            "LastModifiedOn": _now(),
            "ExecutionTime": run.standin_execution_time
            if run.standin_final
            else int((_now() - run.standin_created).total_seconds()),
            # Glue's default; moto answers a placeholder ("test/log").
            "LogGroupName": GLUE_LOG_GROUP,
        }
    )
    if run.standin_final:
        result["CompletedOn"] = run.completed_on
    else:
        result.pop("CompletedOn", None)
    if run.standin_error_message:
        result["ErrorMessage"] = run.standin_error_message
    if run.standin_previous:
        result["PreviousRunId"] = run.standin_previous
    if run.standin_waiting_since is not None:
        result["StateDetail"] = run.standin_state_detail
    if run.standin_execution_class:
        result["ExecutionClass"] = run.standin_execution_class
    # Glue's JobRun carries the version it ran (moto's leaves it out).
    result["GlueVersion"] = run.standin_job.glue_version
    return result


def _start_run(job: Any, request: dict[str, Any], previous: Any = None) -> str:
    """Creates a run; moto's own start fills compute from the definition as Glue does. A retry
    attempt (`previous`) carries the failed attempt's arguments, as Glue's do."""
    run_id = _original_start_job_run(job, **request)
    run = next(r for r in job.job_runs if r.job_run_id == run_id)
    attempt = previous.standin_attempt + 1 if previous is not None else 0
    if previous is not None:
        run.arguments = previous.arguments
    run.standin_job = job
    run.standin_request = request
    run.standin_created = _now()
    run.standin_attempt = attempt
    run.standin_previous = previous.job_run_id if previous is not None else None
    run.standin_stop_requested = None
    run.standin_final = None
    run.standin_error_message = None
    run.standin_execution_time = 0
    run.standin_script = RunScript(_scripts.get(job.name, {}), attempt)
    run.standin_waiting_since = None
    run.standin_state_detail = None
    run.standin_execution_class = getattr(_request_options, "execution_class", None) or (
        previous.standin_execution_class if previous is not None else None
    )
    _all_runs.append(run)
    return run_id


def _check_sizing(job: Any, request: dict[str, Any]) -> None:
    """Glue's rules for WorkerType and NumberOfWorkers on StartJobRun, which moto does not check.

    Sources: the Glue API reference, StartJobRun (WorkerType: Z.2X is Ray's worker type, the G.*
    types are for Spark; MaxCapacity: a Python shell job is sized by 0.0625 or 1 DPU, not by
    workers), and the answers real Glue gives, quoted in issue 10 and in public reports
    (cloudposse/terraform-aws-glue#42: "Worker Type is not supported for Job Command
    pythonshell"). Where no exact wording of Glue's is on record (a pair given by half; Ray with a
    non-Z.2X worker) the message follows the same form.
    """
    command = (job.command or {}).get("Name", "glueetl")
    worker_type = request.get("worker_type")
    workers = request.get("number_of_workers")
    _check_run_options(job, command, request)
    if command == "pythonshell" and worker_type:
        raise InvalidInputException("StartJobRun", "Worker Type is not supported for Job Command pythonshell")
    if (worker_type is None) != (workers is None):
        raise InvalidInputException(
            "StartJobRun", "Worker Type and Number of Workers must be specified together"
        )
    if worker_type is None:
        return
    if command == "glueray" and worker_type != "Z.2X":
        raise InvalidInputException("StartJobRun", f"Worker Type {worker_type} is not supported for Job Command glueray")
    if command in {"glueetl", "gluestreaming"} and worker_type == "Z.2X":
        raise InvalidInputException("StartJobRun", f"Worker Type Z.2X is not supported for Job Command {command}")
    if worker_type.startswith("G.") and workers is not None and workers < 2:
        raise InvalidInputException(
            "StartJobRun", f"To use Worker Type {worker_type}, minimum allowed value of Number of Workers is 2"
        )


def _major_version(job: Any) -> int:
    try:
        return int(str(job.glue_version or "0").split(".")[0])
    except ValueError:
        return 0


def _check_run_options(job: Any, command: str, request: dict[str, Any]) -> None:
    """Glue's rules for ExecutionClass, MaxCapacity and JobRunQueuingEnabled on StartJobRun.

    Sources: the Glue API reference, StartJobRun (ExecutionClass: "Only jobs with Glue version 3.0
    and above and command type glueetl will be allowed to set ExecutionClass to FLEX";
    MaxCapacity: "Do not set Max Capacity if using WorkerType and NumberOfWorkers", a Python shell
    job takes "either 0.0625 or 1 DPU", a job of Glue 2.0 or later "cannot specify a Maximum
    capacity"), and for queuing the AWS CDK's JobProps ("must be set to false for flex jobs. If this
    property is enabled, maxRetries must be set to zero"). Glue's exact answers to these are not on
    record: each message below is the stand-in's own, in the form of Glue's others, and the tests
    that meet them say so.
    """
    execution_class = getattr(_request_options, "execution_class", None)
    max_capacity = request.get("max_capacity")
    if execution_class == "FLEX" and (command != "glueetl" or _major_version(job) < 3):
        raise InvalidInputException(
            "StartJobRun", f"Execution class FLEX is not supported for Job Command {command} of Glue version {job.glue_version}"
        )
    if max_capacity is not None:
        if request.get("worker_type") is not None or request.get("number_of_workers") is not None:
            raise InvalidInputException("StartJobRun", "Please set only Max Capacity or Worker Type and Number of Workers")
        if command == "pythonshell" and max_capacity not in (0.0625, 1.0):
            raise InvalidInputException("StartJobRun", "Max Capacity for Job Command pythonshell must be 0.0625 or 1")
        if command in {"glueetl", "gluestreaming"} and _major_version(job) >= 2:
            raise InvalidInputException(
                "StartJobRun", f"Max Capacity is not supported for Glue version {job.glue_version}; use Worker Type and Number of Workers"
            )
    if getattr(_request_options, "queuing", None):
        if execution_class == "FLEX":
            raise InvalidInputException("StartJobRun", "Job run queuing is not supported for execution class FLEX")
        if job.max_retries:
            raise InvalidInputException("StartJobRun", "Job run queuing is not supported for a job with MaxRetries greater than 0")


def _live(run: Any, at: datetime) -> bool:
    """Live and holding capacity: not ended, not waiting in the queue."""
    return run.standin_waiting_since is None and run.standin_final is None and _state_at(run, at) not in FINAL_STATES


def _capacity_refusal(job: Any, at: datetime) -> str | None:
    """Why a new run of `job` cannot start now, or None. The account's quota: "Max concurrent
    job runs per account" (AWS General Reference, "AWS Glue endpoints and quotas"), answered
    as ConcurrentRunsExceededException, "Too many jobs are being run concurrently" (the
    exception's documentation in Glue's API model); the job's own MaxConcurrentRuns likewise."""
    quota = _glue_limits["maxConcurrentRuns"]
    if quota is not None and sum(_live(r, at) for r in _all_runs) >= quota:
        return f"Too many jobs are being run concurrently: the account's {quota} concurrent job runs are in use"
    limit = (job.execution_property or {}).get("MaxConcurrentRuns", 1)
    if sum(_live(r, at) for r in job.job_runs) >= limit:
        return f"Concurrent runs exceeded for {job.name}: {limit} allowed"
    return None


def _queues(job: Any) -> bool:
    """Whether a refused run of `job` waits instead. The run's JobRunQueuingEnabled wins over the
    job's ("If this field does not match the value set in the job run, then the value from the
    job run field will be used": Glue API, Job structure); only a job without retries queues
    ("Jobs that have not been configured to retry based on your maxRetries configuration may
    enter the WAITING state": Glue developer guide, "AWS Glue job run statuses")."""
    asked = getattr(_request_options, "queuing", None)
    enabled = asked if asked is not None else _job_queuing.get(job.name, False)
    return bool(enabled) and not (job.max_retries or 0)


# A queued run fails after this long without capacity: "AWS Glue will retry for a maximum of 15
# minutes or 10 attempts, whichever comes first" (the job run statuses page above).
QUEUE_SECONDS = 15 * 60


def _admit_waiting() -> None:
    """Starts the oldest waiting runs that fit now; fails those that waited too long."""
    at = _now()
    for run in sorted((r for r in _all_runs if r.standin_waiting_since is not None),
                      key=lambda r: r.standin_waiting_since):
        if _capacity_refusal(run.standin_job, at) is None:
            run.standin_waiting_since = None
            run.standin_state_detail = None
            run.standin_created = at  # its script's phases begin now
        elif (at - run.standin_waiting_since).total_seconds() > QUEUE_SECONDS:
            run.standin_waiting_since = None
            run.standin_final = "FAILED"
            run.completed_on = at
            run.standin_error_message = run.standin_state_detail


def _throttled() -> bool:
    """A StartJobRun over the account's request rate ("startJobRunPerSecond"): Glue answers
    ThrottlingException, one of its common errors (Glue API reference, "Common Errors")."""
    rate = _glue_limits["startJobRunPerSecond"]
    if rate is None:
        return False
    now = time.monotonic()
    while _recent_starts and now - _recent_starts[0] > 1.0:
        _recent_starts.popleft()
    if len(_recent_starts) >= rate:
        return True
    _recent_starts.append(now)
    return False


def _start_job_run(job: Any, **request: Any) -> str:
    _check_sizing(job, request)
    with _lock:
        _admit_waiting()
        refusal = _capacity_refusal(job, _now())
        if refusal is None:
            return _start_run(job, request)
        if not _queues(job):
            raise ConcurrentRunsExceededException(refusal)
        run_id = _start_run(job, request)
        run = next(r for r in job.job_runs if r.job_run_id == run_id)
        run.standin_waiting_since = _now()
        run.standin_state_detail = f"Job run is waiting for resources: {refusal}"
        return run_id


def _get_job_runs(job: Any) -> list[Any]:
    # Glue lists a job's runs newest first.
    return list(reversed(job.job_runs))


def _batch_stop_job_run(self: Any) -> str:
    job_name = self._get_param("JobName")
    run_ids = self._get_param("JobRunIds") or []
    backend = self.glue_backend
    succeeded, errors = [], []
    with _lock:
        job = backend.jobs.get(job_name)
        for run_id in run_ids:
            run = next((r for r in job.job_runs if r.job_run_id == run_id), None) if job else None
            if run is None:
                errors.append(_stop_error(job_name, run_id, "EntityNotFoundException", f"Job run {run_id} not found"))
                continue
            state = run.status
            if state in FINAL_STATES or state == "STOPPING":
                errors.append(
                    _stop_error(job_name, run_id, "InvalidInputException", f"Job run {run_id} is {state} and cannot be stopped")
                )
                continue
            run.standin_stop_requested = _now()
            succeeded.append({"JobName": job_name, "JobRunId": run_id})
    return json.dumps({"SuccessfulSubmissions": succeeded, "Errors": errors})


def _stop_error(job_name: str, run_id: str, code: str, message: str) -> dict[str, Any]:
    return {"JobName": job_name, "JobRunId": run_id, "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message}}


# moto's classes are extended in place: mypy's objections to assigning methods are the point here.
_original_run_as_dict = glue_models.FakeJobRun.as_dict
_original_start_job_run = glue_models.FakeJob.start_job_run
glue_models.FakeJobRun.status = property(_status, _set_status)  # type: ignore[method-assign,assignment]
glue_models.FakeJobRun.as_dict = _as_dict  # type: ignore[method-assign,assignment]
glue_models.FakeJob.start_job_run = _start_job_run  # type: ignore[method-assign,assignment]
glue_models.FakeJob.get_job_runs = _get_job_runs  # type: ignore[method-assign,assignment]
glue_responses.GlueResponse.batch_stop_job_run = _batch_stop_job_run  # type: ignore[attr-defined]


# --- Step Functions: child executions (startExecution.sync:2) ----------------------------------
#
# The ASL names StartExecution's parameters as the API does ("StateMachineArn", "Name", "Input")
# and reads its answers the same way ("ExecutionArn"; for .sync:2 the DescribeExecution answer,
# "Status", "Output", "Error", "Cause"): the documented Task state in "Manage AWS Step Functions
# Executions as an Integrated Service" (docs.aws.amazon.com/step-functions/latest/dg/
# connect-stepfunctions.html). moto 5.2's interpreter hands those names to boto3 unchanged, which
# wants `stateMachineArn` (botocore's model of StartExecution) and answers `executionArn`, so
# every nested execution failed with KeyError. The names are mapped here; nothing else changes.


def _api_name(key: str) -> str:
    return key[:1].upper() + key[1:]


def _boto_name(key: str) -> str:
    return key[:1].lower() + key[1:]


def _sfn_parameters(self: Any, parameters: dict, *args: Any, **kwargs: Any) -> None:
    _original_sfn_parameters(self, parameters, *args, **kwargs)
    for key in list(parameters):
        parameters[_boto_name(key)] = parameters.pop(key)


def _sfn_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(response, dict):
        for key in list(response):
            response[_api_name(key)] = response.pop(key)


# --- Step Functions: Lambda's errors as Step Functions names them -------------------------------
#
# "Lambda errors are reported as Lambda.<exception>" (ClientExecutionTimeoutException,
# ServiceException, AWSLambdaException, SdkClientException, TooManyRequestsException), and
# "unhandled errors in Lambda are reported as Lambda.Unknown. These include out-of-memory errors
# and function timeouts" (Step Functions developer guide, "Handle Lambda service exceptions",
# docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). moto 5.2's
# StateTaskLambda names both "Exception", which no Retry of a real state machine matches, so a
# test against it would pass whatever the ASL retries.
UNKNOWN_CAUSE = "The cause could not be determined because Lambda did not return an error type."


def _lambda_failure(self: Any, env: Any, ex: Exception) -> Any:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if isinstance(ex, ClientError):
        error = f"Lambda.{ex.response['Error']['Code']}"
        cause = ex.response["Error"].get("Message", "")
    elif isinstance(ex, lambda_eval_utils.LambdaFunctionErrorException):
        try:
            error = json.loads(ex.payload)["errorType"]
            cause = ex.payload
        except (ValueError, KeyError, TypeError):
            error = "Lambda.Unknown"
            cause = f"{UNKNOWN_CAUSE} Returned payload: {ex.payload}"
    else:
        return _original_lambda_failure(self, env, ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        # moto's EventDetails is a total TypedDict of every kind of detail; an event has one.
        event_details=EventDetails(  # type: ignore[typeddict-item]
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
        ),
    )


def _execution_data(**fields: Any) -> dict[str, Any]:
    # Step Functions' context object has Execution.RedriveCount (0 until redriven).
    return {**fields, "RedriveCount": 0}


_original_lambda_failure = state_task_lambda.StateTaskLambda._from_error
state_task_lambda.StateTaskLambda._from_error = _lambda_failure  # type: ignore[method-assign]
execution_worker.ExecutionData = _execution_data  # type: ignore[misc,assignment]

_original_sfn_parameters = sfn_service.StateTaskServiceSfn._normalise_parameters
sfn_service.StateTaskServiceSfn._normalise_parameters = _sfn_parameters  # type: ignore[method-assign]
sfn_service.StateTaskServiceSfn._normalise_response = _sfn_response  # type: ignore[method-assign]


# --- Step Functions: a task token is closed once used, or once its execution stops ---------------
#
# SendTaskSuccess answers TaskTimedOut when "the task associated with the token has already been
# closed" (Step Functions API reference, SendTaskSuccess, Errors): once the task was sent its
# outcome, and once its execution is stopped. moto 5.2 keeps a used token in its pool and takes
# a second outcome for it, and looks the token up among RUNNING executions, where an execution
# stopped while a branch waits for its token stays until the interpreter notices; both would
# still be accepted. (moto's own TaskTimedOut, of its parser's API module, is not an error
# moto's responses serialise: raised, it answers a bare 500.)


def _send_task_success(self: Any, task_token: str, outcome: str) -> Any:
    with _lock:
        for execution in self._get_executions():
            worker = execution.exec_worker
            endpoint = worker and worker.env.callback_pool_manager.get(task_token)
            if endpoint and (endpoint.get_outcome() is not None or not worker.env.is_running()):
                raise AWSError("The task associated with the token has already been closed.", "TaskTimedOut")
        # Under the lock: of two calls at once with one token, the second sees the first's outcome.
        return _original_send_task_success(self, task_token, outcome)


_original_send_task_success = sfn_parser_models.StepFunctionsParserBackend.send_task_success
sfn_parser_models.StepFunctionsParserBackend.send_task_success = _send_task_success  # type: ignore[method-assign]


# --- Faults, the request record and the control endpoints ---------------------------------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, default=str), status=status, headers=headers, content_type="application/json")


def _pick_fault(operation: str, job_name: str | None) -> dict[str, Any] | None:
    with _lock:
        return _first_due([f for f in _faults if f["operation"] in (operation, "*") and f.get("job") in (None, job_name)])


def _first_due(faults: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first fault that strikes now: by its count, within its stretch of time, or at its rate."""
    with _lock:
        for fault in faults:
            if fault.get("until") is not None and time.time() >= fault["until"]:
                continue
            if fault.get("count") is not None:
                if fault["count"] <= 0:
                    continue
                fault["count"] -= 1
                return fault
            if _random.random() < float(fault.get("rate", 1.0)):
                return fault
    return None


def _control(request: Request) -> Response:
    path = request.path[len("/polysync-standin/") :]
    if path == "health":
        return _json(200, {"ok": True})
    if path.startswith("jobs/") and path.endswith("/script") and request.method == "POST":
        job_name = unquote(path[len("jobs/") : -len("/script")])
        script = request.get_json(force=True)
        RunScript(script, 0)  # refuse a bad script now, not at the first GetJobRun
        with _lock:
            _scripts[job_name] = script
        return _json(200, {"job": job_name, "script": script})
    if path == "glue-limits" and request.method == "POST":
        limits = request.get_json(force=True)
        unknown = set(limits) - set(_glue_limits)
        if unknown:
            return _json(400, {"error": f"unknown limits {sorted(unknown)}; known: {sorted(_glue_limits)}"})
        with _lock:
            _glue_limits.update(limits)
        return _json(200, dict(_glue_limits))
    if path == "glue-events" and request.method == "POST":
        settings = request.get_json(force=True)
        known = {"function", "delaySeconds", "dropRate", "duplicateRate", "lateRate", "lateSeconds"}
        if set(settings) - known:
            return _json(400, {"error": f"unknown settings {sorted(set(settings) - known)}; known: {sorted(known)}"})
        with _lock:
            _glue_events.clear()
            _glue_events.update({"function": None, **settings})
        return _json(200, dict(_glue_events))
    if path == "faults" and request.method == "POST":
        fault = request.get_json(force=True)
        if fault.get("kind") not in FAULT_KINDS:
            return _json(400, {"error": f"kind must be one of {', '.join(sorted(FAULT_KINDS))}"})
        if not fault.get("operation"):
            return _json(400, {"error": "operation is required (a Glue operation, or * for all)"})
        with _lock:
            _faults.append(fault)
        return _json(200, fault)
    if path == "faults" and request.method == "DELETE":
        with _lock:
            _faults.clear()
            _lambda_faults.clear()
            _lambda_limits.clear()
        return _json(200, {})
    if path == "lambda" and request.method == "POST":
        with _lock:
            _lambda_url[:] = [request.get_json(force=True)["url"].rstrip("/")]
        return _json(200, {"url": _lambda_url[0]})
    if path.startswith("lambda/") and path.endswith("/faults") and request.method == "POST":
        function = unquote(path[len("lambda/"):-len("/faults")])
        fault = request.get_json(force=True)
        if fault.get("kind") not in LAMBDA_FAULT_KINDS:
            return _json(400, {"error": f"kind must be one of {', '.join(sorted(LAMBDA_FAULT_KINDS))}"})
        if fault.get("seconds") is not None:
            fault["until"] = time.time() + float(fault["seconds"])
        with _lock:
            _lambda_faults.setdefault(function, []).append(fault)
        return _json(200, {"function": function, **fault})
    if path.startswith("lambda/") and path.endswith("/concurrency") and request.method == "POST":
        function = unquote(path[len("lambda/"):-len("/concurrency")])
        with _lock:
            _lambda_limits[function] = int(request.get_json(force=True)["limit"])
        return _json(200, {"function": function, "limit": _lambda_limits[function]})
    if path.startswith("lambda/") and path.endswith("/invocations") and request.method == "GET":
        function = unquote(path[len("lambda/"):-len("/invocations")])
        with _lock:
            return _json(200, {"function": function, "invocations": _lambda_invocations.get(function, 0)})
    if path.startswith("lambda/") and path.endswith("/async") and request.method == "POST":
        function = unquote(path[len("lambda/"):-len("/async")])
        with _lock:
            _async[function] = request.get_json(force=True)
        return _json(200, {"function": function, **_async[function]})
    if path == "requests" and request.method == "GET":
        operation = request.args.get("operation")
        with _lock:
            found = [r for r in _requests if operation in (None, r["operation"])]
        return _json(200, found)
    return _json(404, {"error": f"no control endpoint {request.method} {request.path}"})


class StandIn:
    """WSGI middleware in front of moto: control endpoints, request record, faults."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/polysync-standin/"):
            return _control(request)(environ, start_response)
        invoke = LAMBDA_INVOKE_PATH.match(unquote(request.path))
        if invoke and request.method == "POST":
            if request.headers.get("X-Amz-Invocation-Type") == "Event":
                return _invoke_lambda_async(invoke.group("name"), request.get_data())(environ, start_response)
            return _invoke_lambda(invoke.group("name"), request.get_data())(environ, start_response)
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith("AWSGlue."):
            return self.moto(environ, start_response)
        operation = target.split(".", 1)[1]
        body = request.get_data()
        # moto reads the body again from the environ.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        parsed = json.loads(body or b"{}")
        with _lock:
            _requests.append({"operation": operation, "body": parsed})
        if operation in {"CreateJob", "UpdateJob"}:
            name = parsed.get("Name") or parsed.get("JobName")
            definition = parsed.get("JobUpdate", parsed)
            if name and "JobRunQueuingEnabled" in definition:
                with _lock:
                    _job_queuing[name] = bool(definition["JobRunQueuingEnabled"])
        if operation == "StartJobRun":
            with _lock:
                throttled = _throttled()
            if throttled:
                return _json(400, {"__type": "ThrottlingException", "message": "Rate exceeded"},
                             {"x-amzn-ErrorType": "ThrottlingException"})(environ, start_response)
        # What this request asks of queuing and the execution class, for _start_job_run.
        starting = operation == "StartJobRun"
        _request_options.queuing = parsed.get("JobRunQueuingEnabled") if starting else None
        _request_options.execution_class = parsed.get("ExecutionClass") if starting else None
        fault = _pick_fault(operation, parsed.get("JobName"))
        if fault is None:
            return self.moto(environ, start_response)
        if fault["kind"] == "throttle":
            return _json(400, {"__type": "ThrottlingException", "message": "Rate exceeded (injected)"},
                         {"x-amzn-ErrorType": "ThrottlingException"})(environ, start_response)
        if fault["kind"] == "slow":
            time.sleep(float(fault.get("seconds", 5)))
            return self.moto(environ, start_response)
        if fault["kind"] == "lost-reply":
            # Carry the request out, then lose the answer on the way back.
            list(self.moto(environ, lambda *args, **kwargs: None))
        return Response("injected server fault", status=500, content_type="text/plain")(environ, start_response)


def _lambda_error(status: int, code: str, message: str) -> Response:
    """An error of the Lambda service itself, as its Invoke API answers one (rest-json: the code
    in x-amzn-ErrorType); Step Functions reports it as Lambda.<code>."""
    return _json(status, {"Type": "Service" if status >= 500 else "User", "message": message},
                 {"x-amzn-ErrorType": code})


def _invoke_lambda(function: str, payload: bytes) -> Response:
    """Runs the real binary, unless one of Lambda's own faults strikes first (``_lambda_fault``).

    Sources for each fault, Lambda developer guide: "Lambda function scaling" (an invocation over
    the concurrency limit is throttled: 429 TooManyRequestsException, ReservedFunctionConcurrent
    InvocationLimitExceeded); "Invoke" API reference (ServiceException, 500: "The Lambda service
    encountered an internal error"); a function that times out or crashes answers a function
    error whose payload has no errorType (Step Functions: Lambda.Unknown). An invocation can be
    reported failed while the function still runs: the client's side of the call ended, not the
    function (issue 18; Step Functions then retries at once)."""
    name = function.split(":function:")[-1].split(":")[0]  # an ARN, maybe with a qualifier
    with _lock:
        _lambda_invocations[name] = _lambda_invocations.get(name, 0) + 1
        fault = _first_due(_lambda_faults.get(name, []))
        limit = _lambda_limits.get(name)
        if fault is None and limit is not None and _lambda_running.get(name, 0) >= limit:
            return _lambda_error(429, "TooManyRequestsException",
                                 "Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded)")
        _lambda_running[name] = _lambda_running.get(name, 0) + 1
    try:
        return _lambda_fault(name, payload, fault) if fault else _run_lambda(name, payload)
    finally:
        with _lock:
            _lambda_running[name] -= 1


def _lambda_fault(name: str, payload: bytes, fault: dict[str, Any]) -> Response:
    kind = fault["kind"]
    if kind == "throttle":
        return _lambda_error(429, "TooManyRequestsException", "Rate Exceeded.")
    if kind == "service-error":
        # The function goes on running; only the caller is told it failed.
        threading.Thread(target=_run_lambda, args=(name, payload), daemon=True).start()
        return _lambda_error(500, "ServiceException", "The Lambda service encountered an internal error.")
    # unknown: a timeout or a crash; "afterRunning", once the function did its work.
    if fault.get("afterRunning"):
        _run_lambda(name, payload)
    timed_out = {"errorMessage": f"{_now().isoformat()} Task timed out after 60.00 seconds"}
    return Response(json.dumps(timed_out), status=200, content_type="application/json",
                    headers={"X-Amz-Function-Error": "Unhandled"})


def _run_lambda(name: str, payload: bytes) -> Response:
    """Runs the real binary through the configured Lambda Invoke API."""
    if not _lambda_url:
        return _json(404, {"Type": "User", "message": f"Function not found: {name} (no Lambda runtime set)"},
                     {"x-amzn-ErrorType": "ResourceNotFoundException"})
    forward = urllib.request.Request(
        f"{_lambda_url[0]}/2015-03-31/functions/{name}/invocations", data=payload or b"{}", method="POST"
    )
    try:
        with urllib.request.urlopen(forward, timeout=600) as answer:
            return Response(answer.read(), status=200, content_type="application/json")
    except urllib.error.HTTPError as error:
        # cargo lambda watch answers a handler error with HTTP 500 and the error reply as body;
        # Lambda answers 200 and marks it with X-Amz-Function-Error.
        body = error.read()
        try:
            json.loads(body)["errorType"]
        except (ValueError, KeyError, TypeError):
            return _json(502, {"message": f"the Lambda runtime failed: {body[:500]!r}"},
                         {"x-amzn-ErrorType": "ServiceException"})
        return Response(body, status=200, content_type="application/json",
                        headers={"X-Amz-Function-Error": "Unhandled"})


def _invoke_lambda_async(function: str, payload: bytes) -> Response:
    """An asynchronous invocation (InvocationType Event), as EventBridge makes them: accepted
    at once (202); on a function error Lambda tries twice more, then sends its on-failure
    record to the function's destination queue, if one is set (`async` control endpoint).
    Source: Lambda developer guide, "Asynchronous invocation" (two retries by default) and
    "Configuring destinations" (the record's requestContext / requestPayload / responsePayload).
    Retries come after `retrySeconds` here, not Lambda's minute and two minutes."""
    name = function.split(":function:")[-1].split(":")[0]
    settings = dict(_async.get(name, {}))

    def deliver() -> None:
        attempts = 1 + int(settings.get("maximumRetryAttempts", 2))
        answer: bytes = b""
        for attempt in range(1, attempts + 1):
            response = _invoke_lambda(function, payload)
            answer = response.get_data()
            if "X-Amz-Function-Error" not in response.headers and response.status_code == 200:
                return
            if attempt < attempts:
                time.sleep(float(settings.get("retrySeconds", 1)))
        queue_url = settings.get("onFailure")
        if not queue_url:
            return
        record = {
            "version": "1.0",
            "timestamp": _now().isoformat(),
            "requestContext": {"functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                               "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
            "requestPayload": json.loads(payload or b"{}"),
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": json.loads(answer or b"{}"),
        }
        _self_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    threading.Thread(target=deliver, daemon=True).start()
    return Response(b"", status=202)


def _self_client(service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{os.environ['MOTO_PORT']}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        if os.getppid() == 1 and parent_pid != 1:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, default=os.getppid(), help="exit when this process ends")
    args = parser.parse_args()
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    server = make_server("127.0.0.1", args.port, StandIn(), threaded=True, request_handler=MotoRequestHandler)
    # The state-machine interpreter calls Lambda and the other services on this port.
    os.environ["MOTO_PORT"] = str(server.server_port)
    threading.Thread(target=_exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    threading.Thread(target=_end_runs_on_time, daemon=True).start()
    print(f"POLYSYNC_STANDIN_URL=http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
