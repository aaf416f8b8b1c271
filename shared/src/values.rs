//! The typed values of a job's compute, each parsed alike from an environment string
//! (`config`) and from event JSON (`compute`), and the job kinds Glue sizes differently. A leaf:
//! it depends on no other module of the crate.

use std::fmt;

use aws_sdk_glue::types::{Job, WorkerType};
use serde_json::Value;

/// Glue's largest job timeout, in minutes (seven days).
pub const MAX_TIMEOUT_MINUTES: i32 = 10_080;
/// "To use Worker Type G.1X, minimum allowed value of Number of Workers is 2" (Glue's answer to
/// StartJobRun; the API reference's WorkerType: each G.* worker type is for Spark jobs, which
/// need a driver and at least one executor).
pub const MIN_G_WORKERS: i32 = 2;

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

    /// The G.* family (G.025X … G.16X), which Glue gives at least [`MIN_G_WORKERS`].
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

    /// Glue's minimum number of workers for this worker type.
    pub fn check_workers(&self, workers: WorkerCount) -> Result<(), String> {
        if self.is_g() && workers.get() < MIN_G_WORKERS {
            return Err(format!(
                "must be at least {MIN_G_WORKERS} with worker type {self}: Glue answers \"To use \
                 Worker Type {self}, minimum allowed value of Number of Workers is {MIN_G_WORKERS}\""
            ));
        }
        Ok(())
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

/// Glue's retries of a failed run: validated, then only informational (never sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRetries(i32);

impl ComputeValue for MaxRetries {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_whole(text, true).map(Self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        whole_from_json(value, true).map(Self)
    }
}

/// What a job definition runs (`Command.Name`), which decides how Glue sizes its runs.
/// Source: Glue API reference, JobCommand.Name ("glueetl", "gluestreaming", "pythonshell",
/// "glueray") and StartJobRun's WorkerType and MaxCapacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// `glueetl`: Spark batch.
    Spark,
    /// `gluestreaming`: Spark streaming; a run lasts until it is stopped.
    Streaming,
    /// `pythonshell`: sized by MaxCapacity, no workers.
    PythonShell,
    /// `glueray`: Z.2X workers only.
    Ray,
    /// A kind this crate does not know: no sizing rule is assumed.
    Other(String),
}

impl JobKind {
    pub fn of(definition: &Job) -> Self {
        match definition.command().and_then(|c| c.name()) {
            Some("glueetl") => Self::Spark,
            Some("gluestreaming") => Self::Streaming,
            Some("pythonshell") => Self::PythonShell,
            Some("glueray") => Self::Ray,
            other => Self::Other(other.unwrap_or_default().to_owned()),
        }
    }

    /// The Glue name of the kind, as messages show it.
    pub fn command_name(&self) -> &str {
        match self {
            Self::Spark => "glueetl",
            Self::Streaming => "gluestreaming",
            Self::PythonShell => "pythonshell",
            Self::Ray => "glueray",
            Self::Other(name) => name,
        }
    }

    /// Whether StartJobRun may carry this worker type for a job of this kind; the rule broken
    /// otherwise, as Glue states it.
    pub fn takes_worker_type(&self, worker_type: &GlueWorkerType) -> Result<(), String> {
        let command = self.command_name();
        match self {
            // "Worker Type is not supported for Job Command pythonshell" (Glue's StartJobRun
            // answer); Python shell jobs are sized by MaxCapacity (API reference, MaxCapacity).
            Self::PythonShell => Err(format!(
                "Glue refuses a worker type for a Python shell job ({command}), which is sized by \
                 MaxCapacity: \"Worker Type is not supported for Job Command {command}\""
            )),
            // Z.2X is the Ray worker type, and Ray takes no other (API reference, WorkerType).
            Self::Ray if !worker_type.is_ray() => Err(format!(
                "a Ray job ({command}) takes only worker type Z.2X, not {worker_type}"
            )),
            Self::Spark | Self::Streaming if worker_type.is_ray() => Err(format!(
                "worker type Z.2X is for Ray jobs; Glue refuses it for a Spark job ({command}): \
                 \"Worker Type Z.2X is not supported for Job Command {command}\""
            )),
            _ => Ok(()),
        }
    }

    /// Whether StartJobRun may carry a number of workers (Python shell jobs have none).
    pub fn takes_workers(&self) -> Result<(), String> {
        match self {
            Self::PythonShell => Err(format!(
                "Glue refuses a number of workers for a Python shell job ({}), which is sized by \
                 MaxCapacity",
                self.command_name()
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::JobCommand;
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

    #[test]
    fn g_worker_types_need_two_workers() {
        let g1 = GlueWorkerType::from_text("G.1X").unwrap();
        let message = g1.check_workers(WorkerCount(1)).unwrap_err();
        assert!(
            message.contains("minimum allowed value of Number of Workers is 2"),
            "{message}"
        );
        assert!(g1.check_workers(WorkerCount(2)).is_ok());
        let z = GlueWorkerType::from_text("Z.2X").unwrap();
        assert!(z.check_workers(WorkerCount(1)).is_ok());
    }

    fn job(command: &str) -> Job {
        Job::builder()
            .command(JobCommand::builder().name(command).build())
            .build()
    }

    #[test]
    fn each_kind_takes_the_worker_types_glue_allows() {
        let g2 = GlueWorkerType::from_text("G.2X").unwrap();
        let z2 = GlueWorkerType::from_text("Z.2X").unwrap();
        let cases = [
            ("glueetl", JobKind::Spark, true, false, true),
            ("gluestreaming", JobKind::Streaming, true, false, true),
            ("pythonshell", JobKind::PythonShell, false, false, false),
            ("glueray", JobKind::Ray, false, true, true),
            (
                "somethingnew",
                JobKind::Other("somethingnew".into()),
                true,
                true,
                true,
            ),
        ];
        for (command, kind, takes_g, takes_z, takes_workers) in cases {
            assert_eq!(JobKind::of(&job(command)), kind);
            assert_eq!(kind.command_name(), command);
            assert_eq!(
                kind.takes_worker_type(&g2).is_ok(),
                takes_g,
                "{command} G.2X"
            );
            assert_eq!(
                kind.takes_worker_type(&z2).is_ok(),
                takes_z,
                "{command} Z.2X"
            );
            assert_eq!(kind.takes_workers().is_ok(), takes_workers, "{command}");
        }
        assert!(JobKind::PythonShell
            .takes_worker_type(&g2)
            .unwrap_err()
            .contains("Worker Type is not supported for Job Command pythonshell"));
    }
}
