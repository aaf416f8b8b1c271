//! The figures of an ended run as CloudWatch metrics in the embedded metric format: one
//! structured log line on the function's standard output, which CloudWatch Logs turns into
//! metrics (no API call, no permission). Specification: Amazon CloudWatch User Guide,
//! "Specification: Embedded metric format".

use aws_sdk_glue::types::JobRun;
use serde_json::{json, Map, Value};

use crate::event::PollOutput;
use crate::status::RunStatus;

/// The namespace of every metric the functions publish.
pub const NAMESPACE: &str = "Polysync/Glue";
/// The dimension every metric carries.
pub const JOB_NAME_DIMENSION: &str = "JobName";

/// The metrics an ended run publishes, with their CloudWatch units: its time on resources, the
/// time from its end to the poll that saw it, the capacity it used, Glue's attempts, and a
/// count of its outcome.
pub const METRICS: [(&str, &str); 8] = [
    ("RunSeconds", "Seconds"),
    ("DetectionLagSeconds", "Seconds"),
    ("DPUSeconds", "None"),
    ("Attempts", "Count"),
    ("RunsSucceeded", "Count"),
    ("RunsFailed", "Count"),
    ("RunsCancelled", "Count"),
    ("RunsEndedUnknown", "Count"),
];

fn outcome_metric(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Success => "RunsSucceeded",
        RunStatus::Failed => "RunsFailed",
        RunStatus::Cancelled => "RunsCancelled",
        RunStatus::Starting | RunStatus::Running | RunStatus::Unknown => "RunsEndedUnknown",
    }
}

/// The embedded-metric-format document of a run the poll saw end, or none for a run still
/// going. Only the figures the run has are published: a metric without a value is left out of
/// both the document and its directive.
pub fn ended_run_document(
    job_name: &str,
    output: &PollOutput,
    run: &JobRun,
    now_ms: i64,
) -> Option<Value> {
    if !output.terminal {
        return None;
    }
    let lag_seconds = run
        .completed_on()
        .and_then(|completed| completed.to_millis().ok())
        .map(|completed_ms| (now_ms - completed_ms).max(0) as f64 / 1000.0);
    let figures: [(&str, Option<f64>); 5] = [
        ("RunSeconds", Some(f64::from(output.execution_time_seconds))),
        ("DetectionLagSeconds", lag_seconds),
        ("DPUSeconds", output.dpu_seconds),
        ("Attempts", Some(f64::from(output.attempt + 1))),
        (outcome_metric(output.status), Some(1.0)),
    ];
    let mut document = Map::new();
    let mut definitions = Vec::new();
    for (name, value) in figures {
        let Some(value) = value else { continue };
        let unit = METRICS
            .iter()
            .find_map(|(metric, unit)| (*metric == name).then_some(*unit))
            .unwrap_or("None");
        definitions.push(json!({"Name": name, "Unit": unit}));
        document.insert(name.to_owned(), json!(value));
    }
    document.insert(JOB_NAME_DIMENSION.to_owned(), json!(job_name));
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[JOB_NAME_DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    Some(Value::Object(document))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PollBounds;
    use crate::poll::poll_output;
    use crate::polling::PollTiming;
    use crate::run_id::RunId;
    use aws_sdk_glue::types::{JobRunState, WorkerType};
    use aws_smithy_types::DateTime;

    /// The units a MetricDatum takes (CloudWatch API reference, MetricDatum `Unit`).
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// The specification's rules for a document: `_aws` with a number `Timestamp` and an array
    /// of MetricDirective; each with a string `Namespace`, `Dimensions` as arrays of at most 30
    /// names of string members, `Metrics` of at most 100 definitions whose `Name` is a member
    /// holding a number (or an array of at most 100 numbers), a valid `Unit`, and no other
    /// members in the objects the specification defines.
    fn validate(document: &Value) -> Result<(), String> {
        let root = document.as_object().ok_or("the root is not an object")?;
        let aws = root["_aws"].as_object().ok_or("_aws is not an object")?;
        if aws
            .keys()
            .any(|k| k != "Timestamp" && k != "CloudWatchMetrics")
        {
            return Err("_aws has other members".into());
        }
        aws["Timestamp"]
            .as_i64()
            .ok_or("Timestamp is not a number")?;
        for directive in aws["CloudWatchMetrics"].as_array().ok_or("no directives")? {
            let directive = directive
                .as_object()
                .ok_or("a directive is not an object")?;
            if directive
                .keys()
                .any(|k| !["Namespace", "Dimensions", "Metrics"].contains(&k.as_str()))
            {
                return Err("a directive has other members".into());
            }
            let namespace = directive["Namespace"].as_str().ok_or("Namespace")?;
            if namespace.is_empty() || namespace.len() > 1024 {
                return Err("Namespace length".into());
            }
            for set in directive["Dimensions"].as_array().ok_or("Dimensions")? {
                let set = set.as_array().ok_or("a dimension set is not an array")?;
                if set.len() > 30 {
                    return Err("more than 30 dimensions".into());
                }
                for name in set {
                    let name = name.as_str().ok_or("a dimension name is not a string")?;
                    root.get(name)
                        .and_then(Value::as_str)
                        .ok_or(format!("dimension {name} is not a string member"))?;
                }
            }
            let metrics = directive["Metrics"].as_array().ok_or("Metrics")?;
            if metrics.len() > 100 {
                return Err("more than 100 metrics".into());
            }
            for metric in metrics {
                let metric = metric.as_object().ok_or("a metric is not an object")?;
                if metric
                    .keys()
                    .any(|k| !["Name", "Unit", "StorageResolution"].contains(&k.as_str()))
                {
                    return Err("a metric has other members".into());
                }
                let name = metric["Name"].as_str().ok_or("a metric has no Name")?;
                match root.get(name) {
                    Some(Value::Number(_)) => {}
                    Some(Value::Array(values))
                        if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                    _ => return Err(format!("metric {name} is not a number member")),
                }
                if let Some(unit) = metric.get("Unit") {
                    let unit = unit.as_str().ok_or("Unit is not a string")?;
                    if !UNITS.contains(&unit) {
                        return Err(format!("unit {unit} is not CloudWatch's"));
                    }
                }
            }
        }
        Ok(())
    }

    fn ended(state: JobRunState) -> (PollOutput, JobRun) {
        let run = JobRun::builder()
            .id("jr_1")
            .job_run_state(state)
            .attempt(1)
            .worker_type(WorkerType::G1X)
            .number_of_workers(2)
            .execution_time(600)
            .started_on(DateTime::from_secs(1_795_867_200))
            .completed_on(DateTime::from_secs(1_795_867_800))
            .build();
        let timing = PollTiming {
            bounds: PollBounds::default(),
            expected: None,
        };
        let output = poll_output(
            "us-east-1",
            timing,
            &RunId::new("nightly-sales", "jr_1"),
            &run,
            1_795_867_812,
        );
        (output, run)
    }

    #[test]
    fn an_ended_run_s_document_follows_the_specification() {
        for (state, outcome) in [
            (JobRunState::Succeeded, "RunsSucceeded"),
            (JobRunState::Failed, "RunsFailed"),
            (JobRunState::Stopped, "RunsCancelled"),
            (JobRunState::Expired, "RunsEndedUnknown"),
        ] {
            let (output, run) = ended(state.clone());
            let document =
                ended_run_document("nightly-sales", &output, &run, 1_795_867_812_000).unwrap();
            validate(&document).unwrap_or_else(|e| panic!("{state:?}: {e}: {document}"));
            assert_eq!(document["JobName"], "nightly-sales");
            assert_eq!(document["RunSeconds"], 600.0);
            assert_eq!(document["DetectionLagSeconds"], 12.0);
            assert_eq!(document["DPUSeconds"], 1_200.0);
            assert_eq!(document["Attempts"], 2.0);
            assert_eq!(document[outcome], 1.0, "{state:?}");
            assert_eq!(
                document["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                NAMESPACE
            );
        }
    }

    #[test]
    fn a_run_still_going_publishes_nothing_and_a_figure_it_lacks_is_left_out() {
        let (output, run) = ended(JobRunState::Running);
        assert_eq!(ended_run_document("j", &output, &run, 0), None);
        let (mut output, run) = ended(JobRunState::Succeeded);
        output.dpu_seconds = None;
        let document = ended_run_document("j", &output, &run, 1_795_867_812_000).unwrap();
        validate(&document).unwrap();
        assert!(document.get("DPUSeconds").is_none());
        let names: Vec<&Value> = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["Name"])
            .collect();
        assert!(!names.contains(&&json!("DPUSeconds")));
    }

    #[test]
    fn the_validator_refuses_what_the_specification_does() {
        let (output, run) = ended(JobRunState::Succeeded);
        let good = ended_run_document("j", &output, &run, 1).unwrap();
        let mut bad = good.clone();
        bad["RunSeconds"] = json!("600");
        assert!(validate(&bad).is_err());
        let mut bad = good.clone();
        bad["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("DPU");
        assert!(validate(&bad).is_err());
        let mut bad = good;
        bad["JobName"] = json!(7);
        assert!(validate(&bad).is_err());
    }
}
