//! A corpus of malformed events: each gets a typed error that names the field it broke, and
//! none reaches Glue (the mocked client has no rule, so any Glue call would fail the test).

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use polysync_glue::{cancel, discover, poll, start, Services};
use serde_json::{json, Value};

fn env() -> Services {
    crate::common::env(&[])
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn job(extra: Value) -> Value {
    let mut event = json!({"job": {"externalId": "nightly-sales"}});
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    event
}

fn attribute(name: &str, value: Value) -> (Value, String) {
    (
        json!({"job": {"externalId": "j", "attributes": {name: value}}}),
        format!("job.attributes.{name}"),
    )
}

fn parameter(parameter: Value, field: &str) -> (Value, String) {
    (
        job(json!({"parameters": [{"name": "ok", "direction": "Input", "value": 1}, parameter]})),
        format!("parameters[1].{field}"),
    )
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| json!([inner]))
}

/// (event, the field the error must name).
fn start_corpus() -> Vec<(Value, String)> {
    let mut corpus: Vec<(Value, String)> = vec![
        (json!(null), "event".into()),
        (json!("nightly-sales"), "event".into()),
        (json!(42), "event".into()),
        (json!(true), "event".into()),
        (json!({}), "job".into()),
        (json!({"job": null}), "job".into()),
        (json!({"job": "nightly-sales"}), "job".into()),
        (json!({"job": []}), "job".into()),
        (json!({"job": {}}), "job.externalId".into()),
        (
            json!({"job": {"externalId": null}}),
            "job.externalId".into(),
        ),
        (json!({"job": {"externalId": 7}}), "job.externalId".into()),
        (
            json!({"job": {"externalId": ["a"]}}),
            "job.externalId".into(),
        ),
        (json!({"job": {"externalId": ""}}), "job.externalId".into()),
        (
            json!({"job": {"externalId": "   "}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "a\nb"}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "a\u{0}b"}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "a\u{1b}[31m"}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "é".repeat(256)}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "x".repeat(1_000_000)}}),
            "job.externalId".into(),
        ),
        (
            json!({"job": {"externalId": "j", "jobType": "AWS Glue"}}),
            "job.jobType".into(),
        ),
        (
            json!({"job": {"externalId": "j", "jobType": "aws glue job"}}),
            "job.jobType".into(),
        ),
        (
            json!({"job": {"externalId": "j", "jobType": 1}}),
            "job.jobType".into(),
        ),
        (
            json!({"job": {"externalId": "j", "attributes": []}}),
            "job.attributes".into(),
        ),
        (
            json!({"job": {"externalId": "j", "attributes": "G.1X"}}),
            "job.attributes".into(),
        ),
        (
            json!({"job": {"externalId": "j", "attributes": {"glueWorkers": 2}}}),
            "job.attributes.glueWorkers".into(),
        ),
        attribute("glueWorkerType", json!("G.3X")),
        attribute("glueWorkerType", json!("g.1x")),
        attribute("glueWorkerType", json!(1)),
        attribute("glueWorkerType", json!("G.1X\u{200b}")),
        attribute("glueNumberOfWorkers", json!(0)),
        attribute("glueNumberOfWorkers", json!(-4)),
        attribute("glueNumberOfWorkers", json!(2.5)),
        attribute("glueNumberOfWorkers", json!("2.5")),
        attribute("glueNumberOfWorkers", json!("")),
        attribute("glueNumberOfWorkers", json!("٣")),
        attribute("glueNumberOfWorkers", json!(1e300)),
        attribute("glueNumberOfWorkers", json!(u64::MAX)),
        attribute("glueNumberOfWorkers", json!({"n": 2})),
        attribute("glueVersion", json!("")),
        attribute("glueVersion", json!(4.0)),
        attribute("glueVersion", json!("4.0\r")),
        attribute("glueTimeoutMinutes", json!(0)),
        attribute("glueTimeoutMinutes", json!(10_081)),
        attribute("glueTimeoutMinutes", json!("forever")),
        attribute("glueMaxRetries", json!(-1)),
        attribute("glueMaxRetries", json!("one")),
        attribute("glueMaxRetries", json!([1])),
        (
            job(json!({"parameters": {"name": "a"}})),
            "parameters".into(),
        ),
        (job(json!({"parameters": "a=b"})), "parameters".into()),
        (job(json!({"parameters": [null]})), "parameters[0]".into()),
        (job(json!({"parameters": ["a"]})), "parameters[0]".into()),
        parameter(json!({"direction": "Input", "value": 1}), "name"),
        parameter(json!({"name": 5, "direction": "Input"}), "name"),
        parameter(
            json!({"name": "", "direction": "Input", "value": 1}),
            "name",
        ),
        parameter(
            json!({"name": "run date", "direction": "Input", "value": 1}),
            "name",
        ),
        parameter(
            json!({"name": "run\u{2028}date", "direction": "Input", "value": 1}),
            "name",
        ),
        parameter(
            json!({"name": "run\u{7f}", "direction": "Input", "value": 1}),
            "name",
        ),
        parameter(
            json!({"name": "password=hunter2", "direction": "Input", "value": 1}),
            "name",
        ),
        parameter(
            json!({"name": "--ok", "direction": "Input", "value": 2}),
            "name",
        ),
        parameter(
            json!({"name": "--glue-version", "direction": "Input", "value": "4.0"}),
            "name",
        ),
        parameter(
            json!({"name": "polysync-execution-id", "direction": "Input", "value": "x"}),
            "name",
        ),
        parameter(json!({"name": "a"}), "direction"),
        parameter(json!({"name": "a", "direction": "in"}), "direction"),
        parameter(json!({"name": "a", "direction": "INPUT"}), "direction"),
        parameter(json!({"name": "a", "direction": null}), "direction"),
        parameter(
            json!({"name": "a", "direction": "Input", "value": "v".repeat(200_000)}),
            "",
        ),
        (job(json!({"executionId": ""})), "executionId".into()),
        (job(json!({"executionId": 12})), "executionId".into()),
        (job(json!({"executionId": "x\ny"})), "executionId".into()),
        (
            job(json!({"executionId": "e".repeat(300)})),
            "executionId".into(),
        ),
        (job(json!({"retryCount": -1})), "retryCount".into()),
        (job(json!({"retryCount": "1"})), "retryCount".into()),
        (job(json!({"retryCount": 1.5})), "retryCount".into()),
        (
            job(
                json!({"parameters": [{"name": "deep", "direction": "Input", "value": nested(100)}], "retryCount": "x"}),
            ),
            "retryCount".into(),
        ),
    ];
    // The size refusal names the whole list.
    for (_, field) in corpus.iter_mut() {
        if field == "parameters[1]." {
            *field = "parameters".into();
        }
    }
    corpus
}

#[tokio::test(start_paused = true)]
async fn every_malformed_start_event_is_refused_naming_its_field() {
    let env = env();
    let corpus = start_corpus();
    assert!(corpus.len() >= 50, "the corpus has {} events", corpus.len());
    for (payload, field) in corpus {
        let shown: String = payload.to_string().chars().take(120).collect();
        let error: Diagnostic = start::handle(&env, event(payload))
            .await
            .unwrap_err()
            .into();
        assert_eq!(
            error.error_type, "Polysync.InvalidInput",
            "{shown}: {}",
            error.error_message
        );
        // Exactly the field: a child of it would be a different rule.
        assert!(
            error.error_message.starts_with(&format!("{field}: ")),
            "{shown} should name {field}: {}",
            error.error_message
        );
        assert!(
            !error.error_message.contains("hunter2"),
            "never echo what follows '='"
        );
        assert!(
            error.error_message.len() < 2_000,
            "{shown}: the message stays short"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_code_loading_argument_is_forbidden() {
    let env = env();
    for key in polysync_glue::arguments::CODE_LOADING_KEYS {
        let payload = job(
            json!({"parameters": [{"name": key, "direction": "Input", "value": "s3://bucket/x"}]}),
        );
        let error: Diagnostic = start::handle(&env, event(payload))
            .await
            .unwrap_err()
            .into();
        assert_eq!(error.error_type, "Polysync.ForbiddenArgument", "{key}");
        assert!(
            error.error_message.starts_with("parameters[0].name: "),
            "{key}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_poll_cancel_and_discover_events_are_refused() {
    let env = env();
    let poll_cases = [
        json!({}),
        json!({"runId": null}),
        json!({"runId": 1}),
        json!({"runId": ""}),
        json!({"runId": "jr_only"}),
        json!({"runId": "job/"}),
        json!({"runId": "/jr_1"}),
        json!([]),
    ];
    for payload in poll_cases {
        let error: Diagnostic = poll::handle(&env, event(payload.clone()))
            .await
            .unwrap_err()
            .into();
        assert_eq!(error.error_type, "Polysync.InvalidInput", "{payload}");
    }
    let cancel_cases = [
        (json!({}), "event"),
        (json!({"runId": "nope"}), "runId"),
        (
            json!({"detail": {"status": "ABORTED"}}),
            "detail.executionArn",
        ),
        (
            json!({"detail": {"executionArn": "arn:e", "status": "ABORTED"}}),
            "detail.name",
        ),
        (
            json!({"detail": {"executionArn": "arn:e", "name": "e", "status": "ABORTED",
                              "input": "{not json"}}),
            "detail.input",
        ),
    ];
    for (payload, field) in cancel_cases {
        let error: Diagnostic = cancel::handle(&env, event(payload.clone()))
            .await
            .unwrap_err()
            .into();
        assert_eq!(error.error_type, "Polysync.InvalidInput", "{payload}");
        assert!(
            error.error_message.starts_with(&format!("{field}: ")),
            "{payload}: {}",
            error.error_message
        );
    }
    // An input that names no job is no error: nothing was started, so nothing is to stop.
    let no_job = json!({"detail": {"executionArn": "arn:e", "name": "e", "status": "TIMED_OUT",
                                   "input": "{}"}});
    let output = cancel::handle(&env, event(no_job)).await.unwrap();
    assert!(!output.stop_requested);
    for payload in [
        json!({"nextToken": 5}),
        json!({"nextToken": "%%%"}),
        json!("page-2"),
    ] {
        let error: Diagnostic = discover::handle(&env, event(payload.clone()))
            .await
            .unwrap_err()
            .into();
        assert_eq!(error.error_type, "Polysync.InvalidInput", "{payload}");
    }
}
