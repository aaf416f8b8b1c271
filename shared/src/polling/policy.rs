//! When poll looks at a run again: the rule the poll function applies at run time, from the
//! run's age and, when there is enough of it, its job's history.

use crate::config::PollBounds;
use crate::history::{ExpectedDuration, MIN_RUNS};

/// Seconds to wait before the next poll: a ninth of the run's age, within the bounds. A finish
/// is then seen within max(min, 10 % of the run's age when it is seen): waiting w at age a ends
/// at a + w, and w = a / 9 is exactly a tenth of a + w. A long run costs few state transitions
/// and little execution history.
pub fn wait_by_age(age_seconds: i64, bounds: PollBounds) -> u32 {
    let ninth = u32::try_from(age_seconds.max(0) / 9).unwrap_or(u32::MAX);
    ninth.clamp(bounds.min_seconds, bounds.max_seconds)
}

/// A run's likely end, from its job's recent successful runs: the window around their median
/// duration where poll looks at the run most often, and the interval it looks at in there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens: u64,
    pub closes: u64,
    pub interval: u32,
}

/// Before the window, the wait is half the run's age: few polls while it is young, and a run
/// that fails early is still seen within a third of its age.
const EARLY_AGE_DIVISOR: u64 = 2;

impl Window {
    /// The window reaches 1.25 × (p90 − p50) either side of the median: all of a uniform
    /// spread of durations (there p90 − p50 is 0.8 of its half-width), and 89 % of a normal
    /// one; at least 1 % of the median and one minimum wait.
    ///
    /// Its interval is the shortest that never makes a poll sooner than the age rule's poll
    /// of the same rank (the k-th poll comes no earlier): whenever the run ends, it costs no
    /// more state transitions than without history. The early rule saves the polls that the
    /// window spends.
    pub fn of(expected: &ExpectedDuration, bounds: PollBounds) -> Option<Window> {
        if (expected.runs as usize) < MIN_RUNS || expected.p50_seconds == 0 {
            return None;
        }
        let median = expected.p50_seconds;
        let spread = expected.p90_seconds.saturating_sub(median);
        let half = (spread * 5 / 4)
            .max(median / 100)
            .max(u64::from(bounds.min_seconds));
        let opens = median.saturating_sub(half);
        let closes = median + half;
        // Our poll at the window's opening, and its rank.
        let (mut opened_at, mut rank) = (0, 0);
        while opened_at < opens {
            opened_at += u64::from(early_wait(opened_at, opens, bounds));
            rank += 1;
        }
        // The age rule's polls of higher rank within the window: the j-th of ours after the
        // opening must come no sooner than theirs.
        let mut interval = u64::from(bounds.min_seconds);
        let (mut theirs, mut their_rank) = (0u64, 0u64);
        loop {
            theirs += u64::from(age_rule(theirs, bounds).max(1));
            their_rank += 1;
            if theirs >= closes {
                break;
            }
            if their_rank == rank && theirs > opened_at {
                // The early rule cannot save polls here (bounds too narrow): no window.
                return None;
            }
            if their_rank > rank && theirs > opened_at {
                interval = interval.max((theirs - opened_at).div_ceil(their_rank - rank));
            }
        }
        // Our polls in the window are fewer than theirs, so our first past it has a rank of
        // theirs within it, and is later: from there the age rule keeps ours no sooner.
        let last_within = their_rank - 1;
        if last_within <= rank {
            return None;
        }
        interval = interval.max((closes - opened_at).div_ceil(last_within - rank));
        Some(Window {
            opens,
            closes,
            interval: u32::try_from(interval)
                .unwrap_or(u32::MAX)
                .clamp(bounds.min_seconds, bounds.max_seconds),
        })
    }

    /// The wait at `age`: the early rule before the window (never past its opening), the
    /// window's interval inside it, and the age rule after it (a run that runs long).
    pub fn wait(&self, age: u64, bounds: PollBounds) -> u32 {
        if age < self.opens {
            early_wait(age, self.opens, bounds)
        } else if age < self.closes {
            self.interval
        } else {
            age_rule(age, bounds)
        }
    }
}

pub(crate) fn age_rule(age: u64, bounds: PollBounds) -> u32 {
    wait_by_age(i64::try_from(age).unwrap_or(i64::MAX), bounds)
}

/// Half the age, within the bounds, up to the window's opening.
fn early_wait(age: u64, opens: u64, bounds: PollBounds) -> u32 {
    let share = u32::try_from(age / EARLY_AGE_DIVISOR).unwrap_or(u32::MAX);
    let share = share.clamp(bounds.min_seconds, bounds.max_seconds);
    let to_window = u32::try_from(opens.saturating_sub(age)).unwrap_or(u32::MAX);
    share.min(to_window).max(bounds.min_seconds)
}

/// The wait before the next poll of a run of this age: around the end its job's history
/// expects when there is enough of it (docs/interface.md, "Poll"), else the age rule.
pub fn next_wait(age_seconds: i64, bounds: PollBounds, expected: Option<&ExpectedDuration>) -> u32 {
    let window = expected.and_then(|expected| Window::of(expected, bounds));
    wait_within(window, u64::try_from(age_seconds).unwrap_or(0), bounds)
}

/// The window's wait when there is one, else the age rule.
pub(crate) fn wait_within(window: Option<Window>, age: u64, bounds: PollBounds) -> u32 {
    match window {
        Some(window) => window.wait(age, bounds),
        None => age_rule(age, bounds),
    }
}

/// What decides when a run is looked at again: the platform's bounds and what its job's
/// history expects.
#[derive(Debug, Clone, Copy)]
pub struct PollTiming<'a> {
    pub bounds: PollBounds,
    pub expected: Option<&'a ExpectedDuration>,
}

impl PollTiming<'_> {
    /// The wait before the next poll of a run of this age.
    pub fn next_wait(&self, age_seconds: i64) -> u32 {
        next_wait(age_seconds, self.bounds, self.expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::polling::test_bounds::{BOUNDS, HOUR};
    #[test]
    fn young_runs_are_polled_at_the_minimum() {
        assert_eq!(wait_by_age(0, BOUNDS), 15);
        assert_eq!(wait_by_age(143, BOUNDS), 15);
        // a start time in the future (clock skew) is treated as age 0
        assert_eq!(wait_by_age(-30, BOUNDS), 15);
    }
    #[test]
    fn the_interval_grows_with_age_up_to_the_maximum() {
        assert_eq!(wait_by_age(900, BOUNDS), 100);
        assert_eq!(wait_by_age(3600, BOUNDS), 400);
        assert_eq!(wait_by_age(5400, BOUNDS), 600);
        assert_eq!(wait_by_age(7 * 86_400, BOUNDS), 600);
        assert_eq!(wait_by_age(i64::MAX, BOUNDS), 600);
    }
    #[test]
    fn the_interval_never_shrinks_as_the_run_ages() {
        let mut last = 0;
        for age in (0..20_000).step_by(7) {
            let next = wait_by_age(age, BOUNDS);
            assert!(next >= last && (15..=600).contains(&next));
            last = next;
        }
    }
    fn history(p50_seconds: u64, p90_seconds: u64) -> ExpectedDuration {
        ExpectedDuration {
            runs: 20,
            p50_seconds,
            p90_seconds,
        }
    }
    #[test]
    fn without_enough_history_the_wait_is_the_age_rule() {
        let few = ExpectedDuration {
            runs: 4,
            ..history(HOUR, HOUR + 60)
        };
        for age in (0..3 * HOUR as i64).step_by(37) {
            let by_age = wait_by_age(age, BOUNDS);
            assert_eq!(next_wait(age, BOUNDS, None), by_age);
            assert_eq!(next_wait(age, BOUNDS, Some(&few)), by_age);
        }
    }
    #[test]
    fn polls_are_few_while_young_dense_near_the_expected_end_and_by_age_after() {
        let expected = history(HOUR, HOUR + 4 * 60);
        let window = Window::of(&expected, BOUNDS).unwrap();
        // 1.25 × (p90 − p50) = 5 min either side of the median
        assert_eq!((window.opens, window.closes), (HOUR - 300, HOUR + 300));
        assert!(window.interval < 30, "{window:?}");
        let wait = |age: u64| next_wait(age as i64, BOUNDS, Some(&expected));
        // young: half the age, where the age rule waits a ninth
        assert_eq!(wait(900), 450);
        // never past the window's opening
        assert_eq!(wait(HOUR - 400), 100);
        assert_eq!(wait(HOUR), window.interval);
        // a run that runs long: the age rule again
        assert_eq!(wait(2 * HOUR), wait_by_age(2 * HOUR as i64, BOUNDS));
    }
}
