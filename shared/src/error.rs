//! The one error type of every handler, and its mapping to the Lambda `errorType` names that
//! the state machine's Retry and Catch match (docs/interface.md, "Errors").

use std::sync::Arc;

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
    /// Prefix of an error of the wake's token store: `DynamoDB.<code>`, `DynamoDB.Unavailable`.
    pub const DYNAMODB_PREFIX: &str = "DynamoDB.";
    /// A park while the wake is off (no POLYSYNC_WAKE_TABLE): the state machine's wake branch
    /// ends, and the polling loop alone follows the run.
    pub const WAKE_OFF: &str = "Polysync.WakeOff";
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

    /// Glue answered with an error code, or (`code` None) with a bare 4xx and no code.
    #[error(
        "Glue {operation} failed with {}: {message}{hint}",
        .code.as_ref().map_or("no error code", ErrorCode::as_wire)
    )]
    Glue {
        operation: &'static str,
        code: Option<ErrorCode>,
        message: String,
        /// Polysync troubleshooting hint, empty or starting with a separator.
        hint: String,
        #[source]
        source: Option<ErrorSource>,
    },

    /// Step Functions answered with an error (`code`), or not at all (`code` None): cancel
    /// reading the execution an event is about.
    #[error(
        "Step Functions {operation} failed with {}: {message}",
        .code.as_ref().map_or(UNAVAILABLE, ErrorCode::as_wire)
    )]
    StepFunctions {
        operation: &'static str,
        code: Option<ErrorCode>,
        message: String,
        #[source]
        source: Option<ErrorSource>,
    },

    /// The first attempt of a redriven start found no run of its execution: the invocation of
    /// the attempt the redrive replaced may still be sending StartJobRun.
    #[error(
        "execution {execution_id} was redriven and no run of it is listed yet; the start it \
         replaced may still make one, so this start waits for Step Functions' retry"
    )]
    StartDeferred { execution_id: String },

    /// DynamoDB answered with an error (`code`), or not at all (`code` None): the wake's store.
    #[error(
        "DynamoDB {operation} failed with {}: {message}",
        .code.as_ref().map_or(UNAVAILABLE, ErrorCode::as_wire)
    )]
    TokenStore {
        operation: &'static str,
        code: Option<ErrorCode>,
        message: String,
        #[source]
        source: Option<ErrorSource>,
    },

    /// The state machine left a task token while the wake is off.
    #[error("the wake is off ({variable} is empty): no task token is kept, polling alone follows the run", variable = crate::config::WAKE_TABLE_VAR)]
    WakeOff,

    /// No usable answer from Glue: connection refused, timeout, server fault without a code.
    #[error("no answer from Glue for {operation}: {detail}")]
    GlueUnavailable {
        operation: &'static str,
        detail: String,
        #[source]
        source: Option<ErrorSource>,
    },
}

/// The suffix of an error that had no answer: `Glue.Unavailable`, `StepFunctions.Unavailable`.
const UNAVAILABLE: &str = "Unavailable";

/// The SDK's error behind a [`PolysyncError`], kept for the function's log (request id, HTTP
/// status) while the contract's message stays short. Compared by its text, so errors stay
/// comparable in tests.
#[derive(Debug, Clone)]
pub struct ErrorSource(Arc<dyn std::error::Error + Send + Sync>);

impl ErrorSource {
    fn of(error: impl std::error::Error + Send + Sync + 'static) -> Option<Self> {
        Some(Self(Arc::new(error)))
    }
}

impl std::fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ErrorSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for ErrorSource {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for ErrorSource {}

/// An AWS error code, typed where a handler decides on it; any other code is kept as the
/// service spelled it, for the contract's `Glue.<code>` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    EntityNotFound,
    InvalidInput,
    /// IAM's refusal: any AWS API answers it, and the operations' models do not list it.
    AccessDenied,
    Other(String),
}

impl ErrorCode {
    /// From a code as text: the `ErrorCode` string of a BatchStopJobRun entry, which the API
    /// models as a string, or a code outside an operation's model. The names are Glue's (AWS
    /// Glue API reference, "Common exceptions") and IAM's (`AccessDeniedException`).
    pub fn from_wire(code: &str) -> Self {
        match code {
            "EntityNotFoundException" => Self::EntityNotFound,
            "InvalidInputException" => Self::InvalidInput,
            "AccessDeniedException" => Self::AccessDenied,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_wire(&self) -> &str {
        match self {
            Self::EntityNotFound => "EntityNotFoundException",
            Self::InvalidInput => "InvalidInputException",
            Self::AccessDenied => "AccessDeniedException",
            Self::Other(code) => code,
        }
    }

    /// The code of a service error: the SDK's own variant where the operation models it. Of
    /// a code outside the model only IAM's refusal is told apart; any other is kept as spelled.
    pub fn of<E: GlueServiceError>(error: &E) -> Option<Self> {
        error.modelled_code().or_else(|| {
            error.code().map(|code| match Self::from_wire(code) {
                Self::AccessDenied => Self::AccessDenied,
                _ => Self::Other(code.to_owned()),
            })
        })
    }
}

/// A Glue operation's error as the SDK models it: the refusals it has a variant for.
pub trait GlueServiceError:
    ProvideErrorMetadata + std::error::Error + Send + Sync + 'static
{
    fn modelled_code(&self) -> Option<ErrorCode>;
}

macro_rules! modelled_glue_errors {
    ($($error:ty { $($is:ident => $code:expr),* })*) => {$(
        impl GlueServiceError for $error {
            fn modelled_code(&self) -> Option<ErrorCode> {
                $(if self.$is() { return Some($code); })*
                None
            }
        }
    )*};
}

modelled_glue_errors! {
    aws_sdk_glue::operation::get_job::GetJobError {
        is_entity_not_found_exception => ErrorCode::EntityNotFound,
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
    aws_sdk_glue::operation::get_jobs::GetJobsError {
        is_entity_not_found_exception => ErrorCode::EntityNotFound,
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
    aws_sdk_glue::operation::get_job_run::GetJobRunError {
        is_entity_not_found_exception => ErrorCode::EntityNotFound,
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
    aws_sdk_glue::operation::get_job_runs::GetJobRunsError {
        is_entity_not_found_exception => ErrorCode::EntityNotFound,
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
    aws_sdk_glue::operation::start_job_run::StartJobRunError {
        is_entity_not_found_exception => ErrorCode::EntityNotFound,
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
    aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunError {
        is_invalid_input_exception => ErrorCode::InvalidInput
    }
}

impl PolysyncError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// No answer from Glue, for a reason of ours (a deadline, an answer without its payload).
    pub fn glue_unavailable(operation: &'static str, detail: impl Into<String>) -> Self {
        Self::GlueUnavailable {
            operation,
            detail: detail.into(),
            source: None,
        }
    }

    /// Whether Glue answered that the job (or run) does not exist.
    pub fn is_entity_not_found(&self) -> bool {
        matches!(
            self,
            Self::Glue {
                code: Some(ErrorCode::EntityNotFound),
                ..
            }
        )
    }

    /// The contract's `errorType` for this error.
    pub fn error_type(&self) -> String {
        match self {
            Self::InvalidInput { .. } => error_type::INVALID_INPUT.to_owned(),
            Self::ForbiddenArgument { .. } => error_type::FORBIDDEN_ARGUMENT.to_owned(),
            Self::StartDeferred { .. } => error_type::START_DEFERRED.to_owned(),
            Self::Glue { code: None, .. } => error_type::GLUE_UNRECOGNIZED.to_owned(),
            Self::Glue {
                code: Some(code), ..
            } => format!("{}{}", error_type::GLUE_PREFIX, code.as_wire()),
            Self::GlueUnavailable { .. } => error_type::GLUE_UNAVAILABLE.to_owned(),
            Self::StepFunctions { code, .. } => format!(
                "{}{}",
                error_type::STEP_FUNCTIONS_PREFIX,
                code.as_ref().map_or(UNAVAILABLE, ErrorCode::as_wire)
            ),
            Self::TokenStore { code, .. } => format!(
                "{}{}",
                error_type::DYNAMODB_PREFIX,
                code.as_ref().map_or(UNAVAILABLE, ErrorCode::as_wire)
            ),
            Self::WakeOff => error_type::WAKE_OFF.to_owned(),
        }
    }
}

impl From<PolysyncError> for Diagnostic {
    fn from(error: PolysyncError) -> Self {
        // The contract's message is short; the SDK's error behind it goes to the log.
        if let Some(source) = std::error::Error::source(&error) {
            tracing::warn!(error_type = %error.error_type(), source = %describe_transport(source), "handler error");
        }
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

/// An SDK error of a service without modelled refusals we match (Step Functions, DynamoDB).
pub trait ServiceError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static {}
impl<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static> ServiceError for E {}

/// Maps an SDK error of a Step Functions operation; no answer has no code (`Unavailable`).
pub fn from_states_sdk<E: ServiceError>(
    operation: &'static str,
    error: SdkError<E, HttpResponse>,
) -> PolysyncError {
    let (code, message, source) = parts_of(error);
    PolysyncError::StepFunctions {
        operation,
        code,
        message,
        source,
    }
}

/// Maps an SDK error of a DynamoDB operation (the wake's store); no answer has no code.
pub fn from_dynamodb_sdk<E: ServiceError>(
    operation: &'static str,
    error: SdkError<E, HttpResponse>,
) -> PolysyncError {
    let (code, message, source) = parts_of(error);
    PolysyncError::TokenStore {
        operation,
        code,
        message,
        source,
    }
}

/// The code and message of a service's answer (none, and the transport's story, without one)
/// and the error itself as the source.
fn parts_of<E: ServiceError>(
    error: SdkError<E, HttpResponse>,
) -> (Option<ErrorCode>, String, Option<ErrorSource>) {
    let (code, message) = match &error {
        SdkError::ServiceError(context) => (
            context.err().code().map(ErrorCode::from_wire),
            context.err().message().unwrap_or_default().to_owned(),
        ),
        other => (None, describe_transport(other)),
    };
    (code, message, ErrorSource::of(error))
}

/// Maps an SDK error of any Glue operation to the contract's error, with its hint.
pub fn from_sdk<E: GlueServiceError>(
    operation: &'static str,
    target: Option<RequestTarget<'_>>,
    error: SdkError<E, HttpResponse>,
) -> PolysyncError {
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let err = context.into_err();
            let message = err.message().unwrap_or("").to_owned();
            match ErrorCode::of(&err) {
                Some(code) => {
                    let mut error = glue_error(operation, target, Some(code), &message);
                    if let PolysyncError::Glue { source, .. } = &mut error {
                        *source = ErrorSource::of(err);
                    }
                    error
                }
                // A server fault without a code (a gateway 502/503, a garbled body) is no answer.
                None if status >= 500 => PolysyncError::GlueUnavailable {
                    operation,
                    detail: format!("HTTP {status}"),
                    source: ErrorSource::of(err),
                },
                None => PolysyncError::Glue {
                    operation,
                    code: None,
                    message: format!(
                        "HTTP {status}: {}",
                        if message.is_empty() {
                            "no message"
                        } else {
                            &message
                        }
                    ),
                    hint: String::new(),
                    source: ErrorSource::of(err),
                },
            }
        }
        SdkError::ResponseError(ref context) => PolysyncError::GlueUnavailable {
            operation,
            detail: format!(
                "unreadable response (HTTP {})",
                context.raw().status().as_u16()
            ),
            source: ErrorSource::of(error),
        },
        other => PolysyncError::GlueUnavailable {
            operation,
            detail: describe_transport(&other),
            source: ErrorSource::of(other),
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
    code: Option<ErrorCode>,
    message: &str,
) -> PolysyncError {
    let hint = match (&code, target) {
        (Some(ErrorCode::AccessDenied), Some(target)) => format!(
            " (Polysync: the function's role needs glue:{operation} on {})",
            target.job_arn()
        ),
        // Only where Glue's message is about arguments: "Worker Type Z.2X is not supported..."
        // is InvalidInputException too, and the argument hint would mislead there.
        (Some(ErrorCode::InvalidInput), _)
            if operation == "StartJobRun" && message.to_ascii_lowercase().contains("argument") =>
        {
            " (Polysync: argument keys must be valid Glue argument names; a parameter named \
             key=value is not split, use name key and value value)"
                .to_owned()
        }
        (Some(ErrorCode::EntityNotFound), Some(target)) => format!(
            " (Polysync: check that the Glue job {} exists in {})",
            target.job_name, target.region
        ),
        _ => String::new(),
    };
    PolysyncError::Glue {
        operation,
        code,
        message: message.to_owned(),
        hint,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_page_names_every_error_type() {
        let page = include_str!("../../docs/interface.md");
        for name in [
            error_type::INVALID_INPUT,
            error_type::FORBIDDEN_ARGUMENT,
            error_type::START_DEFERRED,
            error_type::GLUE_UNAVAILABLE,
            error_type::GLUE_UNRECOGNIZED,
        ] {
            assert!(page.contains(&format!("`{name}`")), "{name}");
        }
        for prefix in [error_type::GLUE_PREFIX, error_type::STEP_FUNCTIONS_PREFIX] {
            assert!(page.contains(&format!("`{prefix}<code>`")), "{prefix}");
        }
    }

    #[test]
    fn a_code_is_typed_where_it_is_decided_on_and_kept_as_spelled_otherwise() {
        for code in [
            ErrorCode::EntityNotFound,
            ErrorCode::InvalidInput,
            ErrorCode::AccessDenied,
            ErrorCode::Other("ConcurrentRunsExceededException".to_owned()),
        ] {
            assert_eq!(ErrorCode::from_wire(code.as_wire()), code);
        }
        let error = glue_error("BatchStopJobRun", None, None, "no code");
        assert_eq!(error.error_type(), error_type::GLUE_UNRECOGNIZED);
        let error = glue_error(
            "GetJobRuns",
            None,
            Some(ErrorCode::EntityNotFound),
            "Job not found",
        );
        assert!(error.is_entity_not_found());
        assert_eq!(error.error_type(), "Glue.EntityNotFoundException");
    }
}
