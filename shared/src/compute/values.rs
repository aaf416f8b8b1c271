//! The typed values of a job's compute, each parsed alike from an environment string
//! (`config`) and from event JSON (`compute`). A leaf: it depends on no other module of the
//! crate.

use std::fmt;

use aws_sdk_glue::types::{ExecutionClass, WorkerType};
use serde_json::Value;

/// Glue's largest job timeout, in minutes (seven days).
pub const MAX_TIMEOUT_MINUTES: i32 = 10_080;
/// A whole number written in decimal digits, no sign, no spaces: the one integer parser of
/// the crate. `allow_zero` for counts such as retries.
pub fn parse_whole(text: &str, allow_zero: bool) -> Result<i32, String> {
    let rule = || {
        if allow_zero {
            "must be a non-negative whole number".to_owned()
        } else {
            "must be a positive whole number".to_owned()
        }
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule());
    }
    match text.parse::<i32>() {
        Ok(0) if !allow_zero => Err(rule()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("must be at most {}", i32::MAX)),
    }
}

/// A JSON integer, or a string of digits (the contract accepts both).
fn whole_from_json(value: &Value, allow_zero: bool) -> Result<i32, String> {
    let text = match value {
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::String(text) => text.clone(),
        _ => String::new(),
    };
    parse_whole(&text, allow_zero)
        .map_err(|rule| format!("{rule} (a JSON integer or a string of digits)"))
}

/// A value of the job's compute, read from the environment and from an event alike.
pub trait ComputeValue: Sized {
    fn from_text(text: &str) -> Result<Self, String>;

    /// The event's JSON: strings for text values, integers or digit strings for numbers.
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            _ => Err("must be a string".to_owned()),
        }
    }
}

/// A worker type the Glue SDK knows (G.1X … Z.2X, Standard and whatever it adds later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueWorkerType(WorkerType);

impl GlueWorkerType {
    pub fn as_sdk(&self) -> &WorkerType {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Ray's only worker type.
    pub fn is_ray(&self) -> bool {
        self.0 == WorkerType::Z2X
    }

    /// The G.* family (G.025X … G.16X), which Glue gives at least
    /// [`super::sizing::MIN_G_WORKERS`].
    pub fn is_g(&self) -> bool {
        self.as_str().starts_with("G.")
    }

    /// DPUs per worker, as the name tells them: G.025X 0.25, G.1X 1 … G.16X 16, R.1X 1 …
    /// R.8X 8, Z.2X 2 (Glue API reference, WorkerType); none for Standard.
    pub fn dpu(&self) -> Option<f64> {
        let size = self.as_str().split_once('.')?.1.strip_suffix('X')?;
        if size == "025" {
            return Some(0.25);
        }
        size.parse::<u32>().ok().map(f64::from)
    }
}

impl ComputeValue for GlueWorkerType {
    fn from_text(text: &str) -> Result<Self, String> {
        if WorkerType::values().contains(&text) {
            Ok(Self(WorkerType::from(text)))
        } else {
            Err(format!(
                "unknown Glue worker type {text:?}; use one of {}",
                WorkerType::values().join(", ")
            ))
        }
    }
}

impl From<WorkerType> for GlueWorkerType {
    fn from(worker_type: WorkerType) -> Self {
        Self(worker_type)
    }
}

impl fmt::Display for GlueWorkerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A positive number of workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerCount(i32);

impl WorkerCount {
    pub fn get(self) -> i32 {
        self.0
    }

    /// A count Glue reported; not validated, as Glue is the authority on its own definitions.
    pub fn from_glue(count: i32) -> Self {
        Self(count)
    }
}

impl ComputeValue for WorkerCount {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_whole(text, false).map(Self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        whole_from_json(value, false).map(Self)
    }
}

/// A run timeout, 1 to [`MAX_TIMEOUT_MINUTES`] minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutMinutes(i32);

impl TimeoutMinutes {
    pub fn get(self) -> i32 {
        self.0
    }

    pub fn from_glue(minutes: i32) -> Self {
        Self(minutes)
    }

    fn checked(minutes: i32) -> Result<Self, String> {
        if (1..=MAX_TIMEOUT_MINUTES).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(format!(
                "must be between 1 and {MAX_TIMEOUT_MINUTES} minutes"
            ))
        }
    }
}

impl ComputeValue for TimeoutMinutes {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_whole(text, false).and_then(Self::checked)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        whole_from_json(value, false).and_then(Self::checked)
    }
}

/// A Glue version, sent as the `--glue-version` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueVersion(String);

impl GlueVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_glue(version: &str) -> Self {
        Self(version.to_owned())
    }
}

impl ComputeValue for GlueVersion {
    fn from_text(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            Err("must not be empty".to_owned())
        } else if text.chars().any(char::is_control) {
            Err("must be one line without control characters".to_owned())
        } else {
            Ok(Self(text.to_owned()))
        }
    }
}

/// StartJobRun's `ExecutionClass`: `STANDARD`, or `FLEX` (Glue's discounted capacity for
/// non-urgent Spark runs, which may wait for it and start later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunExecutionClass(ExecutionClass);

impl RunExecutionClass {
    pub fn as_sdk(&self) -> &ExecutionClass {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_flex(&self) -> bool {
        self.0 == ExecutionClass::Flex
    }
}

impl From<ExecutionClass> for RunExecutionClass {
    fn from(class: ExecutionClass) -> Self {
        Self(class)
    }
}

impl ComputeValue for RunExecutionClass {
    fn from_text(text: &str) -> Result<Self, String> {
        if ExecutionClass::values().contains(&text) {
            Ok(Self(ExecutionClass::from(text)))
        } else {
            Err(format!(
                "unknown execution class {text:?}; use one of {}",
                ExecutionClass::values().join(", ")
            ))
        }
    }
}

/// StartJobRun's `MaxCapacity`: DPUs, a positive number (Glue's rules for each kind of job are
/// in `sizing`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxCapacity(f64);

// Only finite numbers are made (from_json, from_text, Glue's own), so equality is total.
impl Eq for MaxCapacity {}

impl MaxCapacity {
    pub fn get(self) -> f64 {
        self.0
    }

    pub fn from_glue(dpus: f64) -> Self {
        Self(dpus)
    }

    fn checked(dpus: f64) -> Result<Self, String> {
        if dpus.is_finite() && dpus > 0.0 {
            Ok(Self(dpus))
        } else {
            Err("must be a positive number of DPUs".to_owned())
        }
    }
}

impl ComputeValue for MaxCapacity {
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse::<f64>()
            .map_err(|_| "must be a positive number of DPUs".to_owned())
            .and_then(Self::checked)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| "must be a positive number of DPUs".to_owned())
                .and_then(Self::checked),
            Value::String(text) => Self::from_text(text),
            _ => Err("must be a positive number of DPUs (a JSON number or a string)".to_owned()),
        }
    }
}

/// StartJobRun's `JobRunQueuingEnabled`: when Glue's quotas are reached, the run waits in
/// WAITING rather than fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRunQueuing(bool);

impl JobRunQueuing {
    pub fn get(self) -> bool {
        self.0
    }

    pub fn from_glue(enabled: bool) -> Self {
        Self(enabled)
    }
}

impl ComputeValue for JobRunQueuing {
    fn from_text(text: &str) -> Result<Self, String> {
        match text {
            "true" => Ok(Self(true)),
            "false" => Ok(Self(false)),
            _ => Err("must be true or false".to_owned()),
        }
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(enabled) => Ok(Self(*enabled)),
            Value::String(text) => Self::from_text(text),
            _ => Err("must be true or false".to_owned()),
        }
    }
}

/// StartJobRun's `NotificationProperty.NotifyDelayAfter`: minutes after the run starts before
/// Glue sends a delay notification; at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyDelayMinutes(i32);

impl NotifyDelayMinutes {
    pub fn get(self) -> i32 {
        self.0
    }

    pub fn from_glue(minutes: i32) -> Self {
        Self(minutes)
    }
}

impl ComputeValue for NotifyDelayMinutes {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_whole(text, false).map(Self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        whole_from_json(value, false).map(Self)
    }
}

/// The name of a Glue security configuration (StartJobRun `SecurityConfiguration`): 1 to 255
/// characters of one line (Glue API reference, StartJobRun: "Length Constraints: Minimum length
/// of 1. Maximum length of 255.", "Pattern: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityConfiguration(String);

/// The longest security configuration name Glue takes.
pub const MAX_SECURITY_CONFIGURATION_CHARS: usize = 255;

impl SecurityConfiguration {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_glue(name: &str) -> Self {
        Self(name.to_owned())
    }
}

impl ComputeValue for SecurityConfiguration {
    fn from_text(text: &str) -> Result<Self, String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Err("must not be empty".to_owned())
        } else if chars > MAX_SECURITY_CONFIGURATION_CHARS {
            Err(format!(
                "must be at most {MAX_SECURITY_CONFIGURATION_CHARS} characters, not {chars}"
            ))
        } else if text.chars().any(|c| c.is_control() && c != '\t') {
            Err("must be one line without control characters".to_owned())
        } else {
            Ok(Self(text.to_owned()))
        }
    }
}

/// Glue's retries of a failed run: StartJobRun has no such field, so Glue retries as the job
/// definition says; the attribute is checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRetries(i32);

impl MaxRetries {
    pub fn get(self) -> i32 {
        self.0
    }
}

impl ComputeValue for MaxRetries {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_whole(text, true).map(Self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        whole_from_json(value, true).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_integer_parser_for_text_and_json() {
        assert_eq!(parse_whole("10", false), Ok(10));
        assert_eq!(parse_whole("0", true), Ok(0));
        assert_eq!(parse_whole("000", true), Ok(0));
        for bad in ["", "0", "-2", " 2", "2.5", "ten", "+3"] {
            assert!(parse_whole(bad, false).is_err(), "{bad:?}");
        }
        assert!(parse_whole("99999999999", false)
            .unwrap_err()
            .contains("at most"));
        assert_eq!(
            WorkerCount::from_json(&json!(12)).map(WorkerCount::get),
            Ok(12)
        );
        assert_eq!(
            WorkerCount::from_json(&json!("12")).map(WorkerCount::get),
            Ok(12)
        );
        for bad in [
            json!(0),
            json!(-1),
            json!(2.5),
            json!("2.5"),
            json!(true),
            json!(4_294_967_296_u64),
        ] {
            assert!(WorkerCount::from_json(&bad).is_err(), "{bad}");
        }
        assert_eq!(MaxRetries::from_json(&json!("0")), Ok(MaxRetries(0)));
        assert!(MaxRetries::from_json(&json!(-1)).is_err());
    }

    #[test]
    fn every_worker_type_the_sdk_knows_is_accepted_and_others_refused() {
        for known in WorkerType::values() {
            assert_eq!(GlueWorkerType::from_text(known).unwrap().as_str(), *known);
        }
        for unknown in ["g.1x", "G.3X", "", "G.1X "] {
            assert!(GlueWorkerType::from_text(unknown).is_err(), "{unknown:?}");
        }
    }

    #[test]
    fn timeouts_stay_within_seven_days() {
        assert_eq!(
            TimeoutMinutes::from_text("10080").map(TimeoutMinutes::get),
            Ok(10080)
        );
        assert_eq!(
            TimeoutMinutes::from_text("10079").map(TimeoutMinutes::get),
            Ok(10079)
        );
        assert!(TimeoutMinutes::from_text("10081").is_err());
        assert!(TimeoutMinutes::from_json(&json!(0)).is_err());
    }

    #[test]
    fn each_worker_type_tells_its_dpus() {
        let dpu = |t: &str| GlueWorkerType::from_text(t).unwrap().dpu();
        assert_eq!(dpu("G.025X"), Some(0.25));
        assert_eq!(dpu("G.1X"), Some(1.0));
        assert_eq!(dpu("G.16X"), Some(16.0));
        assert_eq!(dpu("R.8X"), Some(8.0));
        assert_eq!(dpu("Z.2X"), Some(2.0));
        assert_eq!(dpu("Standard"), None);
    }
}
