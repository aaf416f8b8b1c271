//! The start function: validate the job, resolve compute and arguments, StartJobRun.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_glue::config::retry::RetryConfig;
use aws_sdk_glue::types::JobRun;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::arguments::{self, Arguments, EXECUTION_ID_KEY, GLUE_VERSION_KEY};
use crate::aws::{account_of, format_time, Deadline, GlueJob, Services};
use crate::compute::{Compute, JobCompute};
use crate::config::{Config, JOB_NAME_PREFIX_VAR};
use crate::error::PolysyncError;
use crate::event::{parse_event, require_start_objects, StartEvent, StartOutput, JOB_TYPE};
use crate::history::{read_expected_duration, ExpectedDuration, READ_TIMEOUT};
use crate::monitor::monitor_url;
use crate::run_id::RunId;
use crate::status::RunStatus;

const MAX_JOB_NAME_CHARS: usize = 255;
/// A retried start looks for its execution's run a second time after this long before it
/// starts one: GetJobRuns may not list a run the first attempt started moments ago.
pub const ADOPTION_LOOK_AGAIN_AFTER: Duration = Duration::from_secs(2);
/// The execution ARN the state machine passes (at most about 220 characters: a state machine
/// and an execution name of 80 each), or a bare execution name from an older caller.
const MAX_EXECUTION_ID_CHARS: usize = 256;

/// The start function's Lambda timeout (template.yaml, StartFunction `Timeout`).
pub const START_FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);
/// An invocation sends StartJobRun only within this long of its beginning, and never after.
/// Lambda may report an invocation failed while it still runs (`Lambda.ServiceException` and
/// the other 500-class errors); the state machine then retries only after
/// [`RETRY_AFTER_INTERRUPTED_START`], by which time any StartJobRun of that invocation has been
/// sent, answered or given up ([`crate::aws::ATTEMPT_TIMEOUT`]) and its run is listed.
pub const START_SEND_WINDOW: Duration = Duration::from_secs(20);
/// Time for GetJobRuns to list a run StartJobRun just made.
pub const RUN_LISTING_LAG: Duration = Duration::from_secs(15);
/// The least `IntervalSeconds` of the Start task's retrier for the errors after which the
/// failed invocation may still be running (statemachine/glue-job.asl.json).
pub const RETRY_AFTER_INTERRUPTED_START: Duration = Duration::from_secs(
    START_SEND_WINDOW.as_secs() + crate::aws::ATTEMPT_TIMEOUT.as_secs() + RUN_LISTING_LAG.as_secs(),
);

/// A validated start event: everything decided before Glue is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPlan {
    pub job_name: String,
    pub arguments: Arguments,
    pub compute: Compute,
    pub execution_id: Option<String>,
    pub retry_count: u32,
    pub redrive_count: u32,
}

fn one_line(field: &str, text: &str, max_chars: usize) -> Result<(), PolysyncError> {
    if text.trim().is_empty() {
        return Err(PolysyncError::invalid(field, "must not be empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(PolysyncError::invalid(
            field,
            "must be one line without control characters",
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(PolysyncError::invalid(
            field,
            format!("must be at most {max_chars} characters, not {chars}"),
        ));
    }
    Ok(())
}

impl StartPlan {
    pub fn from_event(event: Value, config: &Config) -> Result<Self, PolysyncError> {
        require_start_objects(&event)?;
        let event: StartEvent = parse_event(event)?;
        let job = &event.job;
        one_line("job.externalId", &job.external_id, MAX_JOB_NAME_CHARS)?;
        // The functions' IAM covers only these jobs: say so, rather than meet AccessDenied.
        if !config.covers_job(&job.external_id) {
            return Err(PolysyncError::invalid(
                "job.externalId",
                format!(
                    "Glue job {:?} does not start with {:?} ({JOB_NAME_PREFIX_VAR}), the prefix \
                     of the jobs this platform may run",
                    job.external_id, config.job_name_prefix
                ),
            ));
        }
        if let Some(job_type) = job.job_type.as_deref() {
            if job_type != JOB_TYPE {
                return Err(PolysyncError::invalid(
                    "job.jobType",
                    format!("must be {JOB_TYPE:?}, not {job_type:?}"),
                ));
            }
        }
        if let Some(execution_id) = event.execution_id.as_deref() {
            one_line("executionId", execution_id, MAX_EXECUTION_ID_CHARS)?;
        }
        let job_compute = JobCompute::from_attributes(&job.attributes.clone().unwrap_or_default())?;
        let compute = Compute::resolve(&job_compute, &config.defaults);
        let mut arguments = arguments::build(&event.parameters, config.allow_code_arguments)?;
        if let Some(version) = compute.glue_version() {
            arguments.push(GLUE_VERSION_KEY, version.to_owned());
        }
        let execution_id = event.execution_id.filter(|_| config.execution_tag);
        if let Some(execution_id) = &execution_id {
            arguments.push(EXECUTION_ID_KEY, execution_id.clone());
        }
        arguments.check_size()?;
        Ok(Self {
            job_name: job.external_id.clone(),
            arguments,
            compute,
            execution_id,
            retry_count: event.retry_count.unwrap_or(0),
            redrive_count: event.redrive_count.unwrap_or(0),
        })
    }

    fn output(
        &self,
        env: &Services,
        job_run_id: &str,
        status: RunStatus,
        started_at: String,
        known: JobKnowledge,
    ) -> StartOutput {
        let mut warnings = self.arguments.warnings.clone();
        warnings.extend(self.compute.warnings.iter().cloned());
        warnings.extend(self.compute.max_retries_warning(known.max_retries));
        warnings.extend(
            self.compute
                .timeout_warning(known.expected_duration.as_ref()),
        );
        StartOutput {
            run_id: RunId::new(&self.job_name, job_run_id).to_string(),
            job_name: self.job_name.clone(),
            job_run_id: job_run_id.to_owned(),
            status,
            monitor_url: monitor_url(&env.region, &self.job_name, job_run_id),
            argument_keys: self.arguments.keys(),
            compute: self.compute.report(),
            warnings,
            started_at,
            expected_duration: known.expected_duration,
            max_retries: known.max_retries,
        }
    }
}

pub async fn handle(
    env: &Services,
    event: LambdaEvent<Value>,
) -> Result<StartOutput, PolysyncError> {
    let (payload, context) = event.into_parts();
    let mut plan = StartPlan::from_event(payload, &env.config)?;
    let job_name = plan.job_name.clone();
    let deadline = Deadline::of(&context, &env.clock);
    let job = env.job(
        account_of(&context.invoked_function_arn),
        &job_name,
        deadline,
    );

    // Step Functions may retry a start whose run Glue did create: find that run first, and
    // look twice, as a run just started may not be listed by GetJobRuns at once.
    // A redrive re-runs an aborted Start too: the run the aborted attempt made has the tag.
    if plan.retry_count > 0 || plan.redrive_count > 0 {
        if let Some(execution_id) = plan.execution_id.as_deref() {
            for look in 0..2 {
                if look > 0 {
                    tokio::time::sleep(ADOPTION_LOOK_AGAIN_AFTER).await;
                }
                if let Some(run) = job.find_tagged_run(execution_id, |_| true).await? {
                    let known = job_knowledge(job, None).await;
                    return Ok(adopt(env, &plan, &run, known));
                }
            }
            // The invocation the redrive replaced (aborted while it ran) may still send its
            // StartJobRun: the state machine retries this after RETRY_AFTER_INTERRUPTED_START.
            if plan.retry_count == 0 && plan.redrive_count > 0 {
                return Err(PolysyncError::StartDeferred {
                    execution_id: execution_id.to_owned(),
                });
            }
        }
    }

    // The job's kind decides which worker pair Glue takes: checked here, never left to Glue.
    let mut max_retries = None;
    if plan.compute.needs_definition() {
        let definition = job.definition().await?;
        plan.compute.apply_definition(&definition)?;
        max_retries = Some(definition.max_retries());
    }

    // Past its send window an invocation never starts a run: a retry that Step Functions made
    // while this one ran must be able to count on it (RETRY_AFTER_INTERRUPTED_START).
    if let Some(left) = deadline.left() {
        if left < START_FUNCTION_TIMEOUT.saturating_sub(START_SEND_WINDOW) {
            return Err(PolysyncError::glue_unavailable(
                "StartJobRun",
                format!(
                    "not sent: the reads before it outlasted the start's send window of {} s",
                    START_SEND_WINDOW.as_secs()
                ),
            ));
        }
    }
    let arguments: HashMap<String, String> = plan.arguments.entries.iter().cloned().collect();
    let (worker_type, workers) = plan.compute.worker_pair().unzip();
    let request = env
        .glue
        .start_job_run()
        .job_name(&plan.job_name)
        .set_arguments((!arguments.is_empty()).then_some(arguments))
        .set_worker_type(worker_type)
        .set_number_of_workers(workers)
        .set_timeout(plan.compute.timeout())
        .set_execution_class(plan.compute.execution_class().cloned())
        .set_max_capacity(plan.compute.max_capacity())
        .set_job_run_queuing_enabled(plan.compute.job_run_queuing())
        .set_notification_property(plan.compute.notification_property())
        .set_security_configuration(plan.compute.security_configuration().map(str::to_owned))
        .customize()
        // StartJobRun has no idempotency token: an SDK retry after a lost reply would start a
        // second run. The state machine retries instead, and a retried start looks for its run.
        .config_override(
            aws_sdk_glue::config::Config::builder().retry_config(RetryConfig::disabled()),
        )
        .send();
    let started = job.send("StartJobRun", request).await?;
    let job_run_id = started.job_run_id().ok_or_else(|| {
        PolysyncError::glue_unavailable("StartJobRun", "the answer carried no JobRunId")
    })?;
    // Keys only: argument values may hold secrets.
    tracing::info!(
        job_name = %plan.job_name,
        job_run_id,
        argument_keys = ?plan.arguments.keys(),
        "started Glue job run"
    );
    let started_at = format_time(&env.clock.now());
    let known = job_knowledge(job, max_retries).await;
    Ok(plan.output(env, job_run_id, RunStatus::Starting, started_at, known))
}

/// What poll is told about the job, read once the run exists.
#[derive(Debug, Clone, Copy)]
struct JobKnowledge {
    expected_duration: Option<ExpectedDuration>,
    max_retries: Option<i32>,
}

/// What the job's recent successful runs took, and its MaxRetries (unless the definition was
/// read already), read together after the run started. Best effort: the run exists now and
/// the start must answer; without them poll follows the run by its age and gives a failed
/// attempt the retry grace.
///
/// Boxed: nested inside the handler's future, these reads pass rustc's query depth limit when
/// the release build computes its layout.
fn job_knowledge<'a>(
    job: GlueJob<'a>,
    max_retries: Option<i32>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = JobKnowledge> + Send + 'a>> {
    Box::pin(read_job_knowledge(job, max_retries))
}

async fn read_job_knowledge(job: GlueJob<'_>, max_retries: Option<i32>) -> JobKnowledge {
    let durations = best_effort("GetJobRuns", read_expected_duration(job));
    let retries = async {
        if max_retries.is_some() {
            return max_retries;
        }
        let read = async { Ok(Some(job.definition().await?.max_retries())) };
        best_effort("GetJob", read).await
    };
    let (expected_duration, max_retries) = tokio::join!(durations, retries);
    JobKnowledge {
        expected_duration,
        max_retries,
    }
}

/// A read after the start: its answer, or `None` and a warning when it fails or is slow.
async fn best_effort<T>(
    operation: &'static str,
    read: impl std::future::Future<Output = Result<Option<T>, PolysyncError>>,
) -> Option<T> {
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            tracing::warn!(operation, %error, "left out of the start output: the read failed");
            None
        }
        Err(_) => {
            tracing::warn!(operation, "left out of the start output: no answer in time");
            None
        }
    }
}

/// The output for a run an earlier attempt of this execution already started.
fn adopt(env: &Services, plan: &StartPlan, run: &JobRun, known: JobKnowledge) -> StartOutput {
    let job_run_id = run.id().unwrap_or_default();
    tracing::info!(
        job_name = %plan.job_name,
        job_run_id,
        "retried start found the run of its execution; not starting another"
    );
    let started_at = run
        .started_on()
        .map(format_time)
        .unwrap_or_else(|| format_time(&env.clock.now()));
    plan.output(
        env,
        job_run_id,
        RunStatus::from_glue_state(run.job_run_state()),
        started_at,
        known,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step Functions' names for the Lambda service's own errors ("Handle Lambda service
    /// exceptions", Step Functions developer guide): the invocation may still be running.
    const MAY_STILL_RUN: [&str; 4] = [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
    ];

    #[test]
    fn a_start_that_may_still_run_is_retried_only_once_it_can_no_longer_start_a_run() {
        let definition: Value = serde_json::from_str(crate::polling::DEFINITION).unwrap();
        for task in ["Start", "StartAgain"] {
            let retriers = definition["States"][task]["Retry"].as_array().unwrap();
            let ours = crate::error::error_type::START_DEFERRED;
            for name in MAY_STILL_RUN.iter().chain(&["Lambda.Unknown", ours]) {
                let retrier = retriers
                    .iter()
                    .find(|r| {
                        r["ErrorEquals"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|e| e == name)
                    })
                    .unwrap_or_else(|| panic!("{task} does not retry {name}"));
                // FULL jitter picks any delay from 0: it would break the guarantee.
                assert_eq!(retrier["JitterStrategy"], "NONE", "{task}: {name}");
                let interval = retrier["IntervalSeconds"].as_u64().unwrap();
                assert!(
                    interval >= RETRY_AFTER_INTERRUPTED_START.as_secs(),
                    "{task}: {interval}"
                );
            }
        }
        assert!(START_SEND_WINDOW + crate::aws::OPERATION_TIMEOUT < START_FUNCTION_TIMEOUT);
    }

    #[test]
    fn a_redriven_start_is_told_its_redrive_count() {
        let definition: Value = serde_json::from_str(crate::polling::DEFINITION).unwrap();
        let states = crate::polling::definition_shape::every_state(&definition);
        let start = &states["Start"]["Parameters"];
        assert_eq!(start["redriveCount.$"], "$$.Execution.RedriveCount");
        assert_eq!(start["retryCount.$"], "$$.State.RetryCount");
        // The child a redriven parent starts has a name of its own.
        let child = states["ContinueInChild"]["Parameters"]["Name.$"]
            .as_str()
            .unwrap();
        assert!(child.contains("$$.Execution.RedriveCount"), "{child}");
    }

    #[test]
    fn the_run_is_tagged_with_the_execution_arn() {
        let definition: Value = serde_json::from_str(crate::polling::DEFINITION).unwrap();
        for task in ["Start", "StartAgain"] {
            assert_eq!(
                definition["States"][task]["Parameters"]["executionId.$"],
                "$$.Execution.Id"
            );
        }
    }
}
