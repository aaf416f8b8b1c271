//! The cancel function: a run by its id, the run of an ended execution by its tag, and what
//! it must never stop.

use aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunOutput;
use aws_sdk_glue::operation::get_job_run::GetJobRunOutput;
use aws_sdk_glue::operation::get_job_runs::GetJobRunsOutput;
use aws_sdk_glue::types::{
    BatchStopJobRunError, BatchStopJobRunSuccessfulSubmission, ErrorDetail, JobRun, JobRunState,
};
use aws_sdk_glue::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use polysync_glue::event::CancelOutput;
use polysync_glue::status::RunStatus;
use polysync_glue::{cancel, PolysyncError, Services};
use serde_json::{json, Value};

use crate::common::*;

fn get_run_sequence(states: &'static [JobRunState]) -> Rule {
    let mut sequence = mock!(Client::get_job_run).sequence();
    for state in states {
        sequence = sequence.output(move || {
            GetJobRunOutput::builder()
                .job_run(run("jr_1", state.clone()))
                .build()
        });
    }
    sequence.build()
}

/// Cancel of an ABORTED execution whose job lists `runs`, of which jr_1 is running and the only
/// one a stop is answered for: the answer, the stop's rule (to count) and the services.
async fn cancel_aborted_execution_of_jr_1(runs: &Rule) -> (CancelOutput, Rule, Services) {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env_of_ended_execution(&[runs, &get, &stop]);
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    (output, stop, env)
}

fn stop_refused(code: &'static str) -> Rule {
    mock!(Client::batch_stop_job_run).then_output(move || {
        BatchStopJobRunOutput::builder()
            .errors(
                BatchStopJobRunError::builder()
                    .job_name("nightly-sales")
                    .job_run_id("jr_1")
                    .error_detail(
                        ErrorDetail::builder()
                            .error_code(code)
                            .error_message("refused")
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn execution_event(status: &str) -> Value {
    json!({
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7",
            "name": "exec-7",
            "status": status,
            "input": json!({"job": {"externalId": "nightly-sales"}}).to_string()
        }
    })
}

fn execution_event_with_input(status: &str, input: Value) -> Value {
    let mut event = execution_event(status);
    event["detail"]["input"] = json!(input.to_string());
    event
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_run() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| {
            input.job_name() == Some("nightly-sales") && input.job_run_ids() == ["jr_1"]
        })
        .then_output(|| {
            BatchStopJobRunOutput::builder()
                .successful_submissions(
                    BatchStopJobRunSuccessfulSubmission::builder()
                        .job_name("nightly-sales")
                        .job_run_id("jr_1")
                        .build(),
                )
                .build()
        });
    let env = env(&[&get, &stop, &no_past_runs()]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert_eq!(stop.num_calls(), 1);
    assert!(output.stop_requested);
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    assert_eq!(output.status, RunStatus::Running);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
}

#[tokio::test(start_paused = true)]
async fn cancel_looks_for_a_retry_attempt_then_at_the_run_before_and_after_its_stop() {
    let no_attempt = no_past_runs();
    let running = get_run_sequence(&[JobRunState::Running]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let stopping = get_run_sequence(&[JobRunState::Stopping]);
    let env = env_in_order(&[&no_attempt, &running, &stop, &stopping]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(output.stop_requested);
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    let calls = [&no_attempt, &running, &stop, &stopping].map(|rule| rule.num_calls());
    assert_eq!(calls, [1, 1, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn cancel_of_a_finished_run_is_not_an_error() {
    let get = get_run_sequence(&[JobRunState::Succeeded]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&get, &stop, &no_past_runs()]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.status, RunStatus::Success);
    assert_eq!(stop.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn cancel_reads_the_errors_of_batch_stop_job_run() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Running]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop, &no_past_runs()]);
    let error = diagnostic(
        cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.InvalidInputException");
    assert!(error.error_message.contains("refused"));
}

#[tokio::test(start_paused = true)]
async fn a_run_that_ended_while_being_stopped_is_not_an_error() {
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Failed]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop, &no_past_runs()]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.status, RunStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn cancel_of_an_unknown_run_is_entity_not_found() {
    let get = mock!(Client::get_job_run)
        .sequence()
        .http_status(
            400,
            glue_error_body("EntityNotFoundException", "Job run jr_1 not found"),
        )
        .build();
    let env = env(&[&get, &no_past_runs()]);
    let error = diagnostic(
        cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(error.error_type, "Glue.EntityNotFoundException");
}

#[tokio::test(start_paused = true)]
async fn an_aborted_execution_finds_its_run_by_tag_and_stops_it() {
    let runs = mock!(Client::get_job_runs)
        .match_requests(|input| input.job_name() == Some("nightly-sales"))
        .then_output(|| {
            GetJobRunsOutput::builder()
                .job_runs(tagged_run("jr_other", "exec-7", JobRunState::Running))
                .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
                .build()
        });
    let (output, stop, env) = cancel_aborted_execution_of_jr_1(&runs).await;
    assert!(output.stop_requested);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop.num_calls(), 1);

    // One look for the tag, one for a newer Glue retry attempt of the run.
    assert_eq!(runs.num_calls(), 2);

    // A succeeded execution has nothing to stop and calls nothing.
    let output = cancel::handle(&env, event(execution_event("SUCCEEDED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(runs.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_run_already_stopping_is_not_an_error_for_a_second_cancel() {
    // Already STOPPING when looked at: no second stop is asked.
    let get = get_run_sequence(&[JobRunState::Stopping]);
    let stop = stop_refused("InvalidInputException");
    let env = env(&[&get, &stop, &no_past_runs()]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_1"})))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(output.glue_state.as_deref(), Some("STOPPING"));
    assert!(
        output.message.contains("already stopping"),
        "{}",
        output.message
    );
    assert_eq!(stop.num_calls(), 0);

    // Began stopping between the look and the stop: Glue refuses, and that is no error either.
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = stop_refused("InvalidInputException");
    let began_stopping = self::env(&[&get, &stop, &no_past_runs()]);
    let output = cancel::handle(
        &began_stopping,
        event(json!({"runId": "nightly-sales/jr_1"})),
    )
    .await
    .unwrap();
    assert!(!output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_execution_whose_input_was_left_out_is_read_with_describe_execution() {
    let described = mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(|input| {
            input.execution_arn()
                == Some("arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7")
        })
        .then_output(|| {
            aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput::builder()
                .execution_arn("arn:aws:states:us-east-1:123456789012:execution:glue-job:exec-7")
                .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:glue-job")
                .status(aws_sdk_sfn::types::ExecutionStatus::Aborted)
                .start_date(DateTime::from_secs(1_795_867_200))
                .input(json!({"job": {"externalId": "nightly-sales"}}).to_string())
                .build()
                .unwrap()
        });
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]).with_states(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &[&described]
    ));
    let mut event = execution_event("ABORTED");
    event["detail"]["input"] = Value::Null;
    event["detail"]["inputDetails"] = json!({"included": false});
    let output = cancel::handle(&env, self::event(event.clone()))
        .await
        .unwrap();
    assert_eq!(described.num_calls(), 1);
    assert!(output.stop_requested);
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));

    // Every status-change event carries the execution's ARN: without it, a clear error.
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("executionArn");
    match cancel::handle(&env, self::event(event)).await.unwrap_err() {
        PolysyncError::InvalidInput { field, .. } => assert_eq!(field, "detail.executionArn"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn executions_that_started_no_run_have_nothing_to_stop_and_say_why() {
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let env = self::env_of_ended_execution(&[&none]);
    // Start refused a misspelt attribute: cancel needs only the job's name.
    let refused = execution_event_with_input(
        "FAILED",
        json!({"job": {"externalId": "nightly-sales", "attributes": {"glueTimeoutMinute": 5}}}),
    );
    let output = cancel::handle(&env, event(refused)).await.unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("no run of Glue job nightly-sales"),
        "{}",
        output.message
    );
    assert_eq!(none.num_calls(), 1);

    // An input that names no job at all.
    for input in [
        json!({"job": "nightly-sales"}),
        json!([1, 2]),
        json!({"job": {"externalId": ""}}),
    ] {
        let output = cancel::handle(
            &env,
            event(execution_event_with_input("FAILED", input.clone())),
        )
        .await
        .unwrap();
        assert!(!output.stop_requested, "{input}");
        assert!(
            output.message.contains("names no Glue job"),
            "{}",
            output.message
        );
    }
    assert_eq!(none.num_calls(), 1, "nothing to look up without a job name");

    // A job that does not exist.
    let unknown = mock!(Client::get_job_runs)
        .sequence()
        .http_status(
            400,
            glue_error_body("EntityNotFoundException", "Job not found"),
        )
        .build();
    let unknown_job = self::env_of_ended_execution(&[&unknown]);
    let output = cancel::handle(&unknown_job, event(execution_event("FAILED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("does not exist"),
        "{}",
        output.message
    );
}

#[tokio::test(start_paused = true)]
async fn an_execution_aborted_during_start_is_looked_at_again_until_its_run_appears() {
    // The first look finds nothing: the start function is still waiting for StartJobRun.
    let runs = mock!(Client::get_job_runs)
        .sequence()
        .output(|| GetJobRunsOutput::builder().build())
        .output(|| {
            GetJobRunsOutput::builder()
                .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Starting))
                .build()
        })
        .build();
    let get = get_run_sequence(&[JobRunState::Starting, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = self::env_of_ended_execution(&[&runs, &get, &stop, &no_past_runs()]);
    let mut aborted = execution_event("ABORTED");
    aborted["detail"]["stopDate"] = json!(NOW_SECS * 1000);
    let output = cancel::handle(&env, event(aborted.clone())).await.unwrap();
    assert_eq!(runs.num_calls(), 2);
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);

    // Long after the abort no start can still be running: one look is enough.
    let none = mock!(Client::get_job_runs).then_output(|| GetJobRunsOutput::builder().build());
    let long_after = self::env_of_ended_execution(&[&none]);
    aborted["detail"]["stopDate"] = json!((NOW_SECS - 3600) * 1000);
    let output = cancel::handle(&long_after, event(aborted)).await.unwrap();
    assert!(!output.stop_requested);
    assert_eq!(none.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_only_the_run_of_its_own_execution_arn() {
    // Newest first: another stack's execution of the same name, an older caller's bare name,
    // then this execution's run.
    let other_stack = "arn:aws:states:us-east-1:123456789012:execution:dev-glue-job:exec-7";
    let runs = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_dev", other_stack, JobRunState::Running))
            .job_runs(tagged_run("jr_bare", "exec-7", JobRunState::Running))
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let (output, stop, _) = cancel_aborted_execution_of_jr_1(&runs).await;
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_run_started_after_the_start_window_belongs_to_a_later_attempt_and_is_kept() {
    let stopped_ms = 1_795_867_200_000_i64;
    // A redriven attempt of the execution made a new run under the same tag ten minutes later.
    let runs = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(started_at(
                tagged_run("jr_redriven", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 600,
            ))
            .build()
    });
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env_of_ended_execution(&[&runs, &stop]);
    let mut late = execution_event("ABORTED");
    late["detail"]["stopDate"] = json!(stopped_ms);
    let output = cancel::handle(&env, event(late.clone())).await.unwrap();
    assert!(!output.stop_requested, "{}", output.message);
    assert_eq!(stop.num_calls(), 0);

    // Its own run, started within the window, is stopped.
    let own = mock!(Client::get_job_runs).then_output(move || {
        GetJobRunsOutput::builder()
            .job_runs(started_at(
                tagged_run("jr_redriven", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 600,
            ))
            .job_runs(started_at(
                tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running),
                stopped_ms / 1000 + 30,
            ))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop_own = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = self::env_of_ended_execution(&[&own, &get, &stop_own]);
    let output = cancel::handle(&env, event(late)).await.unwrap();
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert_eq!(stop_own.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_execution_running_again_has_nothing_stopped_and_one_gone_is_taken_as_ended() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(tagged_run("jr_1", EXECUTION_ARN, JobRunState::Running))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop =
        mock!(Client::batch_stop_job_run).then_output(|| BatchStopJobRunOutput::builder().build());
    // Redriven since the event: running again, its run is followed and must live.
    let running = execution_described(aws_sdk_sfn::types::ExecutionStatus::Running);
    let env = env(&[&runs, &get, &stop]).with_states(states_client(&[&running]));
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert!(!output.stop_requested);
    assert!(
        output.message.contains("running again"),
        "{}",
        output.message
    );
    assert_eq!((runs.num_calls(), stop.num_calls()), (0, 0));

    // An execution that no longer exists ended as the event says.
    let gone = mock!(aws_sdk_sfn::Client::describe_execution)
        .sequence()
        .http_status(
            400,
            Some(
                json!({"__type": "ExecutionDoesNotExist", "message": "Execution Does Not Exist"})
                    .to_string(),
            ),
        )
        .build();
    let env = self::env(&[&runs, &get, &stop]).with_states(states_client(&[&gone]));
    let output = cancel::handle(&env, event(execution_event("ABORTED")))
        .await
        .unwrap();
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_the_newest_glue_retry_attempt_of_the_run_it_is_given() {
    let runs = mock!(Client::get_job_runs).then_output(|| {
        GetJobRunsOutput::builder()
            .job_runs(
                JobRun::builder()
                    .id("jr_1")
                    .job_run_state(JobRunState::Running)
                    .attempt(1)
                    .previous_run_id("jr_0")
                    .build(),
            )
            .job_runs(failed_run("jr_0", 0, None, 30))
            .build()
    });
    let get = get_run_sequence(&[JobRunState::Running, JobRunState::Stopping]);
    let stop = mock!(Client::batch_stop_job_run)
        .match_requests(|input| input.job_run_ids() == ["jr_1"])
        .then_output(|| BatchStopJobRunOutput::builder().build());
    let env = env(&[&runs, &get, &stop]);
    let output = cancel::handle(&env, event(json!({"runId": "nightly-sales/jr_0"})))
        .await
        .unwrap();
    assert_eq!(output.run_id.as_deref(), Some("nightly-sales/jr_1"));
    assert!(output.stop_requested);
    assert_eq!(stop.num_calls(), 1);
}
