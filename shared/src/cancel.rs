//! The cancel function: stop a run by its id, or find and stop the run of a Step Functions
//! execution that was aborted, timed out or failed.

use std::time::Duration;

use aws_sdk_glue::types::{JobRun, JobRunState};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

use aws_sdk_sfn::types::ExecutionStatus;

use crate::aws::{account_of, Deadline, GlueJob, Service, Services, DEADLINE_MARGIN};
use crate::error::{from_states_sdk, glue_error, ErrorCode, PolysyncError};
use crate::event::{parse_event, CancelOutput};
use crate::run_id::RunId;
use crate::status::{is_terminal, RunStatus};

/// Execution statuses after which a run must not be left behind.
fn leaves_a_run_behind(status: &ExecutionStatus) -> bool {
    matches!(
        status,
        ExecutionStatus::Aborted | ExecutionStatus::TimedOut | ExecutionStatus::Failed
    )
}

/// Statuses that can end an execution while its start function still runs: StopExecution and a
/// state machine timeout do not stop a Lambda invocation under way.
fn may_interrupt_a_start(status: &ExecutionStatus) -> bool {
    matches!(status, ExecutionStatus::Aborted | ExecutionStatus::TimedOut)
}
/// How long after such an end a run of the execution may still appear: the start function's
/// timeout (template.yaml, 60 s), and time for GetJobRuns to list the run.
pub const START_WINDOW: Duration = Duration::from_secs(75);
/// How often cancel looks again within that window.
pub const LOOK_AGAIN_EVERY: Duration = Duration::from_secs(2);
/// More retry attempts than Glue makes of one run (MaxRetries is at most 10).
const MAX_ATTEMPTS_FOLLOWED: usize = 11;

#[derive(Debug, Deserialize)]
struct RunIdEvent {
    #[serde(rename = "runId")]
    run_id: String,
}

/// The part of an EventBridge "Step Functions Execution Status Change" event cancel reads.
#[derive(Debug, Deserialize)]
struct ExecutionStatusChange {
    detail: ExecutionDetail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionDetail {
    /// The state machine tags the run with it (`$$.Execution.Id`): unique across state
    /// machines, stacks and accounts, so only this execution's run is ever stopped.
    execution_arn: String,
    name: String,
    #[serde(deserialize_with = "execution_status")]
    status: ExecutionStatus,
    /// The execution input, as a JSON string; absent past 248 KB of input and output
    /// (`inputDetails.included: false`).
    #[serde(default)]
    input: Option<String>,
    /// When the execution ended, in milliseconds since the epoch.
    #[serde(default)]
    stop_date: Option<i64>,
}

/// The event's status as the SDK's enum (a status newer than the SDK is `Unknown` and stops
/// nothing).
fn execution_status<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ExecutionStatus, D::Error> {
    let status = String::deserialize(deserializer)?;
    Ok(ExecutionStatus::from(status.as_str()))
}

enum CancelRequest {
    Run(RunId),
    Execution(ExecutionDetail),
}

/// What an ended execution leaves to stop.
enum ExecutionRun {
    /// The run it started (or followed), to be stopped.
    Found(RunId),
    /// Nothing of its own to stop, and why.
    NothingToStop(CancelOutput),
}

/// What Step Functions says of the execution now: its status and input, when it can be read.
struct Described {
    redriven_and_running: bool,
    input: Option<String>,
}

fn parse_request(event: Value) -> Result<CancelRequest, PolysyncError> {
    if event.get("runId").is_some() {
        let request: RunIdEvent = parse_event(event)?;
        return Ok(CancelRequest::Run(RunId::parse("runId", &request.run_id)?));
    }
    if event.get("detail").is_some() {
        let change: ExecutionStatusChange = parse_event(event)?;
        return Ok(CancelRequest::Execution(change.detail));
    }
    Err(PolysyncError::invalid(
        "event",
        "must hold a runId, or be a Step Functions Execution Status Change event with a detail",
    ))
}

pub async fn handle(
    env: &Services,
    event: LambdaEvent<Value>,
) -> Result<CancelOutput, PolysyncError> {
    let (payload, context) = event.into_parts();
    let deadline = Deadline::of(&context, &env.clock);
    let account = account_of(&context.invoked_function_arn);
    let run_id = match parse_request(payload)? {
        CancelRequest::Run(run_id) => run_id,
        CancelRequest::Execution(detail) => {
            match run_of_execution(env, account, &detail, deadline).await? {
                ExecutionRun::Found(run_id) => run_id,
                ExecutionRun::NothingToStop(output) => return Ok(output),
            }
        }
    };
    let job = env.job(account, &run_id.job_name, deadline);
    let newest = newest_attempt(job, &run_id).await?;
    stop(job, &newest).await
}

fn nothing_to_stop(message: String) -> CancelOutput {
    CancelOutput {
        run_id: None,
        stop_requested: false,
        status: RunStatus::Unknown,
        glue_state: None,
        message,
    }
}

/// The execution as Step Functions has it now. One that cannot be read, because it no longer
/// exists or the function may not read it, is taken to have ended as the event says.
async fn describe(
    env: &Services,
    detail: &ExecutionDetail,
    deadline: Deadline,
) -> Result<Described, PolysyncError> {
    let request = env
        .states()
        .describe_execution()
        .execution_arn(&detail.execution_arn)
        .send();
    let answer = deadline
        .call(Service::StepFunctions, "DescribeExecution", async {
            Ok(request.await)
        })
        .await?;
    match answer {
        Ok(described) => Ok(Described {
            // Running after its end event only if redriven since (on AWS an aborted execution
            // is ABORTED at once; moto settles it when the running task returns).
            redriven_and_running: described.status() == &ExecutionStatus::Running
                && described.redrive_count().unwrap_or(0) > 0,
            input: described.input().map(str::to_owned),
        }),
        Err(error) => {
            let gone = error.as_service_error().is_some_and(|e| {
                e.is_execution_does_not_exist()
                    || e.meta().code().map(ErrorCode::from_wire) == Some(ErrorCode::AccessDenied)
            });
            if gone {
                tracing::warn!(execution = %detail.execution_arn, "execution unreadable; taken as ended");
                Ok(Described {
                    redriven_and_running: false,
                    input: None,
                })
            } else {
                Err(from_states_sdk("DescribeExecution", error))
            }
        }
    }
}

/// What an execution's input says it ran.
enum InputNames {
    /// The run it follows without having started it (a child execution's `runId`).
    Run(RunId),
    /// The Glue job it started a run of.
    Job(String),
    /// No job: start refused the input, so it started no run.
    Nothing,
}

fn named_in(input: &str) -> Result<InputNames, PolysyncError> {
    let input: Value = serde_json::from_str(input)
        .map_err(|e| PolysyncError::invalid("detail.input", format!("is not JSON: {e}")))?;
    if let Some(run_id) = input.get("runId").and_then(Value::as_str) {
        return Ok(InputNames::Run(RunId::parse("detail.input.runId", run_id)?));
    }
    // Only the job's name is needed: an input start refused for another field still names it.
    Ok(input
        .pointer("/job/externalId")
        .and_then(Value::as_str)
        .filter(|job| !job.trim().is_empty())
        .map_or(InputNames::Nothing, |job| InputNames::Job(job.to_owned())))
}

/// The run an ended execution started, or the output that says there is nothing to stop.
async fn run_of_execution(
    env: &Services,
    account: Option<&str>,
    detail: &ExecutionDetail,
    deadline: Deadline,
) -> Result<ExecutionRun, PolysyncError> {
    let name = &detail.name;
    let nothing = |message: String| Ok(ExecutionRun::NothingToStop(nothing_to_stop(message)));
    if !leaves_a_run_behind(&detail.status) {
        return nothing(format!(
            "execution {name} is {}; only ABORTED, TIMED_OUT and FAILED executions have runs to stop",
            detail.status.as_str()
        ));
    }
    // What the event's input names is read first: a malformed one is refused, and one that
    // names no job needs no call at all.
    let from_event = detail.input.as_deref().map(named_in).transpose()?;
    let no_job = || {
        nothing(format!(
            "execution {name} names no Glue job (job.externalId) in its input: start refused \
             it, so it started no run; nothing to stop"
        ))
    };
    if let Some(InputNames::Nothing) = from_event {
        return no_job();
    }
    // A late or replayed event of an execution that was redriven since: its run is followed
    // again, and must not be stopped.
    let described = describe(env, detail, deadline).await?;
    if described.redriven_and_running {
        return nothing(format!(
            "execution {name} is running again (redriven); its run is not stopped"
        ));
    }
    let named = match (from_event, described.input) {
        (Some(named), _) => named,
        (None, Some(input)) => named_in(&input)?,
        (None, None) => {
            return nothing(format!(
                "the input of execution {name} is neither in the event nor readable; nothing \
                 to stop"
            ))
        }
    };
    let job_name = match named {
        InputNames::Run(run_id) => return Ok(ExecutionRun::Found(run_id)),
        InputNames::Job(job_name) => job_name,
        InputNames::Nothing => return no_job(),
    };
    let job_name = job_name.as_str();
    let job = env.job(account, job_name, deadline);
    let ended_ms = detail
        .stop_date
        .unwrap_or_else(|| env.clock.now().to_millis().unwrap_or(0));
    let window_ends_ms = ended_ms.saturating_add(START_WINDOW.as_millis() as i64);
    // A run that started after the window is a later, redriven attempt's, not this end's.
    let of_this_end = |run: &JobRun| {
        run.started_on()
            .and_then(|started| started.to_millis().ok())
            .is_none_or(|started_ms| started_ms <= window_ends_ms)
    };
    let may_still_start = may_interrupt_a_start(&detail.status);
    loop {
        match job
            .find_tagged_run(&detail.execution_arn, of_this_end)
            .await
        {
            Ok(Some(run)) => {
                return Ok(ExecutionRun::Found(RunId::new(
                    job_name,
                    run.id().unwrap_or_default(),
                )));
            }
            Err(error) if error.is_entity_not_found() => {
                return nothing(format!(
                    "Glue job {job_name} does not exist, so execution {name} started no run; \
                     nothing to stop"
                ));
            }
            Err(other) => return Err(other),
            Ok(None) => {}
        }
        // A start still under way when the execution ended makes its run later: look again
        // until it can no longer appear, or this invocation must answer.
        let now_ms = env.clock.now().to_millis().unwrap_or(i64::MAX);
        let time_for_another_look = deadline
            .left()
            .is_none_or(|left| left > LOOK_AGAIN_EVERY + DEADLINE_MARGIN + DEADLINE_MARGIN);
        if !may_still_start || now_ms >= window_ends_ms || !time_for_another_look {
            return nothing(format!(
                "no run of Glue job {job_name} is tagged with execution {} within its start \
                 window; nothing to stop",
                detail.execution_arn
            ));
        }
        tokio::time::sleep(LOOK_AGAIN_EVERY).await;
    }
}

/// The newest of Glue's retry attempts of a run (`PreviousRunId`): the one that may be live.
async fn newest_attempt(job: GlueJob<'_>, given: &RunId) -> Result<RunId, PolysyncError> {
    let mut run_id = given.clone();
    // Glue retries a run at most MaxRetries times (at most 10); the bound only ends a loop.
    for _ in 0..MAX_ATTEMPTS_FOLLOWED {
        let next = job.next_attempt(&run_id.job_run_id).await?;
        match next.and_then(|run| run.id().map(str::to_owned)) {
            Some(next_id) => run_id = RunId::new(&run_id.job_name, &next_id),
            None => break,
        }
    }
    Ok(run_id)
}

fn output(run_id: &RunId, run: &JobRun, stop_requested: bool, message: String) -> CancelOutput {
    let state = run.job_run_state();
    CancelOutput {
        run_id: Some(run_id.to_string()),
        stop_requested,
        status: RunStatus::from_glue_state(state),
        glue_state: state.map(|s| s.as_str().to_owned()),
        message,
    }
}

/// A run already final, or already stopping (a second cancel, Glue's own stop): not an error.
fn nothing_left_to_stop(run_id: &RunId, run: &JobRun) -> Option<CancelOutput> {
    let state = run.job_run_state();
    let message = match state {
        Some(JobRunState::Stopping) => format!("run {run_id} is already stopping"),
        Some(ended) if is_terminal(state) => format!(
            "run {run_id} had already ended {}; nothing to stop",
            ended.as_str()
        ),
        _ => return None,
    };
    Some(output(run_id, run, false, message))
}

async fn stop(job: GlueJob<'_>, run_id: &RunId) -> Result<CancelOutput, PolysyncError> {
    // An unknown run fails here with Glue.EntityNotFoundException; a finished one needs no stop.
    let run = job.run(&run_id.job_run_id).await?;
    if let Some(settled) = nothing_left_to_stop(run_id, &run) {
        return Ok(settled);
    }
    let request = job
        .glue
        .batch_stop_job_run()
        .job_name(&run_id.job_name)
        .job_run_ids(&run_id.job_run_id)
        .send();
    let answer = job.send("BatchStopJobRun", request).await?;
    // BatchStopJobRun answers 200 even when it stopped nothing: the refusal is in Errors.
    // One run was asked for, so any entry is about it.
    let refusal = answer
        .errors()
        .first()
        .and_then(|error| error.error_detail());
    let run = job.run(&run_id.job_run_id).await?;
    if let Some(detail) = refusal {
        // The run may have ended, or begun stopping, between our look and the stop: no error.
        if let Some(settled) = nothing_left_to_stop(run_id, &run) {
            return Ok(settled);
        }
        return Err(glue_error(
            "BatchStopJobRun",
            Some(job.target),
            detail
                .error_code()
                .filter(|code| !code.is_empty())
                .map(ErrorCode::from_wire),
            detail.error_message().unwrap_or_default(),
        ));
    }
    tracing::info!(run_id = %run_id, "stop requested for Glue job run");
    Ok(output(
        run_id,
        &run,
        true,
        format!("stop requested for run {run_id}"),
    ))
}
