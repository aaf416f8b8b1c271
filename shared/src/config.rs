//! The platform configuration, read once from the Lambda environment (CONTRACT.md §1).

use crate::compute::{validate_glue_version, validate_timeout_minutes, validate_worker_type};

pub const WORKER_TYPE_VAR: &str = "POLYSYNC_GLUE_WORKER_TYPE";
pub const NUMBER_OF_WORKERS_VAR: &str = "POLYSYNC_GLUE_NUMBER_OF_WORKERS";
pub const GLUE_VERSION_VAR: &str = "POLYSYNC_GLUE_VERSION";
pub const TIMEOUT_MINUTES_VAR: &str = "POLYSYNC_GLUE_TIMEOUT_MINUTES";
pub const POLL_MIN_SECONDS_VAR: &str = "POLYSYNC_POLL_MIN_SECONDS";
pub const POLL_MAX_SECONDS_VAR: &str = "POLYSYNC_POLL_MAX_SECONDS";
pub const ALLOW_CODE_ARGUMENTS_VAR: &str = "POLYSYNC_GLUE_ALLOW_CODE_ARGUMENTS";
pub const EXECUTION_TAG_VAR: &str = "POLYSYNC_GLUE_EXECUTION_TAG";

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
    pub worker_type: Option<String>,
    pub number_of_workers: Option<i32>,
    pub glue_version: Option<String>,
    pub timeout_minutes: Option<i32>,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            defaults: PlatformDefaults::default(),
            poll: PollBounds::default(),
            allow_code_arguments: false,
            execution_tag: true,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`; an empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |variable: &'static str| {
            lookup(variable)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| (variable, value))
        };
        let fail = |variable: &'static str, value: &str, rule: String| ConfigError {
            variable,
            value: value.to_owned(),
            rule,
        };

        let worker_type = get(WORKER_TYPE_VAR)
            .map(|(var, value)| {
                validate_worker_type(&value).map_err(|rule| fail(var, &value, rule))
            })
            .transpose()?;
        let number_of_workers = get(NUMBER_OF_WORKERS_VAR)
            .map(|(var, value)| parse_positive(&value).map_err(|rule| fail(var, &value, rule)))
            .transpose()?;
        let glue_version = get(GLUE_VERSION_VAR)
            .map(|(var, value)| {
                validate_glue_version(&value).map_err(|rule| fail(var, &value, rule))
            })
            .transpose()?;
        let timeout_minutes = get(TIMEOUT_MINUTES_VAR)
            .map(|(var, value)| {
                parse_positive(&value)
                    .and_then(validate_timeout_minutes)
                    .map_err(|rule| fail(var, &value, rule))
            })
            .transpose()?;

        let seconds = |variable: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(variable) {
                None => Ok(default),
                Some((var, value)) => parse_positive(&value)
                    .map(|n| n as u32)
                    .and_then(|n| {
                        if n <= POLL_SECONDS_CEILING {
                            Ok(n)
                        } else {
                            Err(format!("must be at most {POLL_SECONDS_CEILING} seconds"))
                        }
                    })
                    .map_err(|rule| fail(var, &value, rule)),
            }
        };
        let min_seconds = seconds(POLL_MIN_SECONDS_VAR, DEFAULT_POLL_MIN_SECONDS)?;
        let max_seconds = seconds(
            POLL_MAX_SECONDS_VAR,
            DEFAULT_POLL_MAX_SECONDS.max(min_seconds),
        )?;
        if max_seconds < min_seconds {
            return Err(fail(
                POLL_MAX_SECONDS_VAR,
                &max_seconds.to_string(),
                format!("must not be below {POLL_MIN_SECONDS_VAR} ({min_seconds})"),
            ));
        }

        let allow_code_arguments = match get(ALLOW_CODE_ARGUMENTS_VAR) {
            None => false,
            Some((_, value)) if value == "true" => true,
            Some((_, value)) if value == "false" => false,
            Some((var, value)) => return Err(fail(var, &value, "must be true or false".into())),
        };
        let execution_tag = match get(EXECUTION_TAG_VAR) {
            None => true,
            Some((_, value)) if value == "on" => true,
            Some((_, value)) if value == "off" => false,
            Some((var, value)) => return Err(fail(var, &value, "must be on or off".into())),
        };

        Ok(Self {
            defaults: PlatformDefaults {
                worker_type,
                number_of_workers,
                glue_version,
                timeout_minutes,
            },
            poll: PollBounds {
                min_seconds,
                max_seconds,
            },
            allow_code_arguments,
            execution_tag,
        })
    }
}

/// A positive integer written in decimal digits.
pub(crate) fn parse_positive(text: &str) -> Result<i32, String> {
    let rule = || "must be a positive whole number".to_owned();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule());
    }
    match text.parse::<i32>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err(rule()),
        Err(_) => Err(format!("must be at most {}", i32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
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
        ])
        .unwrap();
        assert_eq!(
            c,
            Config {
                defaults: PlatformDefaults {
                    worker_type: Some("G.2X".into()),
                    number_of_workers: Some(10),
                    glue_version: Some("4.0".into()),
                    timeout_minutes: Some(120),
                },
                poll: PollBounds {
                    min_seconds: 5,
                    max_seconds: 60
                },
                allow_code_arguments: true,
                execution_tag: false,
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
}
