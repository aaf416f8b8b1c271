//! template.yaml's parameters against what the functions and Step Functions accept: read from
//! the file, so the template and the code cannot drift apart.

use aws_sdk_glue::types::WorkerType;
use polysync_glue::config::PollBounds;
use polysync_glue::schedule::adaptive;
use polysync_glue_integration::workspace_root;

/// The contract's history budget (§7), below Step Functions' hard 25,000 events.
const HISTORY_BUDGET: u64 = 20_000;
/// Glue's default job timeout (48 hours), which a run may last without a timeout of its own.
const GLUE_DEFAULT_TIMEOUT_SECONDS: u64 = 48 * 3600;

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
fn the_lowest_poll_max_the_template_allows_keeps_a_48_hour_run_within_the_history_budget() {
    let max_seconds: u32 = parameter_field("PollMaxSeconds", "MinValue")
        .parse()
        .unwrap();
    // Every PollMinSeconds up to that max: the worst case over the bounds the stack can have.
    let worst = (1..=max_seconds)
        .map(|min_seconds| {
            adaptive(
                GLUE_DEFAULT_TIMEOUT_SECONDS,
                PollBounds {
                    min_seconds,
                    max_seconds,
                },
            )
            .history_events
        })
        .max()
        .unwrap();
    assert!(
        worst <= HISTORY_BUDGET,
        "PollMaxSeconds={max_seconds}: {worst} history events for 48 h"
    );
    // The bound is not loose by a wide margin either: two thirds of it would not fit.
    let too_low = PollBounds {
        min_seconds: 1,
        max_seconds: max_seconds * 2 / 3,
    };
    assert!(adaptive(GLUE_DEFAULT_TIMEOUT_SECONDS, too_low).history_events > HISTORY_BUDGET);
}
