//! The Glue calls about one job that more than one handler makes, each within the
//! invocation's deadline and mapped to the contract's errors.

use std::future::Future;
use std::ops::ControlFlow;

use aws_sdk_glue::error::SdkError;
use aws_sdk_glue::types::{Job, JobRun};
use aws_sdk_glue::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::{Deadline, Service};
use crate::arguments::EXECUTION_ID_KEY;
use crate::error::{from_sdk, GlueServiceError, PolysyncError, RequestTarget};

/// How many of a job's newest runs any scan reads: an execution's tag, a retry attempt, the
/// recent successes. Step Functions retries a start within minutes and Glue retries a run at
/// once, so what is looked for is among the newest; the bound keeps a job with a long history
/// from costing a long scan.
pub const RECENT_RUNS_SCANNED: usize = 200;
/// GetJobRuns' page (Glue allows 1–200): the first page usually answers.
const RUNS_PAGE_SIZE: i32 = 50;

/// Sends one Glue request within `deadline`; its SDK error becomes the contract's, with the
/// hint for `target`.
pub async fn send_glue<T, E: GlueServiceError>(
    deadline: Deadline,
    operation: &'static str,
    target: Option<RequestTarget<'_>>,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, PolysyncError> {
    // Boxed: the SDK's request futures are deep, and nested in a handler's they pass rustc's
    // query depth limit when a binary computes its layout.
    let request = Box::pin(request);
    deadline
        .call(Service::Glue, operation, async move {
            request.await.map_err(|e| from_sdk(operation, target, e))
        })
        .await
}

/// One invocation's view of one Glue job.
#[derive(Debug, Clone, Copy)]
pub struct GlueJob<'a> {
    pub glue: &'a Client,
    pub target: RequestTarget<'a>,
    pub deadline: Deadline,
}

impl GlueJob<'_> {
    pub fn name(&self) -> &str {
        self.target.job_name
    }

    /// Sends one Glue request within the deadline; its SDK error becomes the contract's.
    pub async fn send<T, E: GlueServiceError>(
        &self,
        operation: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, PolysyncError> {
        send_glue(self.deadline, operation, Some(self.target), request).await
    }

    /// The job's definition (GetJob).
    pub async fn definition(&self) -> Result<Job, PolysyncError> {
        let answer = self
            .send("GetJob", self.glue.get_job().job_name(self.name()).send())
            .await?;
        answer
            .job
            .ok_or_else(|| PolysyncError::glue_unavailable("GetJob", "the answer carried no Job"))
    }

    pub async fn run(&self, job_run_id: &str) -> Result<JobRun, PolysyncError> {
        let request = self
            .glue
            .get_job_run()
            .job_name(self.name())
            .run_id(job_run_id)
            .send();
        self.send("GetJobRun", request)
            .await?
            .job_run
            .ok_or_else(|| {
                PolysyncError::glue_unavailable("GetJobRun", "the answer carried no JobRun")
            })
    }

    /// Shows the job's newest runs, newest first (as Glue lists them), to `visit` until it
    /// breaks or [`RECENT_RUNS_SCANNED`] have been shown.
    pub async fn scan_recent_runs(
        &self,
        mut visit: impl FnMut(&JobRun) -> ControlFlow<()>,
    ) -> Result<(), PolysyncError> {
        let mut pages = self
            .glue
            .get_job_runs()
            .job_name(self.name())
            .max_results(RUNS_PAGE_SIZE)
            .into_paginator()
            .send();
        let mut scanned = 0;
        loop {
            let Some(page) = self
                .send("GetJobRuns", async { pages.next().await.transpose() })
                .await?
            else {
                return Ok(());
            };
            for run in page.job_runs() {
                if visit(run).is_break() {
                    return Ok(());
                }
                scanned += 1;
                if scanned >= RECENT_RUNS_SCANNED {
                    return Ok(());
                }
            }
        }
    }

    /// The newest of the job's recent runs that `matches`.
    pub async fn find_recent_run(
        &self,
        matches: impl Fn(&JobRun) -> bool,
    ) -> Result<Option<JobRun>, PolysyncError> {
        let mut found = None;
        self.scan_recent_runs(|run| {
            if matches(run) {
                found = Some(run.clone());
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })
        .await?;
        Ok(found)
    }

    /// Glue's retry attempt of run `job_run_id` (the run whose `PreviousRunId` it is), if it
    /// made one.
    pub async fn next_attempt(&self, job_run_id: &str) -> Result<Option<JobRun>, PolysyncError> {
        self.find_recent_run(|run| run.previous_run_id() == Some(job_run_id))
            .await
    }

    /// The newest run tagged with `execution_id` (`--polysync-execution-id`) that is `also`
    /// what the caller looks for.
    pub async fn find_tagged_run(
        &self,
        execution_id: &str,
        also: impl Fn(&JobRun) -> bool,
    ) -> Result<Option<JobRun>, PolysyncError> {
        self.find_recent_run(|run| {
            run.arguments()
                .and_then(|arguments| arguments.get(EXECUTION_ID_KEY))
                .is_some_and(|tag| tag == execution_id)
                && also(run)
        })
        .await
    }
}
