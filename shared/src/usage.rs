//! What a run used: its DPU-seconds, for the poll output and the cost a user sees.

use aws_sdk_glue::types::JobRun;
use serde::{Deserialize, Serialize};

use crate::compute::GlueWorkerType;

/// Where the figure of `dpuSeconds` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DpuSource {
    /// Glue's own `DPUSeconds` (auto-scaling and Flex runs).
    Glue,
    /// Number of workers × DPU per worker × execution time.
    Workers,
    /// `MaxCapacity` × execution time (Python shell and DPU-sized jobs).
    MaxCapacity,
}

/// The run's capacity used, in DPU-seconds, and where the figure comes from.
pub fn dpu_seconds(run: &JobRun) -> Option<(f64, DpuSource)> {
    if let Some(seconds) = run.dpu_seconds() {
        return Some((seconds, DpuSource::Glue));
    }
    let execution = f64::from(run.execution_time());
    let per_worker = run
        .worker_type()
        .and_then(|t| GlueWorkerType::from(t.clone()).dpu());
    if let (Some(per_worker), Some(workers)) = (per_worker, run.number_of_workers()) {
        return Some((
            per_worker * f64::from(workers) * execution,
            DpuSource::Workers,
        ));
    }
    run.max_capacity()
        .map(|capacity| (capacity * execution, DpuSource::MaxCapacity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::WorkerType;

    #[test]
    fn dpu_seconds_come_from_glue_then_workers_then_max_capacity() {
        let glue = JobRun::builder()
            .dpu_seconds(1234.5)
            .worker_type(WorkerType::G2X)
            .number_of_workers(10)
            .execution_time(100)
            .build();
        assert_eq!(dpu_seconds(&glue), Some((1234.5, DpuSource::Glue)));
        let workers = JobRun::builder()
            .worker_type(WorkerType::G2X)
            .number_of_workers(10)
            .execution_time(100)
            .build();
        assert_eq!(dpu_seconds(&workers), Some((2000.0, DpuSource::Workers)));
        let quarter = JobRun::builder()
            .worker_type(WorkerType::G025X)
            .number_of_workers(2)
            .execution_time(100)
            .build();
        assert_eq!(dpu_seconds(&quarter), Some((50.0, DpuSource::Workers)));
        let shell = JobRun::builder()
            .max_capacity(0.0625)
            .execution_time(160)
            .build();
        assert_eq!(dpu_seconds(&shell), Some((10.0, DpuSource::MaxCapacity)));
        assert_eq!(dpu_seconds(&JobRun::builder().build()), None);
    }
}
