//! Compute precedence: job attribute → platform default → Glue job definition (CONTRACT.md §1).

use aws_sdk_glue::types::{Job, WorkerType};
use serde_json::Value;

use crate::config::{parse_positive, PlatformDefaults};
use crate::error::PolysyncError;
use crate::event::{ComputeReport, JobAttributes, Source, Sourced};

pub const MAX_TIMEOUT_MINUTES: i32 = 10_080;

/// A worker type the Glue SDK knows (G.1X … Z.2X, Standard and whatever it adds later).
pub fn validate_worker_type(text: &str) -> Result<String, String> {
    if WorkerType::values().contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "unknown Glue worker type {text:?}; use one of {}",
            WorkerType::values().join(", ")
        ))
    }
}

pub fn validate_glue_version(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else if text.chars().any(char::is_control) {
        Err("must be one line without control characters".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

pub fn validate_timeout_minutes(minutes: i32) -> Result<i32, String> {
    if (1..=MAX_TIMEOUT_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!(
            "must be between 1 and {MAX_TIMEOUT_MINUTES} minutes"
        ))
    }
}

/// A JSON integer or a string of digits; `allow_zero` for counts such as retries.
fn whole_number(value: &Value, allow_zero: bool) -> Result<i32, String> {
    let rule = if allow_zero {
        "must be a non-negative whole number (a JSON integer or a string of digits)"
    } else {
        "must be a positive whole number (a JSON integer or a string of digits)"
    };
    let number = match value {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| rule.to_owned())
            .and_then(|n| i32::try_from(n).map_err(|_| format!("must be at most {}", i32::MAX)))?,
        Value::String(text)
            if allow_zero && !text.is_empty() && text.bytes().all(|b| b == b'0') =>
        {
            0
        }
        Value::String(text) => parse_positive(text).map_err(|_| rule.to_owned())?,
        _ => return Err(rule.to_owned()),
    };
    if number == 0 && !allow_zero {
        return Err(rule.to_owned());
    }
    Ok(number)
}

/// A present, non-null number attribute.
fn number(value: &Option<Value>) -> Option<&Value> {
    value.as_ref().filter(|v| !v.is_null())
}

/// Validates an attribute when present; the error names it.
fn attribute<T, U>(
    name: &str,
    value: Option<T>,
    validate: impl FnOnce(T) -> Result<U, String>,
) -> Result<Option<U>, PolysyncError> {
    value
        .map(|v| {
            validate(v)
                .map_err(|rule| PolysyncError::invalid(format!("job.attributes.{name}"), rule))
        })
        .transpose()
}

/// The compute a job asks for, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCompute {
    pub worker_type: Option<String>,
    pub number_of_workers: Option<i32>,
    pub glue_version: Option<String>,
    pub timeout_minutes: Option<i32>,
    /// Informational only: never sent on StartJobRun.
    pub max_retries: Option<i32>,
}

impl JobCompute {
    pub fn from_attributes(attributes: &JobAttributes) -> Result<Self, PolysyncError> {
        let worker_type = attribute(
            "glueWorkerType",
            attributes.glue_worker_type.as_deref(),
            validate_worker_type,
        )?;
        let number_of_workers = attribute(
            "glueNumberOfWorkers",
            number(&attributes.glue_number_of_workers),
            |v| whole_number(v, false),
        )?;
        let glue_version = attribute(
            "glueVersion",
            attributes.glue_version.as_deref(),
            validate_glue_version,
        )?;
        let timeout_minutes = attribute(
            "glueTimeoutMinutes",
            number(&attributes.glue_timeout_minutes),
            |v| whole_number(v, false).and_then(validate_timeout_minutes),
        )?;
        let max_retries = attribute(
            "glueMaxRetries",
            number(&attributes.glue_max_retries),
            |v| whole_number(v, true),
        )?;
        Ok(Self {
            worker_type,
            number_of_workers,
            glue_version,
            timeout_minutes,
            max_retries,
        })
    }
}

fn pick<T: Clone>(job: &Option<T>, platform: &Option<T>) -> Sourced<T> {
    match (job, platform) {
        (Some(value), _) => Sourced {
            value: Some(value.clone()),
            source: Source::Job,
        },
        (None, Some(value)) => Sourced {
            value: Some(value.clone()),
            source: Source::Platform,
        },
        (None, None) => Sourced {
            value: None,
            source: Source::Definition,
        },
    }
}

/// The resolved compute of a run: what StartJobRun carries and where each value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compute {
    pub report: ComputeReport,
    /// Worker type and number of workers are sent (both from job/platform, or one filled in).
    pub send_worker_pair: bool,
    pub warnings: Vec<String>,
}

impl Compute {
    /// Resolves each field without the definition.
    pub fn resolve(job: &JobCompute, platform: &PlatformDefaults) -> Self {
        let report = ComputeReport {
            worker_type: pick(&job.worker_type, &platform.worker_type),
            number_of_workers: pick(&job.number_of_workers, &platform.number_of_workers),
            timeout_minutes: pick(&job.timeout_minutes, &platform.timeout_minutes),
            glue_version: pick(&job.glue_version, &platform.glue_version),
        };
        let send_worker_pair = report.worker_type.source != Source::Definition
            && report.number_of_workers.source != Source::Definition;
        Self {
            report,
            send_worker_pair,
            warnings: Vec::new(),
        }
    }

    /// Glue wants WorkerType and NumberOfWorkers together: exactly one of them is resolved, so
    /// the other must be read from the job definition (GetJob).
    pub fn needs_definition(&self) -> bool {
        (self.report.worker_type.source == Source::Definition)
            != (self.report.number_of_workers.source == Source::Definition)
    }

    /// Completes the report with the job definition: fills the missing half of the worker
    /// pair, and shows the definition's value for every field left to it.
    pub fn apply_definition(&mut self, definition: &Job) -> Result<(), PolysyncError> {
        let needs_definition = self.needs_definition();
        let report = &mut self.report;
        let definition_worker_type = definition.worker_type().map(|w| w.as_str().to_owned());
        let definition_workers = definition.number_of_workers();
        if needs_definition {
            let (missing_field, given_field, given_source, missing_value_present) =
                if report.worker_type.source == Source::Definition {
                    (
                        "glueWorkerType",
                        "glueNumberOfWorkers",
                        report.number_of_workers.source,
                        definition_worker_type.is_some(),
                    )
                } else {
                    (
                        "glueNumberOfWorkers",
                        "glueWorkerType",
                        report.worker_type.source,
                        definition_workers.is_some(),
                    )
                };
            if missing_value_present {
                self.send_worker_pair = true;
            } else if given_source == Source::Job {
                return Err(PolysyncError::invalid(
                    format!("job.attributes.{missing_field}"),
                    format!(
                        "required with {given_field}: Glue needs the worker type and the number of \
                         workers together, and the job definition {} has no {missing_field}",
                        definition.name().unwrap_or_default()
                    ),
                ));
            } else {
                // A platform default that cannot apply to this job (a definition sized by
                // MaxCapacity) gives way to the definition rather than failing every run.
                self.warnings.push(format!(
                    "the platform default for {given_field} was not applied: the job definition has no \
                     {missing_field}, and Glue needs both together"
                ));
                if given_field == "glueWorkerType" {
                    report.worker_type.source = Source::Definition;
                } else {
                    report.number_of_workers.source = Source::Definition;
                }
            }
        }
        if report.worker_type.source == Source::Definition {
            report.worker_type.value = definition_worker_type;
        }
        if report.number_of_workers.source == Source::Definition {
            report.number_of_workers.value = definition_workers;
        }
        if report.timeout_minutes.source == Source::Definition {
            report.timeout_minutes.value = definition.timeout();
        }
        if report.glue_version.source == Source::Definition {
            report.glue_version.value = definition.glue_version().map(str::to_owned);
        }
        Ok(())
    }

    /// `(WorkerType, NumberOfWorkers)` for StartJobRun, when sent.
    pub fn worker_pair(&self) -> Option<(WorkerType, i32)> {
        if !self.send_worker_pair {
            return None;
        }
        let worker_type = self.report.worker_type.value.as_deref()?;
        let workers = self.report.number_of_workers.value?;
        Some((WorkerType::from(worker_type), workers))
    }

    /// `Timeout` for StartJobRun, when the job or the platform set it.
    pub fn timeout(&self) -> Option<i32> {
        (self.report.timeout_minutes.source != Source::Definition)
            .then_some(self.report.timeout_minutes.value)
            .flatten()
    }

    /// The `--glue-version` argument, when the job or the platform set it.
    pub fn glue_version(&self) -> Option<&str> {
        (self.report.glue_version.source != Source::Definition)
            .then_some(self.report.glue_version.value.as_deref())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job_compute(attributes: Value) -> Result<JobCompute, PolysyncError> {
        JobCompute::from_attributes(&serde_json::from_value(attributes).unwrap())
    }

    fn definition(worker_type: Option<&str>, workers: Option<i32>) -> Job {
        Job::builder()
            .name("nightly-sales")
            .set_worker_type(worker_type.map(WorkerType::from))
            .set_number_of_workers(workers)
            .timeout(2880)
            .glue_version("3.0")
            .build()
    }

    #[test]
    fn every_known_worker_type_is_accepted_and_others_refused() {
        for known in [
            "G.1X", "G.2X", "G.4X", "G.8X", "G.025X", "Z.2X", "Standard", "G.12X", "R.1X",
        ] {
            assert_eq!(validate_worker_type(known).as_deref(), Ok(known));
        }
        for unknown in ["g.1x", "G.3X", "", "G.1X "] {
            assert!(validate_worker_type(unknown).is_err(), "{unknown:?}");
        }
    }

    #[test]
    fn numbers_may_be_integers_or_strings_of_digits() {
        let c = job_compute(
            json!({"glueNumberOfWorkers": "10", "glueTimeoutMinutes": 60, "glueMaxRetries": "0"}),
        )
        .unwrap();
        assert_eq!(c.number_of_workers, Some(10));
        assert_eq!(c.timeout_minutes, Some(60));
        assert_eq!(c.max_retries, Some(0));
        let c = job_compute(json!({"glueMaxRetries": 3, "glueNumberOfWorkers": null})).unwrap();
        assert_eq!(c.max_retries, Some(3));
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
            (json!({"glueVersion": ""}), "glueVersion"),
            (json!({"glueVersion": "4.0\n"}), "glueVersion"),
            (json!({"glueTimeoutMinutes": 10081}), "glueTimeoutMinutes"),
            (json!({"glueTimeoutMinutes": 0}), "glueTimeoutMinutes"),
            (json!({"glueMaxRetries": -1}), "glueMaxRetries"),
            (json!({"glueMaxRetries": "x"}), "glueMaxRetries"),
        ];
        for (attributes, name) in cases {
            match job_compute(attributes.clone()).unwrap_err() {
                PolysyncError::InvalidInput { field, .. } => {
                    assert_eq!(field, format!("job.attributes.{name}"), "{attributes}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            job_compute(json!({"glueTimeoutMinutes": 10080}))
                .unwrap()
                .timeout_minutes,
            Some(10080)
        );
    }

    fn platform(
        worker_type: Option<&str>,
        workers: Option<i32>,
        timeout: Option<i32>,
        version: Option<&str>,
    ) -> PlatformDefaults {
        PlatformDefaults {
            worker_type: worker_type.map(str::to_owned),
            number_of_workers: workers,
            glue_version: version.map(str::to_owned),
            timeout_minutes: timeout,
        }
    }

    #[test]
    fn each_field_takes_the_job_then_the_platform_then_the_definition() {
        let job_all = JobCompute {
            worker_type: Some("G.2X".into()),
            number_of_workers: Some(10),
            glue_version: Some("4.0".into()),
            timeout_minutes: Some(120),
            max_retries: None,
        };
        let platform_all = platform(Some("G.1X"), Some(2), Some(30), Some("5.0"));
        let nothing = JobCompute::default();

        // job over platform
        let c = Compute::resolve(&job_all, &platform_all);
        assert_eq!(
            c.report.worker_type,
            Sourced {
                value: Some("G.2X".into()),
                source: Source::Job
            }
        );
        assert_eq!(
            c.report.number_of_workers,
            Sourced {
                value: Some(10),
                source: Source::Job
            }
        );
        assert_eq!(
            c.report.timeout_minutes,
            Sourced {
                value: Some(120),
                source: Source::Job
            }
        );
        assert_eq!(
            c.report.glue_version,
            Sourced {
                value: Some("4.0".into()),
                source: Source::Job
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G2X, 10)));
        assert_eq!(c.timeout(), Some(120));
        assert_eq!(c.glue_version(), Some("4.0"));
        assert!(!c.needs_definition());

        // platform when the job is silent
        let c = Compute::resolve(&nothing, &platform_all);
        assert_eq!(c.report.worker_type.source, Source::Platform);
        assert_eq!(
            c.report.number_of_workers,
            Sourced {
                value: Some(2),
                source: Source::Platform
            }
        );
        assert_eq!(
            c.report.timeout_minutes,
            Sourced {
                value: Some(30),
                source: Source::Platform
            }
        );
        assert_eq!(
            c.report.glue_version,
            Sourced {
                value: Some("5.0".into()),
                source: Source::Platform
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G1X, 2)));

        // definition when both are silent: nothing sent, no GetJob needed
        let c = Compute::resolve(&nothing, &PlatformDefaults::default());
        for source in [
            c.report.worker_type.source,
            c.report.number_of_workers.source,
            c.report.timeout_minutes.source,
            c.report.glue_version.source,
        ] {
            assert_eq!(source, Source::Definition);
        }
        assert_eq!(c.report.worker_type.value, None);
        assert!(!c.needs_definition());
        assert_eq!(
            (c.worker_pair(), c.timeout(), c.glue_version()),
            (None, None, None)
        );
    }

    #[test]
    fn fields_mix_sources_independently() {
        let job = JobCompute {
            timeout_minutes: Some(60),
            ..Default::default()
        };
        let c = Compute::resolve(&job, &platform(None, None, Some(30), Some("4.0")));
        assert_eq!(c.report.timeout_minutes.source, Source::Job);
        assert_eq!(c.report.glue_version.source, Source::Platform);
        assert_eq!(c.report.worker_type.source, Source::Definition);
    }

    #[test]
    fn worker_type_alone_takes_the_number_of_workers_from_the_definition() {
        let job = JobCompute {
            worker_type: Some("G.2X".into()),
            ..Default::default()
        };
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        assert!(c.needs_definition());
        assert_eq!(c.worker_pair(), None);
        c.apply_definition(&definition(Some("G.1X"), Some(7)))
            .unwrap();
        assert_eq!(
            c.report.number_of_workers,
            Sourced {
                value: Some(7),
                source: Source::Definition
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G2X, 7)));
        assert_eq!(
            c.report.timeout_minutes,
            Sourced {
                value: Some(2880),
                source: Source::Definition
            }
        );
        assert_eq!(
            c.report.glue_version,
            Sourced {
                value: Some("3.0".into()),
                source: Source::Definition
            }
        );
        // values read from the definition are reported, not sent
        assert_eq!((c.timeout(), c.glue_version()), (None, None));
    }

    #[test]
    fn platform_workers_alone_take_the_worker_type_from_the_definition() {
        let mut c = Compute::resolve(&JobCompute::default(), &platform(None, Some(4), None, None));
        assert!(c.needs_definition());
        c.apply_definition(&definition(Some("G.4X"), Some(20)))
            .unwrap();
        assert_eq!(
            c.report.worker_type,
            Sourced {
                value: Some("G.4X".into()),
                source: Source::Definition
            }
        );
        assert_eq!(c.worker_pair(), Some((WorkerType::G4X, 4)));
    }

    #[test]
    fn job_half_pair_without_the_other_half_in_the_definition_is_refused() {
        let job = JobCompute {
            number_of_workers: Some(5),
            ..Default::default()
        };
        let mut c = Compute::resolve(&job, &PlatformDefaults::default());
        match c.apply_definition(&definition(None, None)).unwrap_err() {
            PolysyncError::InvalidInput { field, rule } => {
                assert_eq!(field, "job.attributes.glueWorkerType");
                assert!(rule.contains("nightly-sales"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn platform_half_pair_gives_way_to_a_definition_without_workers() {
        let mut c = Compute::resolve(
            &JobCompute::default(),
            &platform(Some("G.1X"), None, None, None),
        );
        c.apply_definition(&definition(None, None)).unwrap();
        assert_eq!(c.worker_pair(), None);
        assert_eq!(
            c.report.worker_type,
            Sourced {
                value: None,
                source: Source::Definition
            }
        );
        assert_eq!(c.warnings.len(), 1);
    }
}
