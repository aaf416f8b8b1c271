//! Everything about talking to AWS: the clients built once per container, the invocation's
//! deadline every call runs within, and the Glue calls about one job the handlers share.

mod deadline;
mod job;
mod services;
mod time;
pub mod token_store;

pub use deadline::{Deadline, Service, DEADLINE_MARGIN};
pub use job::{send_glue, GlueJob, RECENT_RUNS_SCANNED};
pub use services::{LazyServices, Services, ATTEMPT_TIMEOUT, OPERATION_TIMEOUT};
pub use time::{format_time, Clock};

/// The account id in the invoked function's ARN (`arn:aws:lambda:region:account:function:name`).
pub fn account_of(invoked_function_arn: &str) -> Option<&str> {
    invoked_function_arn
        .split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
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
}
