//! The offline cost model behind BENCHMARKS.md: what following a run costs in Step Functions
//! state transitions, execution history and detection lag, on a simulated clock. Not part of
//! the functions: built for the crate's tests and with the `cost-model` feature (the
//! `poll_cost` example, the integration tests).

use crate::config::PollBounds;
use crate::history::ExpectedDuration;
use crate::polling::definition_shape::{Cost, DefinitionShape};
use crate::polling::policy::{age_rule, wait_within, Window};
use crate::polling::project_shape;

/// What following one run costs, over every execution that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollingCost {
    pub polls: u64,
    pub transitions: u64,
    pub history_events: u64,
    /// The executions that followed the run: the first and each child.
    pub executions: u64,
    /// The most history events one of them wrote.
    pub most_execution_events: u64,
    /// The time between the run's end and the poll that saw it, in seconds.
    pub lag_seconds: u64,
}

/// Follows a run of `run_seconds` on a simulated clock: the first poll comes right after start,
/// each next one after `wait(age)` seconds, and an execution hands the run to a child as the
/// poll function decides with the definition's history budget. Lambda latency is left out.
pub fn simulate(run_seconds: u64, wait: impl Fn(u64) -> u32) -> PollingCost {
    let shape = project_shape();
    simulate_within(shape, shape.history_budget, run_seconds, wait, None)
}

/// [`simulate`] with another history budget and, with `event_delay`, Glue's event for the
/// run's end coming that many seconds after it: a wait it falls in ends then, and the run is
/// polled at once (the wake round). A scheduled poll that comes first sees the end itself.
pub fn simulate_within(
    shape: &DefinitionShape,
    budget: u64,
    run_seconds: u64,
    wait: impl Fn(u64) -> u32,
    event_delay: Option<u64>,
) -> PollingCost {
    let mut clock = 0;
    let mut total = Cost::default();
    let mut execution = shape.before_loop;
    let mut cost = PollingCost {
        polls: 0,
        transitions: 0,
        history_events: 0,
        executions: 1,
        most_execution_events: 0,
        lag_seconds: 0,
    };
    let mut polls_here = 0;
    loop {
        cost.polls += 1;
        polls_here += 1;
        execution = execution + shape.per_poll;
        if clock >= run_seconds {
            execution = execution + shape.at_end;
            break;
        }
        if shape.hand_over_due(polls_here, budget) {
            execution = execution + shape.hand_over;
            cost.most_execution_events = cost.most_execution_events.max(execution.events);
            total = total + execution;
            // The child polls at once: its first poll is the next one.
            execution = shape.child_before_loop;
            cost.executions += 1;
            polls_here = 0;
            continue;
        }
        let next_poll = clock + u64::from(wait(clock).max(1));
        execution = execution + shape.per_wait;
        if let Some(woken_at) = event_delay.map(|delay| run_seconds + delay) {
            if next_poll >= run_seconds && woken_at < next_poll {
                clock = woken_at;
                cost.polls += 1;
                execution = execution + shape.wake_round + shape.at_end;
                break;
            }
        }
        clock = next_poll;
    }
    cost.most_execution_events = cost.most_execution_events.max(execution.events);
    total = total + execution;
    cost.transitions = total.transitions;
    cost.history_events = total.events;
    cost.lag_seconds = clock - run_seconds;
    cost
}

/// The cost of the age rule (the policy without history) within `bounds`.
pub fn by_age(run_seconds: u64, bounds: PollBounds) -> PollingCost {
    simulate(run_seconds, |age| age_rule(age, bounds))
}

/// The cost of the history-aware policy for a run whose job's history says `expected`.
pub fn expecting(run_seconds: u64, bounds: PollBounds, expected: &ExpectedDuration) -> PollingCost {
    let window = Window::of(expected, bounds);
    simulate(run_seconds, |age| wait_within(window, age, bounds))
}

/// Seconds from a run's end to its Glue event reaching the wake, in the model: Glue and
/// EventBridge deliver most within a second (Lambda latency is left out, as everywhere here).
pub const EVENT_DELAY_SECONDS: u64 = 1;

/// The cost of the history-aware policy with Glue's event delivered, `delay` seconds after the
/// run's end; without the event the policy is [`expecting`] itself.
pub fn woken(
    run_seconds: u64,
    bounds: PollBounds,
    expected: &ExpectedDuration,
    delay: u64,
) -> PollingCost {
    let window = Window::of(expected, bounds);
    let shape = project_shape();
    simulate_within(
        shape,
        shape.history_budget,
        run_seconds,
        |age| wait_within(window, age, bounds),
        Some(delay),
    )
}

/// The cost of a fixed interval, the baseline.
pub fn fixed(run_seconds: u64, interval_seconds: u32) -> PollingCost {
    simulate(run_seconds, |_| interval_seconds)
}

/// When Step Functions' own Glue integration (`glue:startJobRun.sync`) looks at a run: once a
/// minute for 10 minutes, then every 5 minutes. Its polls are not state transitions.
pub fn glue_sync_lag(run_seconds: u64) -> u64 {
    let seen = if run_seconds <= 600 {
        run_seconds.div_ceil(60) * 60
    } else {
        600 + (run_seconds - 600).div_ceil(300) * 300
    };
    seen - run_seconds
}

/// The worst detection lag over every end time up to `horizon`, checked against the promise
/// max(min, 10 % of the age at detection); returns the first end time that breaks it.
pub fn first_late_detection(horizon: u64, bounds: PollBounds) -> Option<u64> {
    let mut clock = 0u64;
    while clock < horizon {
        let wait = u64::from(age_rule(clock, bounds));
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

/// A job whose durations spread evenly within ±`spread` of `median_seconds`: its history
/// (the spread's own median and 90th percentile over 20 runs) and runs at evenly spaced
/// quantiles of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyJob {
    pub median_seconds: u64,
    pub spread: f64,
}

/// How a policy did over the runs of a [`SteadyJob`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub median_lag: u64,
    pub p95_lag: u64,
    pub mean_transitions: f64,
    /// Runs that cost more transitions than the age rule for the same run.
    pub costlier_than_age_rule: usize,
}

/// The policies the cost model compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// History-aware, with Glue's event delivered after [`EVENT_DELAY_SECONDS`].
    Woken,
    HistoryAware,
    AgeRule,
    Fixed30,
    GlueSync,
}

/// Runs of a [`SteadyJob`] the comparison follows.
const SAMPLED_RUNS: u64 = 201;

impl SteadyJob {
    /// The duration at quantile `q` of the job's even spread.
    fn duration_at(&self, q: f64) -> u64 {
        (self.median_seconds as f64 * (1.0 + self.spread * (2.0 * q - 1.0))).round() as u64
    }

    pub fn history(&self) -> ExpectedDuration {
        ExpectedDuration {
            runs: 20,
            p50_seconds: self.duration_at(0.5),
            p90_seconds: self.duration_at(0.9),
        }
    }

    pub fn runs(&self) -> impl Iterator<Item = u64> + '_ {
        (0..SAMPLED_RUNS).map(|i| self.duration_at((i as f64 + 0.5) / SAMPLED_RUNS as f64))
    }

    pub fn outcome(&self, policy: Policy, bounds: PollBounds) -> Outcome {
        let history = self.history();
        let mut lags = Vec::new();
        let mut transitions = 0;
        let mut costlier = 0;
        for run in self.runs() {
            let by_age_rule = by_age(run, bounds);
            let cost = match policy {
                Policy::Woken => woken(run, bounds, &history, EVENT_DELAY_SECONDS),
                Policy::HistoryAware => expecting(run, bounds, &history),
                Policy::AgeRule => by_age_rule,
                Policy::Fixed30 => fixed(run, 30),
                Policy::GlueSync => PollingCost {
                    lag_seconds: glue_sync_lag(run),
                    ..by_age_rule
                },
            };
            if policy != Policy::GlueSync {
                transitions += cost.transitions;
                costlier += usize::from(cost.transitions > by_age_rule.transitions);
            }
            lags.push(cost.lag_seconds);
        }
        lags.sort_unstable();
        let quantile = |q: f64| lags[((lags.len() - 1) as f64 * q).round() as usize];
        Outcome {
            median_lag: quantile(0.5),
            p95_lag: quantile(0.95),
            mean_transitions: transitions as f64 / SAMPLED_RUNS as f64,
            costlier_than_age_rule: costlier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::polling::test_bounds::{BOUNDS, DAY, HOUR};
    #[test]
    fn a_finish_is_seen_within_max_15_s_and_a_tenth_of_the_age() {
        assert_eq!(first_late_detection(8 * DAY, BOUNDS), None);
    }
    #[test]
    fn an_hour_long_run_costs_at_most_130_transitions_and_the_wake_s_few() {
        // 130 before Glue's events (issue 13); at most 15 more with them (issue 21): here the
        // Parallel and its wake branch (4) and a success's way out of it (3).
        let cost = by_age(HOUR, BOUNDS);
        assert!(cost.transitions <= 130 + 7, "{cost:?}");
        assert!(
            fixed(HOUR, 30).transitions > 350,
            "the baseline costs about 360"
        );
    }
    #[test]
    fn a_week_long_run_stays_in_one_execution_at_the_default_bounds() {
        let cost = by_age(7 * DAY, BOUNDS);
        assert_eq!(cost.executions, 1, "{cost:?}");
        assert!(cost.history_events < 20_000, "{cost:?}");
        let baseline = fixed(7 * DAY, 30);
        assert!(baseline.history_events > 25_000, "{baseline:?}");
    }
    #[test]
    fn no_execution_passes_the_budget_at_any_bounds_or_length() {
        let shape = project_shape();
        assert_eq!(shape.history_budget, 20_000);
        // The template allows bounds down to 1 s; a streaming run lasts until stopped.
        for (min_seconds, max_seconds) in [(1, 1), (1, 90), (15, 600), (600, 600)] {
            let bounds = PollBounds {
                min_seconds,
                max_seconds,
            };
            for run in [HOUR, 2 * DAY, 7 * DAY, 30 * DAY] {
                let cost = by_age(run, bounds);
                assert!(
                    cost.most_execution_events <= shape.history_budget,
                    "{bounds:?} {run} s: {cost:?}"
                );
                // Children only when one execution could not hold the run.
                let one = cost.history_events + shape.child_before_loop.events;
                assert_eq!(cost.executions > 1, one > shape.history_budget, "{cost:?}");
            }
        }
        let week_at_one_second = by_age(
            7 * DAY,
            PollBounds {
                min_seconds: 1,
                max_seconds: 1,
            },
        );
        assert!(week_at_one_second.executions > 30, "{week_at_one_second:?}");
    }
    #[test]
    fn the_hand_over_comes_before_one_more_turn_would_pass_the_budget() {
        let shape = project_shape();
        // 120 events: came in (23) + 5 polls (35) + 4 waits (8) + the detours (31) = 97; one
        // more turn (9) and the longest way out (20) would pass 120.
        let polls_before_hand_over = (1..).find(|p| shape.hand_over_due(*p, 120)).unwrap();
        let came_in = shape.before_loop.events.max(shape.child_before_loop.events);
        let at = |polls: u64| {
            came_in
                + polls * shape.per_poll.events
                + (polls - 1) * shape.per_wait.events
                + shape.detours.events
        };
        let p = polls_before_hand_over;
        assert_eq!(p, 5);
        assert!(at(p) + shape.most_to_end.events <= 120);
        assert!(at(p + 1) + shape.most_to_end.events > 120);
        // A lowered budget in the model: every execution stays within it.
        let cost = simulate_within(shape, 120, 120, |_| 5, None);
        assert!(
            cost.executions >= 3 && cost.most_execution_events <= 120,
            "{cost:?}"
        );
    }
    #[test]
    fn steady_jobs_are_seen_within_20_s_at_the_median_and_60_s_at_p95() {
        // The goal: runs of 10 min, 1 h and 6 h of jobs whose runs lie within ±10 %
        // of their median. At 6 h the 600 s maximum wait leaves polls for a spread up to ±2 %.
        let goals = [
            (600, [0.0, 0.02, 0.05, 0.10].as_slice()),
            (HOUR, &[0.0, 0.02, 0.05, 0.10]),
            (6 * HOUR, &[0.0, 0.01, 0.02]),
        ];
        for (median_seconds, spreads) in goals {
            for spread in spreads {
                let job = SteadyJob {
                    median_seconds,
                    spread: *spread,
                };
                let ours = job.outcome(Policy::HistoryAware, BOUNDS);
                assert!(
                    ours.median_lag <= 20 && ours.p95_lag <= 60,
                    "{job:?}: {ours:?}"
                );
                let today = job.outcome(Policy::AgeRule, BOUNDS);
                assert!(ours.mean_transitions <= today.mean_transitions, "{job:?}");
            }
        }
        // What the age rule alone does for the 1 h job: minutes late.
        let hour = SteadyJob {
            median_seconds: HOUR,
            spread: 0.10,
        };
        assert!(hour.outcome(Policy::AgeRule, BOUNDS).median_lag > 120);
    }
    #[test]
    fn no_run_costs_more_transitions_than_the_age_rule_would() {
        for median_seconds in [60, 600, HOUR, 6 * HOUR, DAY, 7 * DAY] {
            for spread in [0.0, 0.02, 0.05, 0.10, 0.25, 0.5] {
                let job = SteadyJob {
                    median_seconds,
                    spread,
                };
                let ours = job.outcome(Policy::HistoryAware, BOUNDS);
                assert_eq!(ours.costlier_than_age_rule, 0, "{job:?}: {ours:?}");
            }
        }
    }
    #[test]
    fn with_glue_s_event_every_run_is_seen_within_seconds_for_at_most_15_more_transitions() {
        // Issue 21: the next poll within 5 s of the run's end, 1 min to 7 days, with or
        // without history; at most 15 transitions more than before the wake (the Parallel and
        // a success's way out of it, 7, see above, and the wake round).
        let shape = project_shape();
        assert!(7 + shape.wake_round.transitions <= 15, "{shape:?}");
        for median_seconds in [60, 600, HOUR, 6 * HOUR, DAY, 7 * DAY] {
            for spread in [0.0, 0.02, 0.10, 0.5] {
                let job = SteadyJob {
                    median_seconds,
                    spread,
                };
                let with_event = job.outcome(Policy::Woken, BOUNDS);
                assert!(with_event.p95_lag <= 5, "{job:?}: {with_event:?}");
                let without = job.outcome(Policy::HistoryAware, BOUNDS);
                assert!(
                    with_event.mean_transitions
                        <= without.mean_transitions + shape.wake_round.transitions as f64,
                    "{job:?}: {with_event:?} against {without:?}"
                );
            }
            // Without history: the age rule's schedule, woken.
            let no_history = ExpectedDuration {
                runs: 0,
                p50_seconds: 0,
                p90_seconds: 0,
            };
            let cost = woken(median_seconds, BOUNDS, &no_history, EVENT_DELAY_SECONDS);
            assert!(cost.lag_seconds <= 5, "{median_seconds} s: {cost:?}");
        }
        // A poll that comes before the event sees the end itself: no wake round.
        let before_event = SteadyJob {
            median_seconds: 600,
            spread: 0.0,
        };
        let history = before_event.history();
        assert_eq!(
            woken(600, BOUNDS, &history, 120),
            expecting(600, BOUNDS, &history)
        );
    }
    #[test]
    fn the_glue_sync_schedule_looks_each_minute_then_every_five() {
        assert_eq!(glue_sync_lag(59), 1);
        assert_eq!(glue_sync_lag(600), 0);
        assert_eq!(glue_sync_lag(601), 299);
        assert_eq!(glue_sync_lag(HOUR), 0);
    }
    #[test]
    fn the_model_counts_the_states_of_the_definition() {
        // A run over before the first poll: FollowsRun, HasParameters, Start, TrackRun, Follow
        // and its wake branch (3), Poll, IsRunOver, RunSucceeded, EndFollowing, ReadSuccess,
        // Succeeded; ExecutionStarted + 2 + 2 + 5 + 2 + 11 + 7 + 10 events.
        let cost = by_age(0, BOUNDS);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (1, 14, 40)
        );
        let cost = fixed(60, 30);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (3, 20, 58)
        );
        assert_eq!(cost.lag_seconds, 0);
    }
}
