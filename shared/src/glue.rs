//! What every handler shares: the Glue client and configuration built once per container, and
//! the small Glue helpers more than one handler needs.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_glue::types::JobRun;
use aws_sdk_glue::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use lambda_runtime::Context;
use tokio::sync::OnceCell;

use crate::arguments::EXECUTION_ID_KEY;
use crate::config::Config;
use crate::error::{from_sdk, PolysyncError, RequestTarget};

/// How many of a job's newest runs are searched for an execution's tag or a retry attempt. Step Functions retries
/// a start within minutes, so its run is among the newest; the bound keeps a job with a long
/// history from costing a long scan.
pub const TAGGED_RUN_SCAN_LIMIT: usize = 200;
const TAGGED_RUN_PAGE_SIZE: i32 = 50;

/// How long one attempt of an AWS call may take, and all its attempts together: a hung
/// connection surfaces as `Glue.Unavailable` well before the functions' 60 s timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

/// How long before the invocation's deadline a handler stops waiting for AWS: its error then
/// reaches the state machine, which retries `Glue.Unavailable`, before Lambda's own timeout.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// Built once per Lambda container by `main`, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct Services {
    pub glue: Client,
    pub region: String,
    pub config: Config,
    /// The SDK settings the clients below are built from, on first use; none where a test
    /// gives the clients itself.
    sdk: Option<aws_config::SdkConfig>,
    /// Step Functions, for cancel to read an execution's input when its event left it out.
    states: OnceLock<aws_sdk_sfn::Client>,
    /// CloudWatch Logs, for poll to read a failed run's error log.
    logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
}

impl Services {
    /// Builds the clients from the SDK's own settings (`AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_GLUE`, credentials) in the environment.
    pub async fn load(config: Config, region: String) -> Self {
        let sdk = Self::sdk_loader(&region).load().await;
        Self::from_sdk(&sdk, region, config)
    }

    /// The SDK settings of every function; tests add an endpoint and credentials to it.
    pub fn sdk_loader(region: &str) -> aws_config::ConfigLoader {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, region: String, config: Config) -> Self {
        Self {
            sdk: Some(sdk.clone()),
            ..Self::new(Client::new(sdk), region, config)
        }
    }

    /// Services around a Glue client of the caller's; the other clients are given with
    /// [`Services::with_states`] and [`Services::with_logs`].
    pub fn new(glue: Client, region: String, config: Config) -> Self {
        Self {
            glue,
            region,
            config,
            sdk: None,
            states: OnceLock::new(),
            logs: OnceLock::new(),
        }
    }

    pub fn with_states(self, states: aws_sdk_sfn::Client) -> Self {
        Self {
            states: OnceLock::from(states),
            ..self
        }
    }

    pub fn with_logs(self, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self {
            logs: OnceLock::from(logs),
            ..self
        }
    }

    /// Built on first use: only cancel calls Step Functions, so the other functions neither
    /// build this client nor link its code.
    pub fn states(&self) -> &aws_sdk_sfn::Client {
        self.states
            .get_or_init(|| aws_sdk_sfn::Client::new(self.sdk_config()))
    }

    /// Built on first use: only poll reads CloudWatch Logs.
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.logs
            .get_or_init(|| aws_sdk_cloudwatchlogs::Client::new(self.sdk_config()))
    }

    fn sdk_config(&self) -> &aws_config::SdkConfig {
        self.sdk
            .as_ref()
            .expect("Services::new without this client: give it with with_states or with_logs")
    }

    pub fn request_target<'a>(
        &'a self,
        account: Option<&'a str>,
        job_name: &'a str,
    ) -> RequestTarget<'a> {
        RequestTarget {
            region: &self.region,
            account,
            job_name,
        }
    }
}

/// What `main` builds before the runtime starts. The platform configuration and the region are
/// read and checked at once, so a bad variable stops the function at start-up; the SDK and the
/// Glue client, which load the TLS root certificates, wait for the first invocation, which keeps
/// init close to a hello-world function's (BENCHMARKS.md).
#[derive(Debug)]
pub struct LazyServices {
    config: Config,
    region: String,
    env: OnceCell<Services>,
}

impl LazyServices {
    pub fn from_environment() -> Result<Self, lambda_runtime::Error> {
        let config = Config::from_env()?;
        // The variables the SDK reads the region from, in its order.
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|r| !r.is_empty()))
            .ok_or("AWS_REGION is not set: the Glue region cannot be known")?;
        Ok(Self {
            config,
            region,
            env: OnceCell::new(),
        })
    }

    pub async fn get(&self) -> &Services {
        self.env
            .get_or_init(|| Services::load(self.config.clone(), self.region.clone()))
            .await
    }
}

/// Deadlines before this (2001-09-09, 10^12 ms since the epoch) are not a time: Lambda sends
/// milliseconds since the epoch, but `cargo lambda watch` sends the timeout itself (600000).
const EARLIEST_DEADLINE_MS: u64 = 1_000_000_000_000;

/// What is left of the invocation before Lambda ends it; none without a deadline that is a
/// time (a test's `Context::default()`, a local runtime's).
pub fn time_left(context: &Context) -> Option<Duration> {
    if context.deadline < EARLIEST_DEADLINE_MS {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Some(Duration::from_millis(context.deadline).saturating_sub(now))
}

/// Runs a handler's work within the invocation's deadline less [`DEADLINE_MARGIN`]: past it,
/// `Glue.Unavailable`, which the state machine retries, rather than a Lambda timeout.
pub async fn within_deadline<T>(
    context: &Context,
    operation: &'static str,
    work: impl Future<Output = Result<T, PolysyncError>>,
) -> Result<T, PolysyncError> {
    let Some(left) = time_left(context) else {
        return work.await;
    };
    tokio::time::timeout(left.saturating_sub(DEADLINE_MARGIN), work)
        .await
        .unwrap_or_else(|_| {
            Err(PolysyncError::GlueUnavailable {
                operation,
                detail: "AWS did not answer before the invocation's deadline".to_owned(),
            })
        })
}

/// The account id in the invoked function's ARN (`arn:aws:lambda:region:account:function:name`).
pub fn account_of(invoked_function_arn: &str) -> Option<&str> {
    invoked_function_arn
        .split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
}

/// RFC 3339 to the second, as the contract shows times.
pub fn format_time(time: &DateTime) -> String {
    DateTime::from_secs(time.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

pub fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

/// The newest of a job's recent runs that `matches`, among the newest
/// [`TAGGED_RUN_SCAN_LIMIT`] (Glue lists runs newest first).
pub async fn find_recent_run(
    glue: &Client,
    target: RequestTarget<'_>,
    matches: impl Fn(&JobRun) -> bool,
) -> Result<Option<JobRun>, PolysyncError> {
    let mut pages = glue
        .get_job_runs()
        .job_name(target.job_name)
        .max_results(TAGGED_RUN_PAGE_SIZE)
        .into_paginator()
        .send();
    let mut scanned = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk("GetJobRuns", Some(target), e))?;
        for run in page.job_runs() {
            if matches(run) {
                return Ok(Some(run.clone()));
            }
            scanned += 1;
            if scanned >= TAGGED_RUN_SCAN_LIMIT {
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// Glue's retry attempt of run `job_run_id` (the run whose `PreviousRunId` it is), if it made
/// one.
pub async fn next_attempt(
    glue: &Client,
    target: RequestTarget<'_>,
    job_run_id: &str,
) -> Result<Option<JobRun>, PolysyncError> {
    find_recent_run(glue, target, |run| {
        run.previous_run_id() == Some(job_run_id)
    })
    .await
}

/// The newest run of the job tagged with `execution_id` (`--polysync-execution-id`) that is
/// `also` what the caller looks for.
pub async fn find_tagged_run(
    glue: &Client,
    target: RequestTarget<'_>,
    execution_id: &str,
    also: impl Fn(&JobRun) -> bool,
) -> Result<Option<JobRun>, PolysyncError> {
    find_recent_run(glue, target, |run| {
        run.arguments()
            .and_then(|arguments| arguments.get(EXECUTION_ID_KEY))
            .is_some_and(|tag| tag == execution_id)
            && also(run)
    })
    .await
}

pub async fn get_job_run(
    glue: &Client,
    target: RequestTarget<'_>,
    job_run_id: &str,
) -> Result<JobRun, PolysyncError> {
    glue.get_job_run()
        .job_name(target.job_name)
        .run_id(job_run_id)
        .send()
        .await
        .map_err(|e| from_sdk("GetJobRun", Some(target), e))?
        .job_run
        .ok_or_else(|| PolysyncError::GlueUnavailable {
            operation: "GetJobRun",
            detail: "the answer carried no JobRun".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_comes_from_the_function_arn() {
        assert_eq!(
            account_of("arn:aws:lambda:us-east-1:123456789012:function:polysync-glue-start"),
            Some("123456789012")
        );
        assert_eq!(account_of(""), None);
        assert_eq!(account_of("arn:aws:lambda:us-east-1::function:x"), None);
    }

    #[tokio::test]
    async fn work_past_the_deadline_is_glue_unavailable_before_lambda_s_timeout() {
        let mut context = Context::default();
        assert_eq!(time_left(&context), None);
        context.deadline = 600_000;
        assert_eq!(
            time_left(&context),
            None,
            "cargo lambda watch's relative deadline"
        );
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        context.deadline = (now + DEADLINE_MARGIN + Duration::from_millis(200)).as_millis() as u64;
        let began = std::time::Instant::now();
        let hung = within_deadline(&context, "GetJobRun", async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, PolysyncError>(())
        })
        .await;
        assert!(matches!(
            hung,
            Err(PolysyncError::GlueUnavailable {
                operation: "GetJobRun",
                ..
            })
        ));
        assert!(began.elapsed() < Duration::from_secs(5));
        let quick = within_deadline(&Context::default(), "GetJobRun", async { Ok(7) }).await;
        assert_eq!(quick, Ok(7));
    }

    #[test]
    fn times_are_rfc3339_to_the_second() {
        assert_eq!(
            format_time(&DateTime::from_secs_and_nanos(1_795_867_201, 500_000_000)),
            "2026-11-28T12:00:01Z"
        );
    }
}
