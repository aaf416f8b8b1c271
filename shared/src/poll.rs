//! The poll function: GetJobRun, mapped to the contract's status, and when to look again.

use aws_sdk_glue::types::JobRun;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::config::PollBounds;
use crate::error::{from_sdk, PolysyncError};
use crate::event::{parse_event, PollEvent, PollOutput};
use crate::glue::{account_of, format_time, now, Env};
use crate::monitor::monitor_url;
use crate::run_id::RunId;
use crate::status::{is_terminal, RunStatus};

/// Appended to a TIMEOUT run's message: the usual way out.
pub const TIMEOUT_HINT: &str =
    "Polysync: the run hit its time limit; raise Glue Timeout (Minutes) (glueTimeoutMinutes) or revisit the worker type";

/// Seconds to wait before the next poll: a tenth of the run's age, within the bounds. A young
/// run is looked at often; a long run costs few state transitions, and a finish is still
/// noticed within about a tenth of the time it took.
pub fn next_poll_seconds(age_seconds: i64, bounds: PollBounds) -> u32 {
    let tenth = u32::try_from(age_seconds.max(0) / 10).unwrap_or(u32::MAX);
    tenth.clamp(bounds.min_seconds, bounds.max_seconds)
}

pub async fn handle(env: &Env, event: LambdaEvent<Value>) -> Result<PollOutput, PolysyncError> {
    let (payload, context) = event.into_parts();
    let request: PollEvent = parse_event(payload)?;
    let run_id = RunId::parse("runId", &request.run_id)?;
    let target = env.hint_target(account_of(&context.invoked_function_arn), &run_id.job_name);
    let answer = env
        .glue
        .get_job_run()
        .job_name(&run_id.job_name)
        .run_id(&run_id.job_run_id)
        .send()
        .await
        .map_err(|e| from_sdk("GetJobRun", Some(target), e))?;
    let run = answer
        .job_run()
        .ok_or_else(|| PolysyncError::GlueUnavailable {
            operation: "GetJobRun",
            detail: "the answer carried no JobRun".to_owned(),
        })?;
    Ok(poll_output(env, &run_id, run, now().secs()))
}

/// Maps a Glue run to the poll output; `now_secs` is the clock, as epoch seconds.
pub fn poll_output(env: &Env, run_id: &RunId, run: &JobRun, now_secs: i64) -> PollOutput {
    let glue_state = run.job_run_state().map(|s| s.as_str().to_owned());
    let state = glue_state.as_deref();
    let error_message = match (state, run.error_message()) {
        (Some("TIMEOUT"), Some(message)) => Some(format!("{message} ({TIMEOUT_HINT})")),
        (Some("TIMEOUT"), None) => Some(TIMEOUT_HINT.to_owned()),
        (_, message) => message.map(str::to_owned),
    };
    let age = run
        .started_on()
        .map_or(0, |started| now_secs - started.secs());
    PollOutput {
        run_id: run_id.to_string(),
        status: RunStatus::from_glue_state(state),
        terminal: is_terminal(state),
        glue_state,
        error_message,
        attempt: run.attempt(),
        started_on: run.started_on().map(format_time),
        completed_on: run.completed_on().map(format_time),
        execution_time_seconds: run.execution_time(),
        monitor_url: monitor_url(&env.region, &run_id.job_name, &run_id.job_run_id),
        next_poll_seconds: next_poll_seconds(age, env.config.poll),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: PollBounds = PollBounds {
        min_seconds: 15,
        max_seconds: 600,
    };

    #[test]
    fn young_runs_are_polled_at_the_minimum() {
        assert_eq!(next_poll_seconds(0, BOUNDS), 15);
        assert_eq!(next_poll_seconds(149, BOUNDS), 15);
        // a start time in the future (clock skew) is treated as age 0
        assert_eq!(next_poll_seconds(-30, BOUNDS), 15);
    }

    #[test]
    fn the_interval_grows_with_age_up_to_the_maximum() {
        assert_eq!(next_poll_seconds(600, BOUNDS), 60);
        assert_eq!(next_poll_seconds(3600, BOUNDS), 360);
        assert_eq!(next_poll_seconds(6000, BOUNDS), 600);
        assert_eq!(next_poll_seconds(7 * 86_400, BOUNDS), 600);
        assert_eq!(next_poll_seconds(i64::MAX, BOUNDS), 600);
    }

    #[test]
    fn the_interval_never_shrinks_as_the_run_ages() {
        let mut last = 0;
        for age in (0..20_000).step_by(7) {
            let next = next_poll_seconds(age, BOUNDS);
            assert!(next >= last && (15..=600).contains(&next));
            last = next;
        }
    }
}
