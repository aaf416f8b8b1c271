//! The wake function (docs/interface.md, "Glue's own events"): Glue's "Glue Job State Change"
//! event ends the wait of the execution that follows the run, so its next poll comes within
//! seconds of the run's end instead of at the end of its wait.
//!
//! It takes two events. The state machine's `park` (its wake branch, a
//! `lambda:invoke.waitForTaskToken` task) leaves the task token, keyed by the run, with a time
//! to live. Glue's event (through the EventBridge rule) sends that task its success. The wake is
//! best effort and never harmful: a duplicate, late or out-of-order event, a run nobody
//! follows, a token already used or expired, a job outside the prefix and a run that is not over
//! all answer `{"woken": false, "reason"}`; the poll that follows a wake decides, never the event.

use aws_sdk_glue::types::JobRunState;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::token_store::{ParkedToken, TokenStore};
use crate::aws::{account_of, Deadline, Services};
use crate::config::WAKE_TABLE_VAR;
use crate::error::{from_states_sdk, PolysyncError};
use crate::event::parse_event;
use crate::run_id::RunId;
use crate::status::is_terminal;

/// EventBridge's `source` and `detail-type` of Glue's run events (AWS Glue developer guide,
/// "Automating AWS Glue with EventBridge").
pub const GLUE_SOURCE: &str = "aws.glue";
pub const GLUE_JOB_STATE_CHANGE: &str = "Glue Job State Change";
/// How long a parked token is kept: Glue's longest batch run (10,080 minutes) and a day. A
/// streaming run that lasts longer is seen by the polling loop, as without events.
pub const TOKEN_TTL_SECONDS: i64 = 8 * 86_400;
/// Glue's retry attempts a wake looks back through (MaxRetries is at most 10) for the run an
/// execution parked its token under.
pub const MAX_ATTEMPTS_BACK: usize = 10;

/// The state machine's request to be woken when `runId` ends.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParkRequest {
    pub run_id: String,
    pub task_token: String,
    pub execution_id: String,
}

/// An EventBridge event, as Glue sends it for a run's state change.
#[derive(Debug, Clone, Deserialize)]
pub struct GlueEvent {
    pub source: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: GlueRunChange,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlueRunChange {
    pub job_name: String,
    pub job_run_id: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WakeOutput {
    pub woken: bool,
    pub reason: String,
    /// The execution woken, or whose token was found dead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

impl WakeOutput {
    fn not_woken(reason: impl Into<String>) -> Self {
        Self {
            woken: false,
            reason: reason.into(),
            execution_id: None,
        }
    }
}

pub async fn handle(env: &Services, event: LambdaEvent<Value>) -> Result<Value, PolysyncError> {
    let (mut payload, context) = event.into_parts();
    let answer = if let Some(request) = payload.get_mut("park").map(Value::take) {
        let request: ParkRequest = parse_event(request).map_err(in_park)?;
        json!({ "parked": park(env, request).await? })
    } else {
        let event: GlueEvent = parse_event(payload)?;
        let deadline = Deadline::of(&context, &env.clock);
        let account = account_of(&context.invoked_function_arn);
        let output = wake(env, event, account, deadline).await?;
        tracing::info!(woken = output.woken, reason = %output.reason, "wake");
        serde_json::to_value(output).unwrap_or_default()
    };
    Ok(answer)
}

/// A park's fields are named from the event's root, `park.runId`.
fn in_park(error: PolysyncError) -> PolysyncError {
    match error {
        PolysyncError::InvalidInput { field, rule } => PolysyncError::InvalidInput {
            field: format!("park.{}", field.trim_start_matches('.')),
            rule,
        },
        other => other,
    }
}

async fn park(env: &Services, request: ParkRequest) -> Result<bool, PolysyncError> {
    let table = env
        .config
        .wake_table
        .as_deref()
        .ok_or(PolysyncError::WakeOff)?;
    let run_id = RunId::parse("park.runId", &request.run_id)?;
    if request.task_token.trim().is_empty() {
        return Err(PolysyncError::invalid(
            "park.taskToken",
            "must not be empty",
        ));
    }
    let token = ParkedToken {
        task_token: request.task_token,
        execution_id: request.execution_id,
        expires_at: env.clock.now().secs() + TOKEN_TTL_SECONDS,
    };
    store(env, table).park(&run_id.to_string(), &token).await?;
    Ok(true)
}

fn store<'a>(env: &'a Services, table: &'a str) -> TokenStore<'a> {
    TokenStore {
        client: env.dynamodb(),
        table,
    }
}

async fn wake(
    env: &Services,
    event: GlueEvent,
    account: Option<&str>,
    deadline: Deadline,
) -> Result<WakeOutput, PolysyncError> {
    if event.source != GLUE_SOURCE || event.detail_type != GLUE_JOB_STATE_CHANGE {
        return Err(PolysyncError::invalid(
            "detail-type",
            format!("must be {GLUE_JOB_STATE_CHANGE:?} from {GLUE_SOURCE} (or a park request)"),
        ));
    }
    let change = event.detail;
    let Some(table) = env.config.wake_table.as_deref() else {
        return Ok(WakeOutput::not_woken(format!(
            "the wake is off: {WAKE_TABLE_VAR} is empty"
        )));
    };
    if !env.config.covers_job(&change.job_name) {
        return Ok(WakeOutput::not_woken(format!(
            "job {} is outside the job-name prefix {:?}",
            change.job_name, env.config.job_name_prefix
        )));
    }
    let said = JobRunState::from(change.state.as_str());
    if !is_terminal(Some(&said)) {
        return Ok(WakeOutput::not_woken(format!(
            "Glue says {}, which does not end a run",
            change.state
        )));
    }
    let event_run = RunId::new(&change.job_name, &change.job_run_id);
    // The run as Glue tells it now: an event for a run that is not over (out of order, or of
    // an attempt that a retry follows) never ends a wait.
    let job = env.job(account, &change.job_name, deadline);
    let mut run = job.run(&change.job_run_id).await?;
    if !is_terminal(run.job_run_state()) {
        let state = run.job_run_state().map_or("no state", JobRunState::as_str);
        return Ok(WakeOutput::not_woken(format!(
            "run {event_run} is {state}: not over, the next poll decides"
        )));
    }
    let store = store(env, table);
    // The execution may follow an earlier attempt of this run: its token is under that id.
    for _ in 0..=MAX_ATTEMPTS_BACK {
        let run_id = RunId::new(&change.job_name, run.id().unwrap_or_default());
        if let Some(parked) = store.take(&run_id.to_string()).await? {
            return send_wake(env, &store, &run_id, parked, &event_run).await;
        }
        match run.previous_run_id() {
            Some(previous) => run = job.run(previous).await?,
            None => break,
        }
    }
    Ok(WakeOutput::not_woken(format!(
        "no execution follows run {event_run}"
    )))
}

/// Sends the taken token its success. The item is already gone, so a token that was used or
/// has expired never wakes anything again; one that could not be sent for a passing fault is
/// put back and the fault returned, for Lambda's retry of the event.
async fn send_wake(
    env: &Services,
    store: &TokenStore<'_>,
    run_id: &RunId,
    parked: ParkedToken,
    event_run: &RunId,
) -> Result<WakeOutput, PolysyncError> {
    let dead = |reason: String| WakeOutput {
        woken: false,
        reason,
        execution_id: Some(parked.execution_id.clone()),
    };
    if parked.expires_at <= env.clock.now().secs() {
        return Ok(dead(format!("the token left for run {run_id} has expired")));
    }
    let output = json!({"woken": true, "runId": event_run.to_string()}).to_string();
    let sent = env
        .states()
        .send_task_success()
        .task_token(&parked.task_token)
        .output(output)
        .send()
        .await;
    match sent {
        Ok(_) => Ok(WakeOutput {
            woken: true,
            reason: format!("run {event_run} ended"),
            execution_id: Some(parked.execution_id.clone()),
        }),
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_task_timed_out() || e.is_invalid_token() || e.is_task_does_not_exist()
            }) =>
        {
            Ok(dead(format!(
                "execution no longer waits for run {run_id} (its token was used or has expired)"
            )))
        }
        Err(error) => {
            let error = from_states_sdk("SendTaskSuccess", error);
            if let Err(lost) = store.put_back(&run_id.to_string(), &parked).await {
                // The backstop poll still ends the wait, on its schedule.
                tracing::warn!(error = %lost, run = %run_id, "the token could not be put back");
            }
            Err(error)
        }
    }
}
