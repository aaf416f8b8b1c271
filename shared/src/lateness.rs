//! When a run still going is late (docs/interface.md, "Notifications and metrics"): past the
//! run's own `NotifyDelayAfter` when it has one (the moment Glue sends its own "Glue Job Run
//! Status" event), else well past what the job's recent successful runs took. One "late"
//! message per execution: the poll output carries `lateNoticeSent` from poll to poll, into a
//! child execution too.

use aws_sdk_glue::types::JobRun;

use crate::history::ExpectedDuration;

/// Why a run counts as late from a given age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateBecause {
    /// The run's `NotificationProperty.NotifyDelayAfter`, in minutes (glueNotifyDelayAfterMinutes).
    NotifyDelay { minutes: i32 },
    /// The job's recent successful runs.
    History(ExpectedDuration),
}

/// Past what age (seconds since StartedOn) a run is late, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateAfter {
    pub seconds: u64,
    pub because: LateBecause,
}

/// The age past which a run is late: its NotifyDelayAfter, which the user chose and Glue
/// honours, wins; else p90 of the past runs plus their spread (p90 − p50), the spread counted
/// as at least a quarter of p90 so that a job whose runs all take the same time is not late the
/// moment one run takes a little longer. None without either: nothing says what late is.
pub fn late_after(run: &JobRun, expected: Option<&ExpectedDuration>) -> Option<LateAfter> {
    let notify_delay = run
        .notification_property()
        .and_then(|property| property.notify_delay_after())
        .filter(|minutes| *minutes > 0);
    if let Some(minutes) = notify_delay {
        return Some(LateAfter {
            seconds: u64::from(minutes.unsigned_abs()) * 60,
            because: LateBecause::NotifyDelay { minutes },
        });
    }
    expected.map(|expected| {
        let spread = expected
            .p90_seconds
            .saturating_sub(expected.p50_seconds)
            .max(expected.p90_seconds / 4);
        LateAfter {
            seconds: expected.p90_seconds + spread,
            because: LateBecause::History(*expected),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::NotificationProperty;

    fn expected(p50_seconds: u64, p90_seconds: u64) -> ExpectedDuration {
        ExpectedDuration {
            runs: 10,
            p50_seconds,
            p90_seconds,
        }
    }

    fn run_notifying_after(minutes: Option<i32>) -> JobRun {
        let property = NotificationProperty::builder()
            .set_notify_delay_after(minutes)
            .build();
        JobRun::builder()
            .id("jr_1")
            .notification_property(property)
            .build()
    }

    #[test]
    fn late_is_p90_plus_the_spread_of_past_runs() {
        let late = late_after(&JobRun::builder().build(), Some(&expected(3_000, 3_600))).unwrap();
        assert_eq!(
            late.seconds,
            3_600 + 900,
            "the spread counts at least p90 / 4"
        );
        let late = late_after(&JobRun::builder().build(), Some(&expected(1_000, 3_600))).unwrap();
        assert_eq!(late.seconds, 3_600 + 2_600);
        assert_eq!(late.because, LateBecause::History(expected(1_000, 3_600)));
    }

    #[test]
    fn the_run_s_notify_delay_wins_over_history() {
        let run = run_notifying_after(Some(90));
        let late = late_after(&run, Some(&expected(60, 60))).unwrap();
        assert_eq!(late.seconds, 5_400);
        assert_eq!(late.because, LateBecause::NotifyDelay { minutes: 90 });
    }

    #[test]
    fn without_history_or_notify_delay_no_run_is_late() {
        assert_eq!(late_after(&JobRun::builder().build(), None), None);
        assert_eq!(late_after(&run_notifying_after(None), None), None);
        assert_eq!(late_after(&run_notifying_after(Some(0)), None), None);
    }
}
