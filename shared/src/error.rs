//! The one error type of every handler, and its mapping to the Lambda `errorType` names that
//! the state machine's Retry and Catch match (CONTRACT.md §6).

use aws_sdk_glue::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use lambda_runtime::Diagnostic;

/// `errorType` names, used verbatim by `statemachine/glue-job.asl.json`.
pub mod error_type {
    pub const INVALID_INPUT: &str = "Polysync.InvalidInput";
    pub const FORBIDDEN_ARGUMENT: &str = "Polysync.ForbiddenArgument";
    /// A redriven start that found no run yet: the state machine retries it once the
    /// invocation the redrive replaced can no longer start one.
    pub const START_DEFERRED: &str = "Polysync.StartDeferred";
    pub const GLUE_UNAVAILABLE: &str = "Glue.Unavailable";
    /// Prefix of every error Glue answered with a code: `Glue.<code>`.
    pub const GLUE_PREFIX: &str = "Glue.";
    /// Prefix of a Step Functions error met by cancel (an EventBridge invocation, not matched by
    /// the state machine): `StepFunctions.<code>`, `StepFunctions.Unavailable`.
    pub const STEP_FUNCTIONS_PREFIX: &str = "StepFunctions.";
    /// A Glue answer that carried no error code and no server fault (a bare 4xx).
    pub const GLUE_UNRECOGNIZED: &str = "Glue.UnrecognizedError";
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolysyncError {
    /// The event breaks a rule of the contract; `field` is a JSON path into the event.
    #[error("{field}: {rule}")]
    InvalidInput { field: String, rule: String },

    /// A code-loading argument without `POLYSYNC_GLUE_ALLOW_CODE_ARGUMENTS=true`.
    #[error(
        "{field}: {key} loads code into the Glue job and is refused; the platform allows it only \
         with POLYSYNC_GLUE_ALLOW_CODE_ARGUMENTS=true"
    )]
    ForbiddenArgument { field: String, key: String },

    /// Glue answered with an error code.
    #[error("Glue {operation} failed with {code}: {message}{hint}")]
    Glue {
        operation: &'static str,
        code: String,
        message: String,
        /// Polysync troubleshooting hint, empty or starting with a separator.
        hint: String,
    },

    /// Step Functions answered with an error, or not at all (`code` "Unavailable"): cancel
    /// reading the input of an execution whose status-change event left it out.
    #[error("Step Functions {operation} failed with {code}: {message}")]
    StepFunctions {
        operation: &'static str,
        code: String,
        message: String,
    },

    /// The first attempt of a redriven start found no run of its execution: the invocation of
    /// the attempt the redrive replaced may still be sending StartJobRun.
    #[error(
        "execution {execution_id} was redriven and no run of it is listed yet; the start it \
         replaced may still make one, so this start waits for Step Functions' retry"
    )]
    StartDeferred { execution_id: String },

    /// No usable answer from Glue: connection refused, timeout, server fault without a code.
    #[error("no answer from Glue for {operation}: {detail}")]
    GlueUnavailable {
        operation: &'static str,
        detail: String,
    },
}

impl PolysyncError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The contract's `errorType` for this error.
    pub fn error_type(&self) -> String {
        match self {
            Self::InvalidInput { .. } => error_type::INVALID_INPUT.to_owned(),
            Self::ForbiddenArgument { .. } => error_type::FORBIDDEN_ARGUMENT.to_owned(),
            Self::StartDeferred { .. } => error_type::START_DEFERRED.to_owned(),
            Self::Glue { code, .. } if code.is_empty() => error_type::GLUE_UNRECOGNIZED.to_owned(),
            Self::Glue { code, .. } => format!("{}{code}", error_type::GLUE_PREFIX),
            Self::GlueUnavailable { .. } => error_type::GLUE_UNAVAILABLE.to_owned(),
            Self::StepFunctions { code, .. } => {
                format!("{}{code}", error_type::STEP_FUNCTIONS_PREFIX)
            }
        }
    }
}

impl From<PolysyncError> for Diagnostic {
    fn from(error: PolysyncError) -> Self {
        Diagnostic {
            error_type: error.error_type(),
            error_message: error.to_string(),
        }
    }
}

/// What a troubleshooting hint needs to name the resource a call was about.
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    pub region: &'a str,
    /// The account of the invoked function, when its ARN was known.
    pub account: Option<&'a str>,
    pub job_name: &'a str,
}

impl RequestTarget<'_> {
    pub fn job_arn(&self) -> String {
        format!(
            "arn:{}:glue:{}:{}:job/{}",
            crate::monitor::partition(self.region),
            self.region,
            self.account.unwrap_or("{account}"),
            self.job_name
        )
    }
}

/// Maps an SDK error of a Step Functions operation; no answer is code `Unavailable`.
pub fn from_states_sdk<E>(
    operation: &'static str,
    error: SdkError<E, HttpResponse>,
) -> PolysyncError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = match &error {
        SdkError::ServiceError(context) => (
            context.err().code().unwrap_or("Unavailable").to_owned(),
            context.err().message().unwrap_or_default().to_owned(),
        ),
        other => ("Unavailable".to_owned(), describe_transport(other)),
    };
    PolysyncError::StepFunctions {
        operation,
        code,
        message,
    }
}

/// Maps an SDK error of any Glue operation to the contract's error, with its hint.
pub fn from_sdk<E>(
    operation: &'static str,
    target: Option<RequestTarget<'_>>,
    error: SdkError<E, HttpResponse>,
) -> PolysyncError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let err = context.into_err();
            match err.code() {
                Some(code) => glue_error(operation, target, code, err.message().unwrap_or("")),
                // A server fault without a code (a gateway 502/503, a garbled body) is no answer.
                None if status >= 500 => PolysyncError::GlueUnavailable {
                    operation,
                    detail: format!("HTTP {status}"),
                },
                None => PolysyncError::Glue {
                    operation,
                    code: String::new(),
                    message: format!("HTTP {status}: {}", err.message().unwrap_or("no message")),
                    hint: String::new(),
                },
            }
        }
        SdkError::ResponseError(context) => PolysyncError::GlueUnavailable {
            operation,
            detail: format!(
                "unreadable response (HTTP {})",
                context.raw().status().as_u16()
            ),
        },
        other => PolysyncError::GlueUnavailable {
            operation,
            detail: describe_transport(&other),
        },
    }
}

/// The source chain of a transport error, so "connection refused" or "timeout" is visible.
fn describe_transport(error: &dyn std::error::Error) -> String {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}

/// Builds `Glue.<code>` with the Polysync troubleshooting hint for the codes that have one.
pub fn glue_error(
    operation: &'static str,
    target: Option<RequestTarget<'_>>,
    code: &str,
    message: &str,
) -> PolysyncError {
    let hint = match (code, target) {
        ("AccessDeniedException", Some(target)) => format!(
            " (Polysync: the function's role needs glue:{operation} on {})",
            target.job_arn()
        ),
        // Only where Glue's message is about arguments: "Worker Type Z.2X is not supported..."
        // is InvalidInputException too, and the argument hint would mislead there.
        ("InvalidInputException", _)
            if operation == "StartJobRun" && message.to_ascii_lowercase().contains("argument") =>
        {
            " (Polysync: argument keys must be valid Glue argument names; a parameter named \
             key=value is not split, use name key and value value)"
                .to_owned()
        }
        ("EntityNotFoundException", Some(target)) => format!(
            " (Polysync: check that the Glue job {} exists in {})",
            target.job_name, target.region
        ),
        _ => String::new(),
    };
    PolysyncError::Glue {
        operation,
        code: code.to_owned(),
        message: message.to_owned(),
        hint,
    }
}
