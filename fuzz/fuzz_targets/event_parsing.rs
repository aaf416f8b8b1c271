//! Any bytes as a start, poll or discover event: parsing, validation, argument building and
//! compute resolution must answer with a value or a typed error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polysync_glue::config::Config;
use polysync_glue::event::{parse_event, DiscoverEvent, PollEvent};
use polysync_glue::run_id::RunId;
use polysync_glue::start::StartPlan;
use polysync_glue::PolysyncError;
use serde_json::Value;

fn platform_defaults() -> Config {
    let vars = [
        ("POLYSYNC_GLUE_WORKER_TYPE", "G.1X"),
        ("POLYSYNC_GLUE_VERSION", "4.0"),
        ("POLYSYNC_GLUE_TIMEOUT_MINUTES", "60"),
    ];
    Config::from_vars(&vars).expect("valid platform defaults")
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let platform = Config {
        allow_code_arguments: true,
        ..platform_defaults()
    };
    for config in [Config::default(), platform] {
        match StartPlan::from_event(event.clone(), &config) {
            Ok(plan) => {
                assert!(!plan.job_name.is_empty());
                plan.arguments.check_size().unwrap();
            }
            Err(PolysyncError::InvalidInput { field, .. }) => assert!(!field.is_empty()),
            Err(PolysyncError::ForbiddenArgument { key, .. }) => assert!(key.starts_with("--")),
            Err(other) => panic!("parsing alone reached Glue: {other:?}"),
        }
    }
    if let Ok(poll) = parse_event::<PollEvent>(event.clone()) {
        if let Ok(run) = RunId::parse("runId", &poll.run_id) {
            assert_eq!(run.to_string(), poll.run_id);
        }
    }
    let _ = parse_event::<DiscoverEvent>(event);
});
