//! The platform configuration, read once from the Lambda environment (docs/interface.md, "Platform environment").

use crate::compute::sizing::check_platform_workers;
use crate::compute::{
    parse_whole, ComputeValue, GlueVersion, GlueWorkerType, JobRunQueuing, NotifyDelayMinutes,
    RunExecutionClass, SecurityConfiguration, TimeoutMinutes, WorkerCount,
};

pub const WORKER_TYPE_VAR: &str = "POLYSYNC_GLUE_WORKER_TYPE";
pub const NUMBER_OF_WORKERS_VAR: &str = "POLYSYNC_GLUE_NUMBER_OF_WORKERS";
pub const GLUE_VERSION_VAR: &str = "POLYSYNC_GLUE_VERSION";
pub const TIMEOUT_MINUTES_VAR: &str = "POLYSYNC_GLUE_TIMEOUT_MINUTES";
pub const POLL_MIN_SECONDS_VAR: &str = "POLYSYNC_POLL_MIN_SECONDS";
pub const POLL_MAX_SECONDS_VAR: &str = "POLYSYNC_POLL_MAX_SECONDS";
pub const ALLOW_CODE_ARGUMENTS_VAR: &str = "POLYSYNC_GLUE_ALLOW_CODE_ARGUMENTS";
pub const EXECUTION_TAG_VAR: &str = "POLYSYNC_GLUE_EXECUTION_TAG";
pub const JOB_NAME_PREFIX_VAR: &str = "POLYSYNC_GLUE_JOB_NAME_PREFIX";
pub const EXECUTION_CLASS_VAR: &str = "POLYSYNC_GLUE_EXECUTION_CLASS";
pub const JOB_RUN_QUEUING_VAR: &str = "POLYSYNC_GLUE_JOB_RUN_QUEUING";
pub const NOTIFY_DELAY_AFTER_MINUTES_VAR: &str = "POLYSYNC_GLUE_NOTIFY_DELAY_AFTER_MINUTES";
pub const SECURITY_CONFIGURATION_VAR: &str = "POLYSYNC_GLUE_SECURITY_CONFIGURATION";
/// The DynamoDB table the wake keeps task tokens in; unset or empty, the wake is off.
pub const WAKE_TABLE_VAR: &str = "POLYSYNC_WAKE_TABLE";

/// Polling bounds when the environment leaves them out.
pub const DEFAULT_POLL_MIN_SECONDS: u32 = 15;
pub const DEFAULT_POLL_MAX_SECONDS: u32 = 600;
/// A Wait state longer than a day would hide a finished run for too long.
pub const POLL_SECONDS_CEILING: u32 = 86_400;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}={value:?} is invalid: {rule}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub rule: String,
}

/// Platform defaults for compute, applied when the job leaves a field out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformDefaults {
    pub worker_type: Option<GlueWorkerType>,
    pub number_of_workers: Option<WorkerCount>,
    pub glue_version: Option<GlueVersion>,
    pub timeout_minutes: Option<TimeoutMinutes>,
    pub execution_class: Option<RunExecutionClass>,
    pub job_run_queuing: Option<JobRunQueuing>,
    pub notify_delay_minutes: Option<NotifyDelayMinutes>,
    pub security_configuration: Option<SecurityConfiguration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBounds {
    pub min_seconds: u32,
    pub max_seconds: u32,
}

impl Default for PollBounds {
    fn default() -> Self {
        Self {
            min_seconds: DEFAULT_POLL_MIN_SECONDS,
            max_seconds: DEFAULT_POLL_MAX_SECONDS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub defaults: PlatformDefaults,
    pub poll: PollBounds,
    pub allow_code_arguments: bool,
    /// Whether start adds `--polysync-execution-id`.
    pub execution_tag: bool,
    /// The job-name prefix the functions' IAM is scoped to; empty for every job.
    pub job_name_prefix: String,
    /// Where the wake keeps task tokens (docs/interface.md, "Glue's own events"); None: off.
    pub wake_table: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            defaults: PlatformDefaults::default(),
            poll: PollBounds::default(),
            allow_code_arguments: false,
            execution_tag: true,
            job_name_prefix: String::new(),
            wake_table: None,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from these variables alone, as a test or a tool sets them.
    pub fn from_vars(vars: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            vars.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    /// Reads the configuration through `lookup`; an empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |variable: &'static str| {
            lookup(variable)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let fail = |variable: &'static str, value: &str, rule: String| ConfigError {
            variable,
            value: value.to_owned(),
            rule,
        };
        let parse = |variable: &'static str, parse: &dyn Fn(&str) -> Result<u32, String>| {
            get(variable)
                .map(|value| parse(&value).map_err(|rule| fail(variable, &value, rule)))
                .transpose()
        };
        fn value<T: ComputeValue>(
            variable: &'static str,
            text: Option<String>,
        ) -> Result<Option<T>, ConfigError> {
            text.map(|text| {
                T::from_text(&text).map_err(|rule| ConfigError {
                    variable,
                    value: text,
                    rule,
                })
            })
            .transpose()
        }

        let worker_type: Option<GlueWorkerType> = value(WORKER_TYPE_VAR, get(WORKER_TYPE_VAR))?;
        let number_of_workers: Option<WorkerCount> =
            value(NUMBER_OF_WORKERS_VAR, get(NUMBER_OF_WORKERS_VAR))?;
        // Without a platform worker type, the count pairs with a definition's, most often G.*.
        if let Some(workers) = number_of_workers {
            check_platform_workers(worker_type.as_ref(), workers)
                .map_err(|rule| fail(NUMBER_OF_WORKERS_VAR, &workers.get().to_string(), rule))?;
        }
        let glue_version = value(GLUE_VERSION_VAR, get(GLUE_VERSION_VAR))?;
        let timeout_minutes = value(TIMEOUT_MINUTES_VAR, get(TIMEOUT_MINUTES_VAR))?;
        let execution_class = value(EXECUTION_CLASS_VAR, get(EXECUTION_CLASS_VAR))?;
        let job_run_queuing = value(JOB_RUN_QUEUING_VAR, get(JOB_RUN_QUEUING_VAR))?;
        let notify_delay_minutes = value(
            NOTIFY_DELAY_AFTER_MINUTES_VAR,
            get(NOTIFY_DELAY_AFTER_MINUTES_VAR),
        )?;
        let security_configuration =
            value(SECURITY_CONFIGURATION_VAR, get(SECURITY_CONFIGURATION_VAR))?;

        let seconds = |text: &str| -> Result<u32, String> {
            let n = parse_whole(text, false)? as u32;
            if n <= POLL_SECONDS_CEILING {
                Ok(n)
            } else {
                Err(format!("must be at most {POLL_SECONDS_CEILING} seconds"))
            }
        };
        let min_seconds =
            parse(POLL_MIN_SECONDS_VAR, &seconds)?.unwrap_or(DEFAULT_POLL_MIN_SECONDS);
        let max_seconds = parse(POLL_MAX_SECONDS_VAR, &seconds)?
            .unwrap_or(DEFAULT_POLL_MAX_SECONDS.max(min_seconds));
        if max_seconds < min_seconds {
            return Err(fail(
                POLL_MAX_SECONDS_VAR,
                &max_seconds.to_string(),
                format!("must not be below {POLL_MIN_SECONDS_VAR} ({min_seconds})"),
            ));
        }

        let switch =
            |variable: &'static str, on: &str, off: &str, default: bool| match get(variable) {
                None => Ok(default),
                Some(value) if value == on => Ok(true),
                Some(value) if value == off => Ok(false),
                Some(value) => Err(fail(variable, &value, format!("must be {on} or {off}"))),
            };
        let allow_code_arguments = switch(ALLOW_CODE_ARGUMENTS_VAR, "true", "false", false)?;
        let execution_tag = switch(EXECUTION_TAG_VAR, "on", "off", true)?;

        let job_name_prefix = get(JOB_NAME_PREFIX_VAR).unwrap_or_default();
        if job_name_prefix.contains('*') || job_name_prefix.chars().any(char::is_control) {
            return Err(fail(
                JOB_NAME_PREFIX_VAR,
                &job_name_prefix,
                "must be a plain job-name prefix, without '*' or control characters".into(),
            ));
        }

        Ok(Self {
            defaults: PlatformDefaults {
                worker_type,
                number_of_workers,
                glue_version,
                timeout_minutes,
                execution_class,
                job_run_queuing,
                notify_delay_minutes,
                security_configuration,
            },
            poll: PollBounds {
                min_seconds,
                max_seconds,
            },
            allow_code_arguments,
            execution_tag,
            job_name_prefix,
            wake_table: get(WAKE_TABLE_VAR),
        })
    }

    /// Whether the functions may act on this job (its name starts with the prefix).
    pub fn covers_job(&self, job_name: &str) -> bool {
        job_name.starts_with(&self.job_name_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars)
    }

    #[test]
    fn nothing_set_gives_no_defaults_and_default_poll_bounds() {
        assert_eq!(config(&[]).unwrap(), Config::default());
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            (WORKER_TYPE_VAR, "G.2X"),
            (NUMBER_OF_WORKERS_VAR, "10"),
            (GLUE_VERSION_VAR, "4.0"),
            (TIMEOUT_MINUTES_VAR, "120"),
            (POLL_MIN_SECONDS_VAR, "5"),
            (POLL_MAX_SECONDS_VAR, "60"),
            (ALLOW_CODE_ARGUMENTS_VAR, "true"),
            (EXECUTION_TAG_VAR, "off"),
            (JOB_NAME_PREFIX_VAR, "polysync-"),
            (WAKE_TABLE_VAR, "stack-glue-wake"),
        ])
        .unwrap();
        assert_eq!(
            c,
            Config {
                defaults: PlatformDefaults {
                    worker_type: Some(GlueWorkerType::from_text("G.2X").unwrap()),
                    number_of_workers: Some(WorkerCount::from_text("10").unwrap()),
                    glue_version: Some(GlueVersion::from_text("4.0").unwrap()),
                    timeout_minutes: Some(TimeoutMinutes::from_text("120").unwrap()),
                    ..PlatformDefaults::default()
                },
                poll: PollBounds {
                    min_seconds: 5,
                    max_seconds: 60
                },
                allow_code_arguments: true,
                execution_tag: false,
                job_name_prefix: "polysync-".into(),
                wake_table: Some("stack-glue-wake".into()),
            }
        );
    }

    #[test]
    fn empty_worker_type_means_none() {
        assert_eq!(
            config(&[(WORKER_TYPE_VAR, "")])
                .unwrap()
                .defaults
                .worker_type,
            None
        );
    }

    #[test]
    fn a_min_above_the_default_max_raises_the_max_with_it() {
        let c = config(&[(POLL_MIN_SECONDS_VAR, "900")]).unwrap();
        assert_eq!(
            c.poll,
            PollBounds {
                min_seconds: 900,
                max_seconds: 900
            }
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            (WORKER_TYPE_VAR, "G.3X"),
            (NUMBER_OF_WORKERS_VAR, "0"),
            (NUMBER_OF_WORKERS_VAR, "ten"),
            (NUMBER_OF_WORKERS_VAR, "-2"),
            (NUMBER_OF_WORKERS_VAR, "99999999999"),
            (TIMEOUT_MINUTES_VAR, "10081"),
            (POLL_MIN_SECONDS_VAR, "0"),
            (POLL_MAX_SECONDS_VAR, "86401"),
            (ALLOW_CODE_ARGUMENTS_VAR, "yes"),
            (EXECUTION_TAG_VAR, "false"),
            (NUMBER_OF_WORKERS_VAR, "1"),
            (JOB_NAME_PREFIX_VAR, "team-*"),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{variable}={value}");
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn max_below_min_is_refused() {
        let err =
            config(&[(POLL_MIN_SECONDS_VAR, "60"), (POLL_MAX_SECONDS_VAR, "30")]).unwrap_err();
        assert_eq!(err.variable, POLL_MAX_SECONDS_VAR);
        assert!(err.rule.contains(POLL_MIN_SECONDS_VAR));
    }

    #[test]
    fn one_platform_worker_is_refused_unless_the_worker_type_takes_it() {
        let err = config(&[(NUMBER_OF_WORKERS_VAR, "1")]).unwrap_err();
        assert!(err.rule.contains("at least 2"), "{err}");
        assert!(config(&[(WORKER_TYPE_VAR, "G.1X"), (NUMBER_OF_WORKERS_VAR, "1")]).is_err());
        let ray = config(&[(WORKER_TYPE_VAR, "Z.2X"), (NUMBER_OF_WORKERS_VAR, "1")]).unwrap();
        assert_eq!(
            ray.defaults.number_of_workers.map(WorkerCount::get),
            Some(1)
        );
    }

    #[test]
    fn the_prefix_decides_which_jobs_are_covered() {
        let c = config(&[(JOB_NAME_PREFIX_VAR, "team-a-")]).unwrap();
        assert!(c.covers_job("team-a-sales"));
        assert!(!c.covers_job("team-b-sales"));
        assert!(Config::default().covers_job("anything"));
    }

    #[test]
    fn the_interface_page_names_every_variable() {
        let page = include_str!("../../docs/interface.md");
        for name in [
            WORKER_TYPE_VAR,
            NUMBER_OF_WORKERS_VAR,
            GLUE_VERSION_VAR,
            TIMEOUT_MINUTES_VAR,
            POLL_MIN_SECONDS_VAR,
            POLL_MAX_SECONDS_VAR,
            ALLOW_CODE_ARGUMENTS_VAR,
            EXECUTION_TAG_VAR,
            JOB_NAME_PREFIX_VAR,
            EXECUTION_CLASS_VAR,
            JOB_RUN_QUEUING_VAR,
            NOTIFY_DELAY_AFTER_MINUTES_VAR,
            SECURITY_CONFIGURATION_VAR,
        ] {
            assert!(page.contains(&format!("`{name}`")), "{name}");
        }
    }
}
