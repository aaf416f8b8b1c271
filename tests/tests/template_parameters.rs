//! template.yaml's parameters against what the functions and Step Functions accept: read from
//! the file, so the template and the code cannot drift apart.

use aws_sdk_glue::types::{ExecutionClass, WorkerType};
use polysync_glue::config::Config;
use polysync_glue::config::PollBounds;
use polysync_glue::polling::model::by_age;
use polysync_glue::polling::project_shape;
use polysync_glue::run_metrics::{JOB_NAME_DIMENSION, METRICS, NAMESPACE};
use polysync_glue_integration::workspace_root;

/// The history budget (docs/interface.md, "The state machine"), below Step Functions' hard 25,000 events.
const HISTORY_BUDGET: u64 = 20_000;
/// A week: longer than Glue's longest timeout, as a streaming run may be.
const WEEK_SECONDS: u64 = 7 * 86_400;

/// The value of `key:` within the parameter `name` of template.yaml.
fn parameter_field(name: &str, key: &str) -> String {
    let template = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let mut lines = template
        .lines()
        .skip_while(|line| line.trim_end() != format!("  {name}:"))
        .skip(1)
        .take_while(|line| line.starts_with("    ") || line.trim().is_empty());
    let prefix = format!("{key}:");
    lines
        .find_map(|line| {
            line.trim()
                .strip_prefix(&prefix)
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("template.yaml: {name} has no {key}"))
}

#[test]
fn the_platform_worker_type_offers_every_worker_type_the_sdk_knows() {
    let listed: Vec<String> =
        serde_json::from_str(&parameter_field("PlatformWorkerType", "AllowedValues")).unwrap();
    let mut expected = vec![String::new()];
    expected.extend(WorkerType::values().iter().map(|v| v.to_string()));
    assert_eq!(listed, expected);
}

#[test]
fn the_run_option_defaults_offer_what_the_functions_take() {
    let listed: Vec<String> =
        serde_json::from_str(&parameter_field("PlatformExecutionClass", "AllowedValues")).unwrap();
    let mut expected = vec![String::new()];
    expected.extend(ExecutionClass::values().iter().map(|v| v.to_string()));
    assert_eq!(listed, expected);
    let queuing: Vec<String> =
        serde_json::from_str(&parameter_field("PlatformJobRunQueuing", "AllowedValues")).unwrap();
    // Each value the template allows starts a function (an empty one is unset).
    for (variable, values) in [
        ("POLYSYNC_GLUE_EXECUTION_CLASS", listed),
        ("POLYSYNC_GLUE_JOB_RUN_QUEUING", queuing),
    ] {
        for value in values {
            Config::from_vars(&[(variable, value.as_str())])
                .unwrap_or_else(|e| panic!("{variable}={value}: {e}"));
        }
    }
    assert_eq!(
        parameter_field("PlatformSecurityConfiguration", "MaxLength"),
        "255"
    );
}

#[test]
fn every_polysync_metric_the_dashboard_shows_is_one_poll_prints() {
    let template = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let shown: Vec<&str> = template
        .split("MetricName=\\\"")
        .skip(1)
        .filter_map(|rest| rest.split("\\\"").next())
        .collect();
    let printed: Vec<&str> = METRICS.iter().map(|(name, _)| *name).collect();
    assert!(shown.len() >= 6, "{shown:?}");
    for name in &shown {
        assert!(
            printed.contains(name),
            "the dashboard shows {name}, which poll never prints"
        );
    }
    for outcome in [
        "RunsSucceeded",
        "RunsFailed",
        "RunsCancelled",
        "RunsEndedUnknown",
    ] {
        assert!(
            shown.contains(&outcome),
            "{outcome} is not on the dashboard"
        );
    }
    assert!(template.contains(&format!("{{{NAMESPACE},{JOB_NAME_DIMENSION}}}")));
}

#[test]
fn any_bounds_the_template_allows_keep_every_execution_within_the_history_budget() {
    let lowest = |name: &str| -> u32 { parameter_field(name, "MinValue").parse().unwrap() };
    let shape = project_shape();
    assert_eq!(shape.history_budget, HISTORY_BUDGET);
    // The tightest bounds the stack can have, and the defaults; a week-long run (a streaming
    // job lives until stopped).
    let tightest = PollBounds {
        min_seconds: lowest("PollMinSeconds"),
        max_seconds: lowest("PollMaxSeconds"),
    };
    for bounds in [tightest, PollBounds::default()] {
        let cost = by_age(WEEK_SECONDS, bounds);
        assert!(
            cost.most_execution_events <= HISTORY_BUDGET,
            "{bounds:?}: {cost:?}"
        );
    }
    // At the tightest bounds the week takes many executions, each within the budget.
    assert!(by_age(WEEK_SECONDS, tightest).executions > 1);
}
