//! When to look at a run again, and what that costs in Step Functions state transitions and
//! execution history (the deterministic cost model behind BENCHMARKS.md).

use serde_json::{json, Value};

use crate::config::PollBounds;

/// Seconds to wait before the next poll: a ninth of the run's age, within the bounds. A finish
/// is then seen within max(min, 10 % of the run's age when it is seen): waiting w at age a ends
/// at a + w, and w = a / 9 is exactly a tenth of a + w. A long run costs few state transitions
/// and little execution history.
pub fn next_poll_seconds(age_seconds: i64, bounds: PollBounds) -> u32 {
    let ninth = u32::try_from(age_seconds.max(0) / 9).unwrap_or(u32::MAX);
    ninth.clamp(bounds.min_seconds, bounds.max_seconds)
}

/// The state machine definition, as SAM deploys it (before its `${...}` substitutions).
pub const DEFINITION: &str = include_str!("../../statemachine/glue-job.asl.json");
/// The `Resource` of the poll task in the definition.
const POLL_RESOURCE: &str = "${PollFunctionArn}";

/// Transitions and history events of one part of an execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cost {
    pub transitions: u64,
    pub events: u64,
}

/// What an execution of the definition writes, read from the definition itself so the model
/// cannot drift from it: before the loop (with parameters given), per poll, per wait, and at
/// a successful end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub before_loop: Cost,
    pub per_poll: Cost,
    pub per_wait: Cost,
    pub at_end: Cost,
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

    /// Walks the definition: from `StartAt` to the poll task (a Choice takes its `Default`:
    /// `parameters` given), the poll task and the Choice after it, that Choice's `Default`
    /// back to the poll task, and its rule on `Success` to the end.
    pub fn of_definition(definition: &Value) -> Option<Shape> {
        let states = definition.get("States")?.as_object()?;
        let state = |name: &str| states.get(name);
        let next = |name: &str| {
            let found = state(name)?;
            found.get("Next").or_else(|| found.get("Default"))?.as_str()
        };
        let is_poll = |name: &str| {
            state(name)
                .and_then(|s| s.get("Resource"))
                .and_then(Value::as_str)
                == Some(POLL_RESOURCE)
        };
        // A Lambda task writes entered, scheduled, started, succeeded and exited; any other
        // state entered and exited.
        let cost_of = |name: &str| Cost {
            transitions: 1,
            events: if state(name).and_then(|s| s.get("Type")) == Some(&json!("Task")) {
                5
            } else {
                2
            },
        };
        let walk = |from: &str, until: &dyn Fn(&str) -> bool| -> Option<Cost> {
            let mut total = Cost::default();
            let mut current = from.to_owned();
            for _ in 0..states.len() {
                if until(&current) {
                    return Some(total);
                }
                let cost = cost_of(&current);
                total.transitions += cost.transitions;
                total.events += cost.events;
                current = next(&current)?.to_owned();
            }
            None
        };
        let start_at = definition.get("StartAt")?.as_str()?;
        let poll = states.keys().find(|name| is_poll(name))?.as_str();
        let choice = next(poll)?;
        let mut before_loop = walk(start_at, &|name| name == poll)?;
        before_loop.events += 1; // ExecutionStarted
        let per_wait = walk(state(choice)?.get("Default")?.as_str()?, &|name| {
            name == poll
        })?;
        let success = state(choice)?
            .get("Choices")?
            .as_array()?
            .iter()
            .find(|rule| rule.get("StringEquals") == Some(&json!("Success")))?
            .get("Next")?
            .as_str()?;
        let ends = |name: &str| state(name).and_then(|s| s.get("Type")) == Some(&json!("Succeed"));
        let mut at_end = walk(success, &ends)?;
        let last = cost_of(states.keys().find(|name| ends(name))?);
        at_end.transitions += last.transitions;
        at_end.events += last.events + 1; // ExecutionSucceeded
        let poll_cost = cost_of(poll);
        let choice_cost = cost_of(choice);
        Some(Shape {
            before_loop,
            per_poll: Cost {
                transitions: poll_cost.transitions + choice_cost.transitions,
                events: poll_cost.events + choice_cost.events,
            },
            per_wait,
            at_end,
        })
    }
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
        let shape = Shape::of_project();
        let total = |part: fn(&Cost) -> u64| {
            part(&shape.before_loop)
                + part(&shape.per_poll) * polls
                + part(&shape.per_wait) * waits
                + part(&shape.at_end)
        };
        Self {
            polls,
            transitions: total(|c| c.transitions),
            history_events: total(|c| c.events),
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
    fn the_shape_is_read_from_the_definition() {
        assert_eq!(
            *Shape::of_project(),
            Shape {
                // ExecutionStarted, HasParameters (2), Start (5), TrackRun (2)
                before_loop: Cost {
                    transitions: 3,
                    events: 10
                },
                // Poll (5), IsRunOver (2)
                per_poll: Cost {
                    transitions: 2,
                    events: 7
                },
                // WaitForRun (2)
                per_wait: Cost {
                    transitions: 1,
                    events: 2
                },
                // Succeeded (2), ExecutionSucceeded
                at_end: Cost {
                    transitions: 1,
                    events: 3
                },
            }
        );
        // A state added to the loop is counted: the model follows the definition.
        let mut definition: Value = serde_json::from_str(DEFINITION).unwrap();
        let states = definition["States"].as_object_mut().unwrap();
        states["WaitForRun"]["Next"] = json!("Breather");
        states.insert("Breather".into(), json!({"Type": "Pass", "Next": "Poll"}));
        let shape = Shape::of_definition(&definition).unwrap();
        assert_eq!(
            shape.per_wait,
            Cost {
                transitions: 2,
                events: 4
            }
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
