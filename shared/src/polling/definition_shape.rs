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
/// A callback task (`.waitForTaskToken`): it waits until someone sends its token's result.
const WAITS_FOR_TOKEN: &str = ".waitForTaskToken";

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
    /// an execution takes at most once (`lateNoticeSent`), so the budget keeps room for it;
    /// and the wake round.
    pub detours: Cost,
    /// Glue's event ends the wait: the waiting task succeeds, the Parallel is left and entered
    /// again, and the run is polled at once (counted in `detours` too).
    pub wake_round: Cost,
    /// The poll task's `historyBudget`: the events an execution may write (docs/interface.md, "The state machine").
    pub history_budget: u64,
}

impl DefinitionShape {
    /// Walks the definition. The start is a Choice: its `Default` is a new execution (and a
    /// Choice on the way takes its `Default`: `parameters` given), its rules are a child's way
    /// in. The poll loop runs in the first branch of a Parallel, beside branches that wait for
    /// Glue's event; a Fail state in a branch leaves the Parallel to the Catch that takes its
    /// error, or ends the execution. The poll task's Choice: its `Default` waits and polls
    /// again, its rule on `Success` ends, its rule on `continueAsChild` hands over.
    pub fn of_definition(definition: &Value) -> Option<DefinitionShape> {
        let flat = Flat::of(definition)?;
        let state = |name: &str| flat.states.get(name).copied();
        let next = |name: &str| flat.next(name);
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
        let cost_of = |name: &str| flat.cost_of(name);
        let walk = |from: &str, until: &dyn Fn(&str) -> bool| -> Option<Cost> {
            let mut total = Cost::default();
            let mut current = from.to_owned();
            for _ in 0..=flat.states.len() {
                if until(&current) {
                    return Some(total);
                }
                total = total + cost_of(&current);
                if flat.ends_execution(&current) {
                    return Some(total);
                }
                current = next(&current)?.to_owned();
            }
            None
        };
        let start_at = definition.get("StartAt")?.as_str()?;
        let poll: &str = flat.states.keys().find(|name| is_poll(name))?;
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
        let per_poll = cost_of(poll) + cost_of(choice);
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
            .flat_map(|name| flat.successors(name))
            .filter(|name| !in_loop.contains(&name.as_str()))
            .filter_map(|name| most_from(&name, &in_loop, &flat, 0))
            .max_by_key(|cost| cost.events)?;
        let back_in_loop = |name: &str| in_loop.contains(&name);
        // A way out of the Choice that comes back into the loop, not to an end.
        let detour = |from: &str| -> Option<Cost> {
            let mut total = Cost::default();
            let mut current = from;
            for _ in 0..=flat.states.len() {
                if back_in_loop(current) {
                    return Some(total);
                }
                if flat.ends_execution(current) {
                    return None;
                }
                total = total + cost_of(current);
                current = next(current)?;
            }
            None
        };
        let late_notice = flat
            .successors(choice)
            .iter()
            .filter(|name| !back_in_loop(name))
            .filter_map(|name| detour(name))
            .fold(Cost::default(), |total, cost| total + cost);
        // The wake: the waiting task ends (it succeeded: two events more than it wrote on the
        // way in), its branch's Fail leaves the Parallel to the Catch, which comes back in and
        // polls once more.
        let wake_round = flat
            .waiting_tasks()
            .iter()
            .filter_map(|task| {
                let arrived = next(task)?;
                let back = walk(arrived, &reaches_poll)?;
                Some(
                    Cost {
                        transitions: 0,
                        events: 2,
                    } + back
                        + per_poll,
                )
            })
            .fold(Cost::default(), |total, cost| total + cost);
        let history_budget = state(poll)?
            .get("Parameters")?
            .get("historyBudget")?
            .as_u64()?;
        Some(DefinitionShape {
            before_loop,
            child_before_loop,
            per_poll,
            per_wait,
            at_end,
            hand_over,
            most_to_end,
            detours: late_notice + wake_round,
            wake_round,
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

/// Every state of a definition by name, those of its Parallel branches included.
pub fn every_state(definition: &Value) -> std::collections::BTreeMap<&str, &Value> {
    Flat::of(definition)
        .map(|flat| flat.states)
        .unwrap_or_default()
}

/// The definition's states, those of Parallel branches included (names are unique in a whole
/// state machine), and which Parallel each branch state runs in.
struct Flat<'a> {
    states: std::collections::BTreeMap<&'a str, &'a Value>,
    parallel_of: std::collections::BTreeMap<&'a str, &'a str>,
}

impl<'a> Flat<'a> {
    fn of(definition: &'a Value) -> Option<Self> {
        let mut flat = Flat {
            states: Default::default(),
            parallel_of: Default::default(),
        };
        for (name, state) in definition.get("States")?.as_object()? {
            flat.states.insert(name, state);
            for branch in state
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (inner, inner_state) in branch.get("States")?.as_object()? {
                    flat.states.insert(inner, inner_state);
                    flat.parallel_of.insert(inner, name);
                }
            }
        }
        Some(flat)
    }

    fn type_of(&self, name: &str) -> Option<&'a str> {
        self.states.get(name)?.get("Type")?.as_str()
    }

    /// The Catch target of the Parallel `name` runs in, for a Fail state's error.
    fn caught_at(&self, name: &str) -> Option<&'a str> {
        let parallel = self.states.get(self.parallel_of.get(name)?)?;
        let error = self.states.get(name)?.get("Error")?.as_str()?;
        let catch = parallel.get("Catch")?.as_array()?.iter().find(|rule| {
            rule.get("ErrorEquals")
                .and_then(Value::as_array)
                .is_some_and(|errors| errors.iter().any(|e| e == error || e == "States.ALL"))
        })?;
        catch.get("Next")?.as_str()
    }

    /// Where a state goes on its usual way: a Parallel into its first branch (the loop), a
    /// Fail in a branch to the Parallel's Catch for its error.
    fn next(&self, name: &str) -> Option<&'a str> {
        let found = self.states.get(name)?;
        match self.type_of(name)? {
            "Parallel" => found.get("Branches")?.get(0)?.get("StartAt")?.as_str(),
            "Fail" => self.caught_at(name),
            _ => found.get("Next").or_else(|| found.get("Default"))?.as_str(),
        }
    }

    fn ends_execution(&self, name: &str) -> bool {
        match self.type_of(name) {
            Some("Fail") => self.caught_at(name).is_none(),
            Some("Succeed") => !self.parallel_of.contains_key(name),
            _ => false,
        }
    }

    /// The callback tasks of the branches beside the loop: they wait for Glue's event.
    fn waiting_tasks(&self) -> Vec<&'a str> {
        self.states
            .iter()
            .filter(|(name, state)| {
                self.parallel_of.contains_key(*name)
                    && state
                        .get("Resource")
                        .and_then(Value::as_str)
                        .is_some_and(|r| r.ends_with(WAITS_FOR_TOKEN))
            })
            .map(|(name, _)| *name)
            .collect()
    }

    /// What a branch beside the loop writes when it ends without the event: its Choices'
    /// `Default`, its callback task failed (entered, scheduled, started, failed, exited) into
    /// its Catch, to its Succeed. Counted for every execution: with the wake off this is what
    /// it writes, and with it on it writes less (the task waits), the rest in the wake round.
    fn quiet_branch(&self, branch: &'a Value) -> Option<Cost> {
        let mut total = Cost::default();
        let mut current = branch.get("StartAt")?.as_str()?;
        for _ in 0..=self.states.len() {
            let found = self.states.get(current)?;
            let (events, after) = match self.type_of(current)? {
                "Succeed" => {
                    return Some(
                        total
                            + Cost {
                                transitions: 1,
                                events: 2,
                            },
                    )
                }
                "Choice" => (2, found.get("Default")?.as_str()?),
                "Task" => (5, found.get("Catch")?.get(0)?.get("Next")?.as_str()?),
                _ => (2, found.get("Next")?.as_str()?),
            };
            total = total
                + Cost {
                    transitions: 1,
                    events,
                };
            current = after;
        }
        None
    }

    /// A Lambda task writes entered, scheduled, started, succeeded and exited (a service
    /// integration TaskSubmitted too); a Fail state entered, and in a branch the Parallel's
    /// failure and then its exit (caught) or the execution's end; a Parallel entered and
    /// started, and what its branches beside the loop write; any other state entered and
    /// exited. An execution's end writes one more.
    fn cost_of(&self, name: &str) -> Cost {
        let state = self.states.get(name);
        let resource = state.and_then(|s| s.get("Resource")?.as_str());
        let in_branch = self.parallel_of.contains_key(name);
        let events = match self.type_of(name) {
            Some("Task") if resource.is_some_and(|r| r.starts_with(SERVICE_INTEGRATION)) => 6,
            Some("Task") => 5,
            Some("Fail") if in_branch => 3,
            Some("Fail") => 1,
            Some("Parallel") => {
                let beside = state
                    .and_then(|s| s.get("Branches")?.as_array())
                    .into_iter()
                    .flatten()
                    .skip(1)
                    .filter_map(|branch| self.quiet_branch(branch))
                    .map(|cost| cost.events)
                    .sum::<u64>();
                2 + beside
            }
            _ => 2,
        };
        let extra_end =
            self.ends_execution(name) && !(in_branch && self.type_of(name) == Some("Fail"));
        let transitions = match self.type_of(name) {
            Some("Parallel") => {
                1 + state
                    .and_then(|s| s.get("Branches")?.as_array())
                    .into_iter()
                    .flatten()
                    .skip(1)
                    .filter_map(|branch| self.quiet_branch(branch))
                    .map(|cost| cost.transitions)
                    .sum::<u64>()
            }
            _ => 1,
        };
        Cost {
            transitions,
            events: events + u64::from(extra_end),
        }
    }

    /// The states a state can go to next: `Next`, a Choice's rules and `Default`, a `Catch`,
    /// a Parallel's loop, a branch's Fail's Catch.
    fn successors(&self, name: &str) -> Vec<String> {
        let Some(state) = self.states.get(name) else {
            return Vec::new();
        };
        if matches!(self.type_of(name), Some("Parallel" | "Fail")) {
            return self.next(name).map(str::to_owned).into_iter().collect();
        }
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
}

/// The most any path from `name` to an end writes, never going back into `stop`.
fn most_from(name: &str, stop: &[&str], flat: &Flat<'_>, depth: usize) -> Option<Cost> {
    if depth > 64 || stop.contains(&name) {
        return None;
    }
    let here = flat.cost_of(name);
    if flat.ends_execution(name) {
        return Some(here);
    }
    let after = flat
        .successors(name)
        .iter()
        .filter_map(|next| most_from(next, stop, flat, depth + 1))
        .max_by_key(|cost| cost.events)?;
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
        // ExecutionStarted, FollowsRun (2), HasParameters (2), Start (5), TrackRun (2), Follow
        // entered and started (2) and its wake branch ending without an event: WakeOrNot (2),
        // WaitForGlueEvent failed (5), NoGlueEvent (2).
        assert_eq!(shape.before_loop, cost(8, 23));
        // ExecutionStarted, FollowsRun (2), RunFromItsId (2), FollowRun (2), Follow (11)
        assert_eq!(shape.child_before_loop, cost(7, 18));
        // Poll (5), IsRunOver (2)
        assert_eq!(shape.per_poll, cost(2, 7));
        // WaitForRun (2)
        assert_eq!(shape.per_wait, cost(1, 2));
        // RunSucceeded (2), EndFollowing with the Parallel's failure and exit (3), ReadSuccess
        // (2), Succeeded (2), ExecutionSucceeded
        assert_eq!(shape.at_end, cost(4, 10));
        // ContinueInChild (6, with TaskSubmitted), ChildSucceeded (2), then as at the end (8)
        assert_eq!(shape.hand_over, cost(5, 16));
        // A child that cannot be started: ContinueInChild (6, with TaskSubmitted), its Catch to
        // CancelAbandonedRun (5), NotifyGaveUp (6, an SNS publish), PollGaveUp with the
        // Parallel's failure and ExecutionFailed (3); as long as PollFaulted's way to the same end.
        assert_eq!(shape.most_to_end, cost(4, 20));
        // Once each: NotifyLate (6, an SNS publish) back to WaitForRun; the wake: its task
        // succeeds (2 more), GlueEventArrived (3), PollAtOnce (2), Follow again (11), a poll (7).
        assert_eq!(shape.detours, cost(9, 31));
        assert_eq!(shape.wake_round, cost(8, 25));
        // A state added to the loop is counted: the model follows the definition.
        let mut definition: Value = serde_json::from_str(DEFINITION).unwrap();
        let states = definition["States"]["Follow"]["Branches"][0]["States"]
            .as_object_mut()
            .unwrap();
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
        let states = every_state(&definition);
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
            let least = least_random_wait(states[first]).min(least_random_wait(states[another]));
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
        let states = every_state(&definition);
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
