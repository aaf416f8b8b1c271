//! The invocation's deadline: every AWS call of a handler runs within it, and one that would
//! outlast it answers `Glue.Unavailable` (which the state machine retries) naming that call,
//! rather than letting Lambda time the function out.

use std::future::Future;
use std::time::{Duration, SystemTime};

use lambda_runtime::Context;
use tokio::time::Instant;

use super::Clock;
use crate::error::PolysyncError;

/// How long before the invocation's deadline a call stops waiting for AWS: its error then
/// reaches the state machine before Lambda's own timeout.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// Deadlines before this (2001-09-09, 10^12 ms since the epoch) are not a time: Lambda sends
/// milliseconds since the epoch, but `cargo lambda watch` sends the timeout itself (600000).
const EARLIEST_DEADLINE_MS: u64 = 1_000_000_000_000;

/// When Lambda ends the invocation, on tokio's clock (so a test's paused clock moves it);
/// none without a deadline that is a time (a test's `Context::default()`, a local runtime's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline {
    ends: Option<Instant>,
}

impl Deadline {
    pub fn of(context: &Context, clock: &Clock) -> Self {
        if context.deadline < EARLIEST_DEADLINE_MS {
            return Self::default();
        }
        let since_epoch = clock
            .system_time()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let left = Duration::from_millis(context.deadline).saturating_sub(since_epoch);
        Self {
            ends: Some(Instant::now() + left),
        }
    }

    /// What is left of the invocation before Lambda ends it.
    pub fn left(&self) -> Option<Duration> {
        self.ends
            .map(|ends| ends.saturating_duration_since(Instant::now()))
    }

    /// Runs one AWS call within the deadline less [`DEADLINE_MARGIN`]; past it, the call
    /// `operation` answers `Glue.Unavailable`.
    pub async fn call<T>(
        &self,
        service: Service,
        operation: &'static str,
        work: impl Future<Output = Result<T, PolysyncError>>,
    ) -> Result<T, PolysyncError> {
        let Some(left) = self.left() else {
            return work.await;
        };
        tokio::time::timeout(left.saturating_sub(DEADLINE_MARGIN), work)
            .await
            .unwrap_or_else(|_| Err(service.unavailable(operation, NO_ANSWER_IN_TIME)))
    }
}

const NO_ANSWER_IN_TIME: &str = "AWS did not answer before the invocation's deadline";

/// The service a call under the deadline goes to: its timeout is that service's `Unavailable`
/// (`Glue.Unavailable`, `StepFunctions.Unavailable`), as when it does not answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Glue,
    StepFunctions,
}

impl Service {
    fn unavailable(self, operation: &'static str, detail: &str) -> PolysyncError {
        match self {
            Self::Glue => PolysyncError::glue_unavailable(operation, detail),
            Self::StepFunctions => PolysyncError::StepFunctions {
                operation,
                code: None,
                message: detail.to_owned(),
                source: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending_in(left: Duration) -> Context {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let mut context = Context::default();
        context.deadline = (since_epoch + left).as_millis() as u64;
        context
    }

    #[test]
    fn a_deadline_that_is_no_time_is_none() {
        assert_eq!(
            Deadline::of(&Context::default(), &Clock::System).left(),
            None
        );
        let mut watch = Context::default();
        watch.deadline = 600_000; // cargo lambda watch's relative deadline
        assert_eq!(Deadline::of(&watch, &Clock::System).left(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_the_deadline_is_glue_unavailable_naming_that_call() {
        let deadline = Deadline::of(
            &ending_in(DEADLINE_MARGIN + Duration::from_secs(2)),
            &Clock::System,
        );
        let began = Instant::now();
        let quick = deadline
            .call(Service::Glue, "GetJob", async { Ok(7) })
            .await;
        assert_eq!(quick, Ok(7));
        let hung = deadline
            .call(Service::Glue, "GetJobRuns", async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<_, PolysyncError>(())
            })
            .await;
        match hung {
            Err(PolysyncError::GlueUnavailable { operation, .. }) => {
                assert_eq!(operation, "GetJobRuns")
            }
            other => panic!("{other:?}"),
        }
        // The margin is kept: the call gave up about 2 s in, 3 s before Lambda's end.
        let waited = began.elapsed();
        assert!(
            waited >= Duration::from_millis(1_900) && waited <= Duration::from_secs(2),
            "{waited:?}"
        );
        let unbounded = Deadline::default()
            .call(Service::Glue, "GetJobRun", async { Ok(1) })
            .await;
        assert_eq!(unbounded, Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_functions_call_past_the_deadline_is_step_functions_unavailable() {
        let deadline = Deadline::of(
            &ending_in(DEADLINE_MARGIN + Duration::from_secs(2)),
            &Clock::System,
        );
        let hung = deadline
            .call(Service::StepFunctions, "DescribeExecution", async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<_, PolysyncError>(())
            })
            .await
            .unwrap_err();
        assert_eq!(hung.error_type(), "StepFunctions.Unavailable");
        assert!(hung.to_string().contains("DescribeExecution"), "{hung}");
    }
}
