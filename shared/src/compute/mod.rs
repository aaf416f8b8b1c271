//! Compute precedence: job attribute → platform default → Glue job definition, and Glue's
//! sizing rules for the job's kind ([`sizing`]), checked before StartJobRun (docs/interface.md,
//! "Compute").

pub(crate) mod sizing;
mod values;

pub use sizing::{JobKind, MIN_G_WORKERS};
pub use values::{
    parse_whole, ComputeValue, GlueVersion, GlueWorkerType, JobRunQueuing, MaxCapacity, MaxRetries,
    NotifyDelayMinutes, RunExecutionClass, SecurityConfiguration, TimeoutMinutes, WorkerCount,
    MAX_TIMEOUT_MINUTES,
};

use aws_sdk_glue::types::{Job, WorkerType};
use serde_json::Value;

use crate::config::PlatformDefaults;
use crate::error::PolysyncError;
use crate::event::{ComputeReport, JobAttributes, Source, Sourced};
use crate::history::ExpectedDuration;
use sizing::{check_flex, check_max_capacity, check_queuing, default_timeout_minutes};

pub const WORKER_TYPE_ATTRIBUTE: &str = "glueWorkerType";
pub const NUMBER_OF_WORKERS_ATTRIBUTE: &str = "glueNumberOfWorkers";
pub const EXECUTION_CLASS_ATTRIBUTE: &str = "glueExecutionClass";
pub const MAX_CAPACITY_ATTRIBUTE: &str = "glueMaxCapacity";
pub const JOB_RUN_QUEUING_ATTRIBUTE: &str = "glueJobRunQueuing";

fn invalid_attribute(name: &str, rule: impl Into<String>) -> PolysyncError {
    PolysyncError::invalid(format!("job.attributes.{name}"), rule)
}

/// Parses an attribute when present and not null; the error names it.
fn attribute<T: ComputeValue>(
    name: &str,
    value: &Option<Value>,
) -> Result<Option<T>, PolysyncError> {
    value
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| T::from_json(v).map_err(|rule| invalid_attribute(name, rule)))
        .transpose()
}

fn text(value: &Option<String>) -> Option<Value> {
    value.clone().map(Value::String)
}

/// The compute a job asks for, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCompute {
    pub worker_type: Option<GlueWorkerType>,
    pub number_of_workers: Option<WorkerCount>,
    pub glue_version: Option<GlueVersion>,
    pub timeout_minutes: Option<TimeoutMinutes>,
    /// Informational: never sent, compared with the definition's MaxRetries.
    pub max_retries: Option<MaxRetries>,
    pub execution_class: Option<RunExecutionClass>,
    pub max_capacity: Option<MaxCapacity>,
    pub job_run_queuing: Option<JobRunQueuing>,
    pub notify_delay_minutes: Option<NotifyDelayMinutes>,
    pub security_configuration: Option<SecurityConfiguration>,
}

impl JobCompute {
    pub fn from_attributes(attributes: &JobAttributes) -> Result<Self, PolysyncError> {
        let worker_type: Option<GlueWorkerType> =
            attribute(WORKER_TYPE_ATTRIBUTE, &text(&attributes.glue_worker_type))?;
        let number_of_workers: Option<WorkerCount> = attribute(
            NUMBER_OF_WORKERS_ATTRIBUTE,
            &attributes.glue_number_of_workers,
        )?;
        if let (Some(worker_type), Some(workers)) = (&worker_type, number_of_workers) {
            worker_type
                .check_workers(workers)
                .map_err(|rule| invalid_attribute(NUMBER_OF_WORKERS_ATTRIBUTE, rule))?;
        }
        Ok(Self {
            worker_type,
            number_of_workers,
            max_retries: attribute("glueMaxRetries", &attributes.glue_max_retries)?,
            glue_version: attribute("glueVersion", &text(&attributes.glue_version))?,
            timeout_minutes: attribute("glueTimeoutMinutes", &attributes.glue_timeout_minutes)?,
            execution_class: attribute(
                EXECUTION_CLASS_ATTRIBUTE,
                &text(&attributes.glue_execution_class),
            )?,
            max_capacity: attribute(MAX_CAPACITY_ATTRIBUTE, &attributes.glue_max_capacity)?,
            job_run_queuing: attribute(
                JOB_RUN_QUEUING_ATTRIBUTE,
                &attributes.glue_job_run_queuing,
            )?,
            notify_delay_minutes: attribute(
                "glueNotifyDelayAfterMinutes",
                &attributes.glue_notify_delay_after_minutes,
            )?,
            security_configuration: attribute(
                "glueSecurityConfiguration",
                &text(&attributes.glue_security_configuration),
            )?,
        })
    }
}

/// Where a compute field's value comes from, with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<T> {
    Job(T),
    Platform(T),
    /// Left to the job definition: its value once read (GetJob), else none.
    Definition(Option<T>),
}

impl<T: Clone> Resolved<T> {
    fn pick(job: &Option<T>, platform: &Option<T>) -> Self {
        match (job, platform) {
            (Some(value), _) => Self::Job(value.clone()),
            (None, Some(value)) => Self::Platform(value.clone()),
            (None, None) => Self::Definition(None),
        }
    }

    /// The value the job or the platform set: what StartJobRun carries.
    pub fn given(&self) -> Option<&T> {
        match self {
            Self::Job(value) | Self::Platform(value) => Some(value),
            Self::Definition(_) => None,
        }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Job(value) | Self::Platform(value) => Some(value),
            Self::Definition(value) => value.as_ref(),
        }
    }

    pub fn source(&self) -> Source {
        match self {
            Self::Job(_) => Source::Job,
            Self::Platform(_) => Source::Platform,
            Self::Definition(_) => Source::Definition,
        }
    }

    fn report<U>(&self, show: impl Fn(&T) -> U) -> Sourced<U> {
        Sourced {
            value: self.value().map(show),
            source: self.source(),
        }
    }

    /// The report of a field shown only when it is sent or the definition sets it.
    fn report_known<U>(&self, show: impl Fn(&T) -> U) -> Option<Sourced<U>> {
        self.value().is_some().then(|| self.report(show))
    }

    /// A field left to the definition shows the definition's value.
    fn read_from(&mut self, definition_value: Option<T>) {
        if let Self::Definition(value) = self {
            *value = definition_value;
        }
    }
}

/// The resolved compute of a run: what StartJobRun carries and where each value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compute {
    pub worker_type: Resolved<GlueWorkerType>,
    pub number_of_workers: Resolved<WorkerCount>,
    pub timeout_minutes: Resolved<TimeoutMinutes>,
    pub glue_version: Resolved<GlueVersion>,
    pub execution_class: Resolved<RunExecutionClass>,
    /// Only a job sets it: the contract has no platform default of MaxCapacity.
    pub max_capacity: Resolved<MaxCapacity>,
    pub job_run_queuing: Resolved<JobRunQueuing>,
    pub notify_delay_minutes: Resolved<NotifyDelayMinutes>,
    pub security_configuration: Resolved<SecurityConfiguration>,
    /// The job's `glueMaxRetries`, which Glue does not take from a run.
    pub max_retries: Option<MaxRetries>,
    pub warnings: Vec<String>,
}

impl Compute {
    /// Resolves each field without the definition.
    pub fn resolve(job: &JobCompute, platform: &PlatformDefaults) -> Self {
        Self {
            worker_type: Resolved::pick(&job.worker_type, &platform.worker_type),
            number_of_workers: Resolved::pick(&job.number_of_workers, &platform.number_of_workers),
            timeout_minutes: Resolved::pick(&job.timeout_minutes, &platform.timeout_minutes),
            glue_version: Resolved::pick(&job.glue_version, &platform.glue_version),
            execution_class: Resolved::pick(&job.execution_class, &platform.execution_class),
            max_capacity: Resolved::pick(&job.max_capacity, &None),
            job_run_queuing: Resolved::pick(&job.job_run_queuing, &platform.job_run_queuing),
            notify_delay_minutes: Resolved::pick(
                &job.notify_delay_minutes,
                &platform.notify_delay_minutes,
            ),
            security_configuration: Resolved::pick(
                &job.security_configuration,
                &platform.security_configuration,
            ),
            max_retries: job.max_retries,
            warnings: Vec::new(),
        }
    }

    /// Whether the definition (GetJob) must be read before StartJobRun: a worker pair, FLEX,
    /// a MaxCapacity or queuing would be sent, and Glue's rules for the job's kind, version and
    /// retries decide whether it may; or a Glue version is sent, which Glue applies only when
    /// the definition agrees.
    pub fn needs_definition(&self) -> bool {
        self.worker_type.given().is_some()
            || self.number_of_workers.given().is_some()
            || self.glue_version.given().is_some()
            || self
                .execution_class
                .given()
                .is_some_and(RunExecutionClass::is_flex)
            || self.max_capacity.given().is_some()
            || self.job_run_queuing.given().is_some_and(|q| q.get())
    }

    /// Checks what is sent against the job definition and completes the report with it.
    pub fn apply_definition(&mut self, definition: &Job) -> Result<(), PolysyncError> {
        self.fit_max_capacity(definition)?;
        self.fit_kind(&JobKind::of(definition))?;
        self.complete_pair(definition)?;
        self.fit_run_options(definition)?;
        self.worker_type
            .read_from(definition.worker_type().cloned().map(GlueWorkerType::from));
        self.number_of_workers
            .read_from(definition.number_of_workers().map(WorkerCount::from_glue));
        // A definition without a timeout runs with Glue's default for its version.
        self.timeout_minutes
            .read_from(Some(TimeoutMinutes::from_glue(
                definition
                    .timeout()
                    .unwrap_or_else(|| default_timeout_minutes(definition.glue_version())),
            )));
        self.glue_version
            .read_from(definition.glue_version().map(GlueVersion::from_glue));
        self.check_pair_minimum()?;
        if let (Some(sent), Some(runs)) = (self.glue_version.given(), definition.glue_version()) {
            if sent.as_str() != runs {
                self.warnings.push(format!(
                    "glueVersion {} was sent as --glue-version, but StartJobRun has no version \
                     field: Glue runs the job definition's GlueVersion {runs}",
                    sent.as_str()
                ));
            }
        }
        Ok(())
    }

    /// Glue's rules for the job's kind: a job attribute the kind cannot take is refused; the
    /// platform's pair gives way to the definition, as a whole, since it sizes another kind.
    fn fit_kind(&mut self, kind: &JobKind) -> Result<(), PolysyncError> {
        let type_rule = self
            .worker_type
            .given()
            .and_then(|t| kind.takes_worker_type(t).err());
        let workers_rule = self
            .number_of_workers
            .given()
            .and_then(|_| kind.takes_workers().err());
        if let (Resolved::Job(_), Some(rule)) = (&self.worker_type, &type_rule) {
            return Err(invalid_attribute(WORKER_TYPE_ATTRIBUTE, rule.clone()));
        }
        if let (Resolved::Job(_), Some(rule)) = (&self.number_of_workers, &workers_rule) {
            return Err(invalid_attribute(NUMBER_OF_WORKERS_ATTRIBUTE, rule.clone()));
        }
        if let Some(rule) = type_rule.or(workers_rule) {
            self.platform_pair_gives_way(&rule);
        }
        Ok(())
    }

    /// MaxCapacity sizes a run instead of a worker pair, never with one: the job's both are
    /// refused, naming both; a platform pair gives way to the job's MaxCapacity. Then Glue's
    /// rule for the job's kind and version.
    fn fit_max_capacity(&mut self, definition: &Job) -> Result<(), PolysyncError> {
        let Some(dpus) = self.max_capacity.given().copied() else {
            return Ok(());
        };
        let job_pair = match (&self.worker_type, &self.number_of_workers) {
            (Resolved::Job(_), _) => Some(WORKER_TYPE_ATTRIBUTE),
            (_, Resolved::Job(_)) => Some(NUMBER_OF_WORKERS_ATTRIBUTE),
            _ => None,
        };
        if let Some(pair_attribute) = job_pair {
            return Err(invalid_attribute(
                MAX_CAPACITY_ATTRIBUTE,
                format!(
                    "never together with {pair_attribute}: Glue sizes a run by MaxCapacity or \
                     by a worker pair, not both"
                ),
            ));
        }
        self.platform_pair_gives_way("the job's glueMaxCapacity sizes the run instead");
        check_max_capacity(&JobKind::of(definition), definition.glue_version(), dpus)
            .map_err(|rule| invalid_attribute(MAX_CAPACITY_ATTRIBUTE, rule))
    }

    /// Glue's rules for FLEX and queuing, against the definition's kind, version, class and
    /// retries: the job's attribute is refused, the platform's default gives way.
    fn fit_run_options(&mut self, definition: &Job) -> Result<(), PolysyncError> {
        if let Some(rule) = self
            .execution_class
            .given()
            .filter(|class| class.is_flex())
            .and_then(|_| check_flex(&JobKind::of(definition), definition.glue_version()).err())
        {
            if matches!(self.execution_class, Resolved::Job(_)) {
                return Err(invalid_attribute(EXECUTION_CLASS_ATTRIBUTE, rule));
            }
            self.platform_default_gives_way("execution class FLEX", &rule);
            self.execution_class = Resolved::Definition(None);
        }
        self.execution_class.read_from(
            definition
                .execution_class()
                .cloned()
                .map(RunExecutionClass::from),
        );
        let flex = self
            .execution_class
            .value()
            .is_some_and(RunExecutionClass::is_flex);
        if let Some(rule) = self
            .job_run_queuing
            .given()
            .filter(|queuing| queuing.get())
            .and_then(|_| check_queuing(flex, definition.max_retries()).err())
        {
            if matches!(self.job_run_queuing, Resolved::Job(_)) {
                return Err(invalid_attribute(JOB_RUN_QUEUING_ATTRIBUTE, rule));
            }
            self.platform_default_gives_way("job run queuing", &rule);
            self.job_run_queuing = Resolved::Definition(None);
        }
        self.job_run_queuing.read_from(
            definition
                .job_run_queuing_enabled()
                .map(JobRunQueuing::from_glue),
        );
        self.max_capacity
            .read_from(definition.max_capacity().map(MaxCapacity::from_glue));
        self.notify_delay_minutes.read_from(
            definition
                .notification_property()
                .and_then(|n| n.notify_delay_after())
                .map(NotifyDelayMinutes::from_glue),
        );
        self.security_configuration.read_from(
            definition
                .security_configuration()
                .map(SecurityConfiguration::from_glue),
        );
        Ok(())
    }

    fn platform_default_gives_way(&mut self, what: &str, rule: &str) {
        self.warnings.push(format!(
            "the platform default {what} was not applied, the job definition's is: {rule}"
        ));
    }

    /// Glue wants WorkerType and NumberOfWorkers together: a half set alone is completed from
    /// the definition; when the definition has no such half, a job's half is refused and a
    /// platform's gives way.
    fn complete_pair(&mut self, definition: &Job) -> Result<(), PolysyncError> {
        let (missing, given_alone, given_is_job) = match (
            &self.worker_type,
            &self.number_of_workers,
            definition.worker_type(),
            definition.number_of_workers(),
        ) {
            (Resolved::Definition(_), given, None, _) if given.given().is_some() => (
                WORKER_TYPE_ATTRIBUTE,
                NUMBER_OF_WORKERS_ATTRIBUTE,
                matches!(given, Resolved::Job(_)),
            ),
            (given, Resolved::Definition(_), _, None) if given.given().is_some() => (
                NUMBER_OF_WORKERS_ATTRIBUTE,
                WORKER_TYPE_ATTRIBUTE,
                matches!(given, Resolved::Job(_)),
            ),
            _ => return Ok(()),
        };
        let rule = format!(
            "Glue needs the worker type and the number of workers together, and the job \
             definition {} has no {missing}",
            definition.name().unwrap_or_default()
        );
        if given_is_job {
            return Err(invalid_attribute(
                missing,
                format!("required with {given_alone}: {rule}"),
            ));
        }
        self.platform_pair_gives_way(&rule);
        Ok(())
    }

    /// Glue's minimum number of G.* workers, for the pair as it will be sent.
    fn check_pair_minimum(&mut self) -> Result<(), PolysyncError> {
        let Some(rule) = self.sent_pair().and_then(|(t, n)| t.check_workers(n).err()) else {
            return Ok(());
        };
        if matches!(self.number_of_workers, Resolved::Job(_)) {
            return Err(invalid_attribute(NUMBER_OF_WORKERS_ATTRIBUTE, rule));
        }
        if matches!(self.worker_type, Resolved::Job(_)) {
            return Err(invalid_attribute(WORKER_TYPE_ATTRIBUTE, rule));
        }
        self.platform_pair_gives_way(&rule);
        Ok(())
    }

    fn platform_pair_gives_way(&mut self, rule: &str) {
        let mut dropped = Vec::new();
        if let Resolved::Platform(worker_type) = &self.worker_type {
            dropped.push(format!("worker type {worker_type}"));
            self.worker_type = Resolved::Definition(None);
        }
        if let Resolved::Platform(workers) = self.number_of_workers {
            dropped.push(format!("number of workers {}", workers.get()));
            self.number_of_workers = Resolved::Definition(None);
        }
        if !dropped.is_empty() {
            self.warnings.push(format!(
                "the platform default {} was not applied, the job definition's sizing is: {rule}",
                dropped.join(" and ")
            ));
        }
    }

    /// The pair StartJobRun carries: the job or the platform set at least one half, and both
    /// are known.
    fn sent_pair(&self) -> Option<(&GlueWorkerType, WorkerCount)> {
        let given = self.worker_type.given().is_some() || self.number_of_workers.given().is_some();
        if !given {
            return None;
        }
        Some((self.worker_type.value()?, *self.number_of_workers.value()?))
    }

    /// `(WorkerType, NumberOfWorkers)` for StartJobRun, when sent.
    pub fn worker_pair(&self) -> Option<(WorkerType, i32)> {
        self.sent_pair()
            .map(|(worker_type, workers)| (worker_type.as_sdk().clone(), workers.get()))
    }

    /// `ExecutionClass` for StartJobRun, when the job or the platform set it.
    pub fn execution_class(&self) -> Option<&aws_sdk_glue::types::ExecutionClass> {
        self.execution_class.given().map(RunExecutionClass::as_sdk)
    }

    /// `MaxCapacity` for StartJobRun, when the job set it.
    pub fn max_capacity(&self) -> Option<f64> {
        self.max_capacity.given().map(|dpus| dpus.get())
    }

    /// `JobRunQueuingEnabled` for StartJobRun, when the job or the platform set it.
    pub fn job_run_queuing(&self) -> Option<bool> {
        self.job_run_queuing.given().map(|queuing| queuing.get())
    }

    /// `NotificationProperty` for StartJobRun, when the job or the platform set a delay.
    pub fn notification_property(&self) -> Option<aws_sdk_glue::types::NotificationProperty> {
        self.notify_delay_minutes.given().map(|minutes| {
            aws_sdk_glue::types::NotificationProperty::builder()
                .notify_delay_after(minutes.get())
                .build()
        })
    }

    /// `SecurityConfiguration` for StartJobRun, when the job or the platform set it.
    pub fn security_configuration(&self) -> Option<&str> {
        self.security_configuration
            .given()
            .map(SecurityConfiguration::as_str)
    }

    /// `Timeout` for StartJobRun, when the job or the platform set it.
    pub fn timeout(&self) -> Option<i32> {
        self.timeout_minutes.given().map(|t| t.get())
    }

    /// The `--glue-version` argument, when the job or the platform set it.
    pub fn glue_version(&self) -> Option<&str> {
        self.glue_version.given().map(GlueVersion::as_str)
    }

    /// A warning when the job's `glueMaxRetries` is not what Glue will do: StartJobRun has no
    /// MaxRetries, so Glue retries as the definition says (`definition`, when it was read).
    pub fn max_retries_warning(&self, definition: Option<i32>) -> Option<String> {
        let (asked, runs) = (self.max_retries?.get(), definition?);
        (asked != runs).then(|| {
            format!(
                "glueMaxRetries {asked} is not sent (StartJobRun has no MaxRetries): Glue \
                 retries this run as the job definition says, MaxRetries {runs}"
            )
        })
    }

    /// A warning when the run's timeout is shorter than what the job's recent successful runs
    /// took (their 90th percentile): it would likely end in TIMEOUT.
    pub fn timeout_warning(&self, expected: Option<&ExpectedDuration>) -> Option<String> {
        let (timeout, expected) = (self.timeout_minutes.value()?.get(), expected?);
        let took_minutes = expected.p90_seconds.div_ceil(60);
        (took_minutes > u64::try_from(timeout).unwrap_or(0)).then(|| {
            format!(
                "the job's recent successful runs took up to {took_minutes} minutes (90th \
                 percentile), longer than this run's timeout of {timeout} minutes ({}): raise \
                 glueTimeoutMinutes",
                match self.timeout_minutes {
                    Resolved::Definition(_) =>
                        "the job definition's, or Glue's default for its version",
                    Resolved::Platform(_) => "the platform default",
                    Resolved::Job(_) => "glueTimeoutMinutes",
                }
            )
        })
    }

    /// The `compute` of the start output.
    pub fn report(&self) -> ComputeReport {
        ComputeReport {
            worker_type: self.worker_type.report(ToString::to_string),
            number_of_workers: self.number_of_workers.report(|n| n.get()),
            timeout_minutes: self.timeout_minutes.report(|t| t.get()),
            glue_version: self.glue_version.report(|v| v.as_str().to_owned()),
            execution_class: self.execution_class.report_known(|c| c.as_str().to_owned()),
            max_capacity: self.max_capacity.report_known(|dpus| dpus.get()),
            job_run_queuing: self.job_run_queuing.report_known(|q| q.get()),
            notify_delay_after_minutes: self.notify_delay_minutes.report_known(|n| n.get()),
            security_configuration: self
                .security_configuration
                .report_known(|name| name.as_str().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::JobCommand;
    use serde_json::json;

    fn job_compute(attributes: Value) -> Result<JobCompute, PolysyncError> {
        JobCompute::from_attributes(&serde_json::from_value(attributes).unwrap())
    }

    fn refused_attribute(result: Result<impl std::fmt::Debug, PolysyncError>) -> (String, String) {
        match result.unwrap_err() {
            PolysyncError::InvalidInput { field, rule } => (field, rule),
            other => panic!("{other:?}"),
        }
    }

    fn definition(command: &str, worker_type: Option<&str>, workers: Option<i32>) -> Job {
        Job::builder()
            .name("nightly-sales")
            .command(JobCommand::builder().name(command).build())
            .set_worker_type(worker_type.map(WorkerType::from))
            .set_number_of_workers(workers)
            .timeout(2880)
            .glue_version("3.0")
            .build()
    }

    fn spark(worker_type: Option<&str>, workers: Option<i32>) -> Job {
        definition("glueetl", worker_type, workers)
    }

    fn platform(text: &[(&str, &str)]) -> PlatformDefaults {
        crate::config::Config::from_vars(text).unwrap().defaults
    }

    fn g2x_times_5() -> PlatformDefaults {
        platform(&[
            ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
            ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
        ])
    }

    fn sourced<T>(value: Option<T>, source: Source) -> Sourced<T> {
        Sourced { value, source }
    }

    #[test]
    fn numbers_may_be_integers_or_strings_of_digits() {
        let c = job_compute(
            json!({"glueNumberOfWorkers": "10", "glueTimeoutMinutes": 60, "glueMaxRetries": "0"}),
        )
        .unwrap();
        assert_eq!(c.number_of_workers.map(WorkerCount::get), Some(10));
        assert_eq!(c.timeout_minutes.map(TimeoutMinutes::get), Some(60));
        let c = job_compute(json!({"glueMaxRetries": 3, "glueNumberOfWorkers": null})).unwrap();
        assert_eq!(c.number_of_workers, None);
    }

    #[test]
    fn bad_attributes_name_the_attribute() {
        let cases = [
            (json!({"glueWorkerType": "G.3X"}), "glueWorkerType"),
            (json!({"glueNumberOfWorkers": 0}), "glueNumberOfWorkers"),
            (json!({"glueNumberOfWorkers": -1}), "glueNumberOfWorkers"),
            (json!({"glueNumberOfWorkers": 2.5}), "glueNumberOfWorkers"),
            (json!({"glueNumberOfWorkers": "2.5"}), "glueNumberOfWorkers"),
            (json!({"glueNumberOfWorkers": " 2"}), "glueNumberOfWorkers"),
            (json!({"glueNumberOfWorkers": true}), "glueNumberOfWorkers"),
            (
                json!({"glueNumberOfWorkers": 4_294_967_296_u64}),
                "glueNumberOfWorkers",
            ),
            (
                json!({"glueWorkerType": "G.1X", "glueNumberOfWorkers": 1}),
                "glueNumberOfWorkers",
            ),
            (json!({"glueVersion": ""}), "glueVersion"),
            (json!({"glueVersion": "4.0\n"}), "glueVersion"),
            (json!({"glueTimeoutMinutes": 10081}), "glueTimeoutMinutes"),
            (json!({"glueTimeoutMinutes": 0}), "glueTimeoutMinutes"),
            (json!({"glueMaxRetries": -1}), "glueMaxRetries"),
            (json!({"glueMaxRetries": "x"}), "glueMaxRetries"),
        ];
        for (attributes, name) in cases {
            let (field, _) = refused_attribute(job_compute(attributes.clone()));
            assert_eq!(field, format!("job.attributes.{name}"), "{attributes}");
        }
        let c = job_compute(
            json!({"glueTimeoutMinutes": 10080, "glueWorkerType": "Z.2X",
                                   "glueNumberOfWorkers": 1}),
        )
        .unwrap();
        assert_eq!(c.timeout_minutes.map(TimeoutMinutes::get), Some(10080));
    }

    #[test]
    fn each_field_takes_the_job_then_the_platform_then_the_definition() {
        let job_all = job_compute(json!({"glueWorkerType": "G.2X", "glueNumberOfWorkers": 10,
                                         "glueVersion": "4.0", "glueTimeoutMinutes": 120}))
        .unwrap();
        let platform_all = platform(&[
            ("POLYSYNC_GLUE_WORKER_TYPE", "G.1X"),
            ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "2"),
            ("POLYSYNC_GLUE_TIMEOUT_MINUTES", "30"),
            ("POLYSYNC_GLUE_VERSION", "5.0"),
        ]);
        let nothing = JobCompute::default();

        let c = Compute::resolve(&job_all, &platform_all);
        assert_eq!(
            c.report(),
            ComputeReport {
                worker_type: sourced(Some("G.2X".into()), Source::Job),
                number_of_workers: sourced(Some(10), Source::Job),
                timeout_minutes: sourced(Some(120), Source::Job),
                glue_version: sourced(Some("4.0".into()), Source::Job),
                execution_class: None,
                max_capacity: None,
                job_run_queuing: None,
                notify_delay_after_minutes: None,
                security_configuration: None,
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G2X, 10)));
        assert_eq!((c.timeout(), c.glue_version()), (Some(120), Some("4.0")));

        let c = Compute::resolve(&nothing, &platform_all);
        assert_eq!(
            c.report(),
            ComputeReport {
                worker_type: sourced(Some("G.1X".into()), Source::Platform),
                number_of_workers: sourced(Some(2), Source::Platform),
                timeout_minutes: sourced(Some(30), Source::Platform),
                glue_version: sourced(Some("5.0".into()), Source::Platform),
                execution_class: None,
                max_capacity: None,
                job_run_queuing: None,
                notify_delay_after_minutes: None,
                security_configuration: None,
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G1X, 2)));

        // Nothing set: nothing sent, and no GetJob needed.
        let c = Compute::resolve(&nothing, &PlatformDefaults::default());
        assert!(!c.needs_definition());
        assert_eq!(c.report().worker_type, sourced(None, Source::Definition));
        assert_eq!(
            (c.worker_pair(), c.timeout(), c.glue_version()),
            (None, None, None)
        );
        // A timeout alone is sent without reading the definition.
        let c = Compute::resolve(
            &job_compute(json!({"glueTimeoutMinutes": 5})).unwrap(),
            &PlatformDefaults::default(),
        );
        assert!(!c.needs_definition());
        assert_eq!(c.timeout(), Some(5));
    }

    #[test]
    fn a_worker_pair_or_a_version_needs_the_definition() {
        for attributes in [
            json!({"glueWorkerType": "G.2X", "glueNumberOfWorkers": 10}),
            json!({"glueWorkerType": "G.2X"}),
            json!({"glueNumberOfWorkers": 3}),
            json!({"glueVersion": "4.0"}),
        ] {
            let c = Compute::resolve(
                &job_compute(attributes.clone()).unwrap(),
                &PlatformDefaults::default(),
            );
            assert!(c.needs_definition(), "{attributes}");
        }
    }

    #[test]
    fn worker_type_alone_takes_the_number_of_workers_from_the_definition() {
        let job = job_compute(json!({"glueWorkerType": "G.2X"})).unwrap();
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        assert_eq!(c.worker_pair(), None);
        c.apply_definition(&spark(Some("G.1X"), Some(7))).unwrap();
        assert_eq!(
            c.report().number_of_workers,
            sourced(Some(7), Source::Definition)
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G2X, 7)));
        assert_eq!(
            c.report().timeout_minutes,
            sourced(Some(2880), Source::Definition)
        );
        assert_eq!(
            c.report().glue_version,
            sourced(Some("3.0".into()), Source::Definition)
        );
        // values read from the definition are reported, not sent
        assert_eq!((c.timeout(), c.glue_version()), (None, None));
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn platform_workers_alone_take_the_worker_type_from_the_definition() {
        let platform = platform(&[("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "4")]);
        let mut c = Compute::resolve(&JobCompute::default(), &platform);
        c.apply_definition(&spark(Some("G.4X"), Some(20))).unwrap();
        assert_eq!(
            c.report().worker_type,
            sourced(Some("G.4X".into()), Source::Definition)
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G4X, 4)));
    }

    #[test]
    fn job_half_pair_without_the_other_half_in_the_definition_is_refused() {
        let job = job_compute(json!({"glueNumberOfWorkers": 5})).unwrap();
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        let (field, rule) = refused_attribute(c.apply_definition(&spark(None, None)));
        assert_eq!(field, "job.attributes.glueWorkerType");
        assert!(rule.contains("nightly-sales"), "{rule}");
    }

    #[test]
    fn platform_half_pair_gives_way_to_a_definition_without_workers() {
        let platform = platform(&[("POLYSYNC_GLUE_WORKER_TYPE", "G.1X")]);
        let mut c = Compute::resolve(&JobCompute::default(), &platform);
        c.apply_definition(&spark(None, None)).unwrap();
        assert_eq!(c.worker_pair(), None);
        assert_eq!(c.report().worker_type, sourced(None, Source::Definition));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn a_python_shell_job_takes_no_workers() {
        let shell = definition("pythonshell", None, None);
        // The platform's pair gives way, with a warning.
        let mut c = Compute::resolve(&JobCompute::default(), &g2x_times_5());
        c.apply_definition(&shell).unwrap();
        assert_eq!(c.worker_pair(), None);
        assert_eq!(c.report().worker_type, sourced(None, Source::Definition));
        assert_eq!(
            c.report().number_of_workers,
            sourced(None, Source::Definition)
        );
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("G.2X") && c.warnings[0].contains("pythonshell"),
            "{:?}",
            c.warnings
        );
        // A job attribute is refused, naming it.
        for (attributes, name) in [
            (json!({"glueWorkerType": "G.1X"}), "glueWorkerType"),
            (json!({"glueNumberOfWorkers": 3}), "glueNumberOfWorkers"),
            (
                json!({"glueWorkerType": "G.1X", "glueNumberOfWorkers": 3}),
                "glueWorkerType",
            ),
        ] {
            let mut c = Compute::resolve(&job_compute(attributes.clone()).unwrap(), &g2x_times_5());
            let (field, rule) = refused_attribute(c.apply_definition(&shell));
            assert_eq!(field, format!("job.attributes.{name}"), "{attributes}");
            assert!(rule.contains("pythonshell"), "{rule}");
        }
    }

    #[test]
    fn a_ray_job_takes_only_z_2x() {
        let ray = definition("glueray", Some("Z.2X"), Some(4));
        let mut c = Compute::resolve(&JobCompute::default(), &g2x_times_5());
        c.apply_definition(&ray).unwrap();
        assert_eq!(
            c.worker_pair(),
            None,
            "the definition's Z.2X × 4 is Glue's to apply"
        );
        assert_eq!(
            c.report().worker_type,
            sourced(Some("Z.2X".into()), Source::Definition)
        );
        assert_eq!(c.warnings.len(), 1);

        let (field, rule) = refused_attribute(
            Compute::resolve(
                &job_compute(json!({"glueWorkerType": "G.1X"})).unwrap(),
                &PlatformDefaults::default(),
            )
            .apply_definition(&ray),
        );
        assert_eq!(field, "job.attributes.glueWorkerType");
        assert!(rule.contains("Z.2X"), "{rule}");

        // The job's own count of Z.2X workers goes with the definition's worker type.
        let mut c = Compute::resolve(
            &job_compute(json!({"glueNumberOfWorkers": 8})).unwrap(),
            &g2x_times_5(),
        );
        c.apply_definition(&ray).unwrap();
        assert_eq!(c.worker_pair(), Some((WorkerType::Z2X, 8)));
    }

    #[test]
    fn spark_jobs_never_take_z_2x_and_get_the_platform_defaults() {
        for command in ["glueetl", "gluestreaming"] {
            let job = definition(command, Some("G.1X"), Some(10));
            let mut c = Compute::resolve(&JobCompute::default(), &g2x_times_5());
            c.apply_definition(&job).unwrap();
            assert_eq!(c.worker_pair(), Some((WorkerType::G2X, 5)), "{command}");
            assert!(c.warnings.is_empty());

            let z = platform(&[
                ("POLYSYNC_GLUE_WORKER_TYPE", "Z.2X"),
                ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "2"),
            ]);
            let mut c = Compute::resolve(&JobCompute::default(), &z);
            c.apply_definition(&job).unwrap();
            assert_eq!(c.worker_pair(), None, "{command}");
            assert_eq!(c.warnings.len(), 1);

            let (field, _) = refused_attribute(
                Compute::resolve(
                    &job_compute(json!({"glueWorkerType": "Z.2X"})).unwrap(),
                    &PlatformDefaults::default(),
                )
                .apply_definition(&job),
            );
            assert_eq!(field, "job.attributes.glueWorkerType");
        }
    }

    #[test]
    fn one_g_worker_is_refused_whichever_half_the_definition_gives() {
        let job = job_compute(json!({"glueNumberOfWorkers": 1})).unwrap();
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        let (field, rule) = refused_attribute(c.apply_definition(&spark(Some("G.1X"), Some(10))));
        assert_eq!(field, "job.attributes.glueNumberOfWorkers");
        assert!(
            rule.contains("minimum allowed value of Number of Workers is 2"),
            "{rule}"
        );
    }

    #[test]
    fn a_version_the_definition_does_not_run_is_sent_with_a_warning() {
        let job = job_compute(json!({"glueVersion": "5.0"})).unwrap();
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        c.apply_definition(&spark(None, None)).unwrap();
        assert_eq!(c.glue_version(), Some("5.0"));
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("GlueVersion 3.0"),
            "{:?}",
            c.warnings
        );

        let job = job_compute(json!({"glueVersion": "3.0"})).unwrap();
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        c.apply_definition(&spark(None, None)).unwrap();
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn glue_max_retries_is_checked_against_the_definition_never_sent() {
        let job = job_compute(json!({"glueMaxRetries": 3})).unwrap();
        let c = Compute::resolve(&job, &PlatformDefaults::default());
        let warning = c.max_retries_warning(Some(1)).unwrap();
        assert!(
            warning.contains("glueMaxRetries 3") && warning.contains("MaxRetries 1"),
            "{warning}"
        );
        assert_eq!(c.max_retries_warning(Some(3)), None);
        // The definition could not be read: nothing to compare with.
        assert_eq!(c.max_retries_warning(None), None);
        let silent = Compute::resolve(
            &job_compute(json!({})).unwrap(),
            &PlatformDefaults::default(),
        );
        assert_eq!(silent.max_retries_warning(Some(1)), None);
        assert!(c.worker_pair().is_none() && c.timeout().is_none());
    }

    fn without_version(mut job: Job) -> Job {
        job.glue_version = None;
        job
    }

    fn of_version(mut job: Job, glue_version: &str) -> Job {
        job.glue_version = Some(glue_version.to_owned());
        job
    }

    /// The run's compute against this definition: what is sent, or the attribute refused.
    fn applied(
        attributes: Value,
        platform: &PlatformDefaults,
        job: &Job,
    ) -> Result<Compute, PolysyncError> {
        let mut c = Compute::resolve(&job_compute(attributes)?, platform);
        assert!(c.needs_definition(), "the rule needs the definition");
        c.apply_definition(job)?;
        Ok(c)
    }

    #[test]
    fn flex_is_sent_only_for_spark_etl_of_glue_3_0_or_later() {
        let none = PlatformDefaults::default();
        let flex = json!({"glueExecutionClass": "FLEX"});
        let c = applied(flex.clone(), &none, &of_version(spark(None, None), "3.0")).unwrap();
        assert_eq!(
            c.execution_class(),
            Some(&aws_sdk_glue::types::ExecutionClass::Flex)
        );
        assert_eq!(
            c.report().execution_class,
            Some(sourced(Some("FLEX".to_owned()), Source::Job))
        );
        for job in [
            of_version(spark(None, None), "2.0"),
            of_version(definition("pythonshell", None, None), "3.0"),
            of_version(definition("gluestreaming", None, None), "4.0"),
            without_version(spark(None, None)), // Glue's oldest
        ] {
            let (field, rule) = refused_attribute(applied(flex.clone(), &none, &job));
            assert_eq!(field, "job.attributes.glueExecutionClass");
            assert!(rule.contains("Glue 3.0 or later"), "{rule}");
        }
        // The platform's FLEX gives way where the job cannot take it.
        let platform = platform(&[("POLYSYNC_GLUE_EXECUTION_CLASS", "FLEX")]);
        let shell = of_version(definition("pythonshell", None, None), "3.0");
        let c = applied(json!({}), &platform, &shell).unwrap();
        assert_eq!(c.execution_class(), None);
        assert!(
            c.warnings[0].contains("execution class FLEX"),
            "{:?}",
            c.warnings
        );
        // STANDARD needs no definition and is sent as it is.
        let c = Compute::resolve(
            &job_compute(json!({"glueExecutionClass": "STANDARD"})).unwrap(),
            &none,
        );
        assert!(!c.needs_definition());
        assert_eq!(
            c.execution_class(),
            Some(&aws_sdk_glue::types::ExecutionClass::Standard)
        );
        let (field, _) = refused_attribute(job_compute(json!({"glueExecutionClass": "flex"})));
        assert_eq!(field, "job.attributes.glueExecutionClass");
    }

    #[test]
    fn max_capacity_never_with_a_worker_pair_and_as_the_kind_takes_it() {
        let none = PlatformDefaults::default();
        let shell = of_version(definition("pythonshell", None, None), "3.0");
        let c = applied(json!({"glueMaxCapacity": 0.0625}), &none, &shell).unwrap();
        assert_eq!(c.max_capacity(), Some(0.0625));
        assert_eq!(
            c.report().max_capacity,
            Some(sourced(Some(0.0625), Source::Job))
        );
        assert_eq!(
            applied(json!({"glueMaxCapacity": "1"}), &none, &shell)
                .unwrap()
                .max_capacity(),
            Some(1.0)
        );
        let (field, rule) =
            refused_attribute(applied(json!({"glueMaxCapacity": 0.5}), &none, &shell));
        assert_eq!(field, "job.attributes.glueMaxCapacity");
        assert!(rule.contains("0.0625 or 1"), "{rule}");
        let (_, rule) = refused_attribute(applied(
            json!({"glueMaxCapacity": 10}),
            &none,
            &of_version(spark(Some("G.1X"), Some(10)), "4.0"),
        ));
        assert!(rule.contains("Glue 2.0 or later"), "{rule}");
        // With the job's own pair: refused, naming both.
        let (field, rule) = refused_attribute(applied(
            json!({"glueMaxCapacity": 1, "glueWorkerType": "G.1X", "glueNumberOfWorkers": 2}),
            &none,
            &shell,
        ));
        assert_eq!(field, "job.attributes.glueMaxCapacity");
        assert!(rule.contains("glueWorkerType"), "{rule}");
        // The platform's pair gives way to the job's MaxCapacity.
        let c = applied(json!({"glueMaxCapacity": 1}), &g2x_times_5(), &shell).unwrap();
        assert_eq!((c.worker_pair(), c.max_capacity()), (None, Some(1.0)));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        for bad in [json!(0), json!(-1), json!("lots"), json!(true)] {
            let (field, _) = refused_attribute(job_compute(json!({"glueMaxCapacity": bad})));
            assert_eq!(field, "job.attributes.glueMaxCapacity");
        }
    }

    #[test]
    fn queuing_is_sent_only_where_glue_queues() {
        let none = PlatformDefaults::default();
        let queue = json!({"glueJobRunQueuing": true});
        let job = of_version(spark(None, None), "4.0");
        let c = applied(queue.clone(), &none, &job).unwrap();
        assert_eq!(c.job_run_queuing(), Some(true));
        let mut retried = job.clone();
        retried.max_retries = 2;
        let (field, rule) = refused_attribute(applied(queue.clone(), &none, &retried));
        assert_eq!(field, "job.attributes.glueJobRunQueuing");
        assert!(rule.contains("MaxRetries is 2"), "{rule}");
        let (_, rule) = refused_attribute(applied(
            json!({"glueJobRunQueuing": true, "glueExecutionClass": "FLEX"}),
            &none,
            &job,
        ));
        assert!(rule.contains("FLEX"), "{rule}");
        // A FLEX definition refuses it too, when the run leaves the class to it.
        let mut flex = job.clone();
        flex.execution_class = Some(aws_sdk_glue::types::ExecutionClass::Flex);
        assert!(applied(queue.clone(), &none, &flex).is_err());
        // The platform's queuing gives way to a job with retries.
        let platform = platform(&[("POLYSYNC_GLUE_JOB_RUN_QUEUING", "true")]);
        let c = applied(json!({}), &platform, &retried).unwrap();
        assert_eq!(c.job_run_queuing(), None);
        assert!(
            c.warnings[0].contains("job run queuing"),
            "{:?}",
            c.warnings
        );
        // Turning it off is always taken, without reading the definition.
        let off = Compute::resolve(
            &job_compute(json!({"glueJobRunQueuing": false})).unwrap(),
            &none,
        );
        assert!(!off.needs_definition());
        assert_eq!(off.job_run_queuing(), Some(false));
    }

    #[test]
    fn notification_delay_and_security_configuration_are_sent_as_given() {
        let c = Compute::resolve(
            &job_compute(json!({"glueNotifyDelayAfterMinutes": 90,
                                "glueSecurityConfiguration": "lake-kms"}))
            .unwrap(),
            &platform(&[("POLYSYNC_GLUE_SECURITY_CONFIGURATION", "platform-kms")]),
        );
        assert_eq!(
            c.notification_property()
                .and_then(|n| n.notify_delay_after()),
            Some(90)
        );
        assert_eq!(c.security_configuration(), Some("lake-kms"));
        let c = Compute::resolve(
            &JobCompute::default(),
            &platform(&[("POLYSYNC_GLUE_SECURITY_CONFIGURATION", "platform-kms")]),
        );
        assert_eq!(
            c.report().security_configuration,
            Some(sourced(Some("platform-kms".to_owned()), Source::Platform))
        );
        assert_eq!(c.report().notify_delay_after_minutes, None);
        for (attributes, field) in [
            (
                json!({"glueNotifyDelayAfterMinutes": 0}),
                "glueNotifyDelayAfterMinutes",
            ),
            (
                json!({"glueSecurityConfiguration": ""}),
                "glueSecurityConfiguration",
            ),
            (
                json!({"glueSecurityConfiguration": "k".repeat(256)}),
                "glueSecurityConfiguration",
            ),
            (json!({"glueJobRunQueuing": "yes"}), "glueJobRunQueuing"),
        ] {
            let (refused, _) = refused_attribute(job_compute(attributes));
            assert_eq!(refused, format!("job.attributes.{field}"));
        }
    }

    #[test]
    fn a_timeout_left_to_glue_reports_the_default_of_the_definition_s_version() {
        let sized = json!({"glueWorkerType": "G.1X", "glueNumberOfWorkers": 2});
        for (version, default) in [("4.0", 2_880), ("5.0", 480)] {
            let mut job = of_version(spark(None, None), version);
            job.timeout = None;
            let c = applied(sized.clone(), &PlatformDefaults::default(), &job).unwrap();
            assert_eq!(
                c.report().timeout_minutes,
                sourced(Some(default), Source::Definition),
                "{version}"
            );
            assert_eq!(c.timeout(), None, "left out of StartJobRun");
        }
        // The definition's own timeout wins over Glue's default.
        let job = of_version(spark(None, None), "5.0"); // Timeout 2880
        let c = applied(sized, &PlatformDefaults::default(), &job).unwrap();
        assert_eq!(c.report().timeout_minutes.value, Some(2_880));
    }

    #[test]
    fn a_timeout_shorter_than_the_job_s_runs_is_a_warning() {
        let mut job = of_version(spark(None, None), "5.0");
        job.timeout = None;
        let sized = json!({"glueWorkerType": "G.1X", "glueNumberOfWorkers": 2});
        let c = applied(sized, &PlatformDefaults::default(), &job).unwrap();
        let history = |p90_seconds| ExpectedDuration {
            runs: 20,
            p50_seconds: 60,
            p90_seconds,
        };
        let warning = c.timeout_warning(Some(&history(10 * 3600))).unwrap();
        assert!(
            warning.contains("600 minutes") && warning.contains("timeout of 480 minutes"),
            "{warning}"
        );
        assert_eq!(c.timeout_warning(Some(&history(480 * 60))), None);
        assert_eq!(c.timeout_warning(None), None);
        // A timeout nobody knows (the definition was not read) warns of nothing.
        let unread = Compute::resolve(&JobCompute::default(), &PlatformDefaults::default());
        assert_eq!(unread.timeout_warning(Some(&history(10 * 3600))), None);
    }
}
