//! The fixtures in `events/` double as Step Functions and Lambda console examples: each is run
//! through its own function's handler, as the console would, against a mocked Glue.

use std::path::Path;

use aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::operation::get_jobs::GetJobsOutput;
use aws_sdk_glue::primitives::DateTime;
use aws_sdk_glue::types::{Job, JobCommand, JobRun, JobRunState, WorkerType};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, Rule};
use polysync_glue::{cancel, discover, poll, start};
use serde_json::{json, Value};

use crate::common::*;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file in `events/`, read from the directory: a file named for a function
/// (`start*`, `poll*`, `cancel*`, `discover*`) is that function's event; any other is a state
/// machine input, which hands a job to start or a run to poll.
fn every_fixture() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| (name.clone(), fixture(&name)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_fixture_runs_through_its_function() {
    let fixtures = every_fixture();
    assert!(fixtures.len() >= 8, "{}", fixtures.len());
    for (name, payload) in fixtures {
        let (start_rule, _) = recording_start();
        let get_job = definition("glueetl", Some(WorkerType::G1X), Some(10));
        let runs = mock!(Client::get_job_runs).then_output(|| {
            GetJobRunsOutput::builder()
                .job_runs(run_in(JobRunState::Running))
                .build()
        });
        let get_run = answers_run(run_in(JobRunState::Running));
        let stop = mock!(Client::batch_stop_job_run)
            .then_output(|| BatchStopJobRunOutput::builder().build());
        let jobs = mock!(Client::get_jobs).then_output(|| {
            GetJobsOutput::builder()
                .jobs(Job::builder().name("nightly-sales").build())
                .build()
        });
        let env = env_of_ended_execution(&[&start_rule, &get_job, &runs, &get_run, &stop, &jobs]);
        let function = ["start", "poll", "cancel", "discover"]
            .into_iter()
            .find(|function| name.starts_with(function));
        let made = match (function, payload.get("runId")) {
            (Some("start"), _) | (None, None) => {
                start::handle(&env, event(payload))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                start_rule.num_calls()
            }
            (Some("poll"), _) => {
                poll::handle(&env, event(payload))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                get_run.num_calls()
            }
            // A state machine input that follows a run: what its Poll task hands over.
            (None, Some(run_id)) => {
                let poll_event = json!({
                    "runId": run_id,
                    "expectedDuration": payload["run"]["expectedDuration"],
                    "maxRetries": payload["run"]["maxRetries"],
                });
                poll::handle(&env, event(poll_event))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                get_run.num_calls()
            }
            (Some("cancel"), _) => {
                cancel::handle(&env, event(payload))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                stop.num_calls()
            }
            (Some(_), _) => {
                discover::handle(&env, event(payload))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                jobs.num_calls()
            }
        };
        assert_eq!(made, 1, "{name}: the function's own Glue call");
    }
}

fn definition(command: &str, worker_type: Option<WorkerType>, workers: Option<i32>) -> Rule {
    get_job_rule(
        Job::builder()
            .name("from-fixture")
            .command(JobCommand::builder().name(command).build())
            .glue_version("4.0")
            .set_worker_type(worker_type)
            .set_number_of_workers(workers)
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn the_start_fixtures_start_a_run() {
    for name in ["state-machine-input.json", "start.json"] {
        let (start_rule, captured) = recording_start();
        let get_job = definition("glueetl", Some(WorkerType::G1X), Some(10));
        let output = start::handle(
            &env(&[&start_rule, &get_job, &no_past_runs()]),
            event(fixture(name)),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(output.job_name, "nightly-sales", "{name}");
        let request = &captured.lock().unwrap()[0];
        assert!(request.worker_type().is_some(), "{name}: sized by the job");
    }
    // start.json is what the state machine hands over: tagged with its execution.
    let (start_rule, captured) = recording_start();
    let get_job = definition("glueetl", Some(WorkerType::G1X), Some(10));
    start::handle(
        &env(&[&start_rule, &get_job, &no_past_runs()]),
        event(fixture("start.json")),
    )
    .await
    .unwrap();
    let request = &captured.lock().unwrap()[0];
    assert_eq!(
        request.arguments().unwrap()["--polysync-execution-id"],
        "console-test-1"
    );
}

#[tokio::test(start_paused = true)]
async fn the_python_shell_fixture_starts_without_workers_under_platform_defaults() {
    let (start_rule, captured) = recording_start();
    let get_job = definition("pythonshell", None, None);
    let platform = config_of(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
    ]);
    let output = start::handle(
        &env_with(&[&start_rule, &get_job, &no_past_runs()], platform),
        event(fixture("start-python-shell.json")),
    )
    .await
    .unwrap();
    let request = &captured.lock().unwrap()[0];
    assert_eq!(
        (request.worker_type(), request.number_of_workers()),
        (None, None)
    );
    assert_eq!(request.timeout(), Some(30));
    assert_eq!(output.warnings.len(), 1, "{:?}", output.warnings);
}

fn run_in(state: JobRunState) -> JobRun {
    JobRun::builder()
        .id("jr_0123abcd")
        .job_run_state(state)
        .arguments(
            "--polysync-execution-id",
            "arn:aws:states:us-east-1:123456789012:execution:polysync-glue-job:nightly-sales-2026-11-28",
        )
        .build()
}

#[tokio::test(start_paused = true)]
async fn the_poll_fixture_reads_its_run() {
    let get = answers_run(run_in(JobRunState::Running));
    let output = poll::handle(&env(&[&get]), event(fixture("poll.json")))
        .await
        .unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(output.glue_state.as_deref(), Some("RUNNING"));
}

#[tokio::test(start_paused = true)]
async fn the_follow_run_fixture_is_polled_around_its_expected_end() {
    // A state machine input that follows a run already started (as a child execution's does):
    // the state machine's Poll task hands on its run's expected duration and MaxRetries.
    let get = mock!(Client::get_job_run).then_output(|| {
        let fifteen_minutes_ago = NOW_SECS - 900;
        let mut run = run_in(JobRunState::Running);
        run.started_on = Some(DateTime::from_secs(fifteen_minutes_ago));
        GetJobRunOutput::builder().job_run(run).build()
    });
    let input = fixture("follow-run.json");
    assert_eq!(input["run"]["runId"], input["runId"]);
    let poll_event = serde_json::json!({
        "runId": input["runId"],
        "expectedDuration": input["run"]["expectedDuration"],
        "maxRetries": input["run"]["maxRetries"],
        "lateNoticeSent": input["lateNoticeSent"],
    });
    let output = poll::handle(&env(&[&get]), event(poll_event))
        .await
        .unwrap();
    assert_eq!(output.run_id, input["runId"]);
    assert!(
        !output.late_notice_sent,
        "fifteen minutes into a run of about an hour"
    );
    let without_history = poll::handle(&env(&[&get]), event(fixture("poll.json")))
        .await
        .unwrap();
    assert_ne!(
        output.next_poll_seconds, without_history.next_poll_seconds,
        "the expected duration changes the schedule"
    );
}

#[tokio::test(start_paused = true)]
async fn the_cancel_fixtures_stop_their_run() {
    for name in ["cancel.json", "cancel-execution-aborted.json"] {
        let get = mock!(Client::get_job_run)
            .sequence()
            .output(|| {
                GetJobRunOutput::builder()
                    .job_run(run_in(JobRunState::Running))
                    .build()
            })
            .output(|| {
                GetJobRunOutput::builder()
                    .job_run(run_in(JobRunState::Stopping))
                    .build()
            })
            .build();
        let runs = mock!(Client::get_job_runs).then_output(|| {
            GetJobRunsOutput::builder()
                .job_runs(run_in(JobRunState::Running))
                .build()
        });
        let stop = mock!(Client::batch_stop_job_run)
            .match_requests(|input| {
                input.job_name() == Some("nightly-sales") && input.job_run_ids() == ["jr_0123abcd"]
            })
            .then_output(|| BatchStopJobRunOutput::builder().build());
        let output = cancel::handle(
            &env_of_ended_execution(&[&get, &runs, &stop]),
            event(fixture(name)),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(output.stop_requested, "{name}");
        assert_eq!(stop.num_calls(), 1, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_discover_fixture_reads_the_first_page() {
    let jobs = mock!(Client::get_jobs)
        .match_requests(|input| input.next_token().is_none())
        .then_output(|| {
            GetJobsOutput::builder()
                .jobs(Job::builder().name("nightly-sales").build())
                .build()
        });
    let output = discover::handle(&env(&[&jobs]), event(fixture("discover.json")))
        .await
        .unwrap();
    assert_eq!(output.jobs.len(), 1);
    assert_eq!(output.next_token, None);
}
