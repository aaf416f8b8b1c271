//! The wake: a park leaves the task token under the run; Glue's event for the run's end sends
//! that task its success once; everything else answers `woken: false` and calls nothing it
//! need not.

use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_glue::types::{JobRun, JobRunState};
use aws_sdk_sfn::operation::send_task_success::{
    SendTaskSuccessError, SendTaskSuccessInput, SendTaskSuccessOutput,
};
use aws_smithy_mocks::{mock, Rule};
use polysync_glue::config::Config;
use polysync_glue::wake::{self, TOKEN_TTL_SECONDS};
use polysync_glue::Services;
use serde_json::{json, Value};

use crate::common::*;

const TABLE: &str = "stack-glue-wake";
const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAA-token";

fn wake_on() -> Config {
    Config {
        wake_table: Some(TABLE.to_owned()),
        job_name_prefix: "nightly-".to_owned(),
        ..Config::default()
    }
}

fn services(glue: &[&Rule], dynamodb: &[&Rule], states: &[&Rule], config: Config) -> Services {
    env_with(glue, config)
        .with_dynamodb(dynamodb_client(dynamodb))
        .with_states(states_client(states))
}

fn glue_event(job: &str, run: &str, state: &str) -> Value {
    json!({
        "version": "0", "id": "5c5f6b1e", "detail-type": "Glue Job State Change",
        "source": "aws.glue", "account": "123456789012", "time": "2026-11-28T12:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"jobName": job, "severity": "INFO", "state": state, "jobRunId": run,
                   "message": "Job run succeeded"}
    })
}

fn ended(id: &str, previous: Option<&str>) -> JobRun {
    JobRun::builder()
        .id(id)
        .job_name("nightly-sales")
        .job_run_state(JobRunState::Succeeded)
        .set_previous_run_id(previous.map(str::to_owned))
        .build()
}

/// The store's answer to a wake's take: the item left under `run_id`, deleted as it is read.
fn taken_from(run_id: &'static str, expires_at: i64) -> (Rule, Recorded<DeleteItemInput>) {
    recording(
        mock!(aws_sdk_dynamodb::Client::delete_item).match_requests(move |r| {
            r.key().and_then(|k| k.get("runId")) == Some(&AttributeValue::S(run_id.to_owned()))
        }),
        move |_| {
            DeleteItemOutput::builder()
                .attributes("runId", AttributeValue::S(run_id.to_owned()))
                .attributes("taskToken", AttributeValue::S(TOKEN.to_owned()))
                .attributes("executionId", AttributeValue::S(EXECUTION_ARN.to_owned()))
                .attributes("expiresAt", AttributeValue::N(expires_at.to_string()))
                .build()
        },
    )
}

/// Nothing under the key: DeleteItem answers without attributes.
fn nothing_parked() -> Rule {
    mock!(aws_sdk_dynamodb::Client::delete_item).then_output(|| DeleteItemOutput::builder().build())
}

async fn wake_of(env: &Services, payload: Value) -> Value {
    wake::handle(env, event(payload))
        .await
        .unwrap_or_else(|e| panic!("wake refused: {e}"))
}

#[tokio::test(start_paused = true)]
async fn a_park_leaves_the_token_under_the_run_with_a_time_to_live_and_no_argument() {
    let (put, puts) = recording(
        mock!(aws_sdk_dynamodb::Client::put_item),
        |_: &PutItemInput| PutItemOutput::builder().build(),
    );
    let env = services(&[], &[&put], &[], wake_on());
    let park = json!({"park": {"runId": "nightly-sales/jr_1", "taskToken": TOKEN, "executionId": EXECUTION_ARN}});
    assert_eq!(wake_of(&env, park).await, json!({"parked": true}));
    let puts = puts.lock().unwrap();
    let item = puts[0].item().unwrap();
    assert_eq!(puts[0].table_name(), Some(TABLE));
    assert_eq!(
        item["runId"],
        AttributeValue::S("nightly-sales/jr_1".into())
    );
    assert_eq!(item["taskToken"], AttributeValue::S(TOKEN.into()));
    assert_eq!(
        item["expiresAt"],
        AttributeValue::N((NOW_SECS + TOKEN_TTL_SECONDS).to_string())
    );
    let mut names: Vec<_> = item.keys().collect();
    names.sort();
    assert_eq!(names, ["executionId", "expiresAt", "runId", "taskToken"]);
}

#[tokio::test(start_paused = true)]
async fn a_park_while_the_wake_is_off_is_wake_off_and_a_bad_one_invalid_input() {
    let off = services(&[], &[], &[], Config::default());
    let park = json!({"park": {"runId": "nightly-sales/jr_1", "taskToken": TOKEN, "executionId": EXECUTION_ARN}});
    let error = wake::handle(&off, event(park)).await.unwrap_err();
    assert_eq!(error.error_type(), "Polysync.WakeOff");
    let on = services(&[], &[], &[], wake_on());
    for (park, field) in [
        (
            json!({"park": {"runId": "no-slash", "taskToken": TOKEN, "executionId": EXECUTION_ARN}}),
            "park.runId",
        ),
        (
            json!({"park": {"runId": "nightly-sales/jr_1", "taskToken": " ", "executionId": EXECUTION_ARN}}),
            "park.taskToken",
        ),
        (
            json!({"park": {"runId": "nightly-sales/jr_1", "executionId": EXECUTION_ARN}}),
            "park.taskToken",
        ),
    ] {
        let error = wake::handle(&on, event(park)).await.unwrap_err();
        assert_eq!(error.error_type(), "Polysync.InvalidInput");
        assert!(error.to_string().starts_with(field), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_event_of_an_ended_run_wakes_the_execution_that_follows_it_once() {
    let get = answers_run(ended("jr_1", None));
    let (taken, takes) = taken_from("nightly-sales/jr_1", NOW_SECS + 60);
    let (send, sent) = recording(
        mock!(aws_sdk_sfn::Client::send_task_success),
        |_: &SendTaskSuccessInput| SendTaskSuccessOutput::builder().build(),
    );
    let env = services(&[&get], &[&taken], &[&send], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "SUCCEEDED")).await;
    assert_eq!(answer["woken"], true, "{answer}");
    assert_eq!(answer["executionId"], EXECUTION_ARN);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].task_token(), Some(TOKEN));
    // The token is taken in one call, deleted as it is read: a second wake at once finds none.
    let takes = takes.lock().unwrap();
    assert_eq!(takes.len(), 1);
    assert_eq!(takes[0].table_name(), Some(TABLE));
    assert_eq!(takes[0].return_values(), Some(&ReturnValue::AllOld));
    assert_eq!(takes[0].condition_expression(), None);
}

#[tokio::test(start_paused = true)]
async fn a_retry_attempt_s_event_wakes_the_execution_that_follows_the_first_attempt() {
    let get = mock!(aws_sdk_glue::Client::get_job_run)
        .match_requests(|r| r.run_id() == Some("jr_2"))
        .then_output(|| {
            aws_sdk_glue::operation::get_job_run::GetJobRunOutput::builder()
                .job_run(ended("jr_2", Some("jr_1")))
                .build()
        });
    let first = mock!(aws_sdk_glue::Client::get_job_run)
        .match_requests(|r| r.run_id() == Some("jr_1"))
        .then_output(|| {
            aws_sdk_glue::operation::get_job_run::GetJobRunOutput::builder()
                .job_run(ended("jr_1", None))
                .build()
        });
    let none_for_jr_2 = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("runId"))
                == Some(&AttributeValue::S("nightly-sales/jr_2".into()))
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let (taken, _) = taken_from("nightly-sales/jr_1", NOW_SECS + 60);
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let env = services(
        &[&get, &first],
        &[&none_for_jr_2, &taken],
        &[&send],
        wake_on(),
    );
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_2", "SUCCEEDED")).await;
    assert_eq!(answer["woken"], true, "{answer}");
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_event_finds_nothing_to_wake_and_sends_nothing() {
    // No SendTaskSuccess rule: a call would fail the test.
    let get = answers_run(ended("jr_1", None));
    let nothing = nothing_parked();
    let env = services(&[&get], &[&nothing], &[], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "SUCCEEDED")).await;
    assert_eq!(answer["woken"], false);
    assert_eq!(
        answer["reason"],
        "no execution follows run nightly-sales/jr_1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_already_used_or_expired_wakes_nothing_and_is_not_put_back() {
    // No PutItem rule: putting the token back would fail the test.
    let get = answers_run(ended("jr_1", None));
    let (taken, _) = taken_from("nightly-sales/jr_1", NOW_SECS + 60);
    let timed_out = mock!(aws_sdk_sfn::Client::send_task_success).then_error(|| {
        SendTaskSuccessError::TaskTimedOut(
            aws_sdk_sfn::types::error::TaskTimedOut::builder()
                .message("Task Timed Out")
                .build(),
        )
    });
    let env = services(&[&get], &[&taken], &[&timed_out], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "FAILED")).await;
    assert_eq!(answer["woken"], false);
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("no longer waits"),
        "{answer}"
    );
    // Past its time to live (DynamoDB removes expired items lazily): not sent at all.
    let (stale, takes) = taken_from("nightly-sales/jr_1", NOW_SECS - 1);
    let env = services(&[&get], &[&stale], &[], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "FAILED")).await;
    assert_eq!(answer["woken"], false);
    assert!(
        answer["reason"].as_str().unwrap().contains("expired"),
        "{answer}"
    );
    assert_eq!(takes.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_passing_fault_of_the_send_puts_the_token_back_for_the_retry() {
    let get = answers_run(ended("jr_1", None));
    let (taken, _) = taken_from("nightly-sales/jr_1", NOW_SECS + 60);
    let throttled = mock!(aws_sdk_sfn::Client::send_task_success).then_error(|| {
        SendTaskSuccessError::KmsThrottlingException(
            aws_sdk_sfn::types::error::KmsThrottlingException::builder()
                .message("Rate exceeded")
                .build(),
        )
    });
    let (put_back, puts) = recording(
        mock!(aws_sdk_dynamodb::Client::put_item),
        |_: &PutItemInput| PutItemOutput::builder().build(),
    );
    let env = services(&[&get], &[&taken, &put_back], &[&throttled], wake_on());
    let error = wake::handle(
        &env,
        event(glue_event("nightly-sales", "jr_1", "SUCCEEDED")),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("SendTaskSuccess"), "{error}");
    let puts = puts.lock().unwrap();
    assert_eq!(puts.len(), 1);
    let item = puts[0].item().unwrap();
    assert_eq!(item["taskToken"], AttributeValue::S(TOKEN.into()));
    assert_eq!(
        item["expiresAt"],
        AttributeValue::N((NOW_SECS + 60).to_string())
    );
    // Only where no newer park has taken its place.
    assert_eq!(
        puts[0].condition_expression(),
        Some("attribute_not_exists(#run)")
    );
}

#[tokio::test(start_paused = true)]
async fn what_the_wake_leaves_alone_calls_nothing() {
    // No rule for any service: each answer must come without a call.
    let cases = [
        (
            wake_on(),
            glue_event("weekly-report", "jr_1", "SUCCEEDED"),
            "outside the job-name prefix",
        ),
        (
            wake_on(),
            glue_event("nightly-sales", "jr_1", "RUNNING"),
            "does not end a run",
        ),
        (
            Config::default(),
            glue_event("nightly-sales", "jr_1", "SUCCEEDED"),
            "the wake is off",
        ),
    ];
    for (config, payload, reason) in cases {
        let env = services(&[], &[], &[], config);
        let answer = wake_of(&env, payload).await;
        assert_eq!(answer["woken"], false);
        assert!(
            answer["reason"].as_str().unwrap().contains(reason),
            "{answer}"
        );
    }
    // Glue says the run is still going (an event out of order): the store is not read.
    let running = answers_run(run("jr_1", JobRunState::Running));
    let env = services(&[&running], &[], &[], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "SUCCEEDED")).await;
    assert!(
        answer["reason"].as_str().unwrap().contains("not over"),
        "{answer}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_of_another_kind_is_invalid_input() {
    let env = services(&[], &[], &[], wake_on());
    let mut other = glue_event("nightly-sales", "jr_1", "SUCCEEDED");
    other["detail-type"] = json!("Glue Data Catalog Table State Change");
    let error = wake::handle(&env, event(other)).await.unwrap_err();
    assert_eq!(error.error_type(), "Polysync.InvalidInput");
    let error = wake::handle(&env, event(json!({"detail": {}})))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Polysync.InvalidInput");
}
