//! When to look at a run again, and what that costs in Step Functions state transitions and
//! execution history (the deterministic cost model behind BENCHMARKS.md).

use crate::config::PollBounds;

/// Seconds to wait before the next poll: a ninth of the run's age, within the bounds. A finish
/// is then seen within max(min, 10 % of the run's age when it is seen): waiting w at age a ends
/// at a + w, and w = a / 9 is exactly a tenth of a + w. A long run costs few state transitions
/// and little execution history.
pub fn next_poll_seconds(age_seconds: i64, bounds: PollBounds) -> u32 {
    let ninth = u32::try_from(age_seconds.max(0) / 9).unwrap_or(u32::MAX);
    ninth.clamp(bounds.min_seconds, bounds.max_seconds)
}

/// The states an execution of `statemachine/glue-job.asl.json` enters, and the history events
/// each writes: before the loop (HasParameters, Start, TrackRun), per poll (Poll, IsRunOver),
/// per wait (WaitForRun), and at the end (Succeeded).
pub mod shape {
    pub const TRANSITIONS_BEFORE_LOOP: u64 = 3;
    pub const TRANSITIONS_PER_POLL: u64 = 2;
    pub const TRANSITIONS_PER_WAIT: u64 = 1;
    pub const TRANSITIONS_AT_END: u64 = 1;
    /// ExecutionStarted, a Choice (2), a Lambda task (5), a Pass (2).
    pub const EVENTS_BEFORE_LOOP: u64 = 1 + 2 + 5 + 2;
    /// A Lambda task (entered, scheduled, started, succeeded, exited) and a Choice (2).
    pub const EVENTS_PER_POLL: u64 = 5 + 2;
    pub const EVENTS_PER_WAIT: u64 = 2;
    /// Succeed (2) and ExecutionSucceeded.
    pub const EVENTS_AT_END: u64 = 2 + 1;
}

/// What following one run costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollingCost {
    pub polls: u64,
    pub transitions: u64,
    pub history_events: u64,
    /// The longest time between the run's end and the poll that saw it, in seconds.
    pub lag_seconds: u64,
}

impl PollingCost {
    fn of_polls(polls: u64, lag_seconds: u64) -> Self {
        let waits = polls - 1;
        Self {
            polls,
            transitions: shape::TRANSITIONS_BEFORE_LOOP
                + shape::TRANSITIONS_PER_POLL * polls
                + shape::TRANSITIONS_PER_WAIT * waits
                + shape::TRANSITIONS_AT_END,
            history_events: shape::EVENTS_BEFORE_LOOP
                + shape::EVENTS_PER_POLL * polls
                + shape::EVENTS_PER_WAIT * waits
                + shape::EVENTS_AT_END,
            lag_seconds,
        }
    }
}

/// Follows a run of `run_seconds` on a simulated clock: the first poll comes right after start,
/// each next one after `wait(age)` seconds. Lambda latency is left out.
pub fn simulate(run_seconds: u64, wait: impl Fn(u64) -> u64) -> PollingCost {
    let mut clock = 0;
    let mut polls = 1;
    while clock < run_seconds {
        clock += wait(clock).max(1);
        polls += 1;
    }
    PollingCost::of_polls(polls, clock - run_seconds)
}

/// The cost of the adaptive policy within `bounds`.
pub fn adaptive(run_seconds: u64, bounds: PollBounds) -> PollingCost {
    simulate(run_seconds, |age| {
        u64::from(next_poll_seconds(
            i64::try_from(age).unwrap_or(i64::MAX),
            bounds,
        ))
    })
}

/// The cost of a fixed interval, the baseline.
pub fn fixed(run_seconds: u64, interval_seconds: u64) -> PollingCost {
    simulate(run_seconds, |_| interval_seconds)
}

/// The worst detection lag over every end time up to `horizon`, checked against the promise
/// max(min, 10 % of the age at detection); returns the first end time that breaks it.
pub fn first_late_detection(horizon: u64, bounds: PollBounds) -> Option<u64> {
    let mut clock = 0u64;
    while clock < horizon {
        let wait = u64::from(next_poll_seconds(clock as i64, bounds));
        let detected_at = clock + wait;
        // The worst case ends just after the poll at `clock`.
        let allowed = u64::from(bounds.min_seconds).max(detected_at / 10);
        if wait > allowed {
            return Some(clock + 1);
        }
        clock = detected_at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: PollBounds = PollBounds {
        min_seconds: 15,
        max_seconds: 600,
    };
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;

    #[test]
    fn young_runs_are_polled_at_the_minimum() {
        assert_eq!(next_poll_seconds(0, BOUNDS), 15);
        assert_eq!(next_poll_seconds(143, BOUNDS), 15);
        // a start time in the future (clock skew) is treated as age 0
        assert_eq!(next_poll_seconds(-30, BOUNDS), 15);
    }

    #[test]
    fn the_interval_grows_with_age_up_to_the_maximum() {
        assert_eq!(next_poll_seconds(900, BOUNDS), 100);
        assert_eq!(next_poll_seconds(3600, BOUNDS), 400);
        assert_eq!(next_poll_seconds(5400, BOUNDS), 600);
        assert_eq!(next_poll_seconds(7 * 86_400, BOUNDS), 600);
        assert_eq!(next_poll_seconds(i64::MAX, BOUNDS), 600);
    }

    #[test]
    fn the_interval_never_shrinks_as_the_run_ages() {
        let mut last = 0;
        for age in (0..20_000).step_by(7) {
            let next = next_poll_seconds(age, BOUNDS);
            assert!(next >= last && (15..=600).contains(&next));
            last = next;
        }
    }

    #[test]
    fn a_finish_is_seen_within_max_15_s_and_a_tenth_of_the_age() {
        assert_eq!(first_late_detection(8 * DAY, BOUNDS), None);
    }

    #[test]
    fn an_hour_long_run_costs_at_most_130_transitions() {
        let cost = adaptive(HOUR, BOUNDS);
        assert!(cost.transitions <= 130, "{cost:?}");
        assert!(
            fixed(HOUR, 30).transitions > 350,
            "the baseline costs about 360"
        );
    }

    #[test]
    fn a_week_long_run_stays_under_20000_history_events() {
        let cost = adaptive(7 * DAY, BOUNDS);
        assert!(cost.history_events < 20_000, "{cost:?}");
        assert!(
            fixed(7 * DAY, 30).history_events > 25_000,
            "the baseline outgrows the history"
        );
    }

    #[test]
    fn the_model_counts_the_states_of_the_definition() {
        // A run over before the first poll: HasParameters, Start, TrackRun, Poll, IsRunOver,
        // Succeeded; ExecutionStarted + 2 + 5 + 2 + 7 + 3 events.
        let cost = adaptive(0, BOUNDS);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (1, 6, 20)
        );
        let cost = fixed(60, 30);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (3, 12, 38)
        );
        assert_eq!(cost.lag_seconds, 0);
    }
}
