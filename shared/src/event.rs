//! Event and output shapes of the five functions, field for field as docs/interface.md has them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnosis::Diagnosis;
use crate::error::PolysyncError;
use crate::history::ExpectedDuration;
use crate::status::RunStatus;
use crate::usage::DpuSource;

/// The state machine's input and the start function's event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartEvent {
    pub job: JobSpec,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub retry_count: Option<u32>,
    /// How often the execution was redriven (`$$.Execution.RedriveCount`).
    #[serde(default)]
    pub redrive_count: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub external_id: String,
    #[serde(default)]
    pub job_type: Option<String>,
    #[serde(default)]
    pub attributes: Option<JobAttributes>,
}

/// Numbers stay raw JSON here: the contract accepts integers and strings of digits, and the
/// typed values of `values` that follow name the attribute and the rule it broke. Unknown attributes are
/// refused, so a misspelt `glueTimeoutMinutes` cannot silently fall back to Glue's 48 hours.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobAttributes {
    #[serde(default)]
    pub glue_worker_type: Option<String>,
    #[serde(default)]
    pub glue_number_of_workers: Option<Value>,
    #[serde(default)]
    pub glue_version: Option<String>,
    #[serde(default)]
    pub glue_timeout_minutes: Option<Value>,
    #[serde(default)]
    pub glue_max_retries: Option<Value>,
    #[serde(default)]
    pub glue_execution_class: Option<String>,
    #[serde(default)]
    pub glue_max_capacity: Option<Value>,
    #[serde(default)]
    pub glue_job_run_queuing: Option<Value>,
    #[serde(default)]
    pub glue_notify_delay_after_minutes: Option<Value>,
    #[serde(default)]
    pub glue_security_configuration: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub direction: String,
    /// `null` and a missing value both mean "not sent".
    #[serde(default)]
    pub value: Option<Value>,
}

/// Where a compute field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Job,
    Platform,
    Definition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    pub value: Option<T>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeReport {
    pub worker_type: Sourced<String>,
    pub number_of_workers: Sourced<i32>,
    pub timeout_minutes: Sourced<i32>,
    pub glue_version: Sourced<String>,
    /// The run options, each when sent or set by the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_class: Option<Sourced<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<Sourced<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_run_queuing: Option<Sourced<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_delay_after_minutes: Option<Sourced<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_configuration: Option<Sourced<String>>,
}

/// The start function's output, kept by the state machine at `$.run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartOutput {
    pub run_id: String,
    pub job_name: String,
    pub job_run_id: String,
    pub status: RunStatus,
    pub monitor_url: String,
    pub argument_keys: Vec<String>,
    pub compute: ComputeReport,
    pub warnings: Vec<String>,
    pub started_at: String,
    /// What the job's recent successful runs took; null with too few of them.
    pub expected_duration: Option<ExpectedDuration>,
    /// The job definition's MaxRetries, so poll follows Glue's retry attempts without reading
    /// the definition; null when it could not be read.
    pub max_retries: Option<i32>,
}

/// The poll function's event: the start output, or any object with a `runId`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollEvent {
    pub run_id: String,
    /// The start output's: poll looks most often around the end it expects.
    #[serde(default)]
    pub expected_duration: Option<ExpectedDuration>,
    /// The start output's: the job's MaxRetries (poll reads the definition without it).
    #[serde(default)]
    pub max_retries: Option<i32>,
    /// The execution following the run (`$$.Execution.Id`), for the link a notification
    /// carries.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// How many polls this execution made before this one (the state machine counts them).
    #[serde(default)]
    pub polls: Option<u64>,
    /// The history events one execution may write (the definition's setting; docs/interface.md, "Poll").
    #[serde(default)]
    pub history_budget: Option<u64>,
    /// The previous poll's `lateNoticeSent`: this execution (or its parent) already sent the
    /// run's one "late" message.
    #[serde(default)]
    pub late_notice_sent: Option<bool>,
    /// Glue's event woke this poll (the wake ended the wait): a run not over is handed to a
    /// child execution, whose history starts afresh.
    #[serde(default)]
    pub woken: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollOutput {
    pub run_id: String,
    pub status: RunStatus,
    pub glue_state: Option<String>,
    pub terminal: bool,
    pub error_message: Option<String>,
    pub attempt: i32,
    pub started_on: Option<String>,
    pub completed_on: Option<String>,
    pub execution_time_seconds: i32,
    pub monitor_url: String,
    pub next_poll_seconds: u32,
    /// Glue's `StateDetail`: why a run is WAITING (a quota, MaxConcurrentRuns, Flex capacity),
    /// cut to [`crate::poll::STATE_DETAIL_CHARS`] characters.
    pub state_detail: Option<String>,
    /// A failed run's error log (its last lines, redacted) and where to read the rest.
    pub diagnosis: Option<Diagnosis>,
    /// The capacity the run used, once it ended, when Glue or its size tells it.
    pub dpu_seconds: Option<f64>,
    pub dpu_seconds_source: Option<DpuSource>,
    /// This execution's polls, this one included.
    pub polls: u64,
    /// The execution's history is nearly full: a child execution follows the run from here.
    pub continue_as_child: bool,
    /// What the state machine sends to its topic: when the run ended otherwise than Success,
    /// or, once, on the poll that finds a live run late; none otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    /// The run's one "late" message is sent (by this poll or an earlier one): the state machine
    /// hands it to the next poll, so no other is.
    #[serde(default)]
    pub late_notice_sent: bool,
    /// The event's `woken`, handed on: the state machine passes it to every poll after.
    #[serde(default)]
    pub woken: bool,
}

/// A message for the notification topic: read at a glance, never an argument value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// ASCII, one line, under 100 characters (SNS `Subject`).
    pub subject: String,
    pub message: String,
    /// The job's name, a message attribute for subscription filters.
    pub job: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelOutput {
    pub run_id: Option<String>,
    pub stop_requested: bool,
    pub status: RunStatus,
    pub glue_state: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverEvent {
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverOutput {
    pub jobs: Vec<DiscoveredJob>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredJob {
    pub external_id: String,
    pub job_type: String,
    pub attributes: DiscoveredAttributes,
    pub parameters: Vec<DiscoveredParameter>,
    /// Only on a job whose parameters were cut to fit a page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_worker_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_number_of_workers: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_timeout_minutes: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_max_retries: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_execution_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_max_capacity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_job_run_queuing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_notify_delay_after_minutes: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glue_security_configuration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredParameter {
    pub name: String,
    pub direction: Direction,
    pub value: String,
}

/// A parameter's direction. A start event's is read as text and parsed by
/// [`Direction::parse`], so a parameter left out (`_name`) is never refused for it and the
/// error names the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Input,
    Output,
    #[serde(alias = "Input&Output")]
    InputOutput,
}

impl Direction {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Input" => Some(Self::Input),
            "Output" => Some(Self::Output),
            "InputOutput" | "Input&Output" => Some(Self::InputOutput),
            _ => None,
        }
    }
}

/// The job type this crate implements: `job.jobType` of a start event, and of every job
/// discover returns.
pub const JOB_TYPE: &str = "AWS Glue Job";

/// Deserializes an event, turning a serde failure into `Polysync.InvalidInput` that names the
/// field by its JSON path (`job.attributes.glueVersion`, `parameters[2].name`).
pub fn parse_event<T: serde::de::DeserializeOwned>(event: Value) -> Result<T, PolysyncError> {
    require_object("event", &event)?;
    serde_path_to_error::deserialize(event).map_err(|error| {
        let mut field = error.path().to_string();
        let rule = error.inner().to_string();
        // serde reports a missing field at its parent; name the field itself.
        if let Some(missing) = rule
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            field = if field == "." {
                missing.to_owned()
            } else {
                format!("{field}.{missing}")
            };
        }
        if field == "." {
            field = "event".to_owned();
        }
        PolysyncError::invalid(field, rule)
    })
}

/// serde reads a struct from a JSON array too, field by field in order; an event whose object
/// is an array is malformed, not a shorthand.
pub fn require_object(field: &str, value: &Value) -> Result<(), PolysyncError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(PolysyncError::invalid(field, "must be a JSON object"))
    }
}

/// The objects inside a start event that serde would also read from arrays.
pub fn require_start_objects(event: &Value) -> Result<(), PolysyncError> {
    if let Some(job) = event.get("job").filter(|job| !job.is_null()) {
        require_object("job", job)?;
        if let Some(attributes) = job.get("attributes").filter(|a| !a.is_null()) {
            require_object("job.attributes", attributes)?;
        }
    }
    if let Some(parameters) = event.get("parameters").and_then(Value::as_array) {
        for (index, parameter) in parameters.iter().enumerate() {
            require_object(&format!("parameters[{index}]"), parameter)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(event: Value) -> String {
        match parse_event::<StartEvent>(event).unwrap_err() {
            PolysyncError::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_fields_are_named_by_their_full_path() {
        assert_eq!(field_of(json!({})), "job");
        assert_eq!(field_of(json!({"job": {}})), "job.externalId");
        assert_eq!(
            field_of(json!({"job": {"externalId": "a"}, "parameters": [{"direction": "Input"}]})),
            "parameters[0].name"
        );
    }

    #[test]
    fn wrong_types_are_named_by_their_path() {
        assert_eq!(
            field_of(json!({"job": {"externalId": 5}})),
            "job.externalId"
        );
        assert_eq!(
            field_of(json!({"job": {"externalId": "a", "attributes": {"glueVersion": 4}}})),
            "job.attributes.glueVersion"
        );
        assert_eq!(
            field_of(json!({"job": {"externalId": "a"}, "retryCount": -1})),
            "retryCount"
        );
        assert_eq!(field_of(json!("nightly-sales")), "event");
        assert_eq!(field_of(json!([{"externalId": "a"}])), "event");
    }

    #[test]
    fn misspelt_attributes_are_refused() {
        let event = json!({"job": {"externalId": "a", "attributes": {"glueTimeoutMinute": 5}}});
        match parse_event::<StartEvent>(event).unwrap_err() {
            PolysyncError::InvalidInput { field, rule } => {
                assert_eq!(field, "job.attributes.glueTimeoutMinute");
                assert!(rule.contains("unknown field"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_contract_example_parses() {
        let event: StartEvent = parse_event(json!({
            "job": {"externalId": "nightly-sales", "jobType": "AWS Glue Job",
                    "attributes": {"glueWorkerType": "G.2X", "glueNumberOfWorkers": 10}},
            "parameters": [{"name": "rows_written", "direction": "Output"},
                           {"name": "x", "direction": "Input", "value": null}],
            "executionId": "exec-1",
            "retryCount": 0
        }))
        .unwrap();
        assert_eq!(event.job.external_id, "nightly-sales");
        assert_eq!(event.parameters[0].value, None);
        assert_eq!(event.parameters[1].value, None);
        assert_eq!(event.retry_count, Some(0));
    }
}
