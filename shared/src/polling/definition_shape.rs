//! The shape of the state machine definition, which the poll function uses at run time: what
//! each part of an execution writes to its history, so poll hands a long run to a child
//! execution before the history would pass its budget (docs/interface.md, "The state machine").
//!
//! This file is also compiled by the crate's build script, which reads the project's
//! definition with it: a definition without a poll loop fails the build, not a poll.

use serde_json::{json, Value};

/// The state machine definition, as SAM deploys it (before its `${...}` substitutions).
pub const DEFINITION: &str = include_str!("../../../statemachine/glue-job.asl.json");
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
pub struct DefinitionShape {
    pub before_loop: Cost,
    pub child_before_loop: Cost,
    pub per_poll: Cost,
    pub per_wait: Cost,
    pub at_end: Cost,
    pub hand_over: Cost,
    pub most_to_end: Cost,
    /// The ways out of the poll's Choice that come back into the loop: the late notice, which
    /// an execution takes at most once (`lateNoticeSent`), so the budget keeps room for it.
    pub detours: Cost,
    /// The poll task's `historyBudget`: the events an execution may write (docs/interface.md, "The state machine").
    pub history_budget: u64,
}

impl DefinitionShape {
    /// Walks the definition. The start is a Choice: its `Default` is a new execution (and a
    /// Choice on the way takes its `Default`: `parameters` given), its rules are a child's way
    /// in. The poll task's Choice: its `Default` waits and polls again, its rule on `Success`
    /// ends, its rule on `continueAsChild` hands over.
    pub fn of_definition(definition: &Value) -> Option<DefinitionShape> {
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
        let back_in_loop = |name: &str| in_loop.contains(&name);
        // A way out of the Choice that comes back into the loop, not to an end.
        let detour = |from: &str| -> Option<Cost> {
            let mut total = Cost::default();
            let mut current = from;
            for _ in 0..=states.len() {
                if back_in_loop(current) {
                    return Some(total);
                }
                if matches!(type_of(current), Some("Succeed" | "Fail")) {
                    return None;
                }
                total = total + cost_of(current);
                current = next(current)?;
            }
            None
        };
        let detours = successors(state(choice)?)
            .iter()
            .filter(|name| !back_in_loop(name))
            .filter_map(|name| detour(name))
            .fold(Cost::default(), |total, cost| total + cost);
        let history_budget = state(poll)?
            .get("Parameters")?
            .get("historyBudget")?
            .as_u64()?;
        Some(DefinitionShape {
            before_loop,
            child_before_loop,
            per_poll: cost_of(poll) + cost_of(choice),
            per_wait,
            at_end,
            hand_over,
            most_to_end,
            detours,
            history_budget,
        })
    }

    /// Whether the poll that just made the `polls`-th poll of its execution must hand the run
    /// to a child: one more turn, the detours and the longest way out would pass `budget`
    /// history events. Counted as if the execution came in the longer way, a new one or a
    /// child, and took every detour.
    pub fn hand_over_due(&self, polls: u64, budget: u64) -> bool {
        let came_in = self.before_loop.events.max(self.child_before_loop.events);
        let so_far =
            came_in + polls * self.per_poll.events + polls.saturating_sub(1) * self.per_wait.events;
        let to_end = self.per_wait.events + self.per_poll.events + self.most_to_end.events;
        so_far + to_end + self.detours.events > budget
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::polling::project_shape;

    #[test]
    fn the_shape_is_read_from_the_definition() {
        let shape = project_shape();
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
        // A child that cannot be started: ContinueInChild (6, with TaskSubmitted), its Catch to
        // CancelAbandonedRun (5), NotifyGaveUp (6, an SNS publish), PollGaveUp (1),
        // ExecutionFailed; as long as PollFaulted's way to the same end.
        assert_eq!(shape.most_to_end, cost(4, 19));
        // NotifyLate (6, an SNS publish), once, back to WaitForRun.
        assert_eq!(shape.detours, cost(1, 6));
        // A state added to the loop is counted: the model follows the definition.
        let mut definition: Value = serde_json::from_str(DEFINITION).unwrap();
        let states = definition["States"].as_object_mut().unwrap();
        states["WaitForRun"]["Next"] = json!("Breather");
        states.insert("Breather".into(), json!({"Type": "Pass", "Next": "Poll"}));
        let changed = DefinitionShape::of_definition(&definition).unwrap();
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
        let shape = project_shape();
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
}
