//! Polysync parameters → Glue `Arguments` (docs/interface.md, "Start").

use serde_json::Value;

use crate::error::PolysyncError;
use crate::event::{Direction, Parameter};

/// Added by start so a retried start and an aborted execution can find their run.
pub const EXECUTION_ID_KEY: &str = "--polysync-execution-id";
/// Glue has no StartJobRun field for the version; it travels as this argument.
pub const GLUE_VERSION_KEY: &str = "--glue-version";

/// Arguments that make Glue load code other than the job's own script.
pub const CODE_LOADING_KEYS: [&str; 9] = [
    "--scriptLocation",
    "--extra-py-files",
    "--extra-jars",
    "--extra-files",
    "--additional-python-modules",
    "--python-modules-installer-option",
    "--class",
    "--user-jars-first",
    "--job-language",
];

/// The largest total of keys and values accepted. Glue publishes no per-run cap, so this stays
/// well inside what a StartJobRun request and the 256 KiB Step Functions payload can carry.
pub const MAX_ARGUMENTS_BYTES: usize = 128 * 1024;

/// Arguments in the order the parameters gave them, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arguments {
    pub entries: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

impl Arguments {
    pub fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(key, _)| key.clone()).collect()
    }

    /// Adds an argument of the platform's own (`--glue-version`, `--polysync-execution-id`).
    pub fn push(&mut self, key: &str, value: String) {
        self.entries.push((key.to_owned(), value));
    }

    /// Refuses a total Glue would not take; the field named is the whole parameter list.
    pub fn check_size(&self) -> Result<(), PolysyncError> {
        let total: usize = self.entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > MAX_ARGUMENTS_BYTES {
            return Err(PolysyncError::invalid(
                "parameters",
                format!(
                    "arguments total {total} bytes of keys and values, more than the \
                     {MAX_ARGUMENTS_BYTES} bytes Glue accepts; pass large data by reference \
                     (an S3 path)"
                ),
            ));
        }
        Ok(())
    }
}

/// The Glue argument key of a parameter name.
pub fn argument_key(name: &str) -> String {
    if name.starts_with("--") {
        name.to_owned()
    } else {
        format!("--{name}")
    }
}

fn is_code_loading(key: &str) -> bool {
    // Case-insensitive, so `--Extra-Jars` cannot slip past the check.
    CODE_LOADING_KEYS
        .iter()
        .any(|forbidden| forbidden.eq_ignore_ascii_case(key))
}

/// A JSON value as the string Glue receives; `None` for null (not sent).
pub fn argument_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

fn check_name(field: &str, name: &str) -> Result<(), PolysyncError> {
    if name.is_empty() || name == "--" {
        return Err(PolysyncError::invalid(
            field,
            "a parameter name must not be empty",
        ));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PolysyncError::invalid(
            field,
            format!("parameter name {name:?} holds white space or a control character, which Glue argument keys cannot"),
        ));
    }
    // What follows '=' may be a secret typed in the wrong place: never echo it.
    if let Some((key, _)) = name.split_once('=') {
        return Err(PolysyncError::invalid(
            field,
            format!(
                "parameter name {key:?}=… contains '='; a literal key=value is never split: \
                 use name {key:?} and put what follows '=' in the value"
            ),
        ));
    }
    Ok(())
}

/// Builds the Glue arguments of the parameters, refusing what the contract refuses. The size
/// is checked once the platform's own arguments are added ([`Arguments::check_size`]).
pub fn build(
    parameters: &[Parameter],
    allow_code_arguments: bool,
) -> Result<Arguments, PolysyncError> {
    let mut arguments = Arguments::default();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (index, parameter) in parameters.iter().enumerate() {
        let name = parameter.name.as_str();
        if name.starts_with('_') {
            continue;
        }
        let field = format!("parameters[{index}]");
        check_name(&format!("{field}.name"), name)?;
        let direction = Direction::parse(&parameter.direction).ok_or_else(|| {
            PolysyncError::invalid(
                format!("{field}.direction"),
                format!(
                    "unknown direction {:?} for parameter {name}; use Input, Output or InputOutput",
                    parameter.direction
                ),
            )
        })?;
        let key = argument_key(name);
        if let Some((_, first)) = seen.iter().find(|(other, _)| *other == key) {
            return Err(PolysyncError::invalid(
                format!("{field}.name"),
                format!("parameter {name} gives the key {key}, as parameters[{first}] does; each key may be given once"),
            ));
        }
        seen.push((key.clone(), index));
        if key == EXECUTION_ID_KEY || key == GLUE_VERSION_KEY {
            let instead = if key == GLUE_VERSION_KEY {
                "set the job attribute glueVersion instead"
            } else {
                "the platform sets it from the execution"
            };
            return Err(PolysyncError::invalid(
                format!("{field}.name"),
                format!("{key} is reserved: {instead}"),
            ));
        }
        if !allow_code_arguments && is_code_loading(&key) {
            return Err(PolysyncError::ForbiddenArgument {
                field: format!("{field}.name"),
                key,
            });
        }
        if direction == Direction::Output {
            arguments.warnings.push(format!(
                "parameter {name} is Output; AWS Glue Job has no output channel, so it was not sent"
            ));
            continue;
        }
        if let Some(value) = parameter.value.as_ref().and_then(argument_value) {
            arguments.entries.push((key, value));
        }
    }
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(name: &str, direction: &str, value: Value) -> Parameter {
        Parameter {
            name: name.into(),
            direction: direction.into(),
            value: if value.is_null() { None } else { Some(value) },
        }
    }

    fn refusal(parameters: &[Parameter]) -> (String, String) {
        match build(parameters, false).unwrap_err() {
            PolysyncError::InvalidInput { field, rule } => (field, rule),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_contract_example() {
        let built = build(
            &[
                param("run_date", "Input", json!("2026-11-28")),
                param("--target_path", "InputOutput", json!("s3://lake/sales/")),
                param("batch_size", "Input", json!(500)),
                param("_owner", "Input", json!("data-eng")),
                param("rows_written", "Output", Value::Null),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            built.entries,
            vec![
                ("--run_date".to_owned(), "2026-11-28".to_owned()),
                ("--target_path".to_owned(), "s3://lake/sales/".to_owned()),
                ("--batch_size".to_owned(), "500".to_owned()),
            ]
        );
        assert_eq!(
            built.warnings,
            vec!["parameter rows_written is Output; AWS Glue Job has no output channel, so it was not sent"]
        );
    }

    #[test]
    fn every_value_type_becomes_a_string() {
        let cases = [
            (json!("text"), Some("text")),
            (json!(""), Some("")),
            (json!(500), Some("500")),
            (json!(-3), Some("-3")),
            (json!(1.5), Some("1.5")),
            (json!(true), Some("true")),
            (json!(false), Some("false")),
            (
                json!({"a": 1, "b": [true, null]}),
                Some(r#"{"a":1,"b":[true,null]}"#),
            ),
            (json!([1, "two"]), Some(r#"[1,"two"]"#)),
            (Value::Null, None),
        ];
        for (value, expected) in cases {
            assert_eq!(argument_value(&value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn null_and_missing_values_are_not_sent() {
        let built = build(
            &[
                param("a", "Input", Value::Null),
                param("b", "InputOutput", Value::Null),
            ],
            false,
        )
        .unwrap();
        assert!(built.entries.is_empty());
        assert!(built.warnings.is_empty());
    }

    #[test]
    fn input_and_output_spelt_with_ampersand_is_input_output() {
        let built = build(&[param("a", "Input&Output", json!("v"))], false).unwrap();
        assert_eq!(built.entries, vec![("--a".to_owned(), "v".to_owned())]);
    }

    #[test]
    fn internal_names_are_never_sent_nor_checked() {
        let built = build(&[param("_secret token", "Input", json!("x"))], false).unwrap();
        assert!(built.entries.is_empty());
    }

    #[test]
    fn empty_name_is_refused() {
        assert_eq!(
            refusal(&[param("", "Input", json!(1))]).0,
            "parameters[0].name"
        );
        assert_eq!(
            refusal(&[param("--", "Input", json!(1))]).0,
            "parameters[0].name"
        );
    }

    #[test]
    fn white_space_and_control_characters_are_refused() {
        for name in [
            "run date",
            "run\tdate",
            "run\ndate",
            "run\u{7}date",
            "run\u{a0}date",
        ] {
            let (field, rule) = refusal(&[
                param("ok", "Input", json!(1)),
                param(name, "Input", json!(1)),
            ]);
            assert_eq!(field, "parameters[1].name", "{name:?}");
            assert!(rule.contains("white space"), "{rule}");
        }
    }

    #[test]
    fn key_equals_value_is_refused_with_the_hint() {
        let (field, rule) = refusal(&[param("--mode=full", "Input", json!("x"))]);
        assert_eq!(field, "parameters[0].name");
        assert!(rule.contains("never split"), "{rule}");
        assert!(
            rule.contains(r#"use name "--mode" and put what follows '=' in the value"#),
            "{rule}"
        );
        assert!(
            !rule.contains("full"),
            "the part after '=' is never echoed: {rule}"
        );
    }

    #[test]
    fn two_parameters_with_the_same_key_are_refused() {
        let (field, rule) = refusal(&[
            param("day", "Input", json!(1)),
            param("--day", "Input", json!(2)),
        ]);
        assert_eq!(field, "parameters[1].name");
        assert!(
            rule.contains("--day") && rule.contains("parameters[0]"),
            "{rule}"
        );
    }

    #[test]
    fn unknown_direction_is_refused() {
        let (field, rule) = refusal(&[param("a", "input", json!(1))]);
        assert_eq!(field, "parameters[0].direction");
        assert!(rule.contains("\"input\""), "{rule}");
    }

    #[test]
    fn reserved_keys_are_refused() {
        assert_eq!(
            refusal(&[param("glue-version", "Input", json!("4.0"))]).0,
            "parameters[0].name"
        );
        assert_eq!(
            refusal(&[param("--polysync-execution-id", "Input", json!("x"))]).0,
            "parameters[0].name"
        );
    }

    #[test]
    fn arguments_larger_than_glue_accepts_are_refused() {
        let big = "x".repeat(MAX_ARGUMENTS_BYTES / 2);
        let built = build(
            &[
                param("a", "Input", json!(big)),
                param("b", "Input", json!(big)),
            ],
            false,
        )
        .unwrap();
        match built.check_size().unwrap_err() {
            PolysyncError::InvalidInput { field, rule } => {
                assert_eq!(field, "parameters");
                assert!(rule.contains("bytes"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        // Exactly at the limit is accepted.
        let fits = "x".repeat(MAX_ARGUMENTS_BYTES - "--a".len());
        let built = build(&[param("a", "Input", json!(fits))], false).unwrap();
        assert!(built.check_size().is_ok());
    }

    #[test]
    fn code_loading_arguments_need_the_platform_switch() {
        for key in CODE_LOADING_KEYS {
            let bare = key.trim_start_matches("--");
            for name in [key.to_owned(), bare.to_owned(), key.to_ascii_uppercase()] {
                let params = [param(&name, "Input", json!("s3://x/y"))];
                match build(&params, false).unwrap_err() {
                    PolysyncError::ForbiddenArgument { field, .. } => {
                        assert_eq!(field, "parameters[0].name")
                    }
                    other => panic!("{name}: {other:?}"),
                }
                assert_eq!(build(&params, true).unwrap().entries.len(), 1, "{name}");
            }
        }
    }
}
