//! The real handlers against the local Glue stand-in over HTTP: what goes over the wire is what
//! Glue's protocol expects, and what comes back is read as the contract says.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_glue::types::WorkerType;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use polysync_glue::config::Config;
use polysync_glue::event::{PollOutput, Source, StartOutput};
use polysync_glue::status::RunStatus;
use polysync_glue::{cancel, discover, poll, start, PolysyncError, Services};
use polysync_glue_integration::{unique, Definition, StandIn, FUNCTION_ARN};
use serde_json::{json, Value};

fn event(payload: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.invoked_function_arn = FUNCTION_ARN.to_owned();
    LambdaEvent::new(payload, context)
}

fn error_type(error: PolysyncError) -> String {
    Diagnostic::from(error).error_type
}

/// The StartJobRun request body the stand-in received for `job_name`.
fn wire_request(standin: &StandIn, job_name: &str) -> Value {
    let mut found: Vec<Value> = standin
        .requests("StartJobRun")
        .into_iter()
        .filter(|body| body["JobName"] == job_name)
        .collect();
    assert_eq!(found.len(), 1, "one StartJobRun for {job_name}");
    found.remove(0)
}

#[tokio::test]
async fn start_sends_each_precedence_combination_over_the_wire() {
    let standin = StandIn::shared();
    let platform = Config::from_vars(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "3"),
        ("POLYSYNC_GLUE_VERSION", "5.0"),
        ("POLYSYNC_GLUE_TIMEOUT_MINUTES", "90"),
    ])
    .unwrap();
    /// What StartJobRun must carry: WorkerType, NumberOfWorkers, Timeout, --glue-version.
    type Expected = (
        Option<&'static str>,
        Option<i64>,
        Option<i64>,
        Option<&'static str>,
    );
    let cases: [(Value, bool, Expected); 6] = [
        (
            json!({"glueWorkerType": "G.4X", "glueNumberOfWorkers": 8, "glueTimeoutMinutes": 60, "glueVersion": "4.0"}),
            true,
            (Some("G.4X"), Some(8), Some(60), Some("4.0")),
        ),
        (
            json!({}),
            true,
            (Some("G.2X"), Some(3), Some(90), Some("5.0")),
        ),
        (json!({}), false, (None, None, None, None)),
        (
            json!({"glueTimeoutMinutes": 15}),
            true,
            (Some("G.2X"), Some(3), Some(15), Some("5.0")),
        ),
        // half a pair: the other half is read from the definition (G.1X × 5)
        (
            json!({"glueWorkerType": "G.8X"}),
            false,
            (Some("G.8X"), Some(5), None, None),
        ),
        (
            json!({"glueNumberOfWorkers": "12"}),
            false,
            (Some("G.1X"), Some(12), None, None),
        ),
    ];
    for (attributes, with_platform, (worker_type, workers, timeout, version)) in cases {
        let name = unique("precedence");
        standin.create_job(&name, Definition::default()).await;
        let env = standin
            .env(if with_platform {
                platform.clone()
            } else {
                Config::default()
            })
            .await;
        let payload = json!({
            "job": {"externalId": name, "attributes": attributes},
            "parameters": [{"name": "day", "direction": "Input", "value": "2026-11-28"}],
            "executionId": format!("exec-{name}")
        });
        let output = start::handle(&env, event(payload)).await.unwrap();

        let wire = wire_request(standin, &name);
        let case = format!("{attributes} platform={with_platform}");
        assert_eq!(wire["WorkerType"].as_str(), worker_type, "{case}");
        assert_eq!(wire["NumberOfWorkers"].as_i64(), workers, "{case}");
        assert_eq!(wire["Timeout"].as_i64(), timeout, "{case}");
        let mut expected_arguments =
            json!({"--day": "2026-11-28", "--polysync-execution-id": format!("exec-{name}")});
        if let Some(version) = version {
            expected_arguments["--glue-version"] = json!(version);
        }
        assert_eq!(wire["Arguments"], expected_arguments, "{case}");

        // The run Glue stored carries the same.
        let run = standin
            .glue()
            .get_job_run()
            .job_name(&name)
            .run_id(&output.job_run_id)
            .send()
            .await
            .unwrap()
            .job_run
            .unwrap();
        let stored: HashMap<String, String> = run.arguments.clone().unwrap();
        assert_eq!(stored["--day"], "2026-11-28");
        assert_eq!(stored.get("--glue-version").map(String::as_str), version);
        if let Some(worker_type) = worker_type {
            assert_eq!(
                run.worker_type().map(|w| w.as_str()),
                Some(worker_type),
                "{case}"
            );
            assert_eq!(run.number_of_workers().map(i64::from), workers, "{case}");
        }
        if let Some(timeout) = timeout {
            assert_eq!(run.timeout().map(i64::from), Some(timeout), "{case}");
        }
        assert_eq!(output.run_id, format!("{name}/{}", output.job_run_id));
    }
}

#[tokio::test]
async fn start_reports_where_each_compute_value_came_from() {
    let standin = StandIn::shared();
    let name = unique("sources");
    standin.create_job(&name, Definition::default()).await;
    let env = standin.env(Config::default()).await;
    let payload = json!({"job": {"externalId": name, "attributes": {"glueNumberOfWorkers": 4}}});
    let output = start::handle(&env, event(payload)).await.unwrap();
    assert_eq!(output.compute.number_of_workers.source, Source::Job);
    assert_eq!(output.compute.worker_type.source, Source::Definition);
    assert_eq!(output.compute.worker_type.value.as_deref(), Some("G.1X"));
    assert_eq!(output.compute.timeout_minutes.value, Some(2880));
    assert_eq!(output.compute.glue_version.value.as_deref(), Some("4.0"));
    assert_eq!(
        standin
            .requests("GetJob")
            .iter()
            .filter(|b| b["JobName"] == name)
            .count(),
        1
    );
}

/// Polls as the state machine does: the run and what start told of its job.
async fn poll_until_terminal(env: &Services, started: &StartOutput) -> (Vec<String>, PollOutput) {
    let run_id = &started.run_id;
    let told = json!({ "runId": run_id, "maxRetries": started.max_retries });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let output = poll::handle(env, event(told.clone())).await.unwrap();
        let state = output.glue_state.clone().unwrap_or_default();
        if seen.last() != Some(&state) {
            seen.push(state);
        }
        if output.terminal {
            return (seen, output);
        }
        assert!(
            Instant::now() < deadline,
            "{run_id} never ended; saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn poll_follows_a_run_to_each_final_state() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let ends = [
        ("SUCCEEDED", RunStatus::Success, None),
        (
            "FAILED",
            RunStatus::Failed,
            Some("Py4JJavaError: table not found"),
        ),
        (
            "TIMEOUT",
            RunStatus::Failed,
            Some("raise Glue Timeout (Minutes)"),
        ),
        ("ERROR", RunStatus::Failed, Some("ERROR (scripted)")),
        ("EXPIRED", RunStatus::Unknown, None),
    ];
    for (end, status, message) in ends {
        let name = unique(&format!("ends-{}", end.to_lowercase()));
        standin.create_job(&name, Definition::default()).await;
        let mut script = json!({"starting": 0.3, "waiting": 0.3, "running": 0.6, "end": end});
        if end == "FAILED" {
            script["errorMessage"] = json!("Py4JJavaError: table not found");
        }
        standin.script(&name, script);
        let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
            .await
            .unwrap();
        let (seen, last) = poll_until_terminal(&env, &started).await;
        assert_eq!(seen, ["STARTING", "WAITING", "RUNNING", end], "{end}");
        assert_eq!(last.status, status, "{end}");
        assert!(last.terminal);
        match message {
            Some(text) => assert!(
                last.error_message
                    .as_deref()
                    .unwrap_or_default()
                    .contains(text),
                "{end}: {:?}",
                last.error_message
            ),
            None => assert_eq!(last.error_message, None, "{end}"),
        }
        assert!(last.completed_on.is_some(), "{end}");
        assert!((15..=600).contains(&last.next_poll_seconds));
    }
}

#[tokio::test]
async fn cancel_stops_a_running_run_and_leaves_a_finished_one_alone() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let name = unique("cancel");
    standin.create_job(&name, Definition::default()).await;
    standin.script(
        &name,
        json!({"starting": 0.1, "running": 60, "stopping": 0.5}),
    );
    let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
        .await
        .unwrap();

    let output = cancel::handle(&env, event(json!({"runId": started.run_id})))
        .await
        .unwrap();
    assert!(output.stop_requested, "{output:?}");
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    let stops = standin.requests("BatchStopJobRun");
    assert!(stops
        .iter()
        .any(|b| b["JobName"] == name && b["JobRunIds"] == json!([started.job_run_id])));

    let (seen, last) = poll_until_terminal(&env, &started).await;
    assert_eq!(seen.last().map(String::as_str), Some("STOPPED"));
    assert_eq!(last.status, RunStatus::Cancelled);

    let again = cancel::handle(&env, event(json!({"runId": started.run_id})))
        .await
        .unwrap();
    assert!(!again.stop_requested);
    assert_eq!(again.status, RunStatus::Cancelled);
}

#[tokio::test]
async fn unknown_jobs_and_runs_are_entity_not_found() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let missing = unique("missing");
    let error = start::handle(&env, event(json!({"job": {"externalId": missing}})))
        .await
        .unwrap_err();
    assert_eq!(error_type(error), "Glue.EntityNotFoundException");

    let name = unique("known");
    standin.create_job(&name, Definition::default()).await;
    let run_id = format!("{name}/jr_does_not_exist");
    let error = poll::handle(&env, event(json!({ "runId": run_id })))
        .await
        .unwrap_err();
    assert_eq!(error_type(error), "Glue.EntityNotFoundException");
    let error = cancel::handle(&env, event(json!({ "runId": run_id })))
        .await
        .unwrap_err();
    assert_eq!(error_type(error), "Glue.EntityNotFoundException");
}

#[tokio::test]
async fn a_second_run_beyond_max_concurrent_runs_is_refused_by_glue() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let name = unique("concurrent");
    standin
        .create_job(
            &name,
            Definition {
                max_concurrent_runs: 1,
                ..Definition::default()
            },
        )
        .await;
    standin.script(&name, json!({"starting": 0.1, "running": 60}));
    let payload = json!({"job": {"externalId": name}});
    start::handle(&env, event(payload.clone())).await.unwrap();
    let error = start::handle(&env, event(payload)).await.unwrap_err();
    assert_eq!(error_type(error), "Glue.ConcurrentRunsExceededException");
    assert_eq!(
        standin
            .requests("StartJobRun")
            .iter()
            .filter(|b| b["JobName"] == name)
            .count(),
        2
    );
}

#[tokio::test]
async fn poll_follows_glue_retry_attempts_to_the_last_outcome() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let name = unique("retries");
    standin
        .create_job(
            &name,
            Definition {
                max_retries: 1,
                ..Definition::default()
            },
        )
        .await;
    standin.script(
        &name,
        json!({"starting": 0.1, "running": 0.3, "attempts": [{"end": "FAILED", "errorMessage": "first"}, {"end": "SUCCEEDED"}]}),
    );
    let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
        .await
        .unwrap();
    let (_, last) = poll_until_terminal(&env, &started).await;
    assert_eq!(last.status, RunStatus::Success);
    assert_eq!(last.attempt, 1);
    let runs = standin
        .glue()
        .get_job_runs()
        .job_name(&name)
        .send()
        .await
        .unwrap();
    let retry = &runs.job_runs()[0];
    assert_eq!(retry.previous_run_id(), Some(started.job_run_id.as_str()));
    assert_eq!(
        last.run_id,
        format!("{name}/{}", retry.id().unwrap()),
        "runId moved to the retry"
    );
}

#[tokio::test]
async fn reads_ride_out_injected_throttling() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let name = unique("throttled");
    standin.create_job(&name, Definition::default()).await;
    let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
        .await
        .unwrap();
    standin.fault(json!({"operation": "GetJobRun", "kind": "throttle", "count": 2, "job": name}));
    let output = poll::handle(&env, event(json!({"runId": started.run_id})))
        .await
        .unwrap();
    assert_eq!(output.run_id, started.run_id);
    // Two throttled attempts and the one that went through, all within one poll.
    let attempts = standin
        .requests("GetJobRun")
        .iter()
        .filter(|b| b["JobName"] == name)
        .count();
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn discovery_of_260_jobs_yields_every_job_once_across_pages() {
    // Its own stand-in: no other test's jobs in the account.
    let standin = StandIn::start();
    for index in 0..260 {
        let name = format!("etl-{index:03}");
        let definition = Definition {
            timeout: (index % 2 == 0).then_some(60),
            default_arguments: vec![
                ("--run_date".into(), "2026-01-01".into()),
                ("--TempDir".into(), "s3://tmp/".into()),
                ("--job-bookmark-option".into(), "job-bookmark-enable".into()),
                ("--enable-metrics".into(), "true".into()),
                ("table".into(), format!("t{index}")),
            ],
            ..Definition::default()
        };
        standin.create_job(&name, definition).await;
    }
    let env = standin.env(Config::default()).await;
    let mut seen: Vec<String> = Vec::new();
    let mut token = Value::Null;
    let mut pages = 0;
    loop {
        let output = discover::handle(&env, event(json!({ "nextToken": token })))
            .await
            .unwrap();
        pages += 1;
        for job in &output.jobs {
            let index: usize = job.external_id[4..].parse().unwrap();
            assert_eq!(job.job_type, "AWS Glue Job");
            assert_eq!(job.attributes.glue_worker_type.as_deref(), Some("G.1X"));
            assert_eq!(job.attributes.glue_number_of_workers, Some(5));
            assert_eq!(job.attributes.glue_version.as_deref(), Some("4.0"));
            assert_eq!(
                job.attributes.glue_timeout_minutes,
                (index % 2 == 0).then_some(60)
            );
            let parameters: Vec<(&str, &str)> = job
                .parameters
                .iter()
                .map(|p| (p.name.as_str(), p.value.as_str()))
                .collect();
            assert_eq!(
                parameters,
                [
                    ("run_date", "2026-01-01"),
                    ("table", format!("t{index}").as_str())
                ]
            );
        }
        seen.extend(output.jobs.into_iter().map(|job| job.external_id));
        match output.next_token {
            Some(next) => token = json!(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    let expected: Vec<String> = (0..260).map(|i| format!("etl-{i:03}")).collect();
    assert_eq!(seen, expected);
    let calls = standin.requests("GetJobs");
    assert!(
        calls.iter().all(|body| body["MaxResults"] == 100),
        "{calls:?}"
    );

    // With the platform's prefix, only the jobs the functions may run are listed.
    let env = standin
        .env(Config::from_vars(&[("POLYSYNC_GLUE_JOB_NAME_PREFIX", "etl-1")]).unwrap())
        .await;
    let mut seen: Vec<String> = Vec::new();
    let mut token = Value::Null;
    loop {
        let output = discover::handle(&env, event(json!({ "nextToken": token })))
            .await
            .unwrap();
        seen.extend(output.jobs.into_iter().map(|job| job.external_id));
        match output.next_token {
            Some(next) => token = json!(next),
            None => break,
        }
    }
    seen.sort();
    let expected: Vec<String> = (100..200).map(|i| format!("etl-{i:03}")).collect();
    assert_eq!(seen, expected);
}

/// What Glue refuses on StartJobRun, the stand-in refuses too, with Glue's code and message:
/// the raw SDK, without our checks, meets each rule. Each case says where its wording comes
/// from: Glue's answer where it is on record, else the stand-in's own, in the same form (and
/// then the test shows the rule, not Glue's words).
#[tokio::test]
async fn the_stand_in_refuses_what_glue_refuses_for_the_job_s_kind() {
    const OURS: &str = "not on record: the stand-in's wording, in the form of Glue's others";
    let standin = StandIn::shared();
    let glue = standin.glue();
    // (definition, worker type, workers, Glue's message, where the wording comes from)
    type Case = (
        Definition,
        Option<WorkerType>,
        Option<i32>,
        &'static str,
        &'static str,
    );
    let cases: [Case; 6] = [
        (
            Definition::python_shell(),
            Some(WorkerType::G1X),
            Some(2),
            "Worker Type is not supported for Job Command pythonshell",
            "Glue's answer, quoted in cloudposse/terraform-aws-glue#42",
        ),
        (
            Definition::default(),
            Some(WorkerType::G2X),
            None,
            "must be specified together",
            OURS,
        ),
        (
            Definition::default(),
            None,
            Some(4),
            "must be specified together",
            OURS,
        ),
        (
            Definition::ray(),
            Some(WorkerType::G2X),
            Some(4),
            "Worker Type G.2X is not supported for Job Command glueray",
            OURS,
        ),
        (
            Definition::streaming(),
            Some(WorkerType::Z2X),
            Some(4),
            "Worker Type Z.2X is not supported for Job Command gluestreaming",
            "Glue's answer for a Spark job, quoted in issue 10",
        ),
        (
            Definition::default(),
            Some(WorkerType::G1X),
            Some(1),
            "To use Worker Type G.1X, minimum allowed value of Number of Workers is 2",
            "Glue's answer, quoted in issue 10",
        ),
    ];
    for (definition, worker_type, workers, message, wording) in cases {
        let name = unique("glue-refuses");
        let command = definition.command;
        standin.create_job(&name, definition).await;
        let error = glue
            .start_job_run()
            .job_name(&name)
            .set_worker_type(worker_type)
            .set_number_of_workers(workers)
            .send()
            .await
            .unwrap_err();
        let service = error.into_service_error();
        assert!(
            service.is_invalid_input_exception(),
            "{command}: {service:?}"
        );
        assert!(
            service
                .meta()
                .message()
                .unwrap_or_default()
                .contains(message),
            "{command} ({wording}): {service:?}"
        );
    }
}

/// Under platform defaults G.2X × 5, every kind of job starts and runs to its end on a
/// stand-in that refuses what Glue refuses: the defaults go only where the kind takes them.
#[tokio::test]
async fn every_kind_of_job_starts_under_platform_defaults() {
    let standin = StandIn::shared();
    let env = standin
        .env(
            Config::from_vars(&[
                ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
                ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
            ])
            .unwrap(),
        )
        .await;
    let cases = [
        (Definition::default(), Some(("G.2X", 5))),
        (Definition::streaming(), Some(("G.2X", 5))),
        (Definition::python_shell(), None),
        (Definition::ray(), None),
    ];
    for (definition, sent) in cases {
        let command = definition.command;
        let name = unique(&format!("kind-{command}"));
        standin.create_job(&name, definition).await;
        standin.script(
            &name,
            json!({"starting": 0.2, "running": 0.3, "end": "SUCCEEDED"}),
        );
        let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        let wire = wire_request(standin, &name);
        let wire_pair = wire["WorkerType"]
            .as_str()
            .zip(wire["NumberOfWorkers"].as_i64());
        assert_eq!(wire_pair, sent.map(|(t, n)| (t, i64::from(n))), "{command}");
        assert_eq!(
            started.warnings.len(),
            usize::from(sent.is_none()),
            "{command}"
        );
        let (_, last) = poll_until_terminal(&env, &started).await;
        assert_eq!(last.status, RunStatus::Success, "{command}");
    }
}

/// The SDK configuration the functions build: reads ride out server faults and a hung attempt,
/// StartJobRun is never retried by the SDK (a lost reply would make a second run).
#[tokio::test]
async fn the_functions_own_sdk_configuration_retries_reads_and_never_start_job_run() {
    let standin = StandIn::shared();
    let env = standin.env(Config::default()).await;
    let name = unique("sdk-config");
    standin.create_job(&name, Definition::default()).await;
    let count = |operation: &str| {
        standin
            .requests(operation)
            .iter()
            .filter(|body| body["JobName"] == name)
            .count()
    };

    standin.fault(json!({"operation": "StartJobRun", "kind": "http500", "count": 1, "job": name}));
    let error = start::handle(&env, event(json!({"job": {"externalId": name}})))
        .await
        .unwrap_err();
    assert_eq!(error_type(error), "Glue.Unavailable");
    assert_eq!(
        count("StartJobRun"),
        1,
        "StartJobRun is not retried by the SDK"
    );

    let started = start::handle(&env, event(json!({"job": {"externalId": name}})))
        .await
        .unwrap();
    standin.fault(json!({"operation": "GetJobRun", "kind": "http500", "count": 2, "job": name}));
    poll::handle(&env, event(json!({"runId": started.run_id})))
        .await
        .unwrap();
    assert_eq!(count("GetJobRun"), 3, "two server faults, then the answer");

    // An attempt that hangs past the attempt timeout is abandoned and tried again.
    standin.fault(
        json!({"operation": "GetJobRun", "kind": "slow", "seconds": 12, "count": 1, "job": name}),
    );
    let began = Instant::now();
    poll::handle(&env, event(json!({"runId": started.run_id})))
        .await
        .unwrap();
    assert!(began.elapsed() >= polysync_glue::aws::ATTEMPT_TIMEOUT);
    assert_eq!(count("GetJobRun"), 5);
}
