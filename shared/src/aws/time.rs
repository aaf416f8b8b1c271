//! Times as the contract shows them, and the clock the handlers read.

use std::time::SystemTime;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// RFC 3339 to the second, as the contract shows times.
pub fn format_time(time: &DateTime) -> String {
    DateTime::from_secs(time.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

pub fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_to_the_second() {
        assert_eq!(
            format_time(&DateTime::from_secs_and_nanos(1_795_867_201, 500_000_000)),
            "2026-11-28T12:00:01Z"
        );
    }
}
