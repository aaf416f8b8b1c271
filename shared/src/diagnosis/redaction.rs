//! Redaction, a security piece: no argument value of a run (a password, a token, a path
//! with a customer's name) reaches a poll output, the execution history or a notification
//! through the log lines a diagnosis shows.

/// Shorter argument values ("1", "yes", "eu") are everywhere in a log: redacting them would
/// hide the log, and they are no secrets.
pub const MIN_REDACTED_CHARS: usize = 4;
pub const REDACTED: &str = "****";

use aws_sdk_glue::types::JobRun;

/// The argument values a log line must not show: every value of the run at least
/// [`MIN_REDACTED_CHARS`] long.
pub fn secrets_of(run: &JobRun) -> Vec<String> {
    run.arguments()
        .into_iter()
        .flat_map(|arguments| arguments.values())
        .filter(|value| value.chars().count() >= MIN_REDACTED_CHARS)
        .cloned()
        .collect()
}

/// Replaces every occurrence of every secret with [`REDACTED`]. Occurrences are found in the
/// original line and merged where they overlap or touch, so a value inside another, or two
/// that share characters, leave nothing of either.
pub fn redact(line: &str, secrets: &[String]) -> String {
    let mut covered: Vec<(usize, usize)> = secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .flat_map(|secret| {
            // Every start, overlapping ones included ("aaaa" in "aaaaa" twice).
            let mut starts = Vec::new();
            let mut from = 0;
            while let Some(found) = line[from..].find(secret.as_str()) {
                starts.push((from + found, from + found + secret.len()));
                from += found
                    + line[from + found..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
            }
            starts
        })
        .collect();
    if covered.is_empty() {
        return line.to_owned();
    }
    covered.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in covered {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut redacted = String::with_capacity(line.len());
    let mut at = 0;
    for (start, end) in merged {
        redacted.push_str(&line[at..start]);
        redacted.push_str(REDACTED);
        at = end;
    }
    redacted.push_str(&line[at..]);
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn every_occurrence_of_every_value_is_redacted() {
        let secrets = owned(&["hunter22", "s3://lake/secret/"]);
        assert_eq!(
            redact(
                "token=hunter22 path=s3://lake/secret/x again hunter22",
                &secrets
            ),
            "token=**** path=****x again ****"
        );
        assert_eq!(redact("nothing here", &secrets), "nothing here");
    }

    #[test]
    fn overlapping_values_and_values_inside_others_leave_nothing_of_either() {
        // One value inside another.
        assert_eq!(
            redact("key=abcdefgh", &owned(&["cdef", "abcdefgh"])),
            "key=****"
        );
        // Two values sharing characters.
        assert_eq!(
            redact("x abcdefghi y", &owned(&["abcdef", "defghi"])),
            "x **** y"
        );
        // A value overlapping itself.
        assert_eq!(redact("aaaaa", &owned(&["aaaa"])), "****");
    }

    #[test]
    fn unicode_values_and_lines_are_redacted_on_character_boundaries() {
        let secrets = owned(&["pässwörd", "日本語の秘密"]);
        assert_eq!(
            redact("é pässwörd ü 日本語の秘密!", &secrets),
            "é **** ü ****!"
        );
    }

    #[test]
    fn short_values_are_not_secrets() {
        let run = JobRun::builder()
            .arguments("--region", "eu")
            .arguments("--mode", "full")
            .arguments("--token", "abc")
            .build();
        assert_eq!(secrets_of(&run), owned(&["full"]));
    }
}
