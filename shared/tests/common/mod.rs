//! What the handler tests share: a Glue client answered by `aws-smithy-mocks`, and events as
//! Lambda hands them to a handler.

#![allow(dead_code)] // each test binary uses its own part of it

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_glue::config::retry::RetryConfig;
use aws_sdk_glue::operation::get_job::GetJobOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::operation::start_job_run::{StartJobRunInput, StartJobRunOutput};
use aws_sdk_glue::types::Job;
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use lambda_runtime::{Context, LambdaEvent};
use polysync_glue::config::Config;
use polysync_glue::Services;
use serde_json::Value;

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:polysync-glue-start";

/// A Glue client whose answers are the rules'; no rule for a call fails the test that made it
/// (but GetJobRuns, which finds no runs, and GetJob, which finds no job).
pub fn client(rules: &[&Rule]) -> Client {
    // Unless a rule before them says otherwise: start reads the job's history and its
    // definition's MaxRetries after every StartJobRun, best effort.
    let no_history = no_past_runs();
    let no_definition = definition_not_found();
    let mut rules = rules.to_vec();
    rules.push(&no_history);
    rules.push(&no_definition);
    mock_client!(aws_sdk_glue, RuleMode::MatchAny, &rules, |c| c
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ))
}

pub fn env_with(rules: &[&Rule], config: Config) -> Services {
    Services::new(client(rules), "us-east-1".to_owned(), config)
        .with_states(states_client(&[&execution_described(
            aws_sdk_sfn::types::ExecutionStatus::Aborted,
        )]))
        .with_logs(logs_client(&[&no_log_group()]))
}

/// The ARN of the execution of the tests' status-change events.
pub const EXECUTION_ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7";

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
            .start_date(aws_smithy_types::DateTime::from_secs(1_795_867_200))
            .build()
            .unwrap()
    })
}

pub fn env(rules: &[&Rule]) -> Services {
    env_with(rules, Config::default())
}

/// A StartJobRun rule that records the requests it received and answers run `jr_0123abcd`.
pub fn recording_start(captured: &Arc<Mutex<Vec<StartJobRunInput>>>) -> Rule {
    let captured = captured.clone();
    mock!(Client::start_job_run).then_compute_output(move |input| {
        captured.lock().unwrap().push(input.clone());
        StartJobRunOutput::builder()
            .job_run_id("jr_0123abcd")
            .build()
    })
}

/// GetJobRuns answers that the job has no runs.
pub fn no_past_runs() -> Rule {
    mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build())
}

/// GetJob answers that the job does not exist.
pub fn definition_not_found() -> Rule {
    mock!(Client::get_job)
        .sequence()
        .http_status(
            400,
            Some(
                serde_json::json!({"__type": "EntityNotFoundException",
                                   "Message": "Job not found"})
                .to_string(),
            ),
        )
        .repeatedly()
        .build()
}

/// GetJob answers with this definition.
pub fn get_job_rule(job: Job) -> Rule {
    mock!(Client::get_job).then_output(move || GetJobOutput::builder().job(job.clone()).build())
}

/// A CloudWatch Logs client whose answers are the rules'.
pub fn logs_client(rules: &[&Rule]) -> aws_sdk_cloudwatchlogs::Client {
    mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, rules)
}

/// CloudWatch Logs without the run's log group: what most runs in these tests meet.
pub fn no_log_group() -> Rule {
    aws_smithy_mocks::mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .http_status(
            400,
            Some(
                serde_json::json!({"__type": "ResourceNotFoundException",
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
