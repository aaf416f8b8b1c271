"""Glue runs and Glue's rules, which moto 5.2 lacks: each a patch of moto's Glue model, in one
place, with the rule's source beside it.

- A run follows its job's script (`RunScript`): seconds in STARTING / WAITING / RUNNING, or
  `"hold"` to stay in that state until a test ends it (`end_runs`), then its end (SUCCEEDED,
  FAILED with an ErrorMessage, TIMEOUT, ERROR, EXPIRED, STOPPED). Its timestamps follow the
  script whenever it is read: CompletedOn is the instant the script ended it, not the read.
- Glue's own retry attempts when the job's MaxRetries > 0 (a new run with PreviousRunId, Attempt).
- An ended run writes a Spark driver log to moto's CloudWatch Logs where Glue writes it.
- BatchStopJobRun: a live run goes STOPPING, then STOPPED; an unknown or final run is an Error.
- Glue's sizing and run-option rules on StartJobRun, MaxConcurrentRuns over every live state,
  the account's quota of concurrent runs, the StartJobRun request rate and job run queuing.
- GetJobRuns newest first, as Glue lists them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.glue import models as glue_models
from moto.glue import responses as glue_responses
from moto.glue.exceptions import ConcurrentRunsExceededException, InvalidInputException

from .eventbridge import send_glue_event
from .state import STATE

FINAL_STATES = {"SUCCEEDED", "STOPPED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED"}
# Glue retries a run that failed; a timeout or a stop is not retried.
RETRIED_STATES = {"FAILED", "ERROR"}
# The log group Glue names in a run's LogGroupName, and writes `/error` and `/output` under.
GLUE_LOG_GROUP = "/aws-glue/jobs"
DEFAULT_SCRIPT = {"starting": 0.2, "waiting": 0.0, "running": 0.5, "stopping": 0.3, "end": "SUCCEEDED"}
# A phase scripted "hold" lasts until a test ends the run.
HOLD = "hold"


def now() -> datetime:
    return datetime.now(UTC)


def _seconds(value: Any) -> float:
    return float("inf") if value == HOLD else float(value)


class RunScript:
    """The life of one run: seconds in each live state (or "hold"), then its end."""

    def __init__(self, script: dict[str, Any], attempt: int) -> None:
        merged = {**DEFAULT_SCRIPT, **script}
        attempts = script.get("attempts") or []
        if attempts:
            merged.update(attempts[min(attempt, len(attempts) - 1)])
        end = merged["end"]
        if end not in FINAL_STATES:
            raise ValueError(f"unknown end state {end!r}")
        self.phases = [(state, _seconds(merged[key])) for state, key in
                       [("STARTING", "starting"), ("WAITING", "waiting"), ("RUNNING", "running")]]
        self.stopping = float(merged["stopping"])
        self.end = end
        self.error_message = merged.get("errorMessage")
        # Whether the run writes its driver log; false for a job whose log group is missing.
        self.logs = bool(merged.get("logs", True))


@dataclass
class RunLife:
    """What the stand-in keeps of one run beside moto's FakeJobRun (`run.life`)."""

    job: Any
    request: dict[str, Any]
    created: datetime
    attempt: int
    script: RunScript
    previous: str | None = None
    execution_class: str | None = None
    stop_requested: datetime | None = None
    # Set by a test (`end_runs`): the run ends at that instant, in that state.
    ended_by_test: tuple[datetime, str, str | None] | None = None
    # A queued run that gave up waiting never ran: no ExecutionTime.
    never_ran: bool = False
    final: str | None = None
    completed_on: datetime | None = None
    error_message: str | None = None
    waiting_since: datetime | None = None
    state_detail: str | None = None


def _state_at(run: Any, at: datetime) -> tuple[str, datetime | None]:
    """The run's state at `at`, and when that state began if it is final."""
    life: RunLife = run.life
    if life.waiting_since is not None:
        return "WAITING", None
    if life.stop_requested is not None:
        stopped_at = life.stop_requested + timedelta(seconds=life.script.stopping)
        return ("STOPPED", stopped_at) if at >= stopped_at else ("STOPPING", None)
    if life.ended_by_test is not None:
        ended_at, state, _ = life.ended_by_test
        return state, ended_at
    began = life.created
    for state, seconds in life.script.phases:
        if seconds == float("inf") or at < began + timedelta(seconds=seconds):
            return state, None
        began += timedelta(seconds=seconds)
    return life.script.end, began


def _status(run: Any) -> str:
    with STATE.lock:
        _admit_waiting()
        life: RunLife = run.life
        if life.final is None:
            state, since = _state_at(run, now())
            if state in FINAL_STATES:
                _finish(run, state, since or now())
            return state
        return life.final


def _set_status(run: Any, value: str) -> None:
    run._status = value


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
    message = run.life.error_message or f"Job run ended {state} (scripted)"
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

    job = run.life.job
    backend = getattr(job, "backend", None)
    account, region = (backend.account_id, backend.region_name) if backend else ("123456789012", "us-east-1")
    logs = logs_backends[account][region]
    lines = _driver_log(run, state)
    if major_version(job) >= 5:
        stream = f"{run.job_run_id}-driver"
        spark = [line for line in lines if line.startswith("INFO ")]
        written = [("/error", stream, spark), ("/output", stream, [line for line in lines if line not in spark])]
    else:
        written = [("/error", run.job_run_id, lines)]
    at = int(run.life.completed_on.timestamp() * 1000)
    for suffix, stream, stream_lines in written:
        group = f"{GLUE_LOG_GROUP}{suffix}"
        if group not in logs.groups:
            logs.create_log_group(group, {})
        logs.create_log_stream(group, stream)
        events = [{"timestamp": at + index, "message": line} for index, line in enumerate(stream_lines)]
        if events:
            logs.put_log_events(group, stream, events)


def _finish(run: Any, state: str, at: datetime) -> None:
    """The run ended `state` at `at` (its script's instant, whenever noticed)."""
    life: RunLife = run.life
    life.final = state
    life.completed_on = at
    if state in {"FAILED", "ERROR", "TIMEOUT"}:
        told = life.ended_by_test[2] if life.ended_by_test else None
        life.error_message = told or life.script.error_message or f"Job run ended {state} (scripted)"
    if life.script.logs:
        _write_driver_log(run, state)
    send_glue_event(run.job_name, run.job_run_id, state)
    job = life.job
    if state in RETRIED_STATES and life.attempt < (job.max_retries or 0):
        try:
            start_run(job, life.request, previous=run)
        except ConcurrentRunsExceededException:
            pass  # Glue too skips the retry when the job is at its concurrency limit


def end_runs(job_name: str, state: str, run_id: str | None, error_message: str | None) -> list[str]:
    """A test ends the job's live runs (or the one named) now, in `state`."""
    if state not in FINAL_STATES:
        raise ValueError(f"state must be one of {sorted(FINAL_STATES)}")
    ended = []
    with STATE.lock:
        for run in list(STATE.all_runs):
            if run.job_name != job_name or run_id not in (None, run.job_run_id):
                continue
            # A run its script already ended (read or not) keeps that end: a test ends live runs.
            if _status(run) in FINAL_STATES or run.life.stop_requested is not None:
                continue
            run.life.waiting_since = None
            run.life.ended_by_test = (now(), state, error_message)
            _status(run)
            ended.append(run.job_run_id)
    return ended


def end_runs_on_time() -> None:
    """Glue ends a run whether or not anyone reads it: while events are on, runs are finished at
    their scripted time (the stand-in otherwise notices the end when a run is read; its
    timestamps are the script's either way)."""
    while True:
        time.sleep(0.1)
        if not STATE.glue_events.get("function"):
            continue
        with STATE.lock:
            live = [run for run in STATE.all_runs if run.life.final is None]
        for run in live:
            _status(run)


def _as_dict(run: Any) -> dict[str, Any]:
    state = run.status
    life: RunLife = run.life
    result = _original_run_as_dict(run)
    ran_until = life.completed_on or now()
    result.update(
        {
            "JobRunState": state,
            "Attempt": life.attempt,
            "StartedOn": life.created,
            "LastModifiedOn": ran_until,
            "ExecutionTime": 0 if life.never_ran else int((ran_until - life.created).total_seconds()),
            # Glue's default; moto answers a placeholder ("test/log").
            "LogGroupName": GLUE_LOG_GROUP,
        }
    )
    if life.final:
        result["CompletedOn"] = life.completed_on
    else:
        result.pop("CompletedOn", None)
    if life.error_message:
        result["ErrorMessage"] = life.error_message
    if life.previous:
        result["PreviousRunId"] = life.previous
    if life.waiting_since is not None:
        result["StateDetail"] = life.state_detail
    if life.execution_class:
        result["ExecutionClass"] = life.execution_class
    # Glue's JobRun carries the version it ran (moto's leaves it out).
    result["GlueVersion"] = life.job.glue_version
    return result


def start_run(job: Any, request: dict[str, Any], previous: Any = None) -> str:
    """Creates a run; moto's own start fills compute from the definition as Glue does. A retry
    attempt (`previous`) carries the failed attempt's arguments, as Glue's do."""
    run_id = _original_start_job_run(job, **request)
    run = next(r for r in job.job_runs if r.job_run_id == run_id)
    attempt = previous.life.attempt + 1 if previous is not None else 0
    if previous is not None:
        run.arguments = previous.arguments
    run.life = RunLife(
        job=job, request=request, created=now(), attempt=attempt,
        script=RunScript(STATE.scripts.get(job.name, {}), attempt),
        previous=previous.job_run_id if previous is not None else None,
        execution_class=getattr(STATE.request_options, "execution_class", None)
        or (previous.life.execution_class if previous is not None else None),
    )
    STATE.all_runs.append(run)
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


def major_version(job: Any) -> int:
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
    execution_class = getattr(STATE.request_options, "execution_class", None)
    max_capacity = request.get("max_capacity")
    if execution_class == "FLEX" and (command != "glueetl" or major_version(job) < 3):
        raise InvalidInputException(
            "StartJobRun", f"Execution class FLEX is not supported for Job Command {command} of Glue version {job.glue_version}"
        )
    if max_capacity is not None:
        if request.get("worker_type") is not None or request.get("number_of_workers") is not None:
            raise InvalidInputException("StartJobRun", "Please set only Max Capacity or Worker Type and Number of Workers")
        if command == "pythonshell" and max_capacity not in (0.0625, 1.0):
            raise InvalidInputException("StartJobRun", "Max Capacity for Job Command pythonshell must be 0.0625 or 1")
        if command in {"glueetl", "gluestreaming"} and major_version(job) >= 2:
            raise InvalidInputException(
                "StartJobRun", f"Max Capacity is not supported for Glue version {job.glue_version}; use Worker Type and Number of Workers"
            )
    if getattr(STATE.request_options, "queuing", None):
        if execution_class == "FLEX":
            raise InvalidInputException("StartJobRun", "Job run queuing is not supported for execution class FLEX")
        if job.max_retries:
            raise InvalidInputException("StartJobRun", "Job run queuing is not supported for a job with MaxRetries greater than 0")


def _live(run: Any, at: datetime) -> bool:
    """Live and holding capacity: not ended, not waiting in the queue."""
    life: RunLife = run.life
    return life.waiting_since is None and life.final is None and _state_at(run, at)[0] not in FINAL_STATES


def _capacity_refusal(job: Any, at: datetime) -> str | None:
    """Why a new run of `job` cannot start now, or None. The account's quota: "Max concurrent
    job runs per account" (AWS General Reference, "AWS Glue endpoints and quotas"), answered
    as ConcurrentRunsExceededException, "Too many jobs are being run concurrently" (the
    exception's documentation in Glue's API model); the job's own MaxConcurrentRuns likewise."""
    quota = STATE.glue_limits["maxConcurrentRuns"]
    if quota is not None and sum(_live(r, at) for r in STATE.all_runs) >= quota:
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
    asked = getattr(STATE.request_options, "queuing", None)
    enabled = asked if asked is not None else STATE.job_queuing.get(job.name, False)
    return bool(enabled) and not (job.max_retries or 0)


# A queued run fails after this long without capacity: "AWS Glue will retry for a maximum of 15
# minutes or 10 attempts, whichever comes first" (the job run statuses page above).
QUEUE_SECONDS = 15 * 60


def _admit_waiting() -> None:
    """Starts the oldest waiting runs that fit now; fails those that waited too long."""
    at = now()
    waiting = sorted((r for r in STATE.all_runs if r.life.waiting_since is not None), key=lambda r: r.life.waiting_since)
    for run in waiting:
        life: RunLife = run.life
        waiting_since = life.waiting_since
        assert waiting_since is not None, "sorted from the waiting runs"
        if _capacity_refusal(life.job, at) is None:
            life.waiting_since = None
            life.state_detail = None
            life.created = at  # its script's phases begin now
        elif (at - waiting_since).total_seconds() > QUEUE_SECONDS:
            life.waiting_since = None
            life.never_ran = True
            life.final = "FAILED"
            life.completed_on = at
            life.error_message = life.state_detail


def throttled() -> bool:
    """A StartJobRun over the account's request rate ("startJobRunPerSecond"): Glue answers
    ThrottlingException, one of its common errors (Glue API reference, "Common Errors")."""
    rate = STATE.glue_limits["startJobRunPerSecond"]
    if rate is None:
        return False
    instant = time.monotonic()
    while STATE.recent_starts and instant - STATE.recent_starts[0] > 1.0:
        STATE.recent_starts.popleft()
    if len(STATE.recent_starts) >= rate:
        return True
    STATE.recent_starts.append(instant)
    return False


def _start_job_run(job: Any, **request: Any) -> str:
    _check_sizing(job, request)
    with STATE.lock:
        _admit_waiting()
        refusal = _capacity_refusal(job, now())
        if refusal is None:
            return start_run(job, request)
        if not _queues(job):
            raise ConcurrentRunsExceededException(refusal)
        run_id = start_run(job, request)
        run = next(r for r in job.job_runs if r.job_run_id == run_id)
        run.life.waiting_since = now()
        run.life.state_detail = f"Job run is waiting for resources: {refusal}"
        return run_id


def _get_job_runs(job: Any) -> list[Any]:
    # Glue lists a job's runs newest first (as `aws glue get-job-runs` shows them; the API
    # reference states no order, and start's scan reads the newest pages only); moto lists the
    # oldest first.
    return list(reversed(job.job_runs))


def _batch_stop_job_run(self: Any) -> str:
    job_name = self._get_param("JobName")
    run_ids = self._get_param("JobRunIds") or []
    backend = self.glue_backend
    succeeded, errors = [], []
    with STATE.lock:
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
            run.life.stop_requested = now()
            succeeded.append({"JobName": job_name, "JobRunId": run_id})
    return json.dumps({"SuccessfulSubmissions": succeeded, "Errors": errors})


def _stop_error(job_name: str, run_id: str, code: str, message: str) -> dict[str, Any]:
    return {"JobName": job_name, "JobRunId": run_id, "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message}}


def record_job_queuing(operation: str, body: dict[str, Any]) -> None:
    """CreateJob / UpdateJob's JobRunQueuingEnabled, which moto's job model drops."""
    if operation not in {"CreateJob", "UpdateJob"}:
        return
    name = body.get("Name") or body.get("JobName")
    definition = body.get("JobUpdate", body)
    if name and "JobRunQueuingEnabled" in definition:
        with STATE.lock:
            STATE.job_queuing[name] = bool(definition["JobRunQueuingEnabled"])


# moto's classes are extended in place: mypy's objections to assigning methods are the point here.
_original_run_as_dict = glue_models.FakeJobRun.as_dict
_original_start_job_run = glue_models.FakeJob.start_job_run


def install() -> None:
    glue_models.FakeJobRun.status = property(_status, _set_status)  # type: ignore[method-assign,assignment]
    glue_models.FakeJobRun.as_dict = _as_dict  # type: ignore[method-assign,assignment]
    glue_models.FakeJob.start_job_run = _start_job_run  # type: ignore[method-assign,assignment]
    glue_models.FakeJob.get_job_runs = _get_job_runs  # type: ignore[method-assign,assignment]
    glue_responses.GlueResponse.batch_stop_job_run = _batch_stop_job_run  # type: ignore[attr-defined]
