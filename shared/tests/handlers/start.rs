//! The start function: the exact StartJobRun we send, what Glue's answers become, adoption
//! of a run an earlier attempt started.

use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::types::{ExecutionClass, Job, JobCommand, JobRun, JobRunState, WorkerType};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;
use lambda_runtime::Diagnostic;
use polysync_glue::config::Config;
use polysync_glue::event::{Source, Sourced};
use polysync_glue::status::RunStatus;
use polysync_glue::{start, PolysyncError};
use serde_json::{json, Value};

use crate::common::*;

fn nightly_sales_event() -> Value {
    json!({
        "job": {
            "externalId": "nightly-sales",
            "jobType": "AWS Glue Job",
            "attributes": {"glueWorkerType": "G.2X", "glueNumberOfWorkers": 10, "glueVersion": "4.0",
                           "glueTimeoutMinutes": 120, "glueMaxRetries": 1}
        },
        "parameters": [
            {"name": "run_date", "direction": "Input", "value": "2026-11-28"},
            {"name": "--target_path", "direction": "InputOutput", "value": "s3://lake/sales/"},
            {"name": "batch_size", "direction": "Input", "value": 500},
            {"name": "_owner", "direction": "Input", "value": "data-eng"},
            {"name": "rows_written", "direction": "Output"}
        ]
    })
}

/// A Spark (`glueetl`) job definition of that Glue version, sized by its own G.1X × 10.
fn spark_job(name: &str, glue_version: &str) -> Job {
    job_of_kind(name, "glueetl", glue_version)
}

fn job_of_kind(name: &str, command: &str, glue_version: &str) -> Job {
    Job::builder()
        .name(name)
        .command(JobCommand::builder().name(command).build())
        .glue_version(glue_version)
        .worker_type(WorkerType::G1X)
        .number_of_workers(10)
        .build()
}

async fn start_error(code: &str, message: &str) -> (Diagnostic, usize) {
    let rule = mock!(Client::start_job_run)
        .sequence()
        .http_status(400, glue_error_body(code, message))
        .repeatedly()
        .build();
    let env = env(&[&rule]);
    let error = start::handle(&env, event(json!({"job": {"externalId": "nightly-sales"}})))
        .await
        .unwrap_err();
    (diagnostic(error), rule.num_calls())
}

/// A successful run of `seconds`, started `days_ago` days ago.
fn past_run(days_ago: i64, seconds: i64) -> JobRun {
    let started = NOW_SECS - days_ago * 86_400;
    JobRun::builder()
        .id(format!("jr_past_{days_ago}"))
        .job_run_state(JobRunState::Succeeded)
        .started_on(DateTime::from_secs(started))
        .completed_on(DateTime::from_secs(started + seconds))
        .build()
}

fn history_of(durations: &'static [i64]) -> Rule {
    mock!(Client::get_job_runs)
        .match_requests(|input| input.job_name() == Some("nightly-sales"))
        .then_output(|| {
            let mut runs = GetJobRunsOutput::builder()
                // the run just started is listed too, and does not count
                .job_runs(run("jr_0123abcd", JobRunState::Starting))
                .job_runs(past_run(1, 1));
            runs = runs.job_runs(
                JobRun::builder()
                    .id("jr_failed")
                    .job_run_state(JobRunState::Failed)
                    .execution_time(9000)
                    .build(),
            );
            for (day, seconds) in durations.iter().enumerate() {
                runs = runs.job_runs(past_run(day as i64 + 2, *seconds));
            }
            runs.build()
        })
}

#[tokio::test(start_paused = true)]
async fn a_glue_max_retries_glue_will_not_apply_is_a_warning_and_never_sent() {
    let (start_rule, captured) = recording_start();
    let get_job = get_job_rule(spark_job("nightly-sales", "4.0")); // MaxRetries 0
    let env = env(&[&start_rule, &get_job, &no_past_runs()]);

    let output = start::handle(&env, event(nightly_sales_event()))
        .await
        .unwrap();

    assert_eq!(output.max_retries, Some(0), "poll follows the definition's");
    assert!(
        output.warnings.iter().any(|w| w
            == "glueMaxRetries 1 is not sent (StartJobRun has no MaxRetries): Glue retries this \
                run as the job definition says, MaxRetries 0"),
        "{:?}",
        output.warnings
    );
    assert_eq!(captured.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_definition_is_read_before_the_run_starts_and_the_history_after() {
    let mut definition = spark_job("nightly-sales", "4.0");
    definition.max_retries = 1;
    let get_job = get_job_rule(definition);
    let (start_rule, _) = recording_start();
    let history = no_past_runs();
    // A second GetJob, or StartJobRun before the definition is read, fails here.
    let env = env_in_order(&[&get_job, &start_rule, &history]);
    let output = start::handle(&env, event(nightly_sales_event()))
        .await
        .unwrap();
    assert_eq!(output.max_retries, Some(1));
    let calls = [&get_job, &start_rule, &history].map(|rule| rule.num_calls());
    assert_eq!(calls, [1, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn start_sends_the_run_options_glue_takes_and_reports_them() {
    let (start_rule, captured) = recording_start();
    let get_job = get_job_rule(spark_job("nightly-sales", "4.0"));
    let env = env(&[&start_rule, &get_job, &no_past_runs()]);
    let attributes = json!({"glueExecutionClass": "FLEX", "glueNotifyDelayAfterMinutes": 90,
                            "glueSecurityConfiguration": "lake-kms"});
    let output = start::handle(
        &env,
        event(json!({"job": {"externalId": "nightly-sales", "attributes": attributes}})),
    )
    .await
    .unwrap();
    let request = captured.lock().unwrap()[0].clone();
    assert_eq!(request.execution_class(), Some(&ExecutionClass::Flex));
    assert_eq!(
        request
            .notification_property()
            .and_then(|n| n.notify_delay_after()),
        Some(90)
    );
    assert_eq!(request.security_configuration(), Some("lake-kms"));
    assert_eq!(
        (request.max_capacity(), request.job_run_queuing_enabled()),
        (None, None)
    );
    let report = serde_json::to_value(&output.compute).unwrap();
    assert_eq!(
        report["executionClass"],
        json!({"value": "FLEX", "source": "job"})
    );
    assert_eq!(report["securityConfiguration"]["value"], "lake-kms");
    assert_eq!(
        get_job.num_calls(),
        1,
        "FLEX is checked against the definition"
    );

    // A queued Python shell run sized by MaxCapacity.
    let (start_rule, captured) = recording_start();
    let shell = get_job_rule(job_of_kind("nightly-shell", "pythonshell", "3.0"));
    let env = self::env(&[&start_rule, &shell, &no_past_runs()]);
    let attributes = json!({"glueMaxCapacity": 0.0625, "glueJobRunQueuing": true});
    start::handle(
        &env,
        event(json!({"job": {"externalId": "nightly-shell", "attributes": attributes}})),
    )
    .await
    .unwrap();
    let request = captured.lock().unwrap()[0].clone();
    assert_eq!(request.max_capacity(), Some(0.0625));
    assert_eq!(request.job_run_queuing_enabled(), Some(true));
    assert_eq!(
        (request.worker_type(), request.number_of_workers()),
        (None, None)
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_option_the_job_cannot_take_is_refused_before_start_job_run() {
    let (start_rule, _) = recording_start();
    let shell = get_job_rule(job_of_kind("nightly-shell", "pythonshell", "3.0"));
    let env = env(&[&start_rule, &shell]);
    let error = start::handle(
        &env,
        event(json!({"job": {"externalId": "nightly-shell",
                              "attributes": {"glueExecutionClass": "FLEX"}}})),
    )
    .await
    .unwrap_err();
    assert_eq!(diagnostic(error).error_type, "Polysync.InvalidInput");
    assert_eq!(start_rule.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn start_sends_exactly_the_job_compute_and_arguments() {
    let (start_rule, captured) = recording_start();
    // The definition retries as the event's glueMaxRetries says: no warning about it.
    let mut definition = spark_job("nightly-sales", "4.0");
    definition.max_retries = 1;
    let get_job = get_job_rule(definition);
    let env = env(&[&start_rule, &get_job, &no_past_runs()]);

    let output = start::handle(&env, event(nightly_sales_event()))
        .await
        .unwrap();

    let requests = captured.lock().unwrap();
    let request = &requests[0];
    assert_eq!(request.job_name(), Some("nightly-sales"));
    let arguments = request.arguments().unwrap();
    assert_eq!(arguments.len(), 4);
    assert_eq!(arguments["--run_date"], "2026-11-28");
    assert_eq!(arguments["--target_path"], "s3://lake/sales/");
    assert_eq!(arguments["--batch_size"], "500");
    assert_eq!(arguments["--glue-version"], "4.0");
    assert_eq!(request.worker_type(), Some(&WorkerType::G2X));
    assert_eq!(request.number_of_workers(), Some(10));
    assert_eq!(request.timeout(), Some(120));
    assert_eq!(
        get_job.num_calls(),
        1,
        "the job's kind decides whether Glue takes the worker pair"
    );

    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(output.job_run_id, "jr_0123abcd");
    assert_eq!(output.status, RunStatus::Starting);
    assert_eq!(
        output.monitor_url,
        "https://us-east-1.console.aws.amazon.com/gluestudio/home?region=us-east-1#/job/nightly-sales/run/jr_0123abcd"
    );
    assert_eq!(
        output.argument_keys,
        [
            "--run_date",
            "--target_path",
            "--batch_size",
            "--glue-version"
        ]
    );
    assert_eq!(
        output.warnings,
        ["parameter rows_written is Output; AWS Glue Job has no output channel, so it was not sent"]
    );
    assert_eq!(
        output.compute.worker_type,
        Sourced {
            value: Some("G.2X".into()),
            source: Source::Job
        }
    );
    assert_eq!(
        output.compute.timeout_minutes,
        Sourced {
            value: Some(120),
            source: Source::Job
        }
    );
    let json = serde_json::to_value(&output).unwrap();
    assert!(json["startedAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        !json.to_string().contains("s3://lake/sales/"),
        "argument values never reach the output"
    );
}

#[tokio::test(start_paused = true)]
async fn start_leaves_to_the_definition_what_nobody_set() {
    let (start_rule, captured) = recording_start();
    let get_job = get_job_rule(Job::builder().name("plain").build());
    let env = env(&[&start_rule, &get_job, &no_past_runs()]);

    let output = start::handle(&env, event(json!({"job": {"externalId": "plain"}})))
        .await
        .unwrap();

    let request = &captured.lock().unwrap()[0];
    assert_eq!(request.arguments(), None);
    assert_eq!(request.worker_type(), None);
    assert_eq!(request.number_of_workers(), None);
    assert_eq!(request.timeout(), None);
    // Read once, after the run started, only to tell poll the job's MaxRetries.
    assert_eq!(get_job.num_calls(), 1);
    assert_eq!(output.max_retries, Some(0));
    assert_eq!(
        output.compute.glue_version,
        Sourced {
            value: None,
            source: Source::Definition
        }
    );
    assert!(output.argument_keys.is_empty());
}

#[tokio::test(start_paused = true)]
async fn start_applies_platform_defaults_and_tags_the_execution() {
    let (start_rule, captured) = recording_start();
    let config = config_of(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.1X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "2"),
        ("POLYSYNC_GLUE_VERSION", "5.0"),
        ("POLYSYNC_GLUE_TIMEOUT_MINUTES", "30"),
    ]);
    let get_job = get_job_rule(spark_job("j", "4.0"));
    let env = env_with(&[&start_rule, &get_job, &no_past_runs()], config);

    let output = start::handle(
        &env,
        event(json!({"job": {"externalId": "j", "attributes": {"glueTimeoutMinutes": "45"}}, "executionId": "exec-42"})),
    )
    .await
    .unwrap();

    let request = &captured.lock().unwrap()[0];
    assert_eq!(request.worker_type(), Some(&WorkerType::G1X));
    assert_eq!(request.number_of_workers(), Some(2));
    assert_eq!(request.timeout(), Some(45));
    let arguments = request.arguments().unwrap();
    assert_eq!(arguments["--glue-version"], "5.0");
    assert_eq!(arguments["--polysync-execution-id"], "exec-42");
    assert_eq!(output.compute.worker_type.source, Source::Platform);
    assert_eq!(
        output.compute.timeout_minutes,
        Sourced {
            value: Some(45),
            source: Source::Job
        }
    );
    assert_eq!(
        output.argument_keys,
        ["--glue-version", "--polysync-execution-id"]
    );
    // StartJobRun has no version field: the report says which version Glue really runs.
    assert_eq!(output.warnings.len(), 1, "{:?}", output.warnings);
    assert!(
        output.warnings[0].contains("GlueVersion 4.0"),
        "{:?}",
        output.warnings
    );
}

#[tokio::test(start_paused = true)]
async fn platform_defaults_a_job_s_kind_cannot_take_give_way_and_its_attributes_are_refused() {
    let platform = config_of(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
    ]);
    for (command, sent) in [
        ("pythonshell", None),
        ("glueray", None),
        ("glueetl", Some((WorkerType::G2X, 5))),
        ("gluestreaming", Some((WorkerType::G2X, 5))),
    ] {
        let (start_rule, captured) = recording_start();
        let get_job = get_job_rule(job_of_kind("j", command, "4.0"));
        let env = env_with(&[&start_rule, &get_job, &no_past_runs()], platform.clone());
        let output = start::handle(&env, event(json!({"job": {"externalId": "j"}})))
            .await
            .unwrap();
        let request = &captured.lock().unwrap()[0];
        let wire = request
            .worker_type()
            .cloned()
            .zip(request.number_of_workers());
        assert_eq!(wire, sent, "{command}");
        let expected_source = if sent.is_some() {
            Source::Platform
        } else {
            Source::Definition
        };
        assert_eq!(
            output.compute.worker_type.source, expected_source,
            "{command}"
        );
        assert_eq!(
            output.warnings.len(),
            usize::from(sent.is_none()),
            "{command}"
        );
    }

    let refusals = [
        (
            "pythonshell",
            json!({"glueWorkerType": "G.1X"}),
            "glueWorkerType",
        ),
        (
            "pythonshell",
            json!({"glueNumberOfWorkers": 2}),
            "glueNumberOfWorkers",
        ),
        (
            "glueray",
            json!({"glueWorkerType": "G.2X"}),
            "glueWorkerType",
        ),
        (
            "glueetl",
            json!({"glueWorkerType": "Z.2X"}),
            "glueWorkerType",
        ),
        (
            "gluestreaming",
            json!({"glueNumberOfWorkers": 1}),
            "glueNumberOfWorkers",
        ),
    ];
    for (command, attributes, name) in refusals {
        let (start_rule, _captured) = recording_start();
        let get_job = get_job_rule(job_of_kind("j", command, "4.0"));
        let env = env(&[&start_rule, &get_job, &no_past_runs()]);
        let error = start::handle(
            &env,
            event(json!({"job": {"externalId": "j", "attributes": attributes.clone()}})),
        )
        .await
        .unwrap_err();
        match error {
            PolysyncError::InvalidInput { field, .. } => {
                assert_eq!(
                    field,
                    format!("job.attributes.{name}"),
                    "{command} {attributes}"
                )
            }
            other => panic!("{command} {attributes}: {other:?}"),
        }
        assert_eq!(start_rule.num_calls(), 0, "refused before StartJobRun");
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_outside_the_platform_prefix_is_refused_before_any_glue_call() {
    let (start_rule, _captured) = recording_start();
    let get_job = get_job_rule(spark_job("team-b-sales", "4.0"));
    let env = env_with(
        &[&start_rule, &get_job, &no_past_runs()],
        config_of(&[("POLYSYNC_GLUE_JOB_NAME_PREFIX", "team-a-")]),
    );
    let error = start::handle(&env, event(json!({"job": {"externalId": "team-b-sales"}})))
        .await
        .unwrap_err();
    match error {
        PolysyncError::InvalidInput { field, rule } => {
            assert_eq!(field, "job.externalId");
            assert!(
                rule.contains("POLYSYNC_GLUE_JOB_NAME_PREFIX") && rule.contains("team-a-"),
                "{rule}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((start_rule.num_calls(), get_job.num_calls()), (0, 0));
    start::handle(&env, event(json!({"job": {"externalId": "team-a-sales"}})))
        .await
        .unwrap();
    assert_eq!(start_rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn start_without_the_execution_tag_when_the_platform_turns_it_off() {
    let (start_rule, captured) = recording_start();
    let env = env_with(
        &[&start_rule, &definition_not_found(), &no_past_runs()],
        Config {
            execution_tag: false,
            ..Config::default()
        },
    );
    start::handle(
        &env,
        event(json!({"job": {"externalId": "j"}, "executionId": "exec-42"})),
    )
    .await
    .unwrap();
    assert_eq!(captured.lock().unwrap()[0].arguments(), None);
}

#[tokio::test(start_paused = true)]
async fn start_reads_the_definition_only_to_complete_the_worker_pair() {
    let (start_rule, captured) = recording_start();
    let get_job = get_job_rule(
        Job::builder()
            .name("j")
            .worker_type(WorkerType::G1X)
            .number_of_workers(7)
            .timeout(2880)
            .glue_version("3.0")
            .build(),
    );
    let env = env(&[&start_rule, &get_job, &no_past_runs()]);

    let output = start::handle(
        &env,
        event(json!({"job": {"externalId": "j", "attributes": {"glueWorkerType": "G.4X"}}})),
    )
    .await
    .unwrap();

    assert_eq!(get_job.num_calls(), 1);
    let request = &captured.lock().unwrap()[0];
    assert_eq!(request.worker_type(), Some(&WorkerType::G4X));
    assert_eq!(request.number_of_workers(), Some(7));
    assert_eq!(
        request.timeout(),
        None,
        "the definition's timeout is Glue's to apply"
    );
    assert_eq!(
        output.compute.number_of_workers,
        Sourced {
            value: Some(7),
            source: Source::Definition
        }
    );
    assert_eq!(
        output.compute.timeout_minutes,
        Sourced {
            value: Some(2880),
            source: Source::Definition
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refused_events_never_reach_glue() {
    let (start_rule, _captured) = recording_start();
    let env = env(&[&start_rule]);
    let cases = [
        (
            json!({"job": {"externalId": ""}}),
            "Polysync.InvalidInput",
            "job.externalId",
        ),
        (
            json!({"job": {"externalId": "a\nb"}}),
            "Polysync.InvalidInput",
            "job.externalId",
        ),
        (
            json!({"job": {"externalId": "x".repeat(256)}}),
            "Polysync.InvalidInput",
            "job.externalId",
        ),
        (
            json!({"job": {"externalId": "j", "jobType": "Spark"}}),
            "Polysync.InvalidInput",
            "job.jobType",
        ),
        (
            json!({"job": {"externalId": "j"}, "parameters": [{"name": "a=b", "direction": "Input", "value": 1}]}),
            "Polysync.InvalidInput",
            "parameters[0].name",
        ),
        (
            json!({"job": {"externalId": "j"}, "parameters": [{"name": "extra-jars", "direction": "Input", "value": "s3://x.jar"}]}),
            "Polysync.ForbiddenArgument",
            "parameters[0].name",
        ),
        (
            json!({"job": {"externalId": "j"}, "executionId": ""}),
            "Polysync.InvalidInput",
            "executionId",
        ),
    ];
    for (payload, error_type, field) in cases {
        let error = diagnostic(
            start::handle(&env, event(payload.clone()))
                .await
                .unwrap_err(),
        );
        assert_eq!(error.error_type, error_type, "{payload}");
        assert!(
            error.error_message.starts_with(field),
            "{payload}: {}",
            error.error_message
        );
    }
    assert_eq!(start_rule.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn code_loading_arguments_pass_when_the_platform_allows_them() {
    let (start_rule, captured) = recording_start();
    let env = env_with(
        &[&start_rule, &definition_not_found(), &no_past_runs()],
        Config {
            allow_code_arguments: true,
            ..Config::default()
        },
    );
    let payload = json!({"job": {"externalId": "j"}, "parameters": [{"name": "--extra-jars", "direction": "Input", "value": "s3://x.jar"}]});
    start::handle(&env, event(payload)).await.unwrap();
    assert_eq!(
        captured.lock().unwrap()[0].arguments().unwrap()["--extra-jars"],
        "s3://x.jar"
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_glue_does_not_know_is_named_with_its_region_whichever_call_meets_it() {
    // StartJobRun meets it when the run needs no definition.
    let (error, calls) =
        start_error("EntityNotFoundException", "Job nightly-sales not found").await;
    assert_eq!(error.error_type, "Glue.EntityNotFoundException");
    assert!(
        error
            .error_message
            .ends_with("(Polysync: check that the Glue job nightly-sales exists in us-east-1)"),
        "{}",
        error.error_message
    );
    assert_eq!(calls, 1);
    // GetJob meets it first when the run is sized: no StartJobRun follows.
    let (start_rule, _) = recording_start();
    let env = env(&[&definition_not_found(), &start_rule]);
    let error = diagnostic(
        start::handle(&env, event(nightly_sales_event()))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.EntityNotFoundException");
    assert!(
        error.error_message.starts_with("Glue GetJob failed")
            && error
                .error_message
                .contains("check that the Glue job nightly-sales exists"),
        "{}",
        error.error_message
    );
    assert_eq!(start_rule.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn access_denied_names_the_permission_and_the_job_arn() {
    let (error, _) = start_error(
        "AccessDeniedException",
        "User is not authorized to perform glue:StartJobRun",
    )
    .await;
    assert_eq!(error.error_type, "Glue.AccessDeniedException");
    assert!(
        error
            .error_message
            .contains("glue:StartJobRun on arn:aws:glue:us-east-1:123456789012:job/nightly-sales"),
        "{}",
        error.error_message
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_input_from_glue_carries_the_argument_hint() {
    let (error, _) = start_error("InvalidInputException", "Invalid argument key").await;
    assert_eq!(error.error_type, "Glue.InvalidInputException");
    assert!(
        error.error_message.contains("valid Glue argument names"),
        "{}",
        error.error_message
    );
    assert!(
        error.error_message.contains("key=value is not split"),
        "{}",
        error.error_message
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_input_about_anything_but_arguments_carries_no_argument_hint() {
    let (error, _) = start_error(
        "InvalidInputException",
        "Worker Type Z.2X is not supported for Job Command glueetl",
    )
    .await;
    assert_eq!(error.error_type, "Glue.InvalidInputException");
    assert!(
        !error.error_message.contains("argument"),
        "{}",
        error.error_message
    );
}

#[tokio::test(start_paused = true)]
async fn glue_error_codes_become_glue_dot_code_and_start_is_never_retried_by_the_sdk() {
    for code in [
        "ThrottlingException",
        "ConcurrentRunsExceededException",
        "EntityNotFoundException",
        "InternalServiceException",
        "OperationTimeoutException",
    ] {
        let (error, calls) = start_error(code, "no").await;
        assert_eq!(error.error_type, format!("Glue.{code}"));
        // A lost StartJobRun reply retried by the SDK could start a second run.
        assert_eq!(calls, 1, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_glue_unavailable() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = production_services(&format!("http://127.0.0.1:{port}")).await;
    let error = diagnostic(
        start::handle(&env, event(json!({"job": {"externalId": "j"}})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.Unavailable");
    assert!(
        error.error_message.contains("StartJobRun"),
        "{}",
        error.error_message
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_start_adopts_the_run_its_first_attempt_started() {
    let (start_rule, _captured) = recording_start();
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_first", "exec-9", JobRunState::Running))
            .build()
    });
    let env = env(&[&start_rule, &runs, &definition_not_found()]);
    let payload =
        json!({"job": {"externalId": "nightly-sales"}, "executionId": "exec-9", "retryCount": 1});
    let output = start::handle(&env, event(payload)).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_first");
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(output.started_at, "2026-11-28T12:00:01Z");
    assert_eq!(start_rule.num_calls(), 0, "no second run");

    // A first attempt does not look; a retry of another execution starts its own run.
    let payload =
        json!({"job": {"externalId": "nightly-sales"}, "executionId": "exec-10", "retryCount": 2});
    let output = start::handle(&env, event(payload)).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    // The adoption: one look, then the job's history; the other retry: two looks, the start,
    // then the history.
    assert_eq!(
        runs.num_calls(),
        5,
        "the retry looked twice before starting"
    );
    assert_eq!(start_rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retried_start_looks_again_before_starting_a_second_run() {
    let (start_rule, _captured) = recording_start();
    // GetJobRuns does not list the first attempt's run at once.
    let runs = mock!(Client::get_job_runs)
        .sequence()
        .output(|| GetJobRunsOutput::builder().build())
        .output(|| {
            GetJobRunsOutput::builder()
                .job_runs(tagged_run("jr_first", "exec-9", JobRunState::Running))
                .build()
        })
        .build();
    let env = env(&[&start_rule, &runs, &definition_not_found(), &no_past_runs()]);
    let output = start::handle(
        &env,
        event(json!({"job": {"externalId": "nightly-sales"}, "executionId": "exec-9", "retryCount": 1})),
    )
    .await
    .unwrap();
    assert_eq!(output.job_run_id, "jr_first");
    assert_eq!(runs.num_calls(), 2);
    assert_eq!(start_rule.num_calls(), 0, "no second run");
}

#[tokio::test(start_paused = true)]
async fn start_tells_what_the_job_s_recent_successful_runs_took() {
    let (start_rule, _captured) = recording_start();
    // The newest run (1 s) counts too: 1, 3300, 3400, 3500, 3600, 3700.
    let history = history_of(&[3300, 3400, 3500, 3600, 3700]);
    let services = env(&[&start_rule, &history, &definition_not_found()]);
    let output = start::handle(
        &services,
        event(json!({"job": {"externalId": "nightly-sales"}})),
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&output).unwrap()["expectedDuration"],
        json!({"runs": 6, "p50Seconds": 3400, "p90Seconds": 3700})
    );
    assert_eq!(history.num_calls(), 1, "one page of runs is enough");

    // Four successful runs tell too little: null, and the run is started all the same.
    let few = history_of(&[3300, 3400, 3500]);
    let services = env(&[&start_rule, &few, &definition_not_found()]);
    let output = start::handle(
        &services,
        event(json!({"job": {"externalId": "nightly-sales"}})),
    )
    .await
    .unwrap();
    let output = serde_json::to_value(&output).unwrap();
    assert_eq!(output["expectedDuration"], Value::Null);
    assert_eq!(output["runId"], "nightly-sales/jr_0123abcd");
}

#[tokio::test(start_paused = true)]
async fn a_history_that_cannot_be_read_leaves_the_started_run_alone() {
    let (start_rule, _captured) = recording_start();
    let denied = mock!(Client::get_job_runs)
        .sequence()
        .http_status(
            400,
            glue_error_body("AccessDeniedException", "not allowed: glue:GetJobRuns"),
        )
        .repeatedly()
        .build();
    let env = env(&[&start_rule, &denied, &definition_not_found()]);
    let output = start::handle(&env, event(json!({"job": {"externalId": "nightly-sales"}})))
        .await
        .unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(output.expected_duration, None);
    assert_eq!(start_rule.num_calls(), 1, "one run, never a second");
}

#[tokio::test(start_paused = true)]
async fn an_invocation_past_its_send_window_never_starts_a_run() {
    let (start_rule, _captured) = recording_start();
    let env = env(&[&start_rule, &definition_not_found(), &no_past_runs()]);
    let now_ms = NOW_SECS as u64 * 1000;
    let payload = json!({"job": {"externalId": "nightly-sales"}, "executionId": EXECUTION_ARN});
    // 30 s left of the start function's 60: it began more than the 20 s window ago.
    let mut late = event(payload.clone());
    late.context.deadline = now_ms + 30_000;
    let error = diagnostic(start::handle(&env, late).await.unwrap_err());
    assert_eq!(error.error_type, "Glue.Unavailable");
    assert!(
        error.error_message.contains("not sent"),
        "{}",
        error.error_message
    );
    assert_eq!(start_rule.num_calls(), 0);
    // Within the window it starts the run.
    let mut early = event(payload);
    early.context.deadline = now_ms + 59_000;
    let output = start::handle(&env, early).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(start_rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_redriven_start_adopts_the_aborted_attempt_s_run_or_waits_for_the_retry() {
    let (start_rule, _captured) = recording_start();
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = env(&[&start_rule, &none, &definition_not_found()]);
    let redriven = json!({"job": {"externalId": "nightly-sales"}, "executionId": EXECUTION_ARN,
                          "retryCount": 0, "redriveCount": 1});
    // No run yet: the invocation the redrive replaced may still make one. No StartJobRun.
    let error = diagnostic(start::handle(&env, event(redriven)).await.unwrap_err());
    assert_eq!(error.error_type, "Polysync.StartDeferred");
    assert_eq!(start_rule.num_calls(), 0);
    assert_eq!(none.num_calls(), 2, "it looked twice");

    // Step Functions' retry (45 s later) still finds none: now it starts the run.
    let retried = json!({"job": {"externalId": "nightly-sales"}, "executionId": EXECUTION_ARN,
                         "retryCount": 1, "redriveCount": 1});
    let output = start::handle(&env, event(retried)).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(start_rule.num_calls(), 1);

    // The aborted attempt's run exists: adopted at once, whatever its state.
    let made = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run(
                "jr_aborted",
                EXECUTION_ARN,
                JobRunState::Stopped,
            ))
            .build()
    });
    let (start_again, _) = recording_start();
    let env = self::env(&[&start_again, &made, &definition_not_found()]);
    let redriven = json!({"job": {"externalId": "nightly-sales"}, "executionId": EXECUTION_ARN,
                          "redriveCount": 2});
    let output = start::handle(&env, event(redriven)).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_aborted");
    assert_eq!(start_again.num_calls(), 0);
}
