//! The four handlers called as Lambda calls them, against a Glue client whose answers come from
//! `aws-smithy-mocks`: the exact requests we send, and what each Glue answer becomes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::operation::get_jobs::GetJobsOutput;
use aws_sdk_glue::types::{
    BatchStopJobRunError, BatchStopJobRunSuccessfulSubmission, ErrorDetail, Job, JobCommand,
    JobRun, JobRunState, WorkerType,
};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use lambda_runtime::Diagnostic;
use polysync_glue::aws::OPERATION_TIMEOUT;
use polysync_glue::config::Config;
use polysync_glue::event::{Source, Sourced};
use polysync_glue::status::RunStatus;
use polysync_glue::{cancel, discover, poll, start, PolysyncError, Services};
use serde_json::{json, Value};

mod common;
use common::{
    config_of, env, env_with, event, execution_described, get_job_rule, recording_start,
    states_client, EXECUTION_ARN,
};

fn diagnostic(error: PolysyncError) -> Diagnostic {
    error.into()
}

/// A Glue error as it comes over the wire (awsJson 1.1).
fn glue_error_body(code: &str, message: &str) -> Option<String> {
    Some(json!({"__type": code, "message": message}).to_string())
}

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

#[tokio::test]
async fn a_glue_max_retries_glue_will_not_apply_is_a_warning_and_never_sent() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = get_job_rule(spark_job("nightly-sales", "4.0")); // MaxRetries 0
    let env = env(&[&start_rule, &get_job]);

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

#[tokio::test]
async fn start_sends_exactly_the_job_compute_and_arguments() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    // The definition retries as the event's glueMaxRetries says: no warning about it.
    let mut definition = spark_job("nightly-sales", "4.0");
    definition.max_retries = 1;
    let get_job = get_job_rule(definition);
    let env = env(&[&start_rule, &get_job]);

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

#[tokio::test]
async fn start_leaves_to_the_definition_what_nobody_set() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = get_job_rule(Job::builder().name("plain").build());
    let env = env(&[&start_rule, &get_job]);

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

#[tokio::test]
async fn start_applies_platform_defaults_and_tags_the_execution() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let config = config_of(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.1X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "2"),
        ("POLYSYNC_GLUE_VERSION", "5.0"),
        ("POLYSYNC_GLUE_TIMEOUT_MINUTES", "30"),
    ]);
    let get_job = get_job_rule(spark_job("j", "4.0"));
    let env = env_with(&[&start_rule, &get_job], config);

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

#[tokio::test]
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
        let captured = Arc::new(Mutex::new(Vec::new()));
        let start_rule = recording_start(&captured);
        let get_job = get_job_rule(job_of_kind("j", command, "4.0"));
        let env = env_with(&[&start_rule, &get_job], platform.clone());
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
        let captured = Arc::new(Mutex::new(Vec::new()));
        let start_rule = recording_start(&captured);
        let get_job = get_job_rule(job_of_kind("j", command, "4.0"));
        let env = env(&[&start_rule, &get_job]);
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

#[tokio::test]
async fn a_job_outside_the_platform_prefix_is_refused_before_any_glue_call() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = get_job_rule(spark_job("team-b-sales", "4.0"));
    let env = env_with(
        &[&start_rule, &get_job],
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

#[tokio::test]
async fn start_without_the_execution_tag_when_the_platform_turns_it_off() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let env = env_with(
        &[&start_rule],
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

#[tokio::test]
async fn start_reads_the_definition_only_to_complete_the_worker_pair() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = get_job_rule(
        Job::builder()
            .name("j")
            .worker_type(WorkerType::G1X)
            .number_of_workers(7)
            .timeout(2880)
            .glue_version("3.0")
            .build(),
    );
    let env = env(&[&start_rule, &get_job]);

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

#[tokio::test]
async fn refused_events_never_reach_glue() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
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

#[tokio::test]
async fn code_loading_arguments_pass_when_the_platform_allows_them() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let env = env_with(
        &[&start_rule],
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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
    let output = poll::handle(&env, event(json!({"runId": "j/jr_1"})))
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(rule.num_calls(), 3);
}

/// The services exactly as the functions build them (timeouts, retries), aimed at `endpoint`.
async fn production_services(endpoint: &str) -> Services {
    let sdk = Services::sdk_loader("us-east-1")
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_glue::config::Credentials::new(
            "AKID", "SECRET", None, None, "test",
        ))
        .load()
        .await;
    Services::from_sdk(&sdk, "us-east-1".to_owned(), Config::default())
}

#[tokio::test]
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

#[tokio::test]
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
    let began = std::time::Instant::now();
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

fn run(id: &str, state: JobRunState) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_name("nightly-sales")
        .job_run_state(state)
        .attempt(0)
        .started_on(DateTime::from_secs(
            DateTime::from(std::time::SystemTime::now()).secs() - 600,
        ))
        .execution_time(42)
        .build()
}

#[tokio::test]
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
        let env = env(&[&rule]);
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

#[tokio::test]
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
    let env = env(&[&rule]);
    let output = poll::handle(&env, event(json!({"runId": "j/jr_1"})))
        .await
        .unwrap();
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

#[tokio::test]
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

fn get_run_sequence(states: &'static [JobRunState]) -> Rule {
    let mut sequence = mock!(Client::get_job_run).sequence();
    for state in states {
        sequence = sequence.output(move || {
            GetJobRunOutput::builder()
                .job_run(run("jr_1", state.clone()))
                .build()
        });
    }
    sequence.build()
}

#[tokio::test]
async fn cancel_stops_a_running_run() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| {
            input.job_name() == Some("nightly-sales") && input.job_run_ids() == ["jr_1"]
        })
        .then_output(|| {
            BatchStopJobRunOutput::builder()
                .successful_submissions(
                    BatchStopJobRunSuccessfulSubmission::builder()
                        .job_name("nightly-sales")
                        .job_run_id("jr_1")
                        .build(),
                )
                .build()
        });
    let env = env(&[&get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert_eq!(stop.num_calls(), 1);
    assert!(output.stop_requested);
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
}

#[tokio::test]
async fn cancel_of_a_finished_run_is_not_an_error() {
    let get = get_run_sequence(&[JobRunState::Succeeded]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.status, RunStatus::Success);
    assert_eq!(stop.num_calls(), 0);
}

fn stop_refused(code: &'static str) -> Rule {
    mock!(Client::batch_stop_job_run).then_output(move || {
        BatchStopJobRunOutput::builder()
            .errors(
                BatchStopJobRunError::builder()
                    .job_name("nightly-sales")
                    .job_run_id("jr_1")
                    .error_detail(
                        ErrorDetail::builder()
                            .error_code(code)
                            .error_message("refused")
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

#[tokio::test]
async fn cancel_reads_the_errors_of_batch_stop_job_run() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Running]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop]);
    let error = diagnostic(
        cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.InvalidInputException");
    assert!(error.error_message.contains("refused"));
}

#[tokio::test]
async fn a_run_that_ended_while_being_stopped_is_not_an_error() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Failed]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.status, RunStatus::Failed);
}

#[tokio::test]
async fn cancel_of_an_unknown_run_is_entity_not_found() {
    let get = mock!(Client::get_job_run)
        .sequence()
        .http_status(
            400,
            glue_error_body("EntityNotFoundException", "Job run jr_1 not found"),
        )
        .build();
    let env = env(&[&get]);
    let error = diagnostic(
        cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.EntityNotFoundException");
}

fn tagged_run(id: &str, execution_id: &str, state: JobRunState) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_run_state(state)
        .arguments("--polysync-execution-id", execution_id)
        .started_on(DateTime::from_secs(1_795_867_201))
        .build()
}

fn execution_event(status: &str) -> Value {
    json!({
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7",
            "name": "exec-7",
            "status": status,
            "input": json!({"job": {"externalId": "nightly-sales"}}).to_string()
        }
    })
}

#[tokio::test]
async fn an_aborted_execution_finds_its_run_by_tag_and_stops_it() {
    let runs = mock!(Client::get_job_runs)
        .match_requests(|input| input.job_name() == Some("nightly-sales"))
        .then_output(|| {
            GetJobRunsOutput::builder()
                .job_runs(tagged_run("jr_other", "exec-7", JobRunState::Running))
                .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
                .build()
        });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]);
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert!(output.stop_requested);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop.num_calls(), 1);

    // One look for the tag, one for a newer Glue retry attempt of the run.
    assert_eq!(runs.num_calls(), 2);

    // A succeeded execution has nothing to stop and calls nothing.
    let output = cancel::handle(&env, event(execution_event("SUCCEEDED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(runs.num_calls(), 2);
}

#[tokio::test]
async fn a_retried_start_adopts_the_run_its_first_attempt_started() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_first", "exec-9", JobRunState::Running))
            .build()
    });
    let env = env(&[&start_rule, &runs]);
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

fn glue_job(index: usize) -> Job {
    Job::builder()
        .name(format!("job-{index:03}"))
        .worker_type(WorkerType::G1X)
        .number_of_workers(2)
        .max_retries(0)
        .default_arguments("--run_date", "2026-01-01")
        .default_arguments("--TempDir", "s3://tmp/")
        .default_arguments("--enable-metrics", "true")
        .build()
}

#[tokio::test]
async fn discovery_walks_three_glue_pages_and_yields_every_job_once() {
    let pages = mock!(Client::get_jobs).then_compute_output(|input| {
        assert_eq!(input.max_results(), Some(100));
        let (range, next) = match input.next_token() {
            None => (0..100, Some("page-2")),
            Some("page-2") => (100..200, Some("page-3")),
            Some("page-3") => (200..250, None),
            Some(other) => panic!("unexpected token {other}"),
        };
        GetJobsOutput::builder()
            .set_jobs(Some(range.map(glue_job).collect()))
            .set_next_token(next.map(str::to_owned))
            .build()
    });
    let env = env(&[&pages]);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let output = discover::handle(&env, event(json!({"nextToken": token})))
            .await
            .unwrap();
        assert!(serde_json::to_vec(&output).unwrap().len() <= discover::MAX_PAGE_BYTES);
        for job in &output.jobs {
            assert_eq!(job.parameters.len(), 1, "system arguments are filtered");
            assert_eq!(job.parameters[0].name, "run_date");
        }
        seen.extend(output.jobs.into_iter().map(|job| job.external_id));
        token = output.next_token;
        if token.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (0..250).map(|i| format!("job-{i:03}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages.num_calls(), 3);
}

#[tokio::test]
async fn discovery_splits_a_glue_page_too_large_for_one_answer() {
    let big = "v".repeat(10_000);
    let pages = mock!(Client::get_jobs).then_compute_output(move |input| {
        assert_eq!(
            input.next_token(),
            None,
            "the whole Glue page is re-read, never skipped"
        );
        GetJobsOutput::builder()
            .set_jobs(Some(
                (0..100)
                    .map(|i| {
                        Job::builder()
                            .name(format!("big-{i:03}"))
                            .default_arguments("--blob", big.clone())
                            .build()
                    })
                    .collect(),
            ))
            .build()
    });
    let env = env(&[&pages]);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut answers = 0;
    loop {
        let output = discover::handle(&env, event(json!({"nextToken": token})))
            .await
            .unwrap();
        assert!(serde_json::to_vec(&output).unwrap().len() <= discover::MAX_PAGE_BYTES);
        answers += 1;
        seen.extend(output.jobs.into_iter().map(|job| job.external_id));
        token = output.next_token;
        if token.is_none() {
            break;
        }
    }
    assert!(
        answers >= 4,
        "1 MB of jobs needs several pages, got {answers}"
    );
    assert_eq!(
        seen,
        (0..100).map(|i| format!("big-{i:03}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn discovery_refuses_a_token_it_did_not_make() {
    let pages = mock!(Client::get_jobs).then_output(|| GetJobsOutput::builder().build());
    let env = env(&[&pages]);
    let error = diagnostic(
        discover::handle(&env, event(json!({"nextToken": "forged"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Polysync.InvalidInput");
    assert!(error.error_message.starts_with("nextToken"));
    assert_eq!(pages.num_calls(), 0);
    // An empty event starts from the beginning.
    let output = discover::handle(&env, event(Value::Null)).await.unwrap();
    assert!(output.jobs.is_empty() && output.next_token.is_none());
}

fn failed_run(id: &str, attempt: i32, previous: Option<&str>, completed_secs_ago: i64) -> JobRun {
    let now = DateTime::from(std::time::SystemTime::now()).secs();
    JobRun::builder()
        .id(id)
        .job_run_state(JobRunState::Failed)
        .error_message(format!("{id} failed"))
        .attempt(attempt)
        .set_previous_run_id(previous.map(str::to_owned))
        .started_on(DateTime::from_secs(now - completed_secs_ago - 60))
        .completed_on(DateTime::from_secs(now - completed_secs_ago))
        .build()
}

#[tokio::test]
async fn poll_follows_glue_retry_attempts_to_the_newest() {
    let get = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run("jr_0", 0, None, 30))
            .build()
    });
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
    let output = poll::handle(
        &env,
        event(json!({"runId": "nightly-sales/jr_0", "maxRetries": 2})),
    )
    .await
    .unwrap();
    assert_eq!(
        output.run_id, "nightly-sales/jr_2",
        "runId moves to the newest attempt"
    );
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(output.attempt, 2);
    assert!(!output.terminal);
}

#[tokio::test]
async fn without_the_max_retries_start_told_poll_reads_them_from_the_definition() {
    let get = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run("jr_0", 0, None, 30))
            .build()
    });
    let none_yet = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let no_retries = get_job_rule(Job::builder().name("nightly-sales").max_retries(0).build());
    let env = env(&[&get, &none_yet, &no_retries]);
    // A poll called with just a runId, of a job without retries: failed at once.
    let alone = poll::handle(&env, event(json!({"runId": "nightly-sales/jr_0"})))
        .await
        .unwrap();
    assert_eq!((alone.status, alone.terminal), (RunStatus::Failed, true));
    assert_eq!(alone.error_message.as_deref(), Some("jr_0 failed"));
    assert_eq!(no_retries.num_calls(), 1, "it read the definition");
    assert_eq!(none_yet.num_calls(), 0, "no retry left: no search");

    // Of a job that retries: the retry attempt is awaited.
    let one_retry = get_job_rule(Job::builder().name("nightly-sales").max_retries(1).build());
    let env = env_with(&[&get, &none_yet, &one_retry], Config::default());
    let alone = poll::handle(&env, event(json!({"runId": "nightly-sales/jr_0"})))
        .await
        .unwrap();
    assert_eq!((alone.status, alone.terminal), (RunStatus::Starting, false));
    assert_eq!(none_yet.num_calls(), 1, "it looked for the retry attempt");

    // Told by start, poll never reads the definition.
    let told = poll::handle(
        &env,
        event(json!({"runId": "nightly-sales/jr_0", "maxRetries": 0})),
    )
    .await
    .unwrap();
    assert_eq!((told.status, told.terminal), (RunStatus::Failed, true));
    assert_eq!(one_retry.num_calls(), 1, "no second GetJob");
}

#[tokio::test]
async fn a_failure_without_retries_left_is_final() {
    let get = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run("jr_1", 1, Some("jr_0"), 5))
            .build()
    });
    let runs = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = env(&[&get, &runs]);
    let output = poll::handle(
        &env,
        event(json!({"runId": "nightly-sales/jr_1", "maxRetries": 1})),
    )
    .await
    .unwrap();
    assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
    assert_eq!(output.error_message.as_deref(), Some("jr_1 failed"));
    assert_eq!(runs.num_calls(), 0, "no retry left: no search");
}

#[tokio::test]
async fn a_retry_glue_has_yet_to_start_keeps_the_loop_polling_for_a_while() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(failed_run("jr_0", 0, None, 5))
            .build()
    });
    let recent = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run("jr_0", 0, None, 5))
            .build()
    });
    let env_recent = env(&[&recent, &runs]);
    let output = poll::handle(
        &env_recent,
        event(json!({"runId": "nightly-sales/jr_0", "maxRetries": 1})),
    )
    .await
    .unwrap();
    assert_eq!(
        (output.status, output.terminal),
        (RunStatus::Starting, false)
    );
    assert_eq!(output.glue_state.as_deref(), Some("FAILED"));
    assert!(output.error_message.unwrap().contains("Glue retries it"));
    assert_eq!(output.next_poll_seconds, 15);

    // A retry that never came within the grace period: the failure is final.
    let old = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run("jr_0", 0, None, poll::RETRY_GRACE_SECONDS + 1))
            .build()
    });
    let env_old = env(&[&old, &runs]);
    let output = poll::handle(
        &env_old,
        event(json!({"runId": "nightly-sales/jr_0", "maxRetries": 1})),
    )
    .await
    .unwrap();
    assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
}

#[tokio::test]
async fn a_run_already_stopping_is_not_an_error_for_a_second_cancel() {
    // Already STOPPING when looked at: no second stop is asked.
    let get = get_run_sequence(&[JobRunState::Stopping]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    assert!(
        output.message.contains("already stopping"),
        "{}",
        output.message
    );
    assert_eq!(stop.num_calls(), 0);

    // Began stopping between the look and the stop: Glue refuses, and that is no error either.
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = stop_refused("InvalidInputException");
    let began_stopping = self::env(&[&get, &stop]);
    let output = cancel::handle(
        &began_stopping,
        event(json!({"runId": "nightly-sales/jr_1"})),
    )
    .await
    .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}

fn execution_event_with_input(status: &str, input: Value) -> Value {
    let mut event = execution_event(status);
    event["detail"]["input"] = json!(input.to_string());
    event
}

#[tokio::test]
async fn an_execution_whose_input_was_left_out_is_read_with_describe_execution() {
    let described = mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(|input| {
            input.execution_arn()
                == Some("arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7")
        })
        .then_output(|| {
            aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput::builder()
                .execution_arn("arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7")
                .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:glue-job")
                .status(aws_sdk_sfn::types::ExecutionStatus::Aborted)
                .start_date(DateTime::from_secs(1_795_867_200))
                .input(json!({"job": {"externalId": "nightly-sales"}}).to_string())
                .build()
                .unwrap()
        });
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]).with_states(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &[&described]
    ));
    let mut event = execution_event("ABORTED");
    event["detail"]["input"] = Value::Null;
    event["detail"]["inputDetails"] = json!({"included": false});
    let output = cancel::handle(&env, self::event(event.clone()))
        .await
        .unwrap();
    assert_eq!(described.num_calls(), 1);
    assert!(output.stop_requested);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));

    // Every status-change event carries the execution's ARN: without it, a clear error.
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("executionArn");
    match cancel::handle(&env, self::event(event)).await.unwrap_err() {
        PolysyncError::InvalidInput { field, .. } => assert_eq!(field, "detail.executionArn"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn executions_that_started_no_run_have_nothing_to_stop_and_say_why() {
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = self::env(&[&none]);
    // Start refused a misspelt attribute: cancel needs only the job's name.
    let refused = execution_event_with_input(
        "FAILED",
        json!({"job": {"externalId": "nightly-sales", "attributes": {"glueTimeoutMinute": 5}}}),
    );
    let output = cancel::handle(&env, event(refused)).await.unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("no run of Glue job nightly-sales"),
        "{}",
        output.message
    );
    assert_eq!(none.num_calls(), 1);

    // An input that names no job at all.
    for input in [
        json!({"job": "nightly-sales"}),
        json!([1, 2]),
        json!({"job": {"externalId": ""}}),
    ] {
        let output = cancel::handle(
            &env,
            event(execution_event_with_input("FAILED", input.clone())),
        )
        .await
        .unwrap();
        assert!(!output.stop_requested, "{input}");
        assert!(
            output.message.contains("names no Glue job"),
            "{}",
            output.message
        );
    }
    assert_eq!(none.num_calls(), 1, "nothing to look up without a job name");

    // A job that does not exist.
    let unknown = mock!(Client::get_job_runs)
        .sequence()
        .http_status(
            400,
            glue_error_body("EntityNotFoundException", "Job not found"),
        )
        .build();
    let unknown_job = self::env(&[&unknown]);
    let output = cancel::handle(&unknown_job, event(execution_event("FAILED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("does not exist"),
        "{}",
        output.message
    );
}

#[tokio::test]
async fn an_execution_aborted_during_start_is_looked_at_again_until_its_run_appears() {
    // The first look finds nothing: the start function is still waiting for StartJobRun.
    let runs = mock!(Client::get_job_runs)
        .sequence()
        .output(|| GetJobRunsOutput::builder().build())
        .output(|| {
            GetJobRunsOutput::builder()
                .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Starting))
                .build()
        })
        .build();
    let get = get_run_sequence(&[JobRunState::Starting, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = self::env(&[&runs, &get, &stop]);
    let mut aborted = execution_event("ABORTED");
    aborted["detail"]["stopDate"] = json!(DateTime::from(std::time::SystemTime::now())
        .to_millis()
        .unwrap());
    let output = cancel::handle(&env, event(aborted.clone())).await.unwrap();
    assert_eq!(runs.num_calls(), 2);
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);

    // Long after the abort no start can still be running: one look is enough.
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let long_after = self::env(&[&none]);
    aborted["detail"]["stopDate"] = json!(1_795_867_200_000_i64);
    let output = cancel::handle(&long_after, event(aborted)).await.unwrap();
    assert!(!output.stop_requested);
    assert_eq!(none.num_calls(), 1);
}

#[tokio::test]
async fn a_retried_start_looks_again_before_starting_a_second_run() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
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
    let env = env(&[&start_rule, &runs]);
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

#[tokio::test]
async fn a_failed_attempt_without_completed_on_ages_from_its_last_modification() {
    let now = DateTime::from(std::time::SystemTime::now()).secs();
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
    let env = env(&[&get, &runs]);
    let output = poll::handle(
        &env,
        event(json!({"runId": "nightly-sales/jr_0", "maxRetries": 1})),
    )
    .await
    .unwrap();
    assert_eq!(
        (output.status, output.terminal),
        (RunStatus::Failed, true),
        "the grace ends even without CompletedOn"
    );
}

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
        .then_output(move || {
            let mut output =
                aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput::builder();
            for message in rule_messages {
                output = output.events(
                    aws_sdk_cloudwatchlogs::types::OutputLogEvent::builder()
                        .message(*message)
                        .timestamp(1_795_867_500_000)
                        .build(),
                );
            }
            output.build()
        })
}

const DRIVER_LOG: &[&str] = &[
    "INFO GlueContext: job arguments --token canary-secret-7d41 --region eu",
    "Traceback (most recent call last):\n  File \"/tmp/nightly.py\", line 12, in <module>\n    df = spark.sql(\"select * from sales\")",
    "pyspark.sql.utils.AnalysisException: Table or view not found: sales; line 1 pos 14",
    "INFO ShutdownHookManager: Shutdown hook called",
];

#[tokio::test]
async fn a_failed_run_carries_its_error_log_redacted_and_what_it_used() {
    for state in [
        JobRunState::Failed,
        JobRunState::Timeout,
        JobRunState::Error,
    ] {
        let get = mock!(Client::get_job_run).then_output(move || {
            GetJobRunOutput::builder()
                .job_run(failed_run_with_secrets(state.clone()))
                .build()
        });
        let logs = log_events(DRIVER_LOG);
        let env = env(&[&get]).with_logs(common::logs_client(&[&logs]));
        let output = poll::handle(
            &env,
            event(json!({"runId": "nightly-sales/jr_9", "maxRetries": 0})),
        )
        .await
        .unwrap();
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

#[tokio::test]
async fn an_unreadable_log_gives_no_diagnosis_and_the_same_outcome() {
    let get = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(failed_run_with_secrets(JobRunState::Failed))
            .build()
    });
    let denied = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .http_status(
            400,
            Some(json!({"__type": "AccessDeniedException", "message": "no"}).to_string()),
        )
        .repeatedly()
        .build();
    for logs in [
        common::logs_client(&[&denied]),
        common::logs_client(&[&common::no_log_group()]),
    ] {
        let env = env(&[&get]).with_logs(logs);
        let output = poll::handle(
            &env,
            event(json!({"runId": "nightly-sales/jr_9", "maxRetries": 0})),
        )
        .await
        .unwrap();
        assert_eq!((output.status, output.terminal), (RunStatus::Failed, true));
        assert_eq!(output.diagnosis, None);
        assert_eq!(output.dpu_seconds, Some(1200.0));
    }
}

#[tokio::test]
async fn a_run_that_did_not_fail_reads_no_log() {
    let logs = log_events(DRIVER_LOG);
    for state in [JobRunState::Succeeded, JobRunState::Running] {
        let ended = state == JobRunState::Succeeded;
        let get = mock!(Client::get_job_run).then_output(move || {
            GetJobRunOutput::builder()
                .job_run(failed_run_with_secrets(state.clone()))
                .build()
        });
        let env = env(&[&get]).with_logs(common::logs_client(&[&logs]));
        let output = poll::handle(&env, event(json!({"runId": "nightly-sales/jr_9"})))
            .await
            .unwrap();
        assert_eq!(output.diagnosis, None);
        assert_eq!(output.dpu_seconds.is_some(), ended);
    }
    assert_eq!(logs.num_calls(), 0);
}

/// A successful run of `seconds`, started `days_ago` days ago.
fn past_run(days_ago: i64, seconds: i64) -> JobRun {
    let started = DateTime::from(std::time::SystemTime::now()).secs() - days_ago * 86_400;
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

#[tokio::test]
async fn start_tells_what_the_job_s_recent_successful_runs_took() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    // The newest run (1 s) counts too: 1, 3300, 3400, 3500, 3600, 3700.
    let history = history_of(&[3300, 3400, 3500, 3600, 3700]);
    let services = env(&[&start_rule, &history]);
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
    let services = env(&[&start_rule, &few]);
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

#[tokio::test]
async fn a_history_that_cannot_be_read_leaves_the_started_run_alone() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let denied = mock!(Client::get_job_runs)
        .sequence()
        .http_status(
            400,
            glue_error_body("AccessDeniedException", "not allowed: glue:GetJobRuns"),
        )
        .repeatedly()
        .build();
    let env = env(&[&start_rule, &denied]);
    let output = start::handle(&env, event(json!({"job": {"externalId": "nightly-sales"}})))
        .await
        .unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(output.expected_duration, None);
    assert_eq!(start_rule.num_calls(), 1, "one run, never a second");
}

fn running_for(seconds: i64) -> Rule {
    mock!(Client::get_job_run).then_output(move || {
        let started = DateTime::from(std::time::SystemTime::now()).secs() - seconds;
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

#[tokio::test]
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

#[tokio::test]
async fn poll_counts_its_execution_s_polls_and_hands_over_before_the_budget() {
    let rule = running_for(60);
    let services = env(&[&rule]);
    let poll_after = |polls: u64| {
        let services = &services;
        async move {
            let body = json!({"runId": "nightly-sales/jr_1", "polls": polls, "historyBudget": 60});
            poll::handle(services, event(body)).await.unwrap()
        }
    };
    // 60 events: came in (12), four polls (28), three waits (6) and the longest way out (13)
    // fit; a fifth turn would not.
    let third = poll_after(2).await;
    assert_eq!((third.polls, third.continue_as_child), (3, false));
    let fourth = poll_after(3).await;
    assert_eq!((fourth.polls, fourth.continue_as_child), (4, true));
    // Without a budget (a poll called alone), never.
    let alone = poll::handle(
        &services,
        event(json!({"runId": "nightly-sales/jr_1", "polls": 5000})),
    )
    .await
    .unwrap();
    assert!(!alone.continue_as_child);
    // A run over ends where it is: nothing to hand over.
    let done = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(run("jr_1", JobRunState::Succeeded))
            .build()
    });
    let over = poll::handle(
        &env(&[&done]),
        event(json!({"runId": "nightly-sales/jr_1", "polls": 3, "historyBudget": 60})),
    )
    .await
    .unwrap();
    assert!(over.terminal && !over.continue_as_child);
}

fn started_at(run: JobRun, started_secs: i64) -> JobRun {
    JobRun::builder()
        .set_id(run.id().map(str::to_owned))
        .set_job_run_state(run.job_run_state().cloned())
        .set_arguments(run.arguments().cloned())
        .started_on(DateTime::from_secs(started_secs))
        .build()
}

#[tokio::test]
async fn cancel_stops_only_the_run_of_its_own_execution_arn() {
    // Newest first: another stack's execution of the same name, an older caller's bare name,
    // then this execution's run.
    let other_stack = "arn:aws:states:us-east-1:123456789012:execution:dev-glue-job:exec-7";
    let runs = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_dev", other_stack, JobRunState::Running))
            .job_runs(tagged_run("jr_bare", "exec-7", JobRunState::Running))
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]);
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test]
async fn a_run_started_after_the_start_window_belongs_to_a_later_attempt_and_is_kept() {
    let stopped_ms = 1_795_867_200_000_i64;
    // A redriven attempt of the execution made a new run under the same tag ten minutes later.
    let runs = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(started_at(
                tagged_run("jr_redriven", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 600,
            ))
            .build()
    });
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &stop]);
    let mut late = execution_event("ABORTED");
    late["detail"]["stopDate"] = json!(stopped_ms);
    let output = cancel::handle(&env, event(late.clone())).await.unwrap();
    assert!(!output.stop_requested, "{}", output.message);
    assert_eq!(stop.num_calls(), 0);

    // Its own run, started within the window, is stopped.
    let own = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(started_at(
                tagged_run("jr_redriven", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 600,
            ))
            .job_runs(started_at(
                tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 30,
            ))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop_own = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = self::env(&[&own, &get, &stop_own]);
    let output = cancel::handle(&env, event(late)).await.unwrap();
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop_own.num_calls(), 1);
}

#[tokio::test]
async fn an_execution_running_again_has_nothing_stopped_and_one_gone_is_taken_as_ended() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    // Redriven since the event: running again, its run is followed and must live.
    let running = execution_described(aws_sdk_sfn::types::ExecutionStatus::Running);
    let env = env(&[&runs, &get, &stop]).with_states(states_client(&[&running]));
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("running again"),
        "{}",
        output.message
    );
    assert_eq!((runs.num_calls(), stop.num_calls()), (0, 0));

    // An execution that no longer exists ended as the event says.
    let gone = mock!(aws_sdk_sfn::Client::describe_execution)
        .sequence()
        .http_status(
            400,
            Some(
                json!({"__type": "ExecutionDoesNotExist", "message": "Execution Does Not Exist"})
                    .to_string(),
            ),
        )
        .build();
    let env = self::env(&[&runs, &get, &stop]).with_states(states_client(&[&gone]));
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test]
async fn cancel_stops_the_newest_glue_retry_attempt_of_the_run_it_is_given() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(
                JobRun::builder()
                    .id("jr_1")
                    .job_run_state(JobRunState::Running)
                    .attempt(1)
                    .previous_run_id("jr_0")
                    .build(),
            )
            .job_runs(failed_run("jr_0", 0, None, 30))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_0"})))
        .await
        .unwrap();
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test]
async fn an_invocation_past_its_send_window_never_starts_a_run() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let env = env(&[&start_rule]);
    let now_ms = DateTime::from(std::time::SystemTime::now())
        .to_millis()
        .unwrap() as u64;
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

#[tokio::test]
async fn a_redriven_start_adopts_the_aborted_attempt_s_run_or_waits_for_the_retry() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = env(&[&start_rule, &none]);
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
    let start_again = recording_start(&captured);
    let env = self::env(&[&start_again, &made]);
    let redriven = json!({"job": {"externalId": "nightly-sales"}, "executionId": EXECUTION_ARN,
                          "redriveCount": 2});
    let output = start::handle(&env, event(redriven)).await.unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_aborted");
    assert_eq!(start_again.num_calls(), 0);
}
