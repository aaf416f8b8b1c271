//! The cancel function: stop a run by its id, or find and stop the run of a Step Functions
//! execution that was aborted, timed out or failed.

use aws_sdk_glue::types::JobRun;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{from_sdk, glue_error, HintTarget, PolysyncError};
use crate::event::{parse_event, CancelOutput, StartEvent};
use crate::glue::{account_of, find_tagged_run, get_job_run, Env};
use crate::run_id::RunId;
use crate::status::{is_terminal, RunStatus};

/// Execution statuses after which a run must not be left behind.
const ENDED_EXECUTION_STATUSES: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

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
struct ExecutionDetail {
    /// The execution name: the state machine passes it to start as `executionId`.
    name: String,
    status: String,
    /// The execution input, as a JSON string.
    input: Option<String>,
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

pub async fn handle(env: &Env, event: LambdaEvent<Value>) -> Result<CancelOutput, PolysyncError> {
    let (payload, context) = event.into_parts();
    let account = account_of(&context.invoked_function_arn);
    let run_id = match parse_request(payload)? {
        CancelRequest::Run(run_id) => run_id,
        CancelRequest::Execution(detail) => match run_of_execution(env, account, &detail).await? {
            Ok(run_id) => run_id,
            Err(nothing_to_stop) => return Ok(nothing_to_stop),
        },
    };
    stop(env, env.hint_target(account, &run_id.job_name), &run_id).await
}

/// The run an ended execution started, or the output that says there is nothing to stop.
async fn run_of_execution(
    env: &Env,
    account: Option<&str>,
    detail: &ExecutionDetail,
) -> Result<Result<RunId, CancelOutput>, PolysyncError> {
    let nothing = |message: String| CancelOutput {
        run_id: None,
        stop_requested: false,
        status: RunStatus::Unknown,
        glue_state: None,
        message,
    };
    if !ENDED_EXECUTION_STATUSES.contains(&detail.status.as_str()) {
        return Ok(Err(nothing(format!(
            "execution {} is {}; only ABORTED, TIMED_OUT and FAILED executions have runs to stop",
            detail.name, detail.status
        ))));
    }
    let input = detail
        .input
        .as_deref()
        .ok_or_else(|| PolysyncError::invalid("detail.input", "must hold the execution input"))?;
    let input: Value = serde_json::from_str(input)
        .map_err(|e| PolysyncError::invalid("detail.input", format!("is not JSON: {e}")))?;
    let job = parse_event::<StartEvent>(input)
        .map_err(|e| match e {
            PolysyncError::InvalidInput { field, rule } => {
                PolysyncError::invalid(format!("detail.input.{field}"), rule)
            }
            other => other,
        })?
        .job;
    let target = env.hint_target(account, &job.external_id);
    match find_tagged_run(&env.glue, target, &detail.name).await? {
        Some(run) => Ok(Ok(RunId::new(
            &job.external_id,
            run.id().unwrap_or_default(),
        ))),
        None => Ok(Err(nothing(format!(
            "no run of Glue job {} is tagged with execution {}; nothing to stop",
            job.external_id, detail.name
        )))),
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

fn already_final(run_id: &RunId, run: &JobRun) -> CancelOutput {
    let state = run.job_run_state().map(|s| s.as_str()).unwrap_or("unknown");
    output(
        run_id,
        run,
        false,
        format!("run {run_id} had already ended {state}; nothing to stop"),
    )
}

async fn stop(
    env: &Env,
    target: HintTarget<'_>,
    run_id: &RunId,
) -> Result<CancelOutput, PolysyncError> {
    // An unknown run fails here with Glue.EntityNotFoundException; a finished one needs no stop.
    let run = get_job_run(&env.glue, target, &run_id.job_run_id).await?;
    if is_terminal(run.job_run_state().map(|s| s.as_str())) {
        return Ok(already_final(run_id, &run));
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
        // The run may have ended between our look and the stop: that is no error.
        if is_terminal(run.job_run_state().map(|s| s.as_str())) {
            return Ok(already_final(run_id, &run));
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
