//! The wake: a park leaves the task token under the run; Glue's event for the run's end sends
//! that task its success once; everything else answers `woken: false` and calls nothing it
//! need not.

use aws_sdk_dynamodb::operation::delete_item::{
    DeleteItemError, DeleteItemInput, DeleteItemOutput,
};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
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

fn parked_under(run_id: &'static str, expires_at: i64) -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(move |r| {
            r.key().and_then(|k| k.get("runId")) == Some(&AttributeValue::S(run_id.to_owned()))
        })
        .then_output(move || {
            GetItemOutput::builder()
                .item("runId", AttributeValue::S(run_id.to_owned()))
                .item("taskToken", AttributeValue::S(TOKEN.to_owned()))
                .item("executionId", AttributeValue::S(EXECUTION_ARN.to_owned()))
                .item("expiresAt", AttributeValue::N(expires_at.to_string()))
                .build()
        })
}

fn nothing_parked() -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build())
}

fn removed() -> (Rule, Recorded<DeleteItemInput>) {
    recording(mock!(aws_sdk_dynamodb::Client::delete_item), |_| {
        DeleteItemOutput::builder().build()
    })
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
    let parked = parked_under("nightly-sales/jr_1", NOW_SECS + 60);
    let (delete, deletes) = removed();
    let (send, sent) = recording(
        mock!(aws_sdk_sfn::Client::send_task_success),
        |_: &SendTaskSuccessInput| SendTaskSuccessOutput::builder().build(),
    );
    let env = services(&[&get], &[&parked, &delete], &[&send], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "SUCCEEDED")).await;
    assert_eq!(answer["woken"], true, "{answer}");
    assert_eq!(answer["executionId"], EXECUTION_ARN);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].task_token(), Some(TOKEN));
    // The item goes, only if it still holds this token (a child's newer park stays).
    let deletes = deletes.lock().unwrap();
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].expression_attribute_values().unwrap()[":token"],
        AttributeValue::S(TOKEN.into())
    );
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
    let none_for_jr_2 = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("runId"))
                == Some(&AttributeValue::S("nightly-sales/jr_2".into()))
        })
        .then_output(|| GetItemOutput::builder().build());
    let parked = parked_under("nightly-sales/jr_1", NOW_SECS + 60);
    let (delete, _) = removed();
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let env = services(
        &[&get, &first],
        &[&none_for_jr_2, &parked, &delete],
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
async fn a_token_already_used_or_expired_wakes_nothing_and_is_removed() {
    let get = answers_run(ended("jr_1", None));
    let parked = parked_under("nightly-sales/jr_1", NOW_SECS + 60);
    let (delete, deletes) = removed();
    let timed_out = mock!(aws_sdk_sfn::Client::send_task_success).then_error(|| {
        SendTaskSuccessError::TaskTimedOut(
            aws_sdk_sfn::types::error::TaskTimedOut::builder()
                .message("Task Timed Out")
                .build(),
        )
    });
    let env = services(&[&get], &[&parked, &delete], &[&timed_out], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "FAILED")).await;
    assert_eq!(answer["woken"], false);
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("no longer waits"),
        "{answer}"
    );
    assert_eq!(deletes.lock().unwrap().len(), 1);
    // Past its time to live (DynamoDB removes expired items lazily): not sent at all.
    let stale = parked_under("nightly-sales/jr_1", NOW_SECS - 1);
    let (delete, deletes) = removed();
    let env = services(&[&get], &[&stale, &delete], &[], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "FAILED")).await;
    assert_eq!(answer["woken"], false);
    assert!(
        answer["reason"].as_str().unwrap().contains("expired"),
        "{answer}"
    );
    assert_eq!(deletes.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_newer_park_survives_an_older_wake_s_removal() {
    let get = answers_run(ended("jr_1", None));
    let parked = parked_under("nightly-sales/jr_1", NOW_SECS + 60);
    let replaced = mock!(aws_sdk_dynamodb::Client::delete_item).then_error(|| {
        DeleteItemError::ConditionalCheckFailedException(
            aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        )
    });
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let env = services(&[&get], &[&parked, &replaced], &[&send], wake_on());
    let answer = wake_of(&env, glue_event("nightly-sales", "jr_1", "SUCCEEDED")).await;
    assert_eq!(answer["woken"], true, "{answer}");
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
