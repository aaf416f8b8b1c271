//! Glue `JobRunState` → Polysync status (the status table of docs/interface.md).

use aws_sdk_glue::types::JobRunState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    Starting,
    Running,
    Success,
    Cancelled,
    Failed,
    Unknown,
}

impl RunStatus {
    pub fn from_glue_state(state: Option<&JobRunState>) -> Self {
        match state {
            Some(JobRunState::Starting | JobRunState::Waiting) => Self::Starting,
            Some(JobRunState::Running | JobRunState::Stopping) => Self::Running,
            Some(JobRunState::Succeeded) => Self::Success,
            Some(JobRunState::Stopped) => Self::Cancelled,
            Some(JobRunState::Failed | JobRunState::Timeout | JobRunState::Error) => Self::Failed,
            // EXPIRED, a state newer than this SDK, or none.
            _ => Self::Unknown,
        }
    }
}

/// Whether Glue documents the state as final. EXPIRED maps to Unknown but is final too, so no
/// polling loop waits on it forever.
pub fn is_terminal(state: Option<&JobRunState>) -> bool {
    matches!(
        state,
        Some(
            JobRunState::Succeeded
                | JobRunState::Stopped
                | JobRunState::Failed
                | JobRunState::Timeout
                | JobRunState::Error
                | JobRunState::Expired
        )
    )
}

/// The states after which Glue makes a retry attempt, when the job's MaxRetries allows one.
pub fn is_retried_by_glue(state: Option<&JobRunState>) -> bool {
    matches!(state, Some(JobRunState::Failed | JobRunState::Error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_status_table() {
        // The wire names, parsed as the SDK parses Glue's answer.
        let rows = [
            (Some("STARTING"), RunStatus::Starting, false, false),
            (Some("WAITING"), RunStatus::Starting, false, false),
            (Some("RUNNING"), RunStatus::Running, false, false),
            (Some("STOPPING"), RunStatus::Running, false, false),
            (Some("SUCCEEDED"), RunStatus::Success, true, false),
            (Some("STOPPED"), RunStatus::Cancelled, true, false),
            (Some("FAILED"), RunStatus::Failed, true, true),
            (Some("TIMEOUT"), RunStatus::Failed, true, false),
            (Some("ERROR"), RunStatus::Failed, true, true),
            (Some("EXPIRED"), RunStatus::Unknown, true, false),
            (
                Some("PAUSED_FOR_SOMETHING_NEW"),
                RunStatus::Unknown,
                false,
                false,
            ),
            (Some("running"), RunStatus::Unknown, false, false),
            (None, RunStatus::Unknown, false, false),
        ];
        for (wire, status, terminal, retried) in rows {
            let state = wire.map(JobRunState::from);
            assert_eq!(
                RunStatus::from_glue_state(state.as_ref()),
                status,
                "{wire:?}"
            );
            assert_eq!(is_terminal(state.as_ref()), terminal, "{wire:?}");
            assert_eq!(is_retried_by_glue(state.as_ref()), retried, "{wire:?}");
        }
    }

    #[test]
    fn serializes_as_the_contract_spells_it() {
        assert_eq!(
            serde_json::to_string(&RunStatus::Cancelled).unwrap(),
            "\"Cancelled\""
        );
    }
}
