//! The composite run id `{jobName}/{jobRunId}` (docs/interface.md, "Start output").

use crate::error::PolysyncError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId {
    pub job_name: String,
    pub job_run_id: String,
}

impl RunId {
    pub fn new(job_name: impl Into<String>, job_run_id: impl Into<String>) -> Self {
        Self {
            job_name: job_name.into(),
            job_run_id: job_run_id.into(),
        }
    }

    /// Splits at the last `/`: Glue run ids never hold one, job names may.
    pub fn parse(field: &str, text: &str) -> Result<Self, PolysyncError> {
        let rule = "must be {jobName}/{jobRunId}, as returned by the start function";
        let (job_name, job_run_id) = text
            .rsplit_once('/')
            .ok_or_else(|| PolysyncError::invalid(field, rule))?;
        if job_name.is_empty() || job_run_id.is_empty() {
            return Err(PolysyncError::invalid(field, rule));
        }
        Ok(Self::new(job_name, job_run_id))
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.job_name, self.job_run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_last_slash_so_job_names_may_hold_slashes() {
        let run = RunId::parse("runId", "team/daily/sales/jr_abc").unwrap();
        assert_eq!(run.job_name, "team/daily/sales");
        assert_eq!(run.job_run_id, "jr_abc");
        assert_eq!(run.to_string(), "team/daily/sales/jr_abc");
    }

    #[test]
    fn refuses_ids_without_both_parts() {
        for bad in ["", "jr_abc", "/jr_abc", "job/", "/"] {
            let err = RunId::parse("runId", bad).unwrap_err();
            assert!(
                matches!(&err, PolysyncError::InvalidInput { field, .. } if field == "runId"),
                "{bad:?} gave {err:?}"
            );
        }
    }
}
