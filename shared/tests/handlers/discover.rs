//! The discover function: Glue's pages, split and resumed.

use aws_sdk_glue::operation::get_jobs::GetJobsOutput;
use aws_sdk_glue::types::{Job, WorkerType};
use aws_sdk_glue::Client;
use aws_smithy_mocks::mock;
use polysync_glue::discover;
use serde_json::{json, Value};

use crate::common::*;

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

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
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
