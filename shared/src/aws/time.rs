//! Times as the contract shows them, and the clock the handlers read.

use std::time::SystemTime;

use tokio::time::Instant;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// RFC 3339 to the second, as the contract shows times.
pub fn format_time(time: &DateTime) -> String {
    DateTime::from_secs(time.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

/// The wall clock the handlers read: the system's on AWS. A test's starts at a time of its
/// choosing and moves with tokio's clock, so a test on a paused clock lets minutes pass at
/// once and its fixtures name fixed times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    Following {
        started: SystemTime,
        at: Instant,
    },
}

impl Clock {
    /// A clock that reads `time` now and moves on with tokio's clock.
    pub fn starting_at(time: SystemTime) -> Self {
        Self::Following {
            started: time,
            at: Instant::now(),
        }
    }

    pub fn system_time(&self) -> SystemTime {
        match self {
            Self::System => SystemTime::now(),
            Self::Following { started, at } => *started + at.elapsed(),
        }
    }

    pub fn now(&self) -> DateTime {
        DateTime::from(self.system_time())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_following_clock_moves_with_tokio_s() {
        let noon = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_867_200);
        let clock = Clock::starting_at(noon);
        assert_eq!(clock.now().secs(), 1_795_867_200);
        tokio::time::sleep(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock.now().secs(), 1_795_867_290);
        assert!(Clock::System.now().secs() > 1_795_867_200);
    }

    #[test]
    fn times_are_rfc3339_to_the_second() {
        assert_eq!(
            format_time(&DateTime::from_secs_and_nanos(1_795_867_201, 500_000_000)),
            "2026-11-28T12:00:01Z"
        );
    }
}
