//! What a job's recent successful runs took: the `expectedDuration` of the start output, which
//! lets poll look most often when this run will likely end (docs/interface.md, "Start output").

use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_glue::types::{ExecutionClass, JobRun, JobRunState};
use serde::{Deserialize, Serialize};

use crate::aws::GlueJob;
use crate::error::PolysyncError;

/// Fewer successful runs than this tell too little: `expectedDuration` is null.
pub const MIN_RUNS: usize = 5;
/// The newest successful runs that count: recent enough to follow a job whose data grows.
pub const MAX_RUNS: usize = 20;
/// Reading the history is best effort: the run has started, and the start must answer.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Quantiles of the durations of the job's newest successful runs, in seconds from StartedOn
/// to CompletedOn (what poll measures a run's age from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedDuration {
    pub runs: u32,
    pub p50_seconds: u64,
    pub p90_seconds: u64,
}

/// How long a successful run took: StartedOn to CompletedOn, which includes Glue's start-up
/// and is what poll's age measures; Glue's ExecutionTime (time on resources) when a timestamp
/// is missing, or when the run may have waited in WAITING (queued, or FLEX waiting for
/// capacity): time spent waiting is not the job's duration, and counting it would put the
/// expected end later than a run that does not wait ends.
fn duration_of(run: &JobRun) -> Option<u64> {
    if run.job_run_state() != Some(&JobRunState::Succeeded) {
        return None;
    }
    let may_have_waited = run.job_run_queuing_enabled() == Some(true)
        || run.execution_class() == Some(&ExecutionClass::Flex);
    let wall = match (run.started_on(), run.completed_on()) {
        (Some(started), Some(completed)) if !may_have_waited => {
            Some(completed.secs() - started.secs())
        }
        _ => None,
    };
    let seconds = wall.unwrap_or(i64::from(run.execution_time()));
    u64::try_from(seconds).ok().filter(|s| *s > 0)
}

/// The expected duration from a job's runs (any order, any states): the newest
/// [`MAX_RUNS`] successful ones, or `None` with fewer than [`MIN_RUNS`].
pub fn expected_duration(runs: &[JobRun]) -> Option<ExpectedDuration> {
    let mut succeeded: Vec<(i64, u64)> = runs
        .iter()
        .filter_map(|run| {
            let started = run.started_on().map_or(0, |t| t.secs());
            duration_of(run).map(|seconds| (started, seconds))
        })
        .collect();
    succeeded.sort_unstable_by_key(|(started, _)| std::cmp::Reverse(*started));
    succeeded.truncate(MAX_RUNS);
    if succeeded.len() < MIN_RUNS {
        return None;
    }
    let mut seconds: Vec<u64> = succeeded.into_iter().map(|(_, s)| s).collect();
    seconds.sort_unstable();
    Some(ExpectedDuration {
        runs: seconds.len() as u32,
        p50_seconds: nearest_rank(&seconds, 50),
        p90_seconds: nearest_rank(&seconds, 90),
    })
}

/// The nearest-rank percentile of sorted, non-empty values.
fn nearest_rank(sorted: &[u64], percent: usize) -> u64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Reads the job's recent runs (the bounded scan of [`GlueJob::scan_recent_runs`], which ends
/// once the newest [`MAX_RUNS`] successes are in) and tells what they took.
pub async fn read_expected_duration(
    job: GlueJob<'_>,
) -> Result<Option<ExpectedDuration>, PolysyncError> {
    let mut runs = Vec::new();
    let mut successes = 0;
    job.scan_recent_runs(|run| {
        successes += usize::from(duration_of(run).is_some());
        runs.push(run.clone());
        if successes >= MAX_RUNS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .await?;
    Ok(expected_duration(&runs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::primitives::DateTime;

    fn run(state: JobRunState, started: i64, seconds: i64) -> JobRun {
        JobRun::builder()
            .id(format!("jr_{started}"))
            .job_run_state(state)
            .started_on(DateTime::from_secs(started))
            .completed_on(DateTime::from_secs(started + seconds))
            .execution_time(1) // time on resources; the wall time counts
            .build()
    }

    fn succeeded(durations: &[i64]) -> Vec<JobRun> {
        durations
            .iter()
            .enumerate()
            .map(|(day, seconds)| run(JobRunState::Succeeded, day as i64 * 86_400, *seconds))
            .collect()
    }

    #[test]
    fn five_successful_runs_tell_the_median_and_the_90th_percentile() {
        let expected = expected_duration(&succeeded(&[3600, 3300, 3500, 3400, 3700])).unwrap();
        assert_eq!(
            expected,
            ExpectedDuration {
                runs: 5,
                p50_seconds: 3500,
                p90_seconds: 3700
            }
        );
    }

    #[test]
    fn four_runs_are_too_few() {
        assert_eq!(expected_duration(&succeeded(&[60, 61, 62, 63])), None);
        assert_eq!(expected_duration(&[]), None);
    }

    #[test]
    fn only_successful_runs_count() {
        let mut runs = succeeded(&[100, 100, 100, 100]);
        runs.push(run(JobRunState::Failed, 10, 5));
        runs.push(run(JobRunState::Stopped, 20, 7000));
        runs.push(run(JobRunState::Running, 30, 1));
        assert_eq!(expected_duration(&runs), None);
        runs.push(run(JobRunState::Succeeded, 40, 200));
        assert_eq!(expected_duration(&runs).unwrap().p90_seconds, 200);
    }

    #[test]
    fn the_newest_twenty_count_whatever_the_order_glue_lists_them_in() {
        // 30 old runs of 10 s, then 20 new ones of 100 s; listed oldest first.
        let mut durations = vec![10; 30];
        durations.extend([100; 20]);
        let mut runs = succeeded(&durations);
        let expected = expected_duration(&runs).unwrap();
        assert_eq!((expected.runs, expected.p50_seconds), (20, 100));
        runs.reverse();
        assert_eq!(expected_duration(&runs), Some(expected));
    }

    #[test]
    fn execution_time_counts_when_a_timestamp_is_missing() {
        let runs: Vec<JobRun> = (0..5)
            .map(|i| {
                JobRun::builder()
                    .id(format!("jr_{i}"))
                    .job_run_state(JobRunState::Succeeded)
                    .execution_time(600)
                    .build()
            })
            .collect();
        assert_eq!(expected_duration(&runs).unwrap().p50_seconds, 600);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 50), 5);
        assert_eq!(nearest_rank(&ten, 90), 9);
        assert_eq!(nearest_rank(&[7], 90), 7);
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(nearest_rank(&twenty, 90), 18);
    }

    #[test]
    fn time_a_run_spent_waiting_is_not_its_duration() {
        // Five runs of an hour on resources; the queued ones waited half an hour first.
        let runs: Vec<JobRun> = (0..5)
            .map(|day| {
                let mut run = run(JobRunState::Succeeded, day * 86_400, 5_400);
                run.execution_time = 3_600;
                if day % 2 == 0 {
                    run.job_run_queuing_enabled = Some(true);
                } else {
                    run.execution_class = Some(ExecutionClass::Flex);
                }
                run
            })
            .collect();
        let expected = expected_duration(&runs).unwrap();
        assert_eq!((expected.p50_seconds, expected.p90_seconds), (3_600, 3_600));
    }
}
