//! The poll function: GetJobRun, mapped to the contract's status, and when to look again.

use std::time::Duration;

use aws_sdk_glue::types::{JobRun, JobRunState};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::aws::{account_of, format_time, Deadline, GlueJob, Services, DEADLINE_MARGIN};
use crate::config::PollBounds;
use crate::diagnosis::diagnose;
use crate::diagnosis::redaction::{redact, secrets_of};
use crate::error::PolysyncError;
use crate::event::{parse_event, PollEvent, PollOutput};
use crate::lateness::late_after;
use crate::monitor::monitor_url;
use crate::notification;
use crate::polling::{project_shape, PollTiming};
use crate::run_id::RunId;
use crate::run_metrics::ended_run_document;
use crate::status::{is_retried_by_glue, is_terminal, RunStatus};
use crate::usage::dpu_seconds;

/// The most of Glue's `StateDetail` a poll output carries.
pub const STATE_DETAIL_CHARS: usize = 1_000;

/// Appended to a TIMEOUT run's message: the usual way out.
pub const TIMEOUT_HINT: &str =
    "Polysync: the run hit its time limit; raise Glue Timeout (Minutes) (glueTimeoutMinutes) or revisit the worker type";

/// How long after a failed attempt its retry may take to appear before the failure is final.
pub const RETRY_GRACE_SECONDS: i64 = 300;

pub async fn handle(
    env: &Services,
    event: LambdaEvent<Value>,
) -> Result<PollOutput, PolysyncError> {
    let (payload, context) = event.into_parts();
    let request: PollEvent = parse_event(payload)?;
    let run_id = RunId::parse("runId", &request.run_id)?;
    // GetJobRun, GetJob, the retry scan and the log read each stay within the invocation: a
    // Lambda timeout here would end polling and stop a healthy run.
    let deadline = Deadline::of(&context, &env.clock);
    let job = env.job(
        account_of(&context.invoked_function_arn),
        &run_id.job_name,
        deadline,
    );
    let run = job.run(&run_id.job_run_id).await?;
    let now_secs = env.clock.now().secs();
    let timing = PollTiming {
        bounds: env.config.poll,
        expected: request.expected_duration.as_ref(),
    };
    let (output, last) = if is_retried_by_glue(run.job_run_state()) {
        // A poll without what start told (just a runId) reads MaxRetries from the definition:
        // a job without retries must fail at once, not after the retry grace.
        let max_retries = match request.max_retries {
            Some(max) => max,
            None => job.definition().await?.max_retries(),
        };
        match follow_retries(job, run.clone(), max_retries, now_secs).await? {
            Attempt::Final(last) => {
                let last_id = RunId::new(&run_id.job_name, last.id().unwrap_or_default());
                let output = poll_output(&env.region, timing, &last_id, &last, now_secs);
                (output, last)
            }
            Attempt::RetryPending(failed) => {
                let failed_id = RunId::new(&run_id.job_name, failed.id().unwrap_or_default());
                let output = poll_output(&env.region, timing, &failed_id, &failed, now_secs);
                let output = retry_pending(output, &failed, timing.bounds);
                return Ok(counted(output, &request));
            }
        }
    } else {
        let output = poll_output(&env.region, timing, &run_id, &run, now_secs);
        (output, run)
    };
    let mut output = with_diagnosis(env, deadline, output, &last).await;
    output.notification = notification::ended_run(
        &output,
        &run_id.job_name,
        &env.region,
        request.execution_id.as_deref(),
    );
    let output = within_cause_limit(output);
    // The ended run's figures, as CloudWatch metrics in the log (embedded metric format).
    let now_ms = env.clock.now().to_millis().unwrap_or(now_secs * 1000);
    if let Some(document) = ended_run_document(&run_id.job_name, &output, &last, now_ms) {
        println!("{document}");
    }
    let output = counted(output, &request);
    let job_name = run_id.job_name.as_str();
    Ok(with_late_notice(
        output,
        &request,
        &last,
        job_name,
        &env.region,
        now_secs,
    ))
}

/// The one "late" message of a run still going past what [`late_after`] allows, on the first
/// poll that finds it so; never on a poll that hands the run to a child execution (the child's
/// first poll sends it), nor once `lateNoticeSent` says it went.
fn with_late_notice(
    mut output: PollOutput,
    request: &PollEvent,
    run: &JobRun,
    job_name: &str,
    region: &str,
    now_secs: i64,
) -> PollOutput {
    if output.terminal || output.continue_as_child || output.late_notice_sent {
        return output;
    }
    let Some(late) = late_after(run, request.expected_duration.as_ref()) else {
        return output;
    };
    let age = run
        .started_on()
        .and_then(|started| u64::try_from(now_secs - started.secs()).ok())
        .unwrap_or(0);
    if age > late.seconds {
        let execution_id = request.execution_id.as_deref();
        output.notification = Some(notification::late_run(
            &output,
            job_name,
            region,
            execution_id,
            &late,
            age,
        ));
        output.late_notice_sent = true;
    }
    output
}

/// Step Functions' limit on a cause, in characters: "Length Constraints: Maximum length of
/// 32768" for `cause` in the execution-history event details (Step Functions API reference,
/// ExecutionFailedEventDetails, LambdaFunctionFailedEventDetails).
pub const CAUSE_LIMIT_CHARS: usize = 32_768;
/// The state machine's Fail cause is this output as JSON (`States.JsonToString($.poll)`), with
/// room left for the fields the state machine counts in after the poll.
const OUTPUT_BUDGET_CHARS: usize = CAUSE_LIMIT_CHARS - 512;
/// What is kept of an error message that would not fit otherwise.
const SHORTEST_ERROR_MESSAGE_CHARS: usize = 1_000;

/// Keeps the output's JSON within the cause Step Functions accepts: the oldest diagnosis lines
/// go first (the traceback's end is kept), then the error message is cut.
pub fn within_cause_limit(mut output: PollOutput) -> PollOutput {
    let size = |output: &PollOutput| {
        serde_json::to_string(output).map_or(usize::MAX, |json| json.chars().count())
    };
    while size(&output) > OUTPUT_BUDGET_CHARS {
        if let Some(diagnosis) = output.diagnosis.as_mut().filter(|d| !d.lines.is_empty()) {
            diagnosis.lines.remove(0);
            continue;
        }
        let excess = size(&output) - OUTPUT_BUDGET_CHARS;
        match output.error_message.as_mut() {
            Some(message) if message.chars().count() > CUT_TO_CHARS => {
                // A character may take up to six in JSON (\u001b): cut at least the excess.
                let keep = message
                    .chars()
                    .count()
                    .saturating_sub(excess + CUT_MARK.len())
                    .max(SHORTEST_ERROR_MESSAGE_CHARS);
                *message = message.chars().take(keep).collect();
                message.push_str(CUT_MARK);
            }
            _ => match output.notification.as_mut() {
                // Last, the notification's body: the message is still sent, shorter.
                Some(note) if note.message.chars().count() > CUT_TO_CHARS => {
                    let keep = note
                        .message
                        .chars()
                        .count()
                        .saturating_sub(excess + CUT_MARK.len())
                        .max(SHORTEST_ERROR_MESSAGE_CHARS);
                    note.message = note.message.chars().take(keep).collect();
                    note.message.push_str(CUT_MARK);
                }
                _ => break,
            },
        }
    }
    output
}

const CUT_MARK: &str = " [cut to fit Step Functions' cause limit]";
/// What a cut text is at the shortest: it is not cut again, so the loop ends.
const CUT_TO_CHARS: usize = SHORTEST_ERROR_MESSAGE_CHARS + CUT_MARK.len();

/// Counts this poll in its execution, carries `lateNoticeSent` and `woken` on, and hands a
/// live run to a child execution before the execution's history would pass its budget, or
/// after a wake (docs/interface.md, "The state machine").
fn counted(mut output: PollOutput, request: &PollEvent) -> PollOutput {
    output.polls = request.polls.unwrap_or(0) + 1;
    output.late_notice_sent = request.late_notice_sent.unwrap_or(false);
    output.woken = request.woken.unwrap_or(false);
    // After a wake the execution's count of polls is the one it had before the wait the wake
    // ended (the state machine's Parallel keeps no branch's data): a run not over goes on in a
    // child, which counts afresh.
    output.continue_as_child = !output.terminal
        && (output.woken
            || request
                .history_budget
                .is_some_and(|budget| project_shape().hand_over_due(output.polls, budget)));
    output
}

/// How long reading a failed run's log may take: it must leave the poll its answer.
pub const DIAGNOSIS_TIMEOUT: Duration = Duration::from_secs(10);

/// A run that ended Failed gets its diagnosis; reading it is best effort, and a log that
/// cannot be read leaves `diagnosis` null with a warning in the function's own log.
async fn with_diagnosis(
    env: &Services,
    deadline: Deadline,
    mut output: PollOutput,
    run: &JobRun,
) -> PollOutput {
    if !(output.terminal && output.status == RunStatus::Failed) {
        return output;
    }
    // Within the invocation too: the poll's answer matters more than its diagnosis.
    let time = deadline.left().map_or(DIAGNOSIS_TIMEOUT, |left| {
        left.saturating_sub(DEADLINE_MARGIN).min(DIAGNOSIS_TIMEOUT)
    });
    let read = tokio::time::timeout(time, diagnose(env.logs(), &env.region, run)).await;
    match read.unwrap_or_else(|_| Err("CloudWatch Logs did not answer in time".to_owned())) {
        Ok(diagnosis) => output.diagnosis = diagnosis,
        Err(why) => tracing::warn!(run_id = %output.run_id, why, "no diagnosis for the failed run"),
    }
    output
}

/// Where a chain of Glue retry attempts stands.
enum Attempt {
    /// The newest attempt: still live, or ended for good.
    Final(JobRun),
    /// This attempt failed and Glue has yet to start the retry the job allows.
    RetryPending(JobRun),
}

/// Follows a failed run to its newest retry attempt (`PreviousRunId`, `Attempt`), so the
/// execution reports the outcome of the last attempt rather than the first failure.
async fn follow_retries(
    job: GlueJob<'_>,
    mut run: JobRun,
    max_retries: i32,
    now_secs: i64,
) -> Result<Attempt, PolysyncError> {
    loop {
        if !is_retried_by_glue(run.job_run_state()) || run.attempt() >= max_retries {
            return Ok(Attempt::Final(run));
        }
        let failed_id = run.id().unwrap_or_default().to_owned();
        match job.next_attempt(&failed_id).await? {
            Some(next) => run = next,
            None => {
                // CompletedOn can be missing on a failed attempt: age it from the last time
                // Glue touched it instead, so the grace always ends.
                let ended = run
                    .completed_on()
                    .or(run.last_modified_on())
                    .or(run.started_on())
                    .map_or(now_secs, |t| t.secs());
                return Ok(if now_secs - ended < RETRY_GRACE_SECONDS {
                    Attempt::RetryPending(run)
                } else {
                    Attempt::Final(run)
                });
            }
        }
    }
}

/// A failed attempt that Glue will retry: not over yet, so the loop polls again soon.
fn retry_pending(mut output: PollOutput, run: &JobRun, bounds: PollBounds) -> PollOutput {
    output.status = RunStatus::Starting;
    output.terminal = false;
    output.error_message = Some(format!(
        "attempt {} failed ({}); Glue retries it",
        run.attempt(),
        run.error_message().unwrap_or("no message")
    ));
    output.next_poll_seconds = bounds.min_seconds;
    output
}

/// Maps a Glue run to the poll output, from what it reads alone: the run, the region of the
/// monitor URL, the schedule and the clock (epoch seconds).
pub fn poll_output(
    region: &str,
    timing: PollTiming<'_>,
    run_id: &RunId,
    run: &JobRun,
    now_secs: i64,
) -> PollOutput {
    let state = run.job_run_state();
    // Glue's message may quote the run's options: its argument values are redacted, as the
    // diagnosis' lines are, before it reaches a cause, a log or a notification.
    let message = run
        .error_message()
        .map(|message| redact(message, &secrets_of(run)));
    let error_message = match (state, message) {
        (Some(JobRunState::Timeout), Some(message)) => Some(format!("{message} ({TIMEOUT_HINT})")),
        (Some(JobRunState::Timeout), None) => Some(TIMEOUT_HINT.to_owned()),
        (_, message) => message,
    };
    let age = run
        .started_on()
        .map_or(0, |started| now_secs - started.secs());
    let used = is_terminal(state).then(|| dpu_seconds(run)).flatten();
    PollOutput {
        run_id: run_id.to_string(),
        status: RunStatus::from_glue_state(state),
        terminal: is_terminal(state),
        glue_state: state.map(|s| s.as_str().to_owned()),
        error_message,
        attempt: run.attempt(),
        started_on: run.started_on().map(format_time),
        completed_on: run.completed_on().map(format_time),
        execution_time_seconds: run.execution_time(),
        monitor_url: monitor_url(region, &run_id.job_name, &run_id.job_run_id),
        next_poll_seconds: timing.next_wait(age),
        state_detail: run
            .state_detail()
            .map(|detail| detail.chars().take(STATE_DETAIL_CHARS).collect()),
        diagnosis: None,
        dpu_seconds: used.map(|(seconds, _)| seconds),
        dpu_seconds_source: used.map(|(_, source)| source),
        polls: 1,
        continue_as_child: false,
        notification: None,
        late_notice_sent: false,
        woken: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::Diagnosis;

    fn failed_output(message: String, lines: Vec<String>) -> PollOutput {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(aws_sdk_glue::types::JobRunState::Failed)
            .error_message(message)
            .build();
        let timing = PollTiming {
            bounds: PollBounds::default(),
            expected: None,
        };
        let run_id = RunId::new("nightly-sales", "jr_1");
        let mut output = poll_output("us-east-1", timing, &run_id, &run, 0);
        output.diagnosis = Some(Diagnosis {
            log_group: "/aws-glue/jobs/error".to_owned(),
            log_stream: "jr_1".to_owned(),
            lines,
            logs_url: "https://console.aws.amazon.com/cloudwatch/home".to_owned(),
        });
        output
    }

    fn cause_chars(output: &PollOutput) -> usize {
        serde_json::to_string(output).unwrap().chars().count()
    }

    #[test]
    fn the_fail_cause_stays_within_step_functions_limit_whatever_glue_wrote() {
        // Twenty lines of 500 characters that JSON escapes sixfold, and a huge message.
        let lines: Vec<String> = (0..20)
            .map(|n| format!("{n:02}{}", "\u{1b}".repeat(498)))
            .collect();
        let mut output = failed_output("E".repeat(100_000), lines);
        output.notification = Some(crate::event::Notification {
            subject: "Polysync: Glue job nightly-sales failed".to_owned(),
            message: "\u{1b}".repeat(50_000),
            job: "nightly-sales".to_owned(),
        });
        let output = within_cause_limit(output);
        assert!(
            cause_chars(&output) <= CAUSE_LIMIT_CHARS - 512,
            "{}",
            cause_chars(&output)
        );
        let diagnosis = output.diagnosis.as_ref().unwrap();
        assert!(diagnosis.lines.is_empty() || diagnosis.lines.last().unwrap().starts_with("19"));
        let message = output.error_message.unwrap();
        assert!(message.starts_with("EEEE") && message.ends_with(CUT_MARK));
        // The notification is still sent, shorter.
        assert!(output.notification.unwrap().message.ends_with(CUT_MARK));
    }

    #[test]
    fn glue_s_error_message_loses_the_run_s_argument_values() {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(JobRunState::Failed)
            .arguments("--token", "canary-secret-7d41")
            .error_message("cannot connect with token canary-secret-7d41")
            .build();
        let timing = PollTiming {
            bounds: PollBounds::default(),
            expected: None,
        };
        let output = poll_output("us-east-1", timing, &RunId::new("j", "jr_1"), &run, 0);
        assert_eq!(
            output.error_message.as_deref(),
            Some("cannot connect with token ****")
        );
    }

    #[test]
    fn an_output_that_fits_is_left_whole() {
        let lines = vec!["Traceback (most recent call last):".to_owned(); 20];
        let output = failed_output("boom".to_owned(), lines);
        assert_eq!(within_cause_limit(output.clone()), output);
    }

    #[test]
    fn the_newest_lines_are_kept_when_only_some_fit() {
        let lines: Vec<String> = (0..20)
            .map(|n| format!("{n:02}{}", "x".repeat(1_998)))
            .collect();
        let output = within_cause_limit(failed_output("boom".to_owned(), lines));
        let kept = &output.diagnosis.as_ref().unwrap().lines;
        assert!(!kept.is_empty() && kept.len() < 20);
        assert!(kept.last().unwrap().starts_with("19"));
        assert_eq!(output.error_message.as_deref(), Some("boom"));
    }
}
