//! Why a run failed (docs/interface.md, "Poll"): the last lines of its driver's error log in
//! CloudWatch Logs, every argument value of the run redacted from them ([`redaction`]).
//! Reading the log is best effort: it never changes the outcome nor fails a poll.

pub mod redaction;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_glue::types::JobRun;
use serde::{Deserialize, Serialize};

use crate::compute::sizing::version_at_least;
use crate::monitor::logs_url;
use redaction::{redact, secrets_of};

pub const MAX_LINES: usize = 20;
pub const MAX_LINE_CHARS: usize = 500;
/// How many of a stream's last events are read: enough for a traceback and what follows it.
const EVENTS_READ: i32 = 100;
/// Glue's log group when the run names none (GetJobRun `LogGroupName`).
const DEFAULT_LOG_GROUP: &str = "/aws-glue/jobs";
/// Continuous logging's default group (Glue 4.0 and earlier).
const CONTINUOUS_LOG_GROUP: &str = "/aws-glue/jobs/logs-v2";
const TRACEBACK_HEADER: &str = "Traceback (most recent call last):";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub log_group: String,
    pub log_stream: String,
    pub lines: Vec<String>,
    pub logs_url: String,
}

/// Where a run's driver writes, in the order they are read: Glue's error and output groups
/// (`LogGroupName`, or `--custom-logGroup-prefix`, with `--custom-logStream-prefix` before the
/// stream's name), then the group continuous logging names (Glue 4.0 and earlier). Glue 5.0
/// names a driver's streams `{jobRunId}-driver` and writes the job's own output, a Python
/// traceback included, to `/output` (its `/error` holds Spark's log4j lines): for a 5.0 run
/// those come first, `/output` before `/error`. Sources: Glue developer guide, "Logging for
/// AWS Glue jobs" and "Enabling continuous logging"; the team's contract for Glue 5.0's names.
pub fn log_locations(run: &JobRun) -> Vec<(String, String)> {
    let argument = |key: &str| {
        run.arguments()
            .and_then(|arguments| arguments.get(key))
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    };
    let run_id = run.id().unwrap_or_default();
    let base = argument("--custom-logGroup-prefix")
        .or(run.log_group_name())
        .unwrap_or(DEFAULT_LOG_GROUP)
        .trim_end_matches('/');
    let prefix = argument("--custom-logStream-prefix").unwrap_or_default();
    let stream = format!("{prefix}{run_id}");
    let mut locations = Vec::new();
    // Glue 5.0 and later name a driver's streams `{jobRunId}-driver`.
    if version_at_least(run.glue_version(), 5) {
        let driver = format!("{stream}-driver");
        locations.push((format!("{base}/output"), driver.clone()));
        locations.push((format!("{base}/error"), driver));
    }
    locations.push((format!("{base}/error"), stream.clone()));
    locations.push((format!("{base}/output"), stream));
    if argument("--enable-continuous-cloudwatch-log") == Some("true") {
        let group = argument("--continuous-log-logGroup").unwrap_or(CONTINUOUS_LOG_GROUP);
        let prefix = argument("--continuous-log-logStreamPrefix").unwrap_or_default();
        locations.push((group.to_owned(), format!("{prefix}{run_id}-driver")));
    }
    locations
}

/// A line cut to [`MAX_LINE_CHARS`] characters, marked where it was cut.
fn cut(line: &str) -> String {
    if line.chars().count() <= MAX_LINE_CHARS {
        return line.to_owned();
    }
    let mut kept: String = line.chars().take(MAX_LINE_CHARS - 1).collect();
    kept.push('…');
    kept
}

/// The lines worth showing, from the messages of a stream's last events: the last Python
/// traceback, from its header to the error it ends with (a long one keeps its header and its
/// last lines), else the last lines; each redacted first, then cut.
pub fn select_lines(messages: &[String], secrets: &[String]) -> Vec<String> {
    let lines: Vec<&str> = messages
        .iter()
        .flat_map(|message| message.lines())
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    let chosen: Vec<&str> = match lines.iter().rposition(|l| l.trim() == TRACEBACK_HEADER) {
        Some(header) => {
            // Frames are indented; the first line that is not ends the traceback: the error.
            let end = lines[header + 1..]
                .iter()
                .position(|line| !line.starts_with(char::is_whitespace))
                .map_or(lines.len(), |offset| header + 1 + offset + 1);
            let block = &lines[header..end];
            if block.len() <= MAX_LINES {
                block.to_vec()
            } else {
                std::iter::once(block[0])
                    .chain(block[block.len() - (MAX_LINES - 1)..].iter().copied())
                    .collect()
            }
        }
        None => lines[lines.len().saturating_sub(MAX_LINES)..].to_vec(),
    };
    chosen
        .into_iter()
        .map(|line| cut(&redact(line, secrets)))
        .collect()
}

/// How many pages of one stream are read back: CloudWatch Logs may answer a page without
/// events and a token for the one before it, which is not the stream's end.
const PAGES_READ: usize = 5;

/// A stream's last events, read back past pages without events; none when the stream does
/// not exist.
async fn last_messages(
    logs: &aws_sdk_cloudwatchlogs::Client,
    log_group: &str,
    log_stream: &str,
) -> Result<Option<Vec<String>>, String> {
    let mut token: Option<String> = None;
    for _ in 0..PAGES_READ {
        let answer = logs
            .get_log_events()
            .log_group_name(log_group)
            .log_stream_name(log_stream)
            .start_from_head(false)
            .limit(EVENTS_READ)
            .set_next_token(token.clone())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(error) => {
                return Err(format!(
                    "GetLogEvents on {log_group} failed: {}",
                    error.code().unwrap_or("no answer")
                ))
            }
        };
        let messages: Vec<String> = page
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.message)
            .collect();
        // The same token again is the stream's beginning: nothing before it.
        let before = page
            .next_backward_token
            .filter(|next| Some(next) != token.as_ref());
        match before {
            Some(next) if messages.is_empty() => token = Some(next),
            _ => return Ok(Some(messages)),
        }
    }
    Ok(Some(Vec::new()))
}

/// The diagnosis of a failed run, or why there is none (for a warning of the function's own):
/// from the first of its streams that holds a Python traceback, else the first with lines.
pub async fn diagnose(
    logs: &aws_sdk_cloudwatchlogs::Client,
    region: &str,
    run: &JobRun,
) -> Result<Option<Diagnosis>, String> {
    let secrets = secrets_of(run);
    let mut first_with_lines = None;
    for (log_group, log_stream) in log_locations(run) {
        let Some(messages) = last_messages(logs, &log_group, &log_stream).await? else {
            continue;
        };
        if messages.is_empty() {
            continue;
        }
        let traceback = messages.iter().any(|m| m.contains(TRACEBACK_HEADER));
        let found = (log_group, log_stream, messages);
        if traceback {
            first_with_lines = Some(found);
            break;
        }
        first_with_lines.get_or_insert(found);
    }
    Ok(
        first_with_lines.map(|(log_group, log_stream, messages)| Diagnosis {
            lines: select_lines(&messages, &secrets),
            logs_url: logs_url(region, &log_group, &log_stream),
            log_group,
            log_stream,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traceback(frames: usize) -> Vec<String> {
        let mut lines = vec!["INFO starting".to_owned(), TRACEBACK_HEADER.to_owned()];
        for frame in 0..frames {
            lines.push(format!("  File \"/tmp/job.py\", line {frame}, in <module>"));
            lines.push(format!("    step_{frame}()"));
        }
        lines
            .push("pyspark.sql.utils.AnalysisException: Table or view not found: sales".to_owned());
        lines.push("INFO shutdown hook called".to_owned());
        lines
    }

    #[test]
    fn the_last_traceback_is_shown_from_its_header_to_its_error() {
        let lines = select_lines(&[traceback(2).join("\n")], &[]);
        assert_eq!(lines.first().map(String::as_str), Some(TRACEBACK_HEADER));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("pyspark.sql.utils.AnalysisException: Table or view not found: sales")
        );
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn a_long_traceback_keeps_its_header_and_its_error_within_twenty_lines() {
        let lines = select_lines(&traceback(30), &[]);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines[0], TRACEBACK_HEADER);
        assert!(lines[MAX_LINES - 1].contains("AnalysisException"));
    }

    #[test]
    fn without_a_traceback_the_last_lines_are_shown() {
        let messages: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        let lines = select_lines(&messages, &[]);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines[0], "line 30");
        assert_eq!(lines[19], "line 49");
    }

    #[test]
    fn long_lines_are_cut_after_redaction() {
        let secret = "s".repeat(600);
        let line = format!("{}{secret}", "x".repeat(498));
        let lines = select_lines(&[line], std::slice::from_ref(&secret));
        // Redacted first: a secret cut in half would leak its first half.
        assert_eq!(
            lines[0],
            format!("{}****", "x".repeat(498))
                .chars()
                .take(499)
                .collect::<String>()
                + "…"
        );
        assert_eq!(lines[0].chars().count(), MAX_LINE_CHARS);
        assert!(!lines[0].contains('s'));
    }

    #[test]
    fn the_worst_case_diagnosis_fits_a_step_functions_cause() {
        // 20 lines of 500 characters that JSON escapes to two each.
        let messages: Vec<String> = (0..30).map(|_| "\"".repeat(2_000)).collect();
        let diagnosis = Diagnosis {
            log_group: "/aws-glue/jobs/error".into(),
            log_stream: format!("jr_{}", "0".repeat(64)),
            lines: select_lines(&messages, &[]),
            logs_url: logs_url("us-east-1", "/aws-glue/jobs/error", "jr_0"),
        };
        let json = serde_json::to_string(&diagnosis).unwrap();
        // Step Functions: a Fail state's cause is at most 32,768 characters; the rest of the
        // poll output around it is under 2,000.
        assert!(json.chars().count() + 2_000 < 32_768, "{}", json.len());
    }

    #[test]
    fn the_driver_log_is_looked_for_where_glue_writes_it() {
        let run = JobRun::builder().id("jr_1").build();
        assert_eq!(
            log_locations(&run),
            [
                ("/aws-glue/jobs/error".to_owned(), "jr_1".to_owned()),
                ("/aws-glue/jobs/output".to_owned(), "jr_1".to_owned())
            ]
        );
        let secured = JobRun::builder()
            .id("jr_2")
            .log_group_name("/aws-glue/jobs-role-config/")
            .build();
        assert_eq!(
            log_locations(&secured)[0].0,
            "/aws-glue/jobs-role-config/error"
        );
        let custom = JobRun::builder()
            .id("jr_3")
            .arguments("--custom-logGroup-prefix", "/team/etl")
            .arguments("--custom-logStream-prefix", "nightly-")
            .arguments("--enable-continuous-cloudwatch-log", "true")
            .arguments("--continuous-log-logGroup", "/team/continuous")
            .build();
        assert_eq!(
            log_locations(&custom),
            [
                ("/team/etl/error".to_owned(), "nightly-jr_3".to_owned()),
                ("/team/etl/output".to_owned(), "nightly-jr_3".to_owned()),
                ("/team/continuous".to_owned(), "jr_3-driver".to_owned()),
            ]
        );
        // Glue 5.0: the driver's own streams first, its output (where tracebacks go) first.
        let five = JobRun::builder().id("jr_5").glue_version("5.0").build();
        assert_eq!(
            log_locations(&five)[..2],
            [
                ("/aws-glue/jobs/output".to_owned(), "jr_5-driver".to_owned()),
                ("/aws-glue/jobs/error".to_owned(), "jr_5-driver".to_owned()),
            ]
        );
        let four = JobRun::builder().id("jr_4").glue_version("4.0").build();
        assert_eq!(log_locations(&four).len(), 2);
    }
}
