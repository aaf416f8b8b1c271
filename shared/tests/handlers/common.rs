//! What the handler tests share: Glue, Step Functions, CloudWatch Logs and DynamoDB clients answered by
//! `aws-smithy-mocks` and nothing else (a call without a rule fails its test, so a test shows
//! the calls a handler did not make), the functions' own SDK settings, a clock at a fixed
//! time that moves with tokio's (paused) clock, and events as Lambda hands them over.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_glue::operation::get_job::GetJobOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::operation::start_job_run::{StartJobRunInput, StartJobRunOutput};
use aws_sdk_glue::types::{Job, JobRun, JobRunState};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleBuilder, RuleMode};
use aws_smithy_types::DateTime;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use polysync_glue::aws::Clock;
use polysync_glue::config::Config;
use polysync_glue::event::PollOutput;
use polysync_glue::{PolysyncError, Services};
use serde_json::{json, Value};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:polysync-glue-start";

/// What the tests' clock reads when a test begins: 2026-11-28T12:00:00Z.
pub const NOW_SECS: i64 = 1_795_867_200;

/// A Glue client answered by the rules alone, with the functions' own retries and timeouts.
pub fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_glue, RuleMode::MatchAny, rules, |c| c
        .retry_config(Services::retry_config())
        .timeout_config(Services::timeouts()))
}

/// The services of a test: the Glue rules, no Step Functions or CloudWatch Logs call unless a
/// test gives their client, and the tests' clock.
pub fn env_with(rules: &[&Rule], config: Config) -> Services {
    Services::new(client(rules), "us-east-1".to_owned(), config)
        .with_states(states_client(&[]))
        .with_logs(logs_client(&[]))
        .with_dynamodb(dynamodb_client(&[]))
        .with_clock(Clock::starting_at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS as u64),
        ))
}

/// The services of a test where the order of the calls is what it shows: each rule answers
/// once, in the order given, and a call out of that order fails the test.
pub fn env_in_order(rules: &[&Rule]) -> Services {
    let glue = mock_client!(aws_sdk_glue, RuleMode::Sequential, rules, |c| c
        .retry_config(Services::retry_config())
        .timeout_config(Services::timeouts()));
    let mut services = env(&[]);
    services.glue = glue;
    services
}

pub fn env(rules: &[&Rule]) -> Services {
    env_with(rules, Config::default())
}

/// The ARN of the execution of the tests' status-change events.
pub const EXECUTION_ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7";

/// A DynamoDB client whose answers are the rules'.
pub fn dynamodb_client(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules)
}

/// A Step Functions client whose answers are the rules'.
pub fn states_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules)
}

/// DescribeExecution answers that the execution is in this status, its input not given.
pub fn execution_described(status: aws_sdk_sfn::types::ExecutionStatus) -> Rule {
    mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
        aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput::builder()
            .execution_arn(EXECUTION_ARN)
            .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:glue-job")
            .status(status.clone())
            .redrive_count(i32::from(
                status == aws_sdk_sfn::types::ExecutionStatus::Running,
            ))
            .start_date(DateTime::from_secs(NOW_SECS))
            .build()
            .unwrap()
    })
}

/// Step Functions as cancel meets it after an execution ended: DescribeExecution says ABORTED.
pub fn execution_ended() -> aws_sdk_sfn::Client {
    states_client(&[&execution_described(
        aws_sdk_sfn::types::ExecutionStatus::Aborted,
    )])
}

/// The requests a rule received, in order.
pub type Recorded<I> = Arc<Mutex<Vec<I>>>;

/// A rule that records each request it answers (`answer` makes the response from it): the
/// one way the tests see exactly what a handler sent.
pub fn recording<I, O, E>(
    builder: RuleBuilder<I, O, E>,
    answer: impl Fn(&I) -> O + Send + Sync + 'static,
) -> (Rule, Recorded<I>)
where
    I: Clone + std::fmt::Debug + Send + Sync + 'static,
    O: std::fmt::Debug + Send + Sync + 'static,
    E: std::fmt::Debug + Send + Sync + std::error::Error + 'static,
{
    let recorded: Recorded<I> = Arc::default();
    let sink = recorded.clone();
    let rule = builder.then_compute_output(move |input| {
        sink.lock().unwrap().push(input.clone());
        answer(input)
    });
    (rule, recorded)
}

/// A StartJobRun rule that records the requests it received and answers run `jr_0123abcd`.
pub fn recording_start() -> (Rule, Recorded<StartJobRunInput>) {
    recording(mock!(Client::start_job_run), |_| {
        StartJobRunOutput::builder()
            .job_run_id("jr_0123abcd")
            .build()
    })
}

/// GetJobRuns answers that the job has no runs.
pub fn no_past_runs() -> Rule {
    mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build())
}

/// GetJob answers with this definition.
pub fn get_job_rule(job: Job) -> Rule {
    mock!(Client::get_job).then_output(move || GetJobOutput::builder().job(job.clone()).build())
}

/// A CloudWatch Logs client whose answers are the rules'.
pub fn logs_client(rules: &[&Rule]) -> aws_sdk_cloudwatchlogs::Client {
    mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, rules)
}

/// CloudWatch Logs without the run's log group.
pub fn no_log_group() -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .http_status(
            400,
            Some(
                json!({"__type": "ResourceNotFoundException",
                       "message": "The specified log group does not exist."})
                .to_string(),
            ),
        )
        .repeatedly()
        .build()
}

/// The configuration the functions read from these environment variables.
pub fn config_of(vars: &[(&str, &str)]) -> Config {
    Config::from_vars(vars).unwrap()
}

/// An event as Lambda hands it over, from a function whose ARN names the account.
pub fn event(payload: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.invoked_function_arn = FUNCTION_ARN.to_owned();
    LambdaEvent::new(payload, context)
}

pub fn diagnostic(error: PolysyncError) -> Diagnostic {
    error.into()
}

/// A Glue error as it comes over the wire (awsJson 1.1).
pub fn glue_error_body(code: &str, message: &str) -> Option<String> {
    Some(json!({"__type": code, "message": message}).to_string())
}

/// The services exactly as the functions build them (timeouts, retries), aimed at `endpoint`.
pub async fn production_services(endpoint: &str) -> Services {
    let sdk = Services::sdk_loader("us-east-1")
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_glue::config::Credentials::new(
            "AKID", "SECRET", None, None, "test",
        ))
        .load()
        .await;
    Services::from_sdk(&sdk, "us-east-1".to_owned(), Config::default())
}

/// A run of nightly-sales in this state, started ten minutes before the tests' now.
pub fn run(id: &str, state: JobRunState) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_name("nightly-sales")
        .job_run_state(state)
        .attempt(0)
        .started_on(DateTime::from_secs(NOW_SECS - 600))
        .execution_time(42)
        .build()
}

pub fn tagged_run(id: &str, execution_id: &str, state: JobRunState) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_run_state(state)
        .arguments("--polysync-execution-id", execution_id)
        .started_on(DateTime::from_secs(NOW_SECS + 1))
        .build()
}

/// A failed attempt that ended `completed_secs_ago` before the tests' now.
pub fn failed_run(
    id: &str,
    attempt: i32,
    previous: Option<&str>,
    completed_secs_ago: i64,
) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_run_state(JobRunState::Failed)
        .error_message(format!("{id} failed"))
        .attempt(attempt)
        .set_previous_run_id(previous.map(str::to_owned))
        .started_on(DateTime::from_secs(NOW_SECS - completed_secs_ago - 60))
        .completed_on(DateTime::from_secs(NOW_SECS - completed_secs_ago))
        .build()
}

pub fn started_at(run: JobRun, started_secs: i64) -> JobRun {
    JobRun::builder()
        .set_id(run.id().map(str::to_owned))
        .set_job_run_state(run.job_run_state().cloned())
        .set_arguments(run.arguments().cloned())
        .started_on(DateTime::from_secs(started_secs))
        .build()
}

/// GetJob answers that the job does not exist.
pub fn definition_not_found() -> Rule {
    mock!(Client::get_job)
        .sequence()
        .http_status(
            400,
            Some(
                json!({"__type": "EntityNotFoundException", "Message": "Job not found"})
                    .to_string(),
            ),
        )
        .repeatedly()
        .build()
}

/// The services of a cancel test whose execution Step Functions reports ended (ABORTED).
pub fn env_of_ended_execution(rules: &[&Rule]) -> Services {
    env(rules).with_states(execution_ended())
}

/// The services of a poll test whose failed run left no error log.
pub fn env_without_error_log(rules: &[&Rule]) -> Services {
    env(rules).with_logs(logs_client(&[&no_log_group()]))
}

/// GetJobRun answers with this run, however often it is asked.
pub fn answers_run(run: JobRun) -> Rule {
    mock!(Client::get_job_run)
        .then_output(move || GetJobRunOutput::builder().job_run(run.clone()).build())
}

/// What poll answers to this event, which it must take.
pub async fn poll_of(env: &Services, payload: Value) -> PollOutput {
    polysync_glue::poll::handle(env, event(payload))
        .await
        .unwrap_or_else(|e| panic!("poll refused: {e}"))
}
