//! The fixtures in `events/` double as Step Functions and Lambda console examples: each must be
//! an event its function accepts.

use std::path::Path;

use polysync_glue::config::Config;
use polysync_glue::event::{parse_event, DiscoverEvent, PollEvent};
use polysync_glue::run_id::RunId;
use polysync_glue::start::StartPlan;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_state_machine_input_is_the_contract_example() {
    let plan =
        StartPlan::from_event(fixture("state-machine-input.json"), &Config::default()).unwrap();
    assert_eq!(plan.job_name, "nightly-sales");
    assert_eq!(
        plan.arguments.keys(),
        [
            "--run_date",
            "--target_path",
            "--batch_size",
            "--glue-version"
        ]
    );
    assert_eq!(plan.arguments.warnings.len(), 1);
}

#[test]
fn the_start_event_carries_the_execution_tag() {
    let plan = StartPlan::from_event(fixture("start.json"), &Config::default()).unwrap();
    assert_eq!(plan.execution_id.as_deref(), Some("console-test-1"));
    assert_eq!(plan.retry_count, 0);
}

#[test]
fn poll_and_cancel_events_hold_a_run_id() {
    for name in ["poll.json", "cancel.json"] {
        let event: PollEvent = parse_event(fixture(name)).unwrap();
        RunId::parse("runId", &event.run_id).unwrap();
    }
}

#[test]
fn the_discover_event_starts_from_the_first_page() {
    let event: DiscoverEvent = parse_event(fixture("discover.json")).unwrap();
    assert_eq!(event.next_token, None);
}

#[test]
fn the_aborted_execution_event_carries_a_start_event_as_its_input() {
    let event = fixture("cancel-execution-aborted.json");
    assert_eq!(
        event["detail-type"],
        "Step Functions Execution Status Change"
    );
    assert_eq!(event["detail"]["status"], "ABORTED");
    let input: Value = serde_json::from_str(event["detail"]["input"].as_str().unwrap()).unwrap();
    StartPlan::from_event(input, &Config::default()).unwrap();
}

#[test]
fn the_python_shell_start_sets_no_workers_so_platform_defaults_can_give_way() {
    let config = Config::from_vars(&[
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.2X"),
        ("POLYSYNC_GLUE_NUMBER_OF_WORKERS", "5"),
    ])
    .unwrap();
    let plan = StartPlan::from_event(fixture("start-python-shell.json"), &config).unwrap();
    assert_eq!(plan.job_name, "nightly-cleanup-shell");
    assert_eq!(plan.compute.timeout(), Some(30));
    // The platform pair stays tentative: GetJob tells the kind, which takes no workers.
    assert!(plan.compute.needs_definition());
}
