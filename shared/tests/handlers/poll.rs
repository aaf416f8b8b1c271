//! The poll function: each Glue state, failure messages, retry attempts, the schedule, the
//! hand-over to a child execution, the diagnosis of a failed run.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::operation::get_log_events::builders::GetLogEventsOutputBuilder;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::types::{Job, JobRun, JobRunState, NotificationProperty, WorkerType};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;
use polysync_glue::aws::OPERATION_TIMEOUT;
use polysync_glue::poll;
use polysync_glue::status::RunStatus;
use serde_json::{json, Value};

use crate::common::*;

fn failed_run_with_secrets(state: JobRunState) -> JobRun {
    JobRun::builder()
        .id("jr_9")
        .job_run_state(state)
        .error_message("An error occurred while calling o98.getDynamicFrame")
        .arguments("--token", "canary-secret-7d41")
        .arguments("--region", "eu")
        .worker_type(WorkerType::G1X)
        .number_of_workers(4)
        .execution_time(300)
        .started_on(DateTime::from_secs(1_795_867_201))
        .completed_on(DateTime::from_secs(1_795_867_501))
        .build()
}

fn log_events(rule_messages: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .match_requests(|input| {
            input.log_group_name() == Some("/aws-glue/jobs/error")
                && input.log_stream_name() == Some("jr_9")
                && input.start_from_head() == Some(false)
        })
        .then_output(move || log_page(rule_messages).build())
}

/// A GetLogEvents page of these messages.
fn log_page(messages: &[&str]) -> GetLogEventsOutputBuilder {
    messages
        .iter()
        .fold(GetLogEventsOutput::builder(), |page, message| {
            page.events(
                aws_sdk_cloudwatchlogs::types::OutputLogEvent::builder()
                    .message(*message)
                    .timestamp(1_795_867_500_000)
                    .build(),
            )
        })
}

const DRIVER_LOG: &[&str] = &[
    "INFO GlueContext: job arguments --token canary-secret-7d41 --region eu",
    "Traceback (most recent call last):\n  File \"/tmp/nightly.py\", line 12, in <module>\n    df = spark.sql(\"select * from sales\")",
    "pyspark.sql.utils.AnalysisException: Table or view not found: sales; line 1 pos 14",
    "INFO ShutdownHookManager: Shutdown hook called",
];

fn running_for(seconds: i64) -> Rule {
    mock!(Client::get_job_run).then_output(move || {
        let started = NOW_SECS - seconds;
        GetJobRunOutput::builder()
            .job_run(
                JobRun::builder()
                    .id("jr_1")
                    .job_run_state(JobRunState::Running)
                    .started_on(DateTime::from_secs(started))
                    .build(),
            )
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_server_fault_without_a_code_is_glue_unavailable() {
    let rule = mock!(Client::get_job_run)
        .sequence()
        .http_status(503, Some("<html>Service Unavailable</html>".into()))
        .repeatedly()
        .build();
    let env = env(&[&rule]);
    let error = diagnostic(
        poll::handle(&env, event(json!({"runId": "j/jr_1"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.Unavailable");
    assert_eq!(rule.num_calls(), 3, "the SDK retries a read three times");
}

#[tokio::test(start_paused = true)]
async fn reads_are_retried_through_throttling_by_the_sdk() {
    let rule = mock!(Client::get_job_run)
        .sequence()
        .http_status(400, glue_error_body("ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| {
            GetJobRunOutput::builder()
                .job_run(run("jr_1", JobRunState::Running))
                .build()
        })
        .build();
    let env = env(&[&rule]);
    let output = poll_of(&env, json!({"runId": "j/jr_1"})).await;
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_glue_that_never_answers_is_glue_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accept and hold the connection without ever answering.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let env = production_services(&endpoint).await;
    let began = tokio::time::Instant::now();
    let error = diagnostic(
        poll::handle(&env, event(json!({"runId": "j/jr_1"})))
            .await
            .unwrap_err(),
    );
    let waited = began.elapsed();
    holder.abort();
    assert_eq!(error.error_type, "Glue.Unavailable");
    assert!(
        error.error_message.to_lowercase().contains("timeout"),
        "{}",
        error.error_message
    );
    // The functions' own timeouts: given up after the operation timeout, well before the
    // Lambda function's 60 s.
    assert!(
        waited >= OPERATION_TIMEOUT && waited < OPERATION_TIMEOUT + Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn poll_maps_each_glue_state() {
    let states = [
        (JobRunState::Starting, RunStatus::Starting, false),
        (JobRunState::Waiting, RunStatus::Starting, false),
        (JobRunState::Running, RunStatus::Running, false),
        (JobRunState::Stopping, RunStatus::Running, false),
        (JobRunState::Succeeded, RunStatus::Success, true),
        (JobRunState::Stopped, RunStatus::Cancelled, true),
        (JobRunState::Failed, RunStatus::Failed, true),
        (JobRunState::Timeout, RunStatus::Failed, true),
        (JobRunState::Error, RunStatus::Failed, true),
        (JobRunState::Expired, RunStatus::Unknown, true),
        (
            JobRunState::from("SOMETHING_NEW"),
            RunStatus::Unknown,
            false,
        ),
    ];
    for (state, status, terminal) in states {
        let glue_state = state.as_str().to_owned();
        let rule = mock!(Client::get_job_run)
            .match_requests(|input| {
                input.job_name() == Some("team/nightly-sales") && input.run_id() == Some("jr_1")
            })
            .then_output(move || {
                GetJobRunOutput::builder()
                    .job_run(run("jr_1", state.clone()))
                    .build()
            });
        let env = env_without_error_log(&[&rule]);
        let output = poll::handle(
            &env,
            event(
                json!({"runId": "team/nightly-sales/jr_1", "status": "Starting", "maxRetries": 0}),
            ),
        )
        .await
        .unwrap();
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(output.status, status, "{glue_state}");
        assert_eq!(output.terminal, terminal, "{glue_state}");
        assert_eq!(output.glue_state.as_deref(), Some(glue_state.as_str()));
        assert_eq!(output.run_id, "team/nightly-sales/jr_1");
        assert_eq!(output.execution_time_seconds, 42);
        // ten minutes old: a ninth of its age
        assert_eq!(output.next_poll_seconds, 66);
        assert!(output
            .monitor_url
            .ends_with("#/job/team%2Fnightly-sales/run/jr_1"));
    }
}

#[tokio::test(start_paused = true)]
async fn poll_reports_failure_messages_and_the_timeout_hint() {
    let rule = mock!(Client::get_job_run).then_output(|| {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(JobRunState::Timeout)
            .error_message("Job run exceeded its timeout")
            .attempt(1)
            .build();
        GetJobRunOutput::builder().job_run(run).build()
    });
    let env = env_without_error_log(&[&rule]);
    let output = poll_of(&env, json!({"runId": "j/jr_1"})).await;
    let message = output.error_message.unwrap();
    assert!(
        message.starts_with("Job run exceeded its timeout"),
        "{message}"
    );
    assert!(
        message.contains("raise Glue Timeout (Minutes)"),
        "{message}"
    );
    assert_eq!(output.attempt, 1);
    assert_eq!(output.next_poll_seconds, 15, "no start time: the minimum");
}

#[tokio::test(start_paused = true)]
async fn poll_of_an_unknown_run_and_a_bad_run_id() {
    let rule = mock!(Client::get_job_run)
        .sequence()
        .http_status(
            400,
            glue_error_body("EntityNotFoundException", "Job run jr_x not found"),
        )
        .build();
    let env = env(&[&rule]);
    let error = diagnostic(
        poll::handle(&env, event(json!({"runId": "j/jr_x"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.EntityNotFoundException");

    for payload in [json!({}), json!({"runId": "no-slash"}), json!({"runId": 7})] {
        let error = diagnostic(
            poll::handle(&env, event(payload.clone()))
                .await
                .unwrap_err(),
        );
        assert_eq!(error.error_type, "Polysync.InvalidInput", "{payload}");
        assert!(
            error.error_message.starts_with("runId"),
            "{payload}: {}",
            error.error_message
        );
    }
}

#[tokio::test(start_paused = true)]
async fn poll_follows_glue_retry_attempts_to_the_newest() {
    let get = answers_run(failed_run("jr_0", 0, None, 30));
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(
                JobRun::builder()
                    .id("jr_2")
                    .job_run_state(JobRunState::Running)
                    .attempt(2)
                    .previous_run_id("jr_1")
                    .build(),
            )
            .job_runs(failed_run("jr_1", 1, Some("jr_0"), 10))
            .job_runs(failed_run("jr_0", 0, None, 30))
            .build()
    });
    let env = env(&[&get, &runs]);
    let output = poll_of(
        &env,
        json!({"runId": "nightly-sales/jr_0", "maxRetries": 2}),
    )
    .await;
    assert_eq!(
        output.run_id, "nightly-sales/jr_2",
        "runId moves to the newest attempt"
    );
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(output.attempt, 2);
    assert!(!output.terminal);
}

#[tokio::test(start_paused = true)]
async fn without_the_max_retries_start_told_poll_reads_them_from_the_definition() {
    let get = answers_run(failed_run("jr_0", 0, None, 30));
    let none_yet = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let no_retries = get_job_rule(Job::builder().name("nightly-sales").max_retries(0).build());
    let env = env_without_error_log(&[&get, &none_yet, &no_retries]);
    // A poll called with just a runId, of a job without retries: failed at once.
    let alone = poll_of(&env, json!({"runId": "nightly-sales/jr_0"})).await;
    assert_eq!((alone.status, alone.terminal), (RunStatus::Failed, true));
    assert_eq!(alone.error_message.as_deref(), Some("jr_0 failed"));
    assert_eq!(no_retries.num_calls(), 1, "it read the definition");
    assert_eq!(none_yet.num_calls(), 0, "no retry left: no search");

    // Of a job that retries: the retry attempt is awaited.
    let one_retry = get_job_rule(Job::builder().name("nightly-sales").max_retries(1).build());
    let env = env_without_error_log(&[&get, &none_yet, &one_retry]);
    let alone = poll_of(&env, json!({"runId": "nightly-sales/jr_0"})).await;
    assert_eq!((alone.status, alone.terminal), (RunStatus::Starting, false));
    assert_eq!(none_yet.num_calls(), 1, "it looked for the retry attempt");

    // Told by start, poll never reads the definition.
    let told = poll_of(
        &env,
        json!({"runId": "nightly-sales/jr_0", "maxRetries": 0}),
    )
    .await;
    assert_eq!((told.status, told.terminal), (RunStatus::Failed, true));
    assert_eq!(one_retry.num_calls(), 1, "no second GetJob");
}

#[tokio::test(start_paused = true)]
async fn a_failure_without_retries_left_is_final() {
    let get = answers_run(failed_run("jr_1", 1, Some("jr_0"), 5));
    let runs = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = env_without_error_log(&[&get, &runs]);
    let output = poll_of(
        &env,
        json!({"runId": "nightly-sales/jr_1", "maxRetries": 1}),
    )
    .await;
    assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
    assert_eq!(output.error_message.as_deref(), Some("jr_1 failed"));
    assert_eq!(runs.num_calls(), 0, "no retry left: no search");
}

#[tokio::test(start_paused = true)]
async fn a_retry_glue_has_yet_to_start_keeps_the_loop_polling_for_a_while() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(failed_run("jr_0", 0, None, 5))
            .build()
    });
    let recent = answers_run(failed_run("jr_0", 0, None, 5));
    let env_recent = env_without_error_log(&[&recent, &runs]);
    let output = poll_of(
        &env_recent,
        json!({"runId": "nightly-sales/jr_0", "maxRetries": 1}),
    )
    .await;
    assert_eq!(
        (output.status, output.terminal),
        (RunStatus::Starting, false)
    );
    assert_eq!(output.glue_state.as_deref(), Some("FAILED"));
    assert!(output.error_message.unwrap().contains("Glue retries it"));
    assert_eq!(output.next_poll_seconds, 15);

    // A retry that never came within the grace period: the failure is final.
    let old = answers_run(failed_run("jr_0", 0, None, poll::RETRY_GRACE_SECONDS + 1));
    let env_old = env_without_error_log(&[&old, &runs]);
    let output = poll_of(
        &env_old,
        json!({"runId": "nightly-sales/jr_0", "maxRetries": 1}),
    )
    .await;
    assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_without_completed_on_ages_from_its_last_modification() {
    let now = NOW_SECS;
    let stale = JobRun::builder()
        .id("jr_0")
        .job_run_state(JobRunState::Failed)
        .attempt(0)
        .started_on(DateTime::from_secs(now - 3_600))
        .last_modified_on(DateTime::from_secs(now - poll::RETRY_GRACE_SECONDS - 1))
        .build();
    let get = mock!(Client::get_job_run)
        .then_output(move || GetJobRunOutput::builder().job_run(stale.clone()).build());
    let runs = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = env_without_error_log(&[&get, &runs]);
    let output = poll_of(
        &env,
        json!({"runId": "nightly-sales/jr_0", "maxRetries": 1}),
    )
    .await;
    assert_eq!(
        (output.status, output.terminal),
        (RunStatus::Failed, true),
        "the grace ends even without CompletedOn"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_carries_its_error_log_redacted_and_what_it_used() {
    for state in [
        JobRunState::Failed,
        JobRunState::Timeout,
        JobRunState::Error,
    ] {
        let get = answers_run(failed_run_with_secrets(state.clone()));
        let logs = log_events(DRIVER_LOG);
        let env = env(&[&get]).with_logs(logs_client(&[&logs]));
        let output = poll_of(
            &env,
            json!({"runId": "nightly-sales/jr_9", "maxRetries": 0}),
        )
        .await;
        assert_eq!(output.status, RunStatus::Failed);
        let diagnosis = output.diagnosis.clone().expect("a diagnosis");
        assert_eq!(diagnosis.log_group, "/aws-glue/jobs/error");
        assert_eq!(diagnosis.log_stream, "jr_9");
        assert_eq!(
            diagnosis.lines.first().unwrap(),
            "Traceback (most recent call last):"
        );
        assert_eq!(
            diagnosis.lines.last().unwrap(),
            "pyspark.sql.utils.AnalysisException: Table or view not found: sales; line 1 pos 14"
        );
        assert!(diagnosis
            .logs_url
            .contains("$252Faws-glue$252Fjobs$252Ferror/log-events/jr_9"));
        let json = serde_json::to_string(&output).unwrap();
        assert!(!json.contains("canary-secret-7d41"), "{json}");
        assert_eq!(output.dpu_seconds, Some(1200.0));
        assert_eq!(
            serde_json::to_value(&output).unwrap()["dpuSecondsSource"],
            "workers"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_log_gives_no_diagnosis_and_the_same_outcome() {
    let get = answers_run(failed_run_with_secrets(JobRunState::Failed));
    let denied = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .http_status(
            400,
            Some(json!({"__type": "AccessDeniedException", "message": "no"}).to_string()),
        )
        .repeatedly()
        .build();
    for logs in [logs_client(&[&denied]), logs_client(&[&no_log_group()])] {
        let env = env(&[&get]).with_logs(logs);
        let output = poll_of(
            &env,
            json!({"runId": "nightly-sales/jr_9", "maxRetries": 0}),
        )
        .await;
        assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
        assert_eq!(output.diagnosis, None);
        assert_eq!(output.dpu_seconds, Some(1200.0));
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_that_did_not_fail_reads_no_log() {
    let logs = log_events(DRIVER_LOG);
    for state in [JobRunState::Succeeded, JobRunState::Running] {
        let ended = state == JobRunState::Succeeded;
        let get = answers_run(failed_run_with_secrets(state.clone()));
        let env = env(&[&get]).with_logs(logs_client(&[&logs]));
        let output = poll_of(&env, json!({"runId": "nightly-sales/jr_9"})).await;
        assert_eq!(output.diagnosis, None);
        assert_eq!(output.dpu_seconds.is_some(), ended);
    }
    assert_eq!(logs.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn poll_looks_around_the_end_the_history_expects() {
    let expected = json!({"runs": 20, "p50Seconds": 3600, "p90Seconds": 3840});
    let poll_at = |age: i64, expected: Value| async move {
        let rule = running_for(age);
        let event_body = json!({"runId": "nightly-sales/jr_1", "expectedDuration": expected});
        poll::handle(&env(&[&rule]), event(event_body))
            .await
            .unwrap()
            .next_poll_seconds
    };
    // Fifteen minutes in: half its age (the age rule would wait 100 s).
    assert_eq!(poll_at(900, expected.clone()).await, 450);
    assert_eq!(poll_at(900, Value::Null).await, 100);
    // Near the expected end: far shorter than the age rule's 400 s.
    let near = poll_at(3600, expected.clone()).await;
    assert!((15..=40).contains(&near), "{near}");
    assert_eq!(poll_at(3600, Value::Null).await, 400);
    // Long past it: the age rule again.
    assert_eq!(poll_at(3 * 3600, expected).await, 600);
}

#[tokio::test(start_paused = true)]
async fn poll_counts_its_execution_s_polls_and_hands_over_before_the_budget() {
    let rule = running_for(60);
    let services = env(&[&rule]);
    let poll_after = |polls: u64| {
        let services = &services;
        async move {
            let body = json!({"runId": "nightly-sales/jr_1", "polls": polls, "historyBudget": 116});
            poll::handle(services, event(body)).await.unwrap()
        }
    };
    // 116 events: came in (23), three polls (21), two waits (4), one more turn (9), the
    // detours (31) and the longest way out (20) fit; after a fourth poll, one more would not.
    let third = poll_after(2).await;
    assert_eq!((third.polls, third.continue_as_child), (3, false));
    let fourth = poll_after(3).await;
    assert_eq!((fourth.polls, fourth.continue_as_child), (4, true));
    // Without a budget (a poll called alone), never.
    let alone = poll_of(
        &services,
        json!({"runId": "nightly-sales/jr_1", "polls": 5000}),
    )
    .await;
    assert!(!alone.continue_as_child);
    // A run over ends where it is: nothing to hand over.
    let done = answers_run(run("jr_1", JobRunState::Succeeded));
    let over = poll::handle(
        &env(&[&done]),
        event(json!({"runId": "nightly-sales/jr_1", "polls": 3, "historyBudget": 60})),
    )
    .await
    .unwrap();
    assert!(over.terminal && !over.continue_as_child);
}

#[tokio::test(start_paused = true)]
async fn a_run_well_past_its_history_sends_one_late_message() {
    // Late past p90 + the spread: the spread (240 s) counts as p90 / 4 (960 s), so 4,800 s.
    let expected = json!({"runs": 20, "p50Seconds": 3600, "p90Seconds": 3840});
    let poll_at = |age: i64, late_notice_sent: Value| {
        let expected = expected.clone();
        async move {
            let rule = running_for(age);
            let body = json!({"runId": "nightly-sales/jr_1", "expectedDuration": expected,
                              "executionId": EXECUTION_ARN, "lateNoticeSent": late_notice_sent});
            poll_of(&env(&[&rule]), body).await
        }
    };
    let just_before = poll_at(4_800, json!(false)).await;
    assert_eq!(
        (just_before.late_notice_sent, just_before.notification),
        (false, None)
    );
    // An event without lateNoticeSent (a poll called alone) counts as none sent yet.
    let late = poll_at(4_801, Value::Null).await;
    assert!(late.late_notice_sent && !late.terminal);
    let note = late.notification.unwrap();
    assert_eq!(note.subject, "Polysync: Glue job nightly-sales is late");
    assert!(
        note.message.contains("going for 1h 20m"),
        "{}",
        note.message
    );
    assert!(
        note.message.contains("Execution: https://"),
        "{}",
        note.message
    );
    // Once sent, never again, however late the run gets.
    let later = poll_at(9_000, json!(true)).await;
    assert!(later.late_notice_sent && later.notification.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_run_s_notify_delay_says_when_it_is_late_and_a_hand_over_waits_for_the_child() {
    let notifying = |age: i64| {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(JobRunState::Running)
            .started_on(DateTime::from_secs(NOW_SECS - age))
            .notification_property(
                NotificationProperty::builder()
                    .notify_delay_after(10)
                    .build(),
            )
            .build();
        answers_run(run)
    };
    let rule = notifying(600);
    let early = poll_of(&env(&[&rule]), json!({"runId": "nightly-sales/jr_1"})).await;
    assert_eq!(early.notification, None);
    let rule = notifying(601);
    let late = poll_of(&env(&[&rule]), json!({"runId": "nightly-sales/jr_1"})).await;
    assert!(late.late_notice_sent);
    let message = late.notification.unwrap().message;
    assert!(
        message.contains("notify delay (glueNotifyDelayAfterMinutes) is 10 minutes"),
        "{message}"
    );
    // The poll that hands the run to a child sends nothing: the child's first poll does.
    let body = json!({"runId": "nightly-sales/jr_1", "polls": 3, "historyBudget": 65});
    let handing_over = poll_of(&env(&[&rule]), body).await;
    assert!(handing_over.continue_as_child);
    assert_eq!(
        (handing_over.late_notice_sent, handing_over.notification),
        (false, None)
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_without_history_or_notify_delay_is_never_late() {
    let rule = running_for(30 * 86_400);
    let output = poll_of(&env(&[&rule]), json!({"runId": "nightly-sales/jr_1"})).await;
    assert_eq!(
        (output.late_notice_sent, output.notification),
        (false, None)
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_wake_a_run_not_over_goes_on_in_a_child_and_an_ended_one_ends() {
    // The wake ended the wait: the execution's poll count is stale, so a run still going is
    // handed over, whatever the budget says; the poll, not the event, decides.
    let rule = running_for(60);
    let body =
        json!({"runId": "nightly-sales/jr_1", "polls": 0, "historyBudget": 20000, "woken": true});
    let still_going = poll_of(&env(&[&rule]), body.clone()).await;
    assert!(still_going.woken && still_going.continue_as_child && !still_going.terminal);
    let done = answers_run(run("jr_1", JobRunState::Succeeded));
    let ended = poll_of(&env(&[&done]), body).await;
    assert!(ended.terminal && !ended.continue_as_child);
    // Not woken: the budget alone decides.
    let body =
        json!({"runId": "nightly-sales/jr_1", "polls": 0, "historyBudget": 20000, "woken": false});
    assert!(!poll_of(&env(&[&rule]), body).await.continue_as_child);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_run_says_why_it_waits() {
    let why = format!(
        "Job run is waiting for resources: MaxConcurrentRuns reached. {}",
        "x".repeat(2_000)
    );
    let waiting = why.clone();
    let get = mock!(Client::get_job_run).then_output(move || {
        let mut run = run("jr_1", JobRunState::Waiting);
        run.state_detail = Some(waiting.clone());
        GetJobRunOutput::builder().job_run(run).build()
    });
    let env = env(&[&get]);
    let output = poll_of(&env, json!({"runId": "nightly-sales/jr_1"})).await;
    assert_eq!(
        (output.status, output.terminal),
        (RunStatus::Starting, false)
    );
    let detail = output.state_detail.unwrap();
    assert_eq!(detail.chars().count(), 1_000);
    assert!(why.starts_with(&detail));
}

/// GetLogEvents of one stream of /aws-glue/jobs: these pages, newest first, each with a token
/// for the page before it (the last one's token is its own: the stream's beginning).
fn stream_pages(
    group: &'static str,
    stream: &'static str,
    pages: &'static [&'static [&'static str]],
) -> Rule {
    let mut sequence = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .match_requests(move |input| {
            input.log_group_name() == Some(group) && input.log_stream_name() == Some(stream)
        })
        .sequence();
    for (index, page) in pages.iter().enumerate() {
        sequence = sequence.output(move || {
            log_page(page)
                .next_backward_token(format!("b/{}", (index + 1).min(pages.len() - 1)))
                .build()
        });
    }
    sequence.build()
}

#[tokio::test(start_paused = true)]
async fn a_glue_5_run_s_traceback_is_read_from_its_driver_output_past_empty_pages() {
    let get = mock!(Client::get_job_run).then_output(|| {
        let mut run = failed_run_with_secrets(JobRunState::Failed);
        run.glue_version = Some("5.0".to_owned());
        GetJobRunOutput::builder().job_run(run).build()
    });
    // Spark's log4j lines in /error; the traceback in /output, behind a page without events.
    let output_stream = stream_pages("/aws-glue/jobs/output", "jr_9-driver", &[&[], DRIVER_LOG]);
    let error_stream = stream_pages(
        "/aws-glue/jobs/error",
        "jr_9-driver",
        &[&[
            "INFO log4j: SparkContext started",
            "WARN log4j: executor lost",
        ]],
    );
    let logs = logs_client(&[&output_stream, &error_stream, &no_log_group()]);
    let env = env(&[&get]).with_logs(logs);
    let output = poll_of(
        &env,
        json!({"runId": "nightly-sales/jr_9", "maxRetries": 0}),
    )
    .await;
    let diagnosis = output.diagnosis.unwrap();
    assert_eq!(
        (diagnosis.log_group.as_str(), diagnosis.log_stream.as_str()),
        ("/aws-glue/jobs/output", "jr_9-driver")
    );
    assert!(
        diagnosis
            .lines
            .iter()
            .any(|l| l.contains("AnalysisException")),
        "{:?}",
        diagnosis.lines
    );
    assert!(diagnosis
        .lines
        .iter()
        .all(|l| !l.contains("canary-secret-7d41")));
    assert_eq!(output_stream.num_calls(), 2, "the empty page is read past");
    assert_eq!(error_stream.num_calls(), 0, "the traceback was found first");
}
