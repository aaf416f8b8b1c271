//! The fixtures in `events/` double as Step Functions and Lambda console examples: each is run
//! through its own function's handler, as the console would, against a mocked Glue.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::operation::get_jobs::GetJobsOutput;
use aws_sdk_glue::primitives::DateTime;
use aws_sdk_glue::types::{Job, JobCommand, JobRun, JobRunState, WorkerType};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, Rule};
use polysync_glue::{cancel, discover, poll, start};
use serde_json::Value;

mod common;
use common::{config_of, env, env_with, event, get_job_rule, recording_start};

/// Every file in `events/`, each run by a test below.
const FIXTURES: [&str; 8] = [
    "state-machine-input.json",
    "follow-run.json",
    "start.json",
    "start-python-shell.json",
    "poll.json",
    "cancel.json",
    "cancel-execution-aborted.json",
    "discover.json",
];

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_has_a_test_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let present: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let tested: BTreeSet<String> = FIXTURES.iter().map(|name| name.to_string()).collect();
    assert_eq!(present, tested);
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

#[tokio::test]
async fn the_start_fixtures_start_a_run() {
    for name in ["state-machine-input.json", "start.json"] {
        let captured = Arc::new(Mutex::new(Vec::new()));
        let start_rule = recording_start(&captured);
        let get_job = definition("glueetl", Some(WorkerType::G1X), Some(10));
        let output = start::handle(&env(&[&start_rule, &get_job]), event(fixture(name)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(output.job_name, "nightly-sales", "{name}");
        let request = &captured.lock().unwrap()[0];
        assert!(request.worker_type().is_some(), "{name}: sized by the job");
    }
    // start.json is what the state machine hands over: tagged with its execution.
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = definition("glueetl", Some(WorkerType::G1X), Some(10));
    start::handle(&env(&[&start_rule, &get_job]), event(fixture("start.json")))
        .await
        .unwrap();
    let request = &captured.lock().unwrap()[0];
    assert_eq!(
        request.arguments().unwrap()["--polysync-execution-id"],
        "console-test-1"
    );
}

#[tokio::test]
async fn the_python_shell_fixture_starts_without_workers_under_platform_defaults() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let start_rule = recording_start(&captured);
    let get_job = definition("pythonshell", None, None);
    let platform = config_of(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
    ]);
    let output = start::handle(
        &env_with(&[&start_rule, &get_job], platform),
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

#[tokio::test]
async fn the_poll_fixture_reads_its_run() {
    let get = mock!(Client::get_job_run).then_output(|| {
        GetJobRunOutput::builder()
            .job_run(run_in(JobRunState::Running))
            .build()
    });
    let output = poll::handle(&env(&[&get]), event(fixture("poll.json")))
        .await
        .unwrap();
    assert_eq!(output.run_id, "nightly-sales/jr_0123abcd");
    assert_eq!(output.glue_state.as_deref(), Some("RUNNING"));
}

#[tokio::test]
async fn the_follow_run_fixture_is_polled_around_its_expected_end() {
    // A state machine input that follows a run already started (as a child execution's does):
    // the state machine's Poll task hands on its run's expected duration and MaxRetries.
    let get = mock!(Client::get_job_run).then_output(|| {
        let fifteen_minutes_ago = DateTime::from(std::time::SystemTime::now()).secs() - 900;
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
    });
    let output = poll::handle(&env(&[&get]), event(poll_event))
        .await
        .unwrap();
    assert_eq!(output.run_id, input["runId"]);
    let without_history = poll::handle(&env(&[&get]), event(fixture("poll.json")))
        .await
        .unwrap();
    assert_ne!(
        output.next_poll_seconds, without_history.next_poll_seconds,
        "the expected duration changes the schedule"
    );
}

#[tokio::test]
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
        let output = cancel::handle(&env(&[&get, &runs, &stop]), event(fixture(name)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(output.stop_requested, "{name}");
        assert_eq!(stop.num_calls(), 1, "{name}");
    }
}

#[tokio::test]
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
