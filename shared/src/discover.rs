//! The discover function: every Glue job of the account as a Polysync job, in pages that fit a
//! Step Functions payload.

use aws_sdk_glue::types::Job;
use aws_smithy_types::base64;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arguments::{CODE_LOADING_KEYS, EXECUTION_ID_KEY, GLUE_VERSION_KEY};
use crate::aws::Services;
use crate::aws::{send_glue, Deadline};
use crate::error::PolysyncError;
use crate::event::{
    parse_event, Direction, DiscoverEvent, DiscoverOutput, DiscoveredAttributes, DiscoveredJob,
    DiscoveredParameter, JOB_TYPE,
};

/// The largest page of JSON returned: the Step Functions payload limit.
pub const MAX_PAGE_BYTES: usize = 256 * 1024;
/// The Glue page size the contract asks for.
pub const GLUE_PAGE_SIZE: i32 = 100;

/// Arguments Glue itself consumes, beside the code-loading ones and the platform's own: not
/// parameters of the job's script (docs/interface.md, "Discover").
const GLUE_SYSTEM_ARGUMENTS: [&str; 22] = [
    "--job-bookmark-option",
    "--enable-metrics",
    "--TempDir",
    "--enable-continuous-cloudwatch-log",
    "--enable-continuous-log-filter",
    "--continuous-log-logGroup",
    "--continuous-log-logStreamPrefix",
    "--continuous-log-conversionPattern",
    "--enable-spark-ui",
    "--spark-event-logs-path",
    "--enable-job-insights",
    "--enable-observability-metrics",
    "--enable-glue-datacatalog",
    "--enable-s3-parquet-optimized-committer",
    "--enable-rename-algorithm-v2",
    "--enable-auto-scaling",
    "--auto-scale-within-microbatch",
    "--datalake-formats",
    "--conf",
    "--debug",
    "--mode",
    "--JOB_NAME",
];

/// Whether Glue or the platform consumes the argument, rather than the job's script.
pub fn is_system_argument(key: &str) -> bool {
    GLUE_SYSTEM_ARGUMENTS.contains(&key)
        || CODE_LOADING_KEYS.contains(&key)
        || key == GLUE_VERSION_KEY
        || key == EXECUTION_ID_KEY
}

/// A Glue job definition as the Polysync job that runs it.
pub fn import_job(job: &Job) -> DiscoveredJob {
    let mut parameters: Vec<DiscoveredParameter> = job
        .default_arguments()
        .into_iter()
        .flatten()
        .filter(|(key, _)| !is_system_argument(key))
        .map(|(key, value)| DiscoveredParameter {
            name: key.strip_prefix("--").unwrap_or(key).to_owned(),
            direction: Direction::Input,
            value: value.clone(),
        })
        .collect();
    // DefaultArguments is a map: sort so the same job always reads the same.
    parameters.sort_by(|a, b| a.name.cmp(&b.name));
    DiscoveredJob {
        external_id: job.name().unwrap_or_default().to_owned(),
        job_type: JOB_TYPE.to_owned(),
        attributes: DiscoveredAttributes {
            glue_worker_type: job.worker_type().map(|w| w.as_str().to_owned()),
            glue_number_of_workers: job.number_of_workers(),
            glue_version: job.glue_version().map(str::to_owned),
            glue_timeout_minutes: job.timeout(),
            glue_max_retries: Some(job.max_retries()),
            glue_execution_class: job.execution_class().map(|c| c.as_str().to_owned()),
            glue_max_capacity: job.max_capacity(),
            glue_job_run_queuing: job.job_run_queuing_enabled(),
            glue_notify_delay_after_minutes: job
                .notification_property()
                .and_then(|n| n.notify_delay_after()),
            glue_security_configuration: job.security_configuration().map(str::to_owned),
        },
        parameters,
        warnings: Vec::new(),
    }
}

/// Where the next page starts: a Glue page (its token) and how many of its jobs were returned.
/// Opaque to callers: base64 of this JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct Cursor {
    #[serde(rename = "g")]
    glue_token: Option<String>,
    #[serde(rename = "o")]
    offset: usize,
}

impl Cursor {
    /// The JSON that [`Cursor::decode`] reads, built field by field: it cannot fail.
    fn encode(&self) -> String {
        let mut fields = serde_json::Map::new();
        if let Some(token) = &self.glue_token {
            fields.insert("g".to_owned(), Value::String(token.clone()));
        }
        fields.insert("o".to_owned(), Value::from(self.offset));
        base64::encode(Value::Object(fields).to_string().as_bytes())
    }

    fn decode(token: &str) -> Result<Self, PolysyncError> {
        let invalid = || {
            PolysyncError::invalid(
                "nextToken",
                "is not a token this function returned; start again without one",
            )
        };
        let bytes = base64::decode(token).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// How many parameter names a warning about cut parameters lists.
const CUT_NAMES_SHOWN: usize = 5;

/// A job too large for a page on its own loses its largest parameters until it fits within
/// `room` bytes, with a warning naming them: it never blocks the jobs after it.
fn fit_alone(job: &mut DiscoveredJob, room: usize) {
    let mut cut = Vec::new();
    while json_len(job) > room {
        let Some(largest) = (0..job.parameters.len()).max_by_key(|&i| json_len(&job.parameters[i]))
        else {
            break;
        };
        cut.push(job.parameters.remove(largest).name);
        let shown = cut
            .iter()
            .take(CUT_NAMES_SHOWN)
            .cloned()
            .collect::<Vec<_>>();
        let more = cut.len().saturating_sub(CUT_NAMES_SHOWN);
        job.warnings =
            vec![format!(
            "{} parameter(s) left out, largest first ({}{}): with them the job is larger than a \
             {MAX_PAGE_BYTES}-byte page; read them from the Glue job's DefaultArguments",
            cut.len(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() },
        )];
    }
}

/// Takes the jobs of one Glue page, from `offset`, that the prefix covers, while the page stays
/// within `MAX_PAGE_BYTES`. Returns the jobs and the position in the Glue page reached.
fn fill_page(
    jobs: &[Job],
    offset: usize,
    reserve: usize,
    prefix: &str,
) -> (Vec<DiscoveredJob>, usize) {
    let envelope = json_len(&DiscoverOutput {
        jobs: Vec::new(),
        next_token: None,
    }) + reserve;
    let mut size = envelope;
    let mut page = Vec::new();
    let mut position = offset;
    for job in jobs.iter().skip(offset) {
        if job.name().is_some_and(|name| name.starts_with(prefix)) {
            let mut imported = import_job(job);
            if page.is_empty() {
                fit_alone(&mut imported, MAX_PAGE_BYTES - envelope);
            }
            let added = json_len(&imported) + usize::from(!page.is_empty());
            if size + added > MAX_PAGE_BYTES {
                break;
            }
            size += added;
            page.push(imported);
        }
        position += 1;
    }
    (page, position)
}

pub async fn handle(
    env: &Services,
    event: LambdaEvent<Value>,
) -> Result<DiscoverOutput, PolysyncError> {
    let request: DiscoverEvent = if event.payload.is_null() {
        DiscoverEvent::default()
    } else {
        parse_event(event.payload)?
    };
    let mut cursor = match request.next_token.as_deref() {
        Some(token) => Cursor::decode(token)?,
        None => Cursor::default(),
    };
    let deadline = Deadline::of(&event.context, &env.clock);
    loop {
        let request = env
            .glue
            .get_jobs()
            .set_next_token(cursor.glue_token.clone())
            .max_results(GLUE_PAGE_SIZE)
            .send();
        let answer = send_glue(deadline, "GetJobs", None, request).await?;
        let glue_next = answer
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        // Room for the longest token this page could carry: the next cursor keeps either this
        // page's token (a split page) or Glue's next one.
        let longest_token = [&glue_next, &cursor.glue_token]
            .into_iter()
            .flatten()
            .max_by_key(|token| token.len())
            .cloned();
        let reserve = Cursor {
            glue_token: longest_token,
            offset: usize::MAX,
        }
        .encode()
        .len()
            + 2;
        let (jobs, taken) = fill_page(
            answer.jobs(),
            cursor.offset,
            reserve,
            &env.config.job_name_prefix,
        );
        let next = if taken < answer.jobs().len() {
            Some(Cursor {
                glue_token: cursor.glue_token.clone(),
                offset: taken,
            })
        } else {
            glue_next.map(|token| Cursor {
                glue_token: Some(token),
                offset: 0,
            })
        };
        match next {
            // A Glue page with nothing left for us: read on rather than return an empty page.
            Some(next) if jobs.is_empty() => cursor = next,
            next => {
                return Ok(DiscoverOutput {
                    jobs,
                    next_token: next.map(|c| c.encode()),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::WorkerType;

    #[test]
    fn a_definition_becomes_a_polysync_job_without_system_arguments() {
        let job = Job::builder()
            .name("nightly-sales")
            .worker_type(WorkerType::G1X)
            .number_of_workers(10)
            .glue_version("4.0")
            .timeout(2880)
            .max_retries(0)
            .default_arguments("--run_date", "2026-01-01")
            .default_arguments("--TempDir", "s3://tmp/")
            .default_arguments("--job-bookmark-option", "job-bookmark-enable")
            .default_arguments("--polysync-execution-id", "x")
            .default_arguments("plain", "p")
            .build();
        let imported = import_job(&job);
        assert_eq!(
            serde_json::to_value(&imported).unwrap(),
            serde_json::json!({
                "externalId": "nightly-sales",
                "jobType": "AWS Glue Job",
                "attributes": {"glueWorkerType": "G.1X", "glueNumberOfWorkers": 10, "glueVersion": "4.0",
                               "glueTimeoutMinutes": 2880, "glueMaxRetries": 0},
                "parameters": [{"name": "plain", "direction": "Input", "value": "p"},
                               {"name": "run_date", "direction": "Input", "value": "2026-01-01"}]
            })
        );
    }

    /// The contract's list of Glue's system arguments, as written there.
    const CONTRACT_SYSTEM_ARGUMENTS: [&str; 33] = [
        "--job-language",
        "--job-bookmark-option",
        "--enable-metrics",
        "--TempDir",
        "--scriptLocation",
        "--class",
        "--extra-py-files",
        "--extra-jars",
        "--extra-files",
        "--user-jars-first",
        "--additional-python-modules",
        "--python-modules-installer-option",
        "--enable-continuous-cloudwatch-log",
        "--enable-continuous-log-filter",
        "--continuous-log-logGroup",
        "--continuous-log-logStreamPrefix",
        "--continuous-log-conversionPattern",
        "--enable-spark-ui",
        "--spark-event-logs-path",
        "--enable-job-insights",
        "--enable-observability-metrics",
        "--enable-glue-datacatalog",
        "--enable-s3-parquet-optimized-committer",
        "--enable-rename-algorithm-v2",
        "--enable-auto-scaling",
        "--auto-scale-within-microbatch",
        "--datalake-formats",
        "--conf",
        "--debug",
        "--mode",
        "--JOB_NAME",
        "--glue-version",
        "--polysync-execution-id",
    ];

    #[test]
    fn every_system_argument_is_filtered() {
        let mut builder = Job::builder().name("j").default_arguments("--keep", "1");
        for key in CONTRACT_SYSTEM_ARGUMENTS {
            assert!(is_system_argument(key), "{key}");
            builder = builder.default_arguments(key, "v");
        }
        let imported = import_job(&builder.build());
        assert_eq!(imported.parameters.len(), 1);
        assert_eq!(imported.parameters[0].name, "keep");
    }

    #[test]
    fn attributes_the_definition_lacks_are_left_out() {
        let imported = import_job(&Job::builder().name("shell").max_capacity(0.0625).build());
        assert_eq!(
            serde_json::to_value(&imported.attributes).unwrap(),
            serde_json::json!({"glueMaxRetries": 0, "glueMaxCapacity": 0.0625})
        );
    }

    #[test]
    fn the_definition_s_run_options_become_the_attributes_start_takes() {
        let job = Job::builder()
            .name("flex-nightly")
            .execution_class(aws_sdk_glue::types::ExecutionClass::Flex)
            .job_run_queuing_enabled(true)
            .notification_property(
                aws_sdk_glue::types::NotificationProperty::builder()
                    .notify_delay_after(90)
                    .build(),
            )
            .security_configuration("lake-kms")
            .build();
        let attributes = serde_json::to_value(&import_job(&job).attributes).unwrap();
        assert_eq!(
            attributes,
            serde_json::json!({"glueMaxRetries": 0, "glueExecutionClass": "FLEX",
                               "glueJobRunQueuing": true, "glueNotifyDelayAfterMinutes": 90,
                               "glueSecurityConfiguration": "lake-kms"})
        );
        // What discover gives, start takes back as it is.
        let event =
            serde_json::json!({"job": {"externalId": "flex-nightly", "attributes": attributes}});
        let attributes: crate::event::JobAttributes =
            serde_json::from_value(event["job"]["attributes"].clone()).unwrap();
        let compute = crate::compute::JobCompute::from_attributes(&attributes).unwrap();
        assert!(compute.execution_class.unwrap().is_flex());
        assert_eq!(compute.notify_delay_minutes.map(|n| n.get()), Some(90));
    }

    #[test]
    fn cursors_round_trip_and_foreign_tokens_are_refused() {
        let cursor = Cursor {
            glue_token: Some("abc/+=".into()),
            offset: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "not base64!", &base64::encode("[1]")] {
            match Cursor::decode(bad).unwrap_err() {
                PolysyncError::InvalidInput { field, .. } => assert_eq!(field, "nextToken"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_page_stops_before_256_kib() {
        let big = "v".repeat(20_000);
        let jobs: Vec<Job> = (0..30)
            .map(|i| {
                Job::builder()
                    .name(format!("job-{i}"))
                    .default_arguments("--data", big.clone())
                    .build()
            })
            .collect();
        let (page, taken) = fill_page(&jobs, 0, 100, "");
        assert!(taken < 30 && taken == page.len());
        let size = json_len(&DiscoverOutput {
            jobs: page,
            next_token: Some("t".repeat(98)),
        });
        assert!(size <= MAX_PAGE_BYTES, "{size}");
        let (rest, taken_after) = fill_page(&jobs, taken, 100, "");
        assert_eq!(rest[0].external_id, format!("job-{taken}"));
        assert!(taken_after > taken);
    }

    #[test]
    fn a_job_larger_than_a_page_comes_with_its_parameters_cut_and_blocks_nothing() {
        let jobs = [
            Job::builder()
                .name("huge")
                .default_arguments("--data", "v".repeat(MAX_PAGE_BYTES))
                .default_arguments("--more", "w".repeat(MAX_PAGE_BYTES - 1))
                .default_arguments("--small", "kept")
                .build(),
            Job::builder().name("after").build(),
        ];
        let (page, taken) = fill_page(&jobs, 0, 100, "");
        assert_eq!(taken, 2, "the job after it still has room on the page");
        let huge = &page[0];
        assert_eq!(huge.external_id, "huge");
        assert_eq!(huge.parameters.len(), 1);
        assert_eq!(huge.parameters[0].name, "small");
        assert_eq!(huge.warnings.len(), 1);
        assert!(
            huge.warnings[0].starts_with("2 parameter(s) left out, largest first (data, more)"),
            "{:?}",
            huge.warnings
        );
        assert_eq!(page[1].external_id, "after");
        assert!(!serde_json::to_string(&page[1])
            .unwrap()
            .contains("warnings"));
        let size = json_len(&DiscoverOutput {
            jobs: page,
            next_token: Some("t".repeat(98)),
        });
        assert!(size <= MAX_PAGE_BYTES, "{size}");
    }

    #[test]
    fn only_jobs_with_the_prefix_are_listed_and_the_position_passes_the_others() {
        let jobs: Vec<Job> = ["team-a-1", "team-b-1", "team-a-2", "team-b-2"]
            .iter()
            .map(|name| Job::builder().name(*name).build())
            .collect();
        let (page, position) = fill_page(&jobs, 0, 100, "team-a-");
        let names: Vec<_> = page.iter().map(|j| j.external_id.as_str()).collect();
        assert_eq!(names, ["team-a-1", "team-a-2"]);
        assert_eq!(position, 4);
        let (page, position) = fill_page(&jobs, 1, 100, "team-b-");
        assert_eq!(page.len(), 2);
        assert_eq!(position, 4);
    }
}
