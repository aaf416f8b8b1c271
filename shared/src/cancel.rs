//! The cancel function: stop a run by its id, or find and stop the run of a Step Functions
//! execution that was aborted, timed out or failed.

use std::time::Duration;

use aws_sdk_glue::types::JobRun;
use lambda_runtime::{Context, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{from_sdk, from_states_sdk, glue_error, PolysyncError, RequestTarget};
use crate::event::{parse_event, CancelOutput};
use crate::glue::{
    account_of, find_tagged_run, get_job_run, now, time_left, within_deadline, Services,
    DEADLINE_MARGIN,
};
use crate::run_id::RunId;
use crate::status::{is_terminal, RunStatus};

/// Execution statuses after which a run must not be left behind.
const ENDED_EXECUTION_STATUSES: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];
/// Statuses that can end an execution while its start function still runs: StopExecution and a
/// state machine timeout do not stop a Lambda invocation under way.
const INTERRUPTED_EXECUTION_STATUSES: [&str; 2] = ["ABORTED", "TIMED_OUT"];
/// How long after such an end a run of the execution may still appear: the start function's
/// timeout (template.yaml, 60 s), and time for GetJobRuns to list the run.
pub const START_WINDOW: Duration = Duration::from_secs(75);
/// How often cancel looks again within that window.
pub const LOOK_AGAIN_EVERY: Duration = Duration::from_secs(2);

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
    /// Where DescribeExecution reads the input from when the event leaves it out.
    #[serde(default)]
    execution_arn: Option<String>,
    /// The execution name: the state machine passes it to start as `executionId`.
    name: String,
    status: String,
    /// The execution input, as a JSON string; absent past 248 KB of input and output
    /// (`inputDetails.included: false`).
    #[serde(default)]
    input: Option<String>,
    /// When the execution ended, in milliseconds since the epoch.
    #[serde(default)]
    stop_date: Option<i64>,
}

enum CancelRequest {
    Run(RunId),
    Execution(ExecutionDetail),
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
    within_deadline(&context, "BatchStopJobRun", async {
        let account = account_of(&context.invoked_function_arn);
        let run_id = match parse_request(payload)? {
            CancelRequest::Run(run_id) => run_id,
            CancelRequest::Execution(detail) => {
                match run_of_execution(env, account, &detail, &context).await? {
                    Ok(run_id) => run_id,
                    Err(nothing_to_stop) => return Ok(nothing_to_stop),
                }
            }
        };
        stop(env, env.request_target(account, &run_id.job_name), &run_id).await
    })
    .await
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

/// The execution's input: from the event, else read with DescribeExecution.
async fn execution_input(
    env: &Services,
    detail: &ExecutionDetail,
) -> Result<String, PolysyncError> {
    if let Some(input) = &detail.input {
        return Ok(input.clone());
    }
    let arn = detail.execution_arn.as_deref().ok_or_else(|| {
        PolysyncError::invalid(
            "detail.executionArn",
            "is needed to read the execution's input, which the event left out",
        )
    })?;
    let described = env
        .states()
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| from_states_sdk("DescribeExecution", e))?;
    Ok(described.input().unwrap_or("{}").to_owned())
}

/// The run an ended execution started, or the output that says there is nothing to stop.
async fn run_of_execution(
    env: &Services,
    account: Option<&str>,
    detail: &ExecutionDetail,
    context: &Context,
) -> Result<Result<RunId, CancelOutput>, PolysyncError> {
    let name = &detail.name;
    if !ENDED_EXECUTION_STATUSES.contains(&detail.status.as_str()) {
        return Ok(Err(nothing_to_stop(format!(
            "execution {name} is {}; only ABORTED, TIMED_OUT and FAILED executions have runs to stop",
            detail.status
        ))));
    }
    let input: Value = serde_json::from_str(&execution_input(env, detail).await?)
        .map_err(|e| PolysyncError::invalid("detail.input", format!("is not JSON: {e}")))?;
    // An execution that follows a run it did not start (a child execution) names it.
    if let Some(run_id) = input.get("runId").and_then(Value::as_str) {
        return Ok(Ok(RunId::parse("detail.input.runId", run_id)?));
    }
    // Only the job's name is needed: an input start refused for another field still names it.
    let Some(job_name) = input
        .pointer("/job/externalId")
        .and_then(Value::as_str)
        .filter(|job| !job.trim().is_empty())
    else {
        return Ok(Err(nothing_to_stop(format!(
            "execution {name} names no Glue job (job.externalId) in its input: start refused \
             it, so it started no run; nothing to stop"
        ))));
    };
    let target = env.request_target(account, job_name);
    let ended_ms = detail
        .stop_date
        .unwrap_or_else(|| now().to_millis().unwrap_or(0));
    let may_still_start = INTERRUPTED_EXECUTION_STATUSES.contains(&detail.status.as_str());
    loop {
        match find_tagged_run(&env.glue, target, name).await {
            Ok(Some(run)) => {
                return Ok(Ok(RunId::new(job_name, run.id().unwrap_or_default())));
            }
            Err(PolysyncError::Glue { code, .. }) if code == "EntityNotFoundException" => {
                return Ok(Err(nothing_to_stop(format!(
                    "Glue job {job_name} does not exist, so execution {name} started no run; \
                     nothing to stop"
                ))));
            }
            Err(other) => return Err(other),
            Ok(None) => {}
        }
        // A start still under way when the execution ended makes its run later: look again
        // until it can no longer appear, or this invocation must answer.
        let window_ends_ms = ended_ms.saturating_add(START_WINDOW.as_millis() as i64);
        let now_ms = now().to_millis().unwrap_or(i64::MAX);
        let time_for_another_look = time_left(context)
            .is_none_or(|left| left > LOOK_AGAIN_EVERY + DEADLINE_MARGIN + DEADLINE_MARGIN);
        if !may_still_start || now_ms >= window_ends_ms || !time_for_another_look {
            return Ok(Err(nothing_to_stop(format!(
                "no run of Glue job {job_name} is tagged with execution {name}; nothing to stop"
            ))));
        }
        tokio::time::sleep(LOOK_AGAIN_EVERY).await;
    }
}

fn output(run_id: &RunId, run: &JobRun, stop_requested: bool, message: String) -> CancelOutput {
    let state = run.job_run_state().map(|s| s.as_str().to_owned());
    CancelOutput {
        run_id: Some(run_id.to_string()),
        stop_requested,
        status: RunStatus::from_glue_state(state.as_deref()),
        glue_state: state,
        message,
    }
}

/// A run already final, or already stopping (a second cancel, Glue's own stop): not an error.
fn nothing_left_to_stop(run_id: &RunId, run: &JobRun) -> Option<CancelOutput> {
    let state = run.job_run_state().map(|s| s.as_str());
    let message = match state {
        Some("STOPPING") => format!("run {run_id} is already stopping"),
        state if is_terminal(state) => format!(
            "run {run_id} had already ended {}; nothing to stop",
            state.unwrap_or_default()
        ),
        _ => return None,
    };
    Some(output(run_id, run, false, message))
}

async fn stop(
    env: &Services,
    target: RequestTarget<'_>,
    run_id: &RunId,
) -> Result<CancelOutput, PolysyncError> {
    // An unknown run fails here with Glue.EntityNotFoundException; a finished one needs no stop.
    let run = get_job_run(&env.glue, target, &run_id.job_run_id).await?;
    if let Some(settled) = nothing_left_to_stop(run_id, &run) {
        return Ok(settled);
    }
    let answer = env
        .glue
        .batch_stop_job_run()
        .job_name(&run_id.job_name)
        .job_run_ids(&run_id.job_run_id)
        .send()
        .await
        .map_err(|e| from_sdk("BatchStopJobRun", Some(target), e))?;
    // BatchStopJobRun answers 200 even when it stopped nothing: the refusal is in Errors.
    // One run was asked for, so any entry is about it.
    let refusal = answer
        .errors()
        .first()
        .and_then(|error| error.error_detail());
    let run = get_job_run(&env.glue, target, &run_id.job_run_id).await?;
    if let Some(detail) = refusal {
        // The run may have ended, or begun stopping, between our look and the stop: no error.
        if let Some(settled) = nothing_left_to_stop(run_id, &run) {
            return Ok(settled);
        }
        return Err(glue_error(
            "BatchStopJobRun",
            Some(target),
            detail.error_code().unwrap_or_default(),
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
