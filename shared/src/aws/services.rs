//! The clients built once per Lambda container, and the SDK settings they share.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_glue::Client;
use tokio::sync::OnceCell;

use super::{Clock, Deadline, GlueJob};
use crate::config::Config;
use crate::error::RequestTarget;

/// How long one attempt of an AWS call may take, and all its attempts together: a hung
/// connection surfaces as `Glue.Unavailable` well before the functions' 60 s timeout.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Built once per Lambda container by `main`, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct Services {
    pub glue: Client,
    pub region: String,
    pub config: Config,
    /// The wall clock the handlers read: the system's, but in tests.
    pub clock: Clock,
    /// The SDK settings the clients below are built from, on first use.
    sdk: SdkConfig,
    /// Step Functions, for cancel to read the execution an event is about.
    states: OnceLock<aws_sdk_sfn::Client>,
    /// CloudWatch Logs, for poll to read a failed run's error log.
    logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    /// DynamoDB, for the wake's task tokens.
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
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
            .retry_config(Self::retry_config())
            .timeout_config(Self::timeouts())
    }

    /// The SDK's standard retries (3 attempts, exponential backoff with jitter), said here so
    /// the tests use what the functions use.
    pub fn retry_config() -> RetryConfig {
        RetryConfig::standard()
    }

    pub fn timeouts() -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build()
    }

    pub fn from_sdk(sdk: &SdkConfig, region: String, config: Config) -> Self {
        Self {
            sdk: sdk.clone(),
            ..Self::new(Client::new(sdk), region, config)
        }
    }

    /// Services around a Glue client of the caller's. The other clients are given with
    /// [`Services::with_states`] and [`Services::with_logs`]; one not given is built from the
    /// region and timeouts alone, without credentials, so its calls fail as AWS errors.
    pub fn new(glue: Client, region: String, config: Config) -> Self {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(Self::retry_config())
            .timeout_config(Self::timeouts())
            .build();
        Self {
            glue,
            region,
            config,
            clock: Clock::System,
            sdk,
            states: OnceLock::new(),
            logs: OnceLock::new(),
            dynamodb: OnceLock::new(),
        }
    }

    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
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

    pub fn with_dynamodb(self, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self {
            dynamodb: OnceLock::from(dynamodb),
            ..self
        }
    }

    /// Built on first use: only the wake keeps task tokens.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.sdk))
    }

    /// Built on first use: only cancel and the wake call Step Functions, so the other functions neither
    /// build this client nor link its code.
    pub fn states(&self) -> &aws_sdk_sfn::Client {
        self.states
            .get_or_init(|| aws_sdk_sfn::Client::new(&self.sdk))
    }

    /// Built on first use: only poll reads CloudWatch Logs.
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.logs
            .get_or_init(|| aws_sdk_cloudwatchlogs::Client::new(&self.sdk))
    }

    /// The calls about job `job_name` of one invocation, within its `deadline`.
    pub fn job<'a>(
        &'a self,
        account: Option<&'a str>,
        job_name: &'a str,
        deadline: Deadline,
    ) -> GlueJob<'a> {
        GlueJob {
            glue: &self.glue,
            target: self.request_target(account, job_name),
            deadline,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_not_given_fails_as_an_aws_error_not_a_panic() {
        let glue = Client::from_conf(
            aws_sdk_glue::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .build(),
        );
        let services = Services::new(glue, "us-east-1".to_owned(), Config::default());
        let described = services
            .states()
            .describe_execution()
            .execution_arn("arn:aws:states:us-east-1:123456789012:execution:m:e")
            .send()
            .await;
        assert!(described.is_err());
    }
}
