//! Glue's sizing rules: which worker types and counts a run of each kind of job may carry.
//! Where Glue's own wording is on record (its StartJobRun answers), it is quoted; the sources
//! are named beside each rule.

use aws_sdk_glue::types::Job;

use super::values::{GlueWorkerType, MaxCapacity, WorkerCount};

/// "To use Worker Type G.1X, minimum allowed value of Number of Workers is 2" (Glue's answer to
/// StartJobRun; the API reference's WorkerType: each G.* worker type is for Spark jobs, which
/// need a driver and at least one executor).
pub const MIN_G_WORKERS: i32 = 2;

impl GlueWorkerType {
    /// Glue's minimum number of workers for this worker type.
    pub fn check_workers(&self, workers: WorkerCount) -> Result<(), String> {
        if self.is_g() && workers.get() < MIN_G_WORKERS {
            return Err(format!(
                "must be at least {MIN_G_WORKERS} with worker type {self}: Glue answers \"To use \
                 Worker Type {self}, minimum allowed value of Number of Workers is {MIN_G_WORKERS}\""
            ));
        }
        Ok(())
    }
}

/// The platform's default number of workers, which pairs with the platform's worker type or,
/// without one, with a job definition's: most often a G.* type, so the G.* minimum applies.
pub fn check_platform_workers(
    worker_type: Option<&GlueWorkerType>,
    workers: WorkerCount,
) -> Result<(), String> {
    let pairs_with_g = worker_type.is_none_or(GlueWorkerType::is_g);
    if pairs_with_g && workers.get() < MIN_G_WORKERS {
        return Err(format!(
            "must be at least {MIN_G_WORKERS}: Glue's G.* worker types need at least \
             {MIN_G_WORKERS} workers"
        ));
    }
    Ok(())
}

/// Whether a Glue version is at least `major` (Glue's versions are `0.9`, `1.0` … `5.0`); a
/// definition without one runs Glue's oldest, so it is not.
pub(crate) fn version_at_least(glue_version: Option<&str>, major: u32) -> bool {
    glue_version
        .and_then(|version| version.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|found| found >= major)
}

/// Glue's timeout for a run whose definition sets none: 2,880 minutes up to Glue 4.0, 480 from
/// Glue 5.0 (the team's contract; the API reference's `Timeout` says "defaulted to 2880
/// minutes" without naming a version).
pub fn default_timeout_minutes(glue_version: Option<&str>) -> i32 {
    if version_at_least(glue_version, 5) {
        480
    } else {
        2_880
    }
}

/// FLEX: "Only jobs with Glue version 3.0 and above and command type glueetl will be allowed to
/// set ExecutionClass to FLEX. The flexible execution class is available for Spark jobs." (Glue
/// API reference, StartJobRun `ExecutionClass`).
pub fn check_flex(kind: &JobKind, glue_version: Option<&str>) -> Result<(), String> {
    let version = glue_version.unwrap_or("none");
    if *kind != JobKind::Spark || !version_at_least(glue_version, 3) {
        return Err(format!(
            "Glue takes execution class FLEX only for Spark ETL jobs (glueetl) of Glue 3.0 or \
             later, not a {} job of Glue version {version}",
            kind.command_name()
        ));
    }
    Ok(())
}

/// MaxCapacity for the job's kind (Glue API reference, StartJobRun `MaxCapacity`): "When you
/// specify a Python shell job (JobCommand.Name="pythonshell"), you can allocate either 0.0625 or
/// 1 DPU"; "For Glue version 2.0+ jobs, you cannot specify a Maximum capacity. Instead, you
/// should specify a Worker type and the Number of workers"; a Spark job of an older version
/// takes "from 2 to 100 DPUs". A Ray job is sized by Z.2X workers alone (WorkerType).
pub fn check_max_capacity(
    kind: &JobKind,
    glue_version: Option<&str>,
    dpus: MaxCapacity,
) -> Result<(), String> {
    let command = kind.command_name();
    let dpus = dpus.get();
    match kind {
        JobKind::PythonShell if dpus != 0.0625 && dpus != 1.0 => Err(format!(
            "a Python shell job ({command}) takes a MaxCapacity of 0.0625 or 1 DPU, not {dpus}"
        )),
        JobKind::Spark | JobKind::Streaming if version_at_least(glue_version, 2) => Err(format!(
            "Glue takes no MaxCapacity for a Spark job ({command}) of Glue 2.0 or later: size it \
             with a worker type and a number of workers"
        )),
        JobKind::Spark | JobKind::Streaming if !(2.0..=100.0).contains(&dpus) => Err(format!(
            "a Spark job ({command}) of Glue before 2.0 takes from 2 to 100 DPUs, not {dpus}"
        )),
        JobKind::Ray => Err(format!(
            "a Ray job ({command}) is sized by Z.2X workers, not by MaxCapacity"
        )),
        _ => Ok(()),
    }
}

/// Job run queuing: "This property must be set to false for flex jobs. If this property is
/// enabled, maxRetries must be set to zero." (AWS CDK, aws-glue-alpha `JobProps.jobRunQueuingEnabled`,
/// after Glue's rules), and only "jobs that have not been configured to retry based on your
/// maxRetries configuration may enter the WAITING state" (Glue developer guide, "AWS Glue job
/// run statuses").
pub fn check_queuing(flex: bool, max_retries: i32) -> Result<(), String> {
    if flex {
        return Err("Glue does not queue a run of execution class FLEX".to_owned());
    }
    if max_retries > 0 {
        return Err(format!(
            "Glue queues only the runs of a job without retries, and the job definition's \
             MaxRetries is {max_retries}"
        ));
    }
    Ok(())
}

/// What a job definition runs (`Command.Name`), which decides how Glue sizes its runs.
/// Source: Glue API reference, JobCommand.Name ("glueetl", "gluestreaming", "pythonshell",
/// "glueray") and StartJobRun's WorkerType and MaxCapacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// `glueetl`: Spark batch.
    Spark,
    /// `gluestreaming`: Spark streaming; a run lasts until it is stopped.
    Streaming,
    /// `pythonshell`: sized by MaxCapacity, no workers.
    PythonShell,
    /// `glueray`: Z.2X workers only.
    Ray,
    /// A kind this crate does not know: no sizing rule is assumed.
    Other(String),
}

impl JobKind {
    pub fn of(definition: &Job) -> Self {
        match definition.command().and_then(|c| c.name()) {
            Some("glueetl") => Self::Spark,
            Some("gluestreaming") => Self::Streaming,
            Some("pythonshell") => Self::PythonShell,
            Some("glueray") => Self::Ray,
            other => Self::Other(other.unwrap_or_default().to_owned()),
        }
    }

    /// The Glue name of the kind, as messages show it.
    pub fn command_name(&self) -> &str {
        match self {
            Self::Spark => "glueetl",
            Self::Streaming => "gluestreaming",
            Self::PythonShell => "pythonshell",
            Self::Ray => "glueray",
            Self::Other(name) => name,
        }
    }

    /// Whether StartJobRun may carry this worker type for a job of this kind; the rule broken
    /// otherwise, as Glue states it.
    pub fn takes_worker_type(&self, worker_type: &GlueWorkerType) -> Result<(), String> {
        let command = self.command_name();
        match self {
            // "Worker Type is not supported for Job Command pythonshell" (Glue's StartJobRun
            // answer); Python shell jobs are sized by MaxCapacity (API reference, MaxCapacity).
            Self::PythonShell => Err(format!(
                "Glue refuses a worker type for a Python shell job ({command}), which is sized by \
                 MaxCapacity: \"Worker Type is not supported for Job Command {command}\""
            )),
            // Z.2X is the Ray worker type, and Ray takes no other (API reference, WorkerType).
            Self::Ray if !worker_type.is_ray() => Err(format!(
                "a Ray job ({command}) takes only worker type Z.2X, not {worker_type}"
            )),
            Self::Spark | Self::Streaming if worker_type.is_ray() => Err(format!(
                "worker type Z.2X is for Ray jobs; Glue refuses it for a Spark job ({command}): \
                 \"Worker Type Z.2X is not supported for Job Command {command}\""
            )),
            _ => Ok(()),
        }
    }

    /// Whether StartJobRun may carry a number of workers (Python shell jobs have none).
    pub fn takes_workers(&self) -> Result<(), String> {
        match self {
            Self::PythonShell => Err(format!(
                "Glue refuses a number of workers for a Python shell job ({}), which is sized by \
                 MaxCapacity",
                self.command_name()
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::ComputeValue;
    use aws_sdk_glue::types::JobCommand;

    #[test]
    fn g_worker_types_need_two_workers() {
        let g1 = GlueWorkerType::from_text("G.1X").unwrap();
        let message = g1
            .check_workers(WorkerCount::from_text("1").unwrap())
            .unwrap_err();
        assert!(
            message.contains("minimum allowed value of Number of Workers is 2"),
            "{message}"
        );
        assert!(g1
            .check_workers(WorkerCount::from_text("2").unwrap())
            .is_ok());
        let z = GlueWorkerType::from_text("Z.2X").unwrap();
        assert!(z
            .check_workers(WorkerCount::from_text("1").unwrap())
            .is_ok());
    }

    fn job(command: &str) -> Job {
        Job::builder()
            .command(JobCommand::builder().name(command).build())
            .build()
    }

    #[test]
    fn each_kind_takes_the_worker_types_glue_allows() {
        let g2 = GlueWorkerType::from_text("G.2X").unwrap();
        let z2 = GlueWorkerType::from_text("Z.2X").unwrap();
        let cases = [
            ("glueetl", JobKind::Spark, true, false, true),
            ("gluestreaming", JobKind::Streaming, true, false, true),
            ("pythonshell", JobKind::PythonShell, false, false, false),
            ("glueray", JobKind::Ray, false, true, true),
            (
                "somethingnew",
                JobKind::Other("somethingnew".into()),
                true,
                true,
                true,
            ),
        ];
        for (command, kind, takes_g, takes_z, takes_workers) in cases {
            assert_eq!(JobKind::of(&job(command)), kind);
            assert_eq!(kind.command_name(), command);
            assert_eq!(
                kind.takes_worker_type(&g2).is_ok(),
                takes_g,
                "{command} G.2X"
            );
            assert_eq!(
                kind.takes_worker_type(&z2).is_ok(),
                takes_z,
                "{command} Z.2X"
            );
            assert_eq!(kind.takes_workers().is_ok(), takes_workers, "{command}");
        }
        assert!(JobKind::PythonShell
            .takes_worker_type(&g2)
            .unwrap_err()
            .contains("Worker Type is not supported for Job Command pythonshell"));
    }

    #[test]
    fn the_platform_count_pairs_with_g_unless_its_type_says_otherwise() {
        let one = WorkerCount::from_text("1").unwrap();
        assert!(check_platform_workers(None, one).is_err());
        let g1 = GlueWorkerType::from_text("G.1X").unwrap();
        assert!(check_platform_workers(Some(&g1), one).is_err());
        let z = GlueWorkerType::from_text("Z.2X").unwrap();
        assert!(check_platform_workers(Some(&z), one).is_ok());
        let two = WorkerCount::from_text("2").unwrap();
        assert!(check_platform_workers(None, two).is_ok());
    }
}
