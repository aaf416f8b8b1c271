//! Handler CPU per invocation, without Glue: what each function spends on validation, mapping
//! and JSON. `cargo bench -p polysync-glue --bench mapping`

use std::hint::black_box;

use aws_sdk_glue::types::{Job, JobRun, JobRunState, WorkerType};
use aws_smithy_types::DateTime;
use criterion::{criterion_group, criterion_main, Criterion};
use polysync_glue::config::Config;
use polysync_glue::discover::import_job;
use polysync_glue::event::DiscoverOutput;
use polysync_glue::poll::poll_output;
use polysync_glue::polling::PollTiming;
use polysync_glue::run_id::RunId;
use polysync_glue::start::StartPlan;
use serde_json::json;

fn start_event() -> serde_json::Value {
    let mut parameters: Vec<_> = (0..20)
        .map(|i| json!({"name": format!("param_{i}"), "direction": "Input", "value": format!("value-{i}")}))
        .collect();
    parameters.push(
        json!({"name": "options", "direction": "Input", "value": {"a": [1, 2, 3], "b": true}}),
    );
    parameters.push(json!({"name": "rows_written", "direction": "Output"}));
    json!({
        "job": {"externalId": "nightly-sales", "jobType": "AWS Glue Job",
                "attributes": {"glueWorkerType": "G.2X", "glueNumberOfWorkers": 10, "glueVersion": "4.0",
                               "glueTimeoutMinutes": 120, "glueMaxRetries": 1}},
        "parameters": parameters,
        "executionId": "nightly-sales-2026-11-28",
        "retryCount": 0
    })
}

/// The same event asking every run option of StartJobRun as well.
fn start_event_with_run_options() -> serde_json::Value {
    let mut event = start_event();
    let attributes = &mut event["job"]["attributes"];
    attributes["glueExecutionClass"] = json!("STANDARD");
    attributes["glueJobRunQueuing"] = json!(false);
    attributes["glueNotifyDelayAfterMinutes"] = json!(90);
    attributes["glueSecurityConfiguration"] = json!("lake-kms");
    event
}

fn glue_job(index: usize) -> Job {
    let mut job = Job::builder()
        .name(format!("job-{index:05}"))
        .worker_type(WorkerType::G1X)
        .number_of_workers(10)
        .glue_version("4.0")
        .timeout(2880)
        .default_arguments("--TempDir", "s3://tmp/")
        .default_arguments("--enable-metrics", "true");
    for i in 0..10 {
        job = job.default_arguments(format!("--param_{i}"), format!("value-{i}"));
    }
    job.build()
}

fn benches(c: &mut Criterion) {
    let config = Config::default();
    let event = start_event();
    c.bench_function("start: validate and plan a 22-parameter event", |b| {
        b.iter(|| StartPlan::from_event(black_box(event.clone()), &config).unwrap())
    });
    let with_options = start_event_with_run_options();
    c.bench_function(
        "start: validate and plan a 22-parameter event with the run options",
        |b| b.iter(|| StartPlan::from_event(black_box(with_options.clone()), &config).unwrap()),
    );

    let bounds = Config::default().poll;
    let run_id = RunId::new("nightly-sales", "jr_0123abcd");
    let run = JobRun::builder()
        .id("jr_0123abcd")
        .job_run_state(JobRunState::Running)
        .started_on(DateTime::from_secs(1_795_867_201))
        .execution_time(42)
        .build();
    c.bench_function("poll: map a run and serialize the output", |b| {
        b.iter(|| {
            let output = poll_output(
                "us-east-1",
                PollTiming {
                    bounds,
                    expected: None,
                },
                &run_id,
                black_box(&run),
                1_795_870_000,
            );
            serde_json::to_vec(&output).unwrap()
        })
    });

    let jobs: Vec<Job> = (0..100).map(glue_job).collect();
    c.bench_function("discover: import and serialize a page of 100 jobs", |b| {
        b.iter(|| {
            let page = DiscoverOutput {
                jobs: black_box(&jobs).iter().map(import_job).collect(),
                next_token: None,
            };
            serde_json::to_vec(&page).unwrap()
        })
    });
}

criterion_group!(mapping, benches);
criterion_main!(mapping);
