//! The polling cost model: state transitions, execution history events and detection lag of
//! following Glue runs, on a simulated clock.
//! `cargo run -p polysync-glue --features cost-model --example poll_cost [min_seconds max_seconds]`
//!
//! Prints two tables: the policy without history (the age rule) against a fixed 30 s loop for
//! one run of each length; and, for jobs whose runs spread evenly within ±spread of a median,
//! the history-aware policy woken by Glue's event, the history-aware policy alone (as with the
//! event lost), the age rule, a fixed 30 s loop and Step Functions' own
//! `glue:startJobRun.sync` schedule side by side (lag over 201 runs of each job; mean
//! transitions per run).
//!
//! With `--shape`, prints the per-part counts the model reads from the definition, as JSON
//! (tests/e2e/test_cost_model.py checks them against a real execution's history).

use polysync_glue::config::PollBounds;
use polysync_glue::polling::model::{
    by_age, first_late_detection, fixed, Policy, SteadyJob, EVENT_DELAY_SECONDS,
};
use polysync_glue::polling::project_shape;

const RUNS: [(&str, u64); 7] = [
    ("1 min", 60),
    ("10 min", 600),
    ("1 h", 3600),
    ("6 h", 6 * 3600),
    ("24 h", 24 * 3600),
    ("48 h", 48 * 3600),
    ("7 days", 7 * 86_400),
];
const SPREADS: [f64; 4] = [0.0, 0.02, 0.05, 0.10];

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--shape") {
        println!("{}", serde_json::to_string(project_shape()).unwrap());
        return;
    }
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let bounds = match args.as_slice() {
        [min, max] => PollBounds {
            min_seconds: *min,
            max_seconds: *max,
        },
        _ => PollBounds::default(),
    };
    one_run(bounds);
    println!();
    side_by_side(bounds);
}

fn one_run(bounds: PollBounds) {
    println!(
        "age rule: wait = age / 9 within [{}, {}] s; fixed baseline: 30 s; history budget {} events per execution",
        bounds.min_seconds,
        bounds.max_seconds,
        project_shape().history_budget
    );
    println!(
        "{:<8} | {:>6} {:>11} {:>10} {:>10} {:>9} | {:>6} {:>11} {:>10} {:>10} {:>9}",
        "run",
        "polls",
        "transitions",
        "executions",
        "most/exec",
        "worst lag",
        "polls",
        "transitions",
        "executions",
        "most/exec",
        "worst lag",
    );
    for (label, seconds) in RUNS {
        let ours = by_age(seconds, bounds);
        let baseline = fixed(seconds, 30);
        // The worst lag for any end up to this run's length (the simulated end is one case).
        let worst = worst_lag(seconds, |s| by_age(s, bounds).lag_seconds);
        let worst_baseline = worst_lag(seconds, |s| fixed(s, 30).lag_seconds);
        println!(
            "{:<8} | {:>6} {:>11} {:>10} {:>10} {:>8}s | {:>6} {:>11} {:>10} {:>10} {:>8}s",
            label,
            ours.polls,
            ours.transitions,
            ours.executions,
            ours.most_execution_events,
            worst,
            baseline.polls,
            baseline.transitions,
            baseline.executions,
            baseline.most_execution_events,
            worst_baseline,
        );
    }
    match first_late_detection(8 * 86_400, bounds) {
        None => println!(
            "every finish up to 8 days is seen within max({} s, 10 % of the run's age)",
            bounds.min_seconds
        ),
        Some(end) => println!("a run ending at {end} s is seen later than promised"),
    }
}

fn side_by_side(bounds: PollBounds) {
    println!("lag median / p95 in seconds; transitions: mean per run (the .sync task's polls are not transitions)");
    println!(
        "woken: history-aware with Glue's event {EVENT_DELAY_SECONDS} s after the run's end; without the event, history-aware"
    );
    println!(
        "{:<7} {:>6} | {:>19} | {:>19} | {:>19} | {:>19} | {:>11}",
        "run", "spread", "woken", "history-aware", "age rule", "fixed 30 s", ".sync"
    );
    for (label, seconds) in RUNS {
        for spread in SPREADS {
            let job = SteadyJob {
                median_seconds: seconds,
                spread,
            };
            let cell = |policy| {
                let o = job.outcome(policy, bounds);
                format!(
                    "{:>4}/{:<5} {:>8.1}",
                    o.median_lag, o.p95_lag, o.mean_transitions
                )
            };
            let sync = job.outcome(Policy::GlueSync, bounds);
            println!(
                "{:<7} {:>5.0}% | {} | {} | {} | {} | {:>4}/{:<6}",
                label,
                spread * 100.0,
                cell(Policy::Woken),
                cell(Policy::HistoryAware),
                cell(Policy::AgeRule),
                cell(Policy::Fixed30),
                sync.median_lag,
                sync.p95_lag,
            );
        }
    }
}

fn worst_lag(seconds: u64, lag: impl Fn(u64) -> u64) -> u64 {
    let from = seconds.saturating_sub(600);
    (from..=seconds).map(lag).max().unwrap_or(0)
}
