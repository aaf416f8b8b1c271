//! When to look at a run again, and what that costs in Step Functions state transitions and
//! execution history (the deterministic cost model behind BENCHMARKS.md).

use serde_json::{json, Value};

use crate::config::PollBounds;
use crate::history::{ExpectedDuration, MIN_RUNS};

/// Seconds to wait before the next poll: a ninth of the run's age, within the bounds. A finish
/// is then seen within max(min, 10 % of the run's age when it is seen): waiting w at age a ends
/// at a + w, and w = a / 9 is exactly a tenth of a + w. A long run costs few state transitions
/// and little execution history.
pub fn next_poll_seconds(age_seconds: i64, bounds: PollBounds) -> u32 {
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

fn age_rule(age: u64, bounds: PollBounds) -> u32 {
    next_poll_seconds(i64::try_from(age).unwrap_or(i64::MAX), bounds)
}

/// Half the age, within the bounds, up to the window's opening.
fn early_wait(age: u64, opens: u64, bounds: PollBounds) -> u32 {
    let share = u32::try_from(age / EARLY_AGE_DIVISOR).unwrap_or(u32::MAX);
    let share = share.clamp(bounds.min_seconds, bounds.max_seconds);
    let to_window = u32::try_from(opens.saturating_sub(age)).unwrap_or(u32::MAX);
    share.min(to_window).max(bounds.min_seconds)
}

/// The wait before the next poll of a run of this age: around the end its job's history
/// expects when there is enough of it (contract §3), else the age rule.
pub fn next_poll_seconds_expecting(
    age_seconds: i64,
    bounds: PollBounds,
    expected: Option<&ExpectedDuration>,
) -> u32 {
    let window = expected.and_then(|expected| Window::of(expected, bounds));
    wait_within(window, u64::try_from(age_seconds).unwrap_or(0), bounds)
}

/// The window's wait when there is one, else the age rule.
fn wait_within(window: Option<Window>, age: u64, bounds: PollBounds) -> u32 {
    match window {
        Some(window) => window.wait(age, bounds),
        None => age_rule(age, bounds),
    }
}

/// The state machine definition, as SAM deploys it (before its `${...}` substitutions).
pub const DEFINITION: &str = include_str!("../../statemachine/glue-job.asl.json");
/// The `Resource` of the poll task in the definition.
const POLL_RESOURCE: &str = "${PollFunctionArn}";
/// Step Functions' own integrations (a child execution) write TaskSubmitted too.
const SERVICE_INTEGRATION: &str = "arn:aws:states:::";

/// Transitions and history events of one part of an execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cost {
    pub transitions: u64,
    pub events: u64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            transitions: self.transitions + other.transitions,
            events: self.events + other.events,
        }
    }
}

/// What an execution of the definition writes, read from the definition itself so the model
/// cannot drift from it: before the loop (a new execution with parameters given, or a child
/// that follows a run), per poll, per wait, at a successful end, on handing the run to a child
/// (up to the parent's end), and the most any way out of the loop can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub before_loop: Cost,
    pub child_before_loop: Cost,
    pub per_poll: Cost,
    pub per_wait: Cost,
    pub at_end: Cost,
    pub hand_over: Cost,
    pub most_to_end: Cost,
    /// The poll task's `historyBudget`: the events an execution may write (contract §7).
    pub history_budget: u64,
}

impl Shape {
    /// The shape of this project's definition (`statemachine/glue-job.asl.json`).
    pub fn of_project() -> &'static Shape {
        static SHAPE: std::sync::OnceLock<Shape> = std::sync::OnceLock::new();
        SHAPE.get_or_init(|| {
            let definition = serde_json::from_str(DEFINITION).expect("the definition is JSON");
            Shape::of_definition(&definition).expect("the definition has a poll loop")
        })
    }

    /// Walks the definition. The start is a Choice: its `Default` is a new execution (and a
    /// Choice on the way takes its `Default`: `parameters` given), its rules are a child's way
    /// in. The poll task's Choice: its `Default` waits and polls again, its rule on `Success`
    /// ends, its rule on `continueAsChild` hands over.
    pub fn of_definition(definition: &Value) -> Option<Shape> {
        let states = definition.get("States")?.as_object()?;
        let state = |name: &str| states.get(name);
        let type_of = |name: &str| state(name)?.get("Type")?.as_str();
        let next = |name: &str| {
            let found = state(name)?;
            found.get("Next").or_else(|| found.get("Default"))?.as_str()
        };
        let rule_to = |choice: &str, matches: &dyn Fn(&Value) -> bool| -> Option<String> {
            let rules = state(choice)?.get("Choices")?.as_array()?;
            let rule = rules.iter().find(|rule| matches(rule))?;
            Some(rule.get("Next")?.as_str()?.to_owned())
        };
        let is_poll = |name: &str| {
            state(name)
                .and_then(|s| s.get("Resource"))
                .and_then(Value::as_str)
                == Some(POLL_RESOURCE)
        };
        // A Lambda task writes entered, scheduled, started, succeeded and exited (a service
        // integration TaskSubmitted too); a Fail state entered; any other state entered and
        // exited. An execution's end writes one more.
        let cost_of = |name: &str| {
            let resource = state(name).and_then(|s| s.get("Resource")?.as_str());
            let events = match type_of(name) {
                Some("Task") if resource.is_some_and(|r| r.starts_with(SERVICE_INTEGRATION)) => 6,
                Some("Task") => 5,
                Some("Fail") => 1,
                _ => 2,
            };
            let ends = matches!(type_of(name), Some("Succeed" | "Fail"));
            Cost {
                transitions: 1,
                events: events + u64::from(ends),
            }
        };
        let walk = |from: &str, until: &dyn Fn(&str) -> bool| -> Option<Cost> {
            let mut total = Cost::default();
            let mut current = from.to_owned();
            for _ in 0..=states.len() {
                if until(&current) {
                    return Some(total);
                }
                total = total + cost_of(&current);
                if matches!(type_of(&current), Some("Succeed" | "Fail")) {
                    return Some(total);
                }
                current = next(&current)?.to_owned();
            }
            None
        };
        let start_at = definition.get("StartAt")?.as_str()?;
        let poll = states.keys().find(|name| is_poll(name))?.as_str();
        let choice = next(poll)?;
        let wait = state(choice)?.get("Default")?.as_str()?;
        let reaches_poll = |name: &str| name == poll;
        let execution_started = Cost {
            transitions: 0,
            events: 1,
        };
        let before_loop = walk(start_at, &reaches_poll)? + execution_started;
        let child_ways = state(start_at)?.get("Choices")?.as_array()?;
        let child_before_loop = child_ways
            .iter()
            .filter_map(|rule| walk(rule.get("Next")?.as_str()?, &reaches_poll))
            .max_by_key(|cost| cost.events)?
            + cost_of(start_at)
            + execution_started;
        let per_wait = walk(wait, &reaches_poll)?;
        let never = |_: &str| false;
        let on_success = |rule: &Value| rule.get("StringEquals") == Some(&json!("Success"));
        let at_end = walk(&rule_to(choice, &on_success)?, &never)?;
        let on_hand_over = |rule: &Value| {
            rule.get("Variable")
                .and_then(Value::as_str)
                .is_some_and(|v| v.ends_with(".continueAsChild"))
        };
        let hand_over = walk(&rule_to(choice, &on_hand_over)?, &never)?;
        let in_loop = [poll, choice, wait];
        let most_to_end = [poll, choice]
            .iter()
            .flat_map(|name| successors(state(name).unwrap_or(&Value::Null)))
            .filter(|name| !in_loop.contains(&name.as_str()))
            .filter_map(|name| most_from(&name, &in_loop, &|n| state(n), &cost_of, 0))
            .max_by_key(|cost| cost.events)?;
        let history_budget = state(poll)?
            .get("Parameters")?
            .get("historyBudget")?
            .as_u64()?;
        Some(Shape {
            before_loop,
            child_before_loop,
            per_poll: cost_of(poll) + cost_of(choice),
            per_wait,
            at_end,
            hand_over,
            most_to_end,
            history_budget,
        })
    }

    /// Whether the poll that just made the `polls`-th poll of its execution must hand the run
    /// to a child: one more turn and the longest way out would pass `budget` history events.
    /// Counted as if the execution came in the longer way, a new one or a child.
    pub fn hand_over_due(&self, polls: u64, budget: u64) -> bool {
        let came_in = self.before_loop.events.max(self.child_before_loop.events);
        let so_far =
            came_in + polls * self.per_poll.events + polls.saturating_sub(1) * self.per_wait.events;
        so_far + self.per_wait.events + self.per_poll.events + self.most_to_end.events > budget
    }
}

/// The states a state can go to next: `Next`, a Choice's rules and `Default`, a `Catch`.
fn successors(state: &Value) -> Vec<String> {
    let mut names: Vec<String> = ["Next", "Default"]
        .iter()
        .filter_map(|key| state.get(*key)?.as_str().map(str::to_owned))
        .collect();
    for key in ["Choices", "Catch"] {
        for rule in state
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.extend(rule.get("Next").and_then(Value::as_str).map(str::to_owned));
        }
    }
    names
}

/// The most any path from `name` to an end writes, never going back into `stop`.
fn most_from<'a>(
    name: &str,
    stop: &[&str],
    state: &dyn Fn(&str) -> Option<&'a Value>,
    cost_of: &dyn Fn(&str) -> Cost,
    depth: usize,
) -> Option<Cost> {
    if depth > 64 || stop.contains(&name) {
        return None;
    }
    let here = cost_of(name);
    let after = successors(state(name)?)
        .iter()
        .filter_map(|next| most_from(next, stop, state, cost_of, depth + 1))
        .max_by_key(|cost| cost.events)
        .unwrap_or_default();
    Some(here + after)
}

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
    let shape = Shape::of_project();
    simulate_within(shape, shape.history_budget, run_seconds, wait)
}

/// [`simulate`] with another history budget.
pub fn simulate_within(
    shape: &Shape,
    budget: u64,
    run_seconds: u64,
    wait: impl Fn(u64) -> u32,
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
        clock += u64::from(wait(clock).max(1));
        execution = execution + shape.per_wait;
    }
    cost.most_execution_events = cost.most_execution_events.max(execution.events);
    total = total + execution;
    cost.transitions = total.transitions;
    cost.history_events = total.events;
    cost.lag_seconds = clock - run_seconds;
    cost
}

/// The cost of the age rule (the policy without history) within `bounds`.
pub fn adaptive(run_seconds: u64, bounds: PollBounds) -> PollingCost {
    simulate(run_seconds, |age| age_rule(age, bounds))
}

/// The cost of the history-aware policy for a run whose job's history says `expected`.
pub fn expecting(run_seconds: u64, bounds: PollBounds, expected: &ExpectedDuration) -> PollingCost {
    let window = Window::of(expected, bounds);
    simulate(run_seconds, |age| wait_within(window, age, bounds))
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
            let by_age_rule = adaptive(run, bounds);
            let cost = match policy {
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
    fn a_week_long_run_stays_in_one_execution_at_the_default_bounds() {
        let cost = adaptive(7 * DAY, BOUNDS);
        assert_eq!(cost.executions, 1, "{cost:?}");
        assert!(cost.history_events < 20_000, "{cost:?}");
        let baseline = fixed(7 * DAY, 30);
        assert!(baseline.history_events > 25_000, "{baseline:?}");
    }

    #[test]
    fn no_execution_passes_the_budget_at_any_bounds_or_length() {
        let shape = Shape::of_project();
        assert_eq!(shape.history_budget, 20_000);
        // The template allows bounds down to 1 s; a streaming run lasts until stopped.
        for (min_seconds, max_seconds) in [(1, 1), (1, 90), (15, 600), (600, 600)] {
            let bounds = PollBounds {
                min_seconds,
                max_seconds,
            };
            for run in [HOUR, 2 * DAY, 7 * DAY, 30 * DAY] {
                let cost = adaptive(run, bounds);
                assert!(
                    cost.most_execution_events <= shape.history_budget,
                    "{bounds:?} {run} s: {cost:?}"
                );
                // Children only when one execution could not hold the run.
                let one = cost.history_events + shape.child_before_loop.events;
                assert_eq!(cost.executions > 1, one > shape.history_budget, "{cost:?}");
            }
        }
        let week_at_one_second = adaptive(
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
        let shape = Shape::of_project();
        // 60 events: came in (12) + 4 polls (28) + 3 waits (6) = 46; one more turn (9) and the
        // longest way out would pass 60.
        let polls_before_hand_over = (1..).find(|p| shape.hand_over_due(*p, 60)).unwrap();
        let came_in = shape.before_loop.events.max(shape.child_before_loop.events);
        let at = |polls: u64| {
            came_in + polls * shape.per_poll.events + (polls - 1) * shape.per_wait.events
        };
        let p = polls_before_hand_over;
        assert!(at(p) + shape.most_to_end.events <= 60);
        assert!(at(p + 1) + shape.most_to_end.events > 60);
        // A lowered budget in the model: every execution stays within it.
        let cost = simulate_within(shape, 60, 120, |_| 5);
        assert!(
            cost.executions >= 3 && cost.most_execution_events <= 60,
            "{cost:?}"
        );
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
            let by_age = next_poll_seconds(age, BOUNDS);
            assert_eq!(next_poll_seconds_expecting(age, BOUNDS, None), by_age);
            assert_eq!(next_poll_seconds_expecting(age, BOUNDS, Some(&few)), by_age);
        }
    }

    #[test]
    fn polls_are_few_while_young_dense_near_the_expected_end_and_by_age_after() {
        let expected = history(HOUR, HOUR + 4 * 60);
        let window = Window::of(&expected, BOUNDS).unwrap();
        // 1.25 × (p90 − p50) = 5 min either side of the median
        assert_eq!((window.opens, window.closes), (HOUR - 300, HOUR + 300));
        assert!(window.interval < 30, "{window:?}");
        let wait = |age: u64| next_poll_seconds_expecting(age as i64, BOUNDS, Some(&expected));
        // young: half the age, where the age rule waits a ninth
        assert_eq!(wait(900), 450);
        // never past the window's opening
        assert_eq!(wait(HOUR - 400), 100);
        assert_eq!(wait(HOUR), window.interval);
        // a run that runs long: the age rule again
        assert_eq!(wait(2 * HOUR), next_poll_seconds(2 * HOUR as i64, BOUNDS));
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
    fn the_glue_sync_schedule_looks_each_minute_then_every_five() {
        assert_eq!(glue_sync_lag(59), 1);
        assert_eq!(glue_sync_lag(600), 0);
        assert_eq!(glue_sync_lag(601), 299);
        assert_eq!(glue_sync_lag(HOUR), 0);
    }

    #[test]
    fn the_shape_is_read_from_the_definition() {
        let shape = Shape::of_project();
        let cost = |transitions, events| Cost {
            transitions,
            events,
        };
        // ExecutionStarted, FollowsRun (2), HasParameters (2), Start (5), TrackRun (2)
        assert_eq!(shape.before_loop, cost(4, 12));
        // ExecutionStarted, FollowsRun (2), RunFromItsId (2), FollowRun (2)
        assert_eq!(shape.child_before_loop, cost(3, 7));
        // Poll (5), IsRunOver (2)
        assert_eq!(shape.per_poll, cost(2, 7));
        // WaitForRun (2)
        assert_eq!(shape.per_wait, cost(1, 2));
        // Succeeded (2), ExecutionSucceeded
        assert_eq!(shape.at_end, cost(1, 3));
        // ContinueInChild (6, with TaskSubmitted), ChildSucceeded (2), ExecutionSucceeded
        assert_eq!(shape.hand_over, cost(2, 9));
        // ContinueInChild (6), ReadChildEnding (2), HowDidChildEnd (2), DescribeChildEnding (2),
        // ChildEndedUnknown (1), ExecutionFailed
        assert_eq!(shape.most_to_end, cost(5, 14));
        // A state added to the loop is counted: the model follows the definition.
        let mut definition: Value = serde_json::from_str(DEFINITION).unwrap();
        let states = definition["States"].as_object_mut().unwrap();
        states["WaitForRun"]["Next"] = json!("Breather");
        states.insert("Breather".into(), json!({"Type": "Pass", "Next": "Poll"}));
        let changed = Shape::of_definition(&definition).unwrap();
        assert_eq!(changed.per_wait, cost(2, 4));
    }

    fn definition() -> Value {
        serde_json::from_str(DEFINITION).unwrap()
    }

    /// The least a `States.MathRandom(low, high)` wait of a Pass state's Parameters can be.
    fn least_random_wait(state: &Value) -> u64 {
        let call = state["Parameters"]["waitSeconds.$"].as_str().unwrap();
        let low = call
            .strip_prefix("States.MathRandom(")
            .and_then(|rest| rest.split(',').next())
            .unwrap();
        low.trim().parse().unwrap()
    }

    #[test]
    fn polling_and_a_throttled_start_give_up_only_after_an_hour_of_failures() {
        let definition = definition();
        let states = &definition["States"];
        for (rounds_limit, first, another, wait) in [
            (
                "PollFaultedTooLong",
                "FirstPollFault",
                "AnotherPollFault",
                "WaitAfterPollFault",
            ),
            (
                "StartThrottledTooLong",
                "FirstStartThrottle",
                "AnotherStartThrottle",
                "WaitAfterStartThrottle",
            ),
        ] {
            // Rounds 1..=limit wait; the next one gives up.
            let limit = states[rounds_limit]["Choices"][0]["NumericGreaterThan"]
                .as_u64()
                .unwrap();
            let least = least_random_wait(&states[first]).min(least_random_wait(&states[another]));
            assert!(
                limit * least >= 3600,
                "{rounds_limit}: {limit} rounds of {least} s"
            );
            assert_eq!(states[rounds_limit]["Default"], json!(wait));
            assert!(states[wait]["SecondsPath"]
                .as_str()
                .unwrap()
                .ends_with("waitSeconds"));
        }
    }

    #[test]
    fn a_poll_fault_round_counts_for_at_least_the_history_it_writes() {
        let definition = definition();
        let states = &definition["States"];
        let shape = Shape::of_project();
        let most_attempts = states["Poll"]["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|retrier| retrier["MaxAttempts"].as_u64().unwrap())
            .max()
            .unwrap();
        // Poll entered, three events an attempt, then PollFaulted, the count, the limit check
        // and the wait, entered and exited.
        let round = 1 + 3 * (1 + most_attempts) + 4 * 2;
        for counter in ["FirstPollFault", "AnotherPollFault"] {
            let polls = states[counter]["Parameters"]["polls.$"].as_str().unwrap();
            let counted: u64 = polls
                .trim_end_matches(')')
                .rsplit(',')
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let turn = shape.per_poll.events + shape.per_wait.events;
            assert!(
                counted * turn >= round,
                "{counter}: {counted} polls for {round} events"
            );
        }
    }

    #[test]
    fn the_model_counts_the_states_of_the_definition() {
        // A run over before the first poll: FollowsRun, HasParameters, Start, TrackRun, Poll,
        // IsRunOver, Succeeded; ExecutionStarted + 2 + 2 + 5 + 2 + 7 + 3 events.
        let cost = adaptive(0, BOUNDS);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (1, 7, 22)
        );
        let cost = fixed(60, 30);
        assert_eq!(
            (cost.polls, cost.transitions, cost.history_events),
            (3, 13, 40)
        );
        assert_eq!(cost.lag_seconds, 0);
    }
}
