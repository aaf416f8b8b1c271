//! Glue `JobRunState` → Polysync status (CONTRACT.md §3).

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
    pub fn from_glue_state(state: Option<&str>) -> Self {
        match state {
            Some("STARTING" | "WAITING") => Self::Starting,
            Some("RUNNING" | "STOPPING") => Self::Running,
            Some("SUCCEEDED") => Self::Success,
            Some("STOPPED") => Self::Cancelled,
            Some("FAILED" | "TIMEOUT" | "ERROR") => Self::Failed,
            _ => Self::Unknown,
        }
    }
}

/// Whether Glue documents the state as final. EXPIRED maps to Unknown but is final too, so no
/// polling loop waits on it forever.
pub fn is_terminal(state: Option<&str>) -> bool {
    matches!(
        state,
        Some("SUCCEEDED" | "STOPPED" | "FAILED" | "TIMEOUT" | "ERROR" | "EXPIRED")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_status_table() {
        let rows = [
            (Some("STARTING"), RunStatus::Starting, false),
            (Some("WAITING"), RunStatus::Starting, false),
            (Some("RUNNING"), RunStatus::Running, false),
            (Some("STOPPING"), RunStatus::Running, false),
            (Some("SUCCEEDED"), RunStatus::Success, true),
            (Some("STOPPED"), RunStatus::Cancelled, true),
            (Some("FAILED"), RunStatus::Failed, true),
            (Some("TIMEOUT"), RunStatus::Failed, true),
            (Some("ERROR"), RunStatus::Failed, true),
            (Some("EXPIRED"), RunStatus::Unknown, true),
            (Some("PAUSED_FOR_SOMETHING_NEW"), RunStatus::Unknown, false),
            (Some("running"), RunStatus::Unknown, false),
            (None, RunStatus::Unknown, false),
        ];
        for (state, status, terminal) in rows {
            assert_eq!(RunStatus::from_glue_state(state), status, "{state:?}");
            assert_eq!(is_terminal(state), terminal, "{state:?}");
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
