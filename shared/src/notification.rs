//! The messages the state machine sends to its notification topic (docs/interface.md,
//! "Notifications and metrics"): when a run ended otherwise than Success, and once when a run
//! still going is late. A subject naming the job and how it stands, a body a person reads at a
//! glance, and never an argument value.

use crate::event::{Notification, PollOutput};
use crate::lateness::{LateAfter, LateBecause};
use crate::monitor::execution_url;
use crate::status::RunStatus;

/// SNS: a subject "must be ASCII text that begins with a letter, number, or punctuation mark;
/// must not include line breaks or control characters; and must be less than 100 characters
/// long" (SNS API reference, Publish `Subject`).
pub const SUBJECT_MAX_CHARS: usize = 99;
/// The newest lines of the diagnosis the body shows.
pub const MESSAGE_LOG_LINES: usize = 10;
/// The most of the run's error message the body shows.
pub const MESSAGE_ERROR_CHARS: usize = 1_000;

/// The notification of a run that ended otherwise than Success; none for a run still going or
/// one that succeeded.
pub fn ended_run(
    output: &PollOutput,
    job_name: &str,
    region: &str,
    execution_id: Option<&str>,
) -> Option<Notification> {
    if !output.terminal || output.status == RunStatus::Success {
        return None;
    }
    let state = output.glue_state.as_deref().unwrap_or("no state");
    let how = match output.status {
        RunStatus::Failed if state == "FAILED" => "failed".to_owned(),
        RunStatus::Failed => format!("failed ({state})"),
        RunStatus::Cancelled => "was stopped".to_owned(),
        _ => format!("ended {state}"),
    };
    let mut message = format!("Glue job {job_name} {how}: its run ended {state}.\n");
    // Redacted by poll already, as every text of the output.
    if let Some(error) = output.error_message.as_deref() {
        let error: String = error.chars().take(MESSAGE_ERROR_CHARS).collect();
        message.push_str(&format!("\nError: {error}\n"));
    }
    if let Some(diagnosis) = &output.diagnosis {
        let shown = &diagnosis.lines[diagnosis.lines.len().saturating_sub(MESSAGE_LOG_LINES)..];
        message.push_str(&format!(
            "\nThe last lines of its log ({} {}):\n",
            diagnosis.log_group, diagnosis.log_stream
        ));
        for line in shown {
            message.push_str(&format!("    {line}\n"));
        }
    }
    message.push_str(&format!("\nRun: {}\n", output.monitor_url));
    if let Some(diagnosis) = &output.diagnosis {
        message.push_str(&format!("Log: {}\n", diagnosis.logs_url));
    }
    if let Some(execution) = execution_id.filter(|id| id.starts_with("arn:")) {
        message.push_str(&format!(
            "Execution: {}\n",
            execution_url(region, execution)
        ));
    }
    if let Some(dpu) = output.dpu_seconds {
        message.push_str(&format!("Capacity used: {dpu:.0} DPU-seconds\n"));
    }
    message.push_str(&format!("Attempt: {}\n", output.attempt + 1));
    Some(Notification {
        subject: subject(job_name, &how),
        message,
        job: job_name.to_owned(),
    })
}

/// The one "late" message of a run still going at `age_seconds`, past what `late` says it
/// should have taken.
pub fn late_run(
    output: &PollOutput,
    job_name: &str,
    region: &str,
    execution_id: Option<&str>,
    late: &LateAfter,
    age_seconds: u64,
) -> Notification {
    let state = output.glue_state.as_deref().unwrap_or("no state");
    let mut message = format!(
        "Glue job {job_name} is late: its run has been going for {} and is still {state}.\n",
        spoken(age_seconds)
    );
    match late.because {
        LateBecause::NotifyDelay { minutes } => message.push_str(&format!(
            "Its notify delay (glueNotifyDelayAfterMinutes) is {minutes} minutes.\n"
        )),
        LateBecause::History(expected) => message.push_str(&format!(
            "Its last {} successful runs took {} at the median and {} at the 90th percentile; \
             Polysync calls a run late after {}.\n",
            expected.runs,
            spoken(expected.p50_seconds),
            spoken(expected.p90_seconds),
            spoken(late.seconds)
        )),
    }
    message.push_str("Polysync keeps following it and sends no other late message for it.\n");
    message.push_str(&format!("\nRun: {}\n", output.monitor_url));
    if let Some(execution) = execution_id.filter(|id| id.starts_with("arn:")) {
        message.push_str(&format!(
            "Execution: {}\n",
            execution_url(region, execution)
        ));
    }
    message.push_str(&format!("Attempt: {}\n", output.attempt + 1));
    Notification {
        subject: subject(job_name, "is late"),
        message,
        job: job_name.to_owned(),
    }
}

/// A length of time as a person says it: "2h 05m", "12m 30s", "45s".
fn spoken(seconds: u64) -> String {
    let (hours, minutes, seconds) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m {seconds:02}s"),
        _ => format!("{hours}h {minutes:02}m"),
    }
}

/// "Polysync: Glue job NAME HOW", ASCII only and under 100 characters: the job's name is cut,
/// never how it ended.
fn subject(job_name: &str, how: &str) -> String {
    let ascii = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    };
    let (prefix, suffix) = ("Polysync: Glue job ", format!(" {}", ascii(how)));
    let room = SUBJECT_MAX_CHARS.saturating_sub(prefix.len() + suffix.len());
    let mut name = ascii(job_name);
    if name.len() > room {
        name.truncate(room.saturating_sub(3));
        name.push_str("...");
    }
    format!("{prefix}{name}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PollBounds;
    use crate::diagnosis::Diagnosis;
    use crate::poll::poll_output;
    use crate::polling::PollTiming;
    use crate::run_id::RunId;
    use aws_sdk_glue::types::{JobRun, JobRunState, WorkerType};

    const EXECUTION: &str =
        "arn:aws:states:us-east-1:123456789012:execution:polysync-glue-job:nightly-2026-11-28";

    fn ended(state: JobRunState, job_name: &str) -> PollOutput {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(state)
            .error_message(
                "AnalysisException: table sales not found (options: --token canary-secret-7d41)",
            )
            .arguments("--token", "canary-secret-7d41")
            .worker_type(WorkerType::G1X)
            .number_of_workers(2)
            .execution_time(600)
            .build();
        let timing = PollTiming {
            bounds: PollBounds::default(),
            expected: None,
        };
        let mut output = poll_output("us-east-1", timing, &RunId::new(job_name, "jr_1"), &run, 0);
        output.diagnosis = Some(Diagnosis {
            log_group: "/aws-glue/jobs/error".to_owned(),
            log_stream: "jr_1".to_owned(),
            lines: (0..20).map(|n| format!("line {n:02}")).collect(),
            logs_url: "https://us-east-1.console.aws.amazon.com/cloudwatch/home".to_owned(),
        });
        output
    }

    #[test]
    fn a_failed_run_s_message_is_read_at_a_glance_without_an_argument_value() {
        let output = ended(JobRunState::Failed, "nightly-sales");
        let note = ended_run(&output, "nightly-sales", "us-east-1", Some(EXECUTION)).unwrap();
        assert_eq!(note.subject, "Polysync: Glue job nightly-sales failed");
        assert_eq!(note.job, "nightly-sales");
        let body = &note.message;
        assert!(
            body.starts_with("Glue job nightly-sales failed: its run ended FAILED."),
            "{body}"
        );
        assert!(
            body.contains("Error: AnalysisException: table sales not found"),
            "{body}"
        );
        assert!(!body.contains("canary-secret-7d41"), "{body}");
        assert!(
            body.contains("    line 19\n") && !body.contains("line 09"),
            "the last 10 lines: {body}"
        );
        assert!(body.contains(&output.monitor_url));
        assert!(body.contains("Log: https://us-east-1.console.aws.amazon.com/cloudwatch/home"));
        assert!(body.contains("Execution: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn%3Aaws%3Astates"), "{body}");
        assert!(body.contains("Capacity used: 1200 DPU-seconds"), "{body}");
    }

    #[test]
    fn each_ending_says_how_and_a_success_or_a_live_run_says_nothing() {
        for (state, subject) in [
            (
                JobRunState::Timeout,
                "Polysync: Glue job j failed (TIMEOUT)",
            ),
            (JobRunState::Stopped, "Polysync: Glue job j was stopped"),
            (JobRunState::Expired, "Polysync: Glue job j ended EXPIRED"),
        ] {
            let output = ended(state, "j");
            assert_eq!(
                ended_run(&output, "j", "us-east-1", None).unwrap().subject,
                subject
            );
        }
        for state in [JobRunState::Succeeded, JobRunState::Running] {
            let output = ended(state, "j");
            assert_eq!(ended_run(&output, "j", "us-east-1", None), None);
        }
    }

    #[test]
    fn a_late_run_s_message_says_how_long_it_has_run_and_what_was_expected() {
        let output = ended(JobRunState::Running, "nightly-sales");
        let late = LateAfter {
            seconds: 4_500,
            because: LateBecause::History(crate::history::ExpectedDuration {
                runs: 12,
                p50_seconds: 3_000,
                p90_seconds: 3_600,
            }),
        };
        let note = late_run(
            &output,
            "nightly-sales",
            "us-east-1",
            Some(EXECUTION),
            &late,
            4_830,
        );
        assert_eq!(note.subject, "Polysync: Glue job nightly-sales is late");
        let body = &note.message;
        assert!(
            body.starts_with(
                "Glue job nightly-sales is late: its run has been going for 1h 20m and is still RUNNING."
            ),
            "{body}"
        );
        assert!(
            body.contains("Its last 12 successful runs took 50m 00s at the median and 1h 00m at the 90th percentile; Polysync calls a run late after 1h 15m."),
            "{body}"
        );
        assert!(body.contains(&output.monitor_url) && body.contains("Execution: https://"));
        assert!(!body.contains("canary-secret-7d41"), "{body}");

        let late = LateAfter {
            seconds: 600,
            because: LateBecause::NotifyDelay { minutes: 10 },
        };
        let body = late_run(&output, "nightly-sales", "us-east-1", None, &late, 45).message;
        assert!(body.contains("going for 45s"), "{body}");
        assert!(
            body.contains("Its notify delay (glueNotifyDelayAfterMinutes) is 10 minutes."),
            "{body}"
        );
    }

    #[test]
    fn the_subject_is_ascii_and_under_100_characters_whatever_the_job_s_name() {
        let long = format!("nächtlich-{}", "x".repeat(300));
        let output = ended(JobRunState::Timeout, &long);
        let note = ended_run(&output, &long, "us-east-1", None).unwrap();
        assert!(note.subject.chars().count() < 100, "{}", note.subject.len());
        assert!(note.subject.is_ascii());
        assert!(note.subject.starts_with("Polysync: Glue job n?chtlich-xxx"));
        assert!(
            note.subject.ends_with("... failed (TIMEOUT)"),
            "{}",
            note.subject
        );
    }
}
