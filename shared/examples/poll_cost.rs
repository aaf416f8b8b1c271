//! The polling cost model: state transitions, execution history events and the worst detection
//! lag of following one Glue run, for the adaptive policy and for a fixed 30 s loop, on a
//! simulated clock. `cargo run -p polysync-glue --example poll_cost [min_seconds max_seconds]`
//!
//! With `--shape`, prints the per-part counts the model reads from the definition, as JSON
//! (tests/e2e/test_cost_model.py checks them against a real execution's history).

use polysync_glue::config::PollBounds;
use polysync_glue::schedule::{adaptive, first_late_detection, fixed, Shape};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--shape") {
        println!("{}", serde_json::to_string(Shape::of_project()).unwrap());
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
    println!(
        "adaptive policy: wait = age / 9 within [{}, {}] s; fixed baseline: 30 s",
        bounds.min_seconds, bounds.max_seconds
    );
    println!(
        "{:<8} | {:>6} {:>11} {:>14} {:>9} | {:>6} {:>11} {:>14} {:>9} | {:>6}",
        "run",
        "polls",
        "transitions",
        "history events",
        "worst lag",
        "polls",
        "transitions",
        "history events",
        "worst lag",
        "ratio"
    );
    let runs = [
        ("1 min", 60),
        ("10 min", 600),
        ("1 h", 3600),
        ("6 h", 6 * 3600),
        ("48 h", 48 * 3600),
        ("7 days", 7 * 86_400),
    ];
    for (label, seconds) in runs {
        let ours = adaptive(seconds, bounds);
        let baseline = fixed(seconds, 30);
        // The worst lag for any end up to this run's length (the simulated end is one case).
        let worst = worst_lag(seconds, |s| adaptive(s, bounds).lag_seconds);
        let worst_baseline = worst_lag(seconds, |s| fixed(s, 30).lag_seconds);
        println!(
            "{:<8} | {:>6} {:>11} {:>14} {:>8}s | {:>6} {:>11} {:>14} {:>8}s | {:>6.2}",
            label,
            ours.polls,
            ours.transitions,
            ours.history_events,
            worst,
            baseline.polls,
            baseline.transitions,
            baseline.history_events,
            worst_baseline,
            ours.transitions as f64 / baseline.transitions as f64
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

/// The longest lag over ends near the run's length (one simulated poll cycle before it).
fn worst_lag(seconds: u64, lag: impl Fn(u64) -> u64) -> u64 {
    let from = seconds.saturating_sub(600);
    (from..=seconds).map(lag).max().unwrap_or(0)
}
