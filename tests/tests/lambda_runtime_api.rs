//! Each of the four real binaries invoked through the Lambda Runtime API that
//! `cargo lambda watch` serves, against the Glue stand-in: the `bootstrap` itself works, its
//! output is the contract's JSON, and a refused event comes back with the contract's errorType.

use polysync_glue_integration::{unique, Definition, LambdaWatch, StandIn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_four_binaries_answer_through_the_runtime_api() {
    let standin = StandIn::shared();
    let name = unique("runtime-api");
    let definition = Definition {
        default_arguments: vec![("--region_code".into(), "eu".into())],
        ..Definition::default()
    };
    standin.create_job(&name, definition).await;
    standin.script(
        &name,
        json!({"starting": 0.2, "running": 60, "stopping": 0.2}),
    );
    let watch = LambdaWatch::start(standin, &[("POLYSYNC_GLUE_VERSION", "4.0")]);
    let invoke = |function: &str, payload: serde_json::Value| watch.invoke(function, &payload);

    let discovered = invoke("polysync-glue-discover", json!({}));
    assert_eq!(discovered.status, 200, "{:?}", discovered.body);
    let jobs = discovered.body["jobs"].as_array().unwrap();
    let job = jobs
        .iter()
        .find(|job| job["externalId"] == name.as_str())
        .unwrap();
    assert_eq!(
        job["parameters"],
        json!([{"name": "region_code", "direction": "Input", "value": "eu"}])
    );

    let secret = "canary-5f1e0c";
    let started = invoke(
        "polysync-glue-start",
        json!({"job": {"externalId": name}, "parameters": [{"name": "token", "direction": "Input", "value": secret}],
               "executionId": "exec-runtime-api"}),
    );
    assert_eq!(started.status, 200, "{:?}", started.body);
    assert_eq!(started.body["status"], "Starting");
    assert_eq!(
        started.body["argumentKeys"],
        json!(["--token", "--glue-version", "--polysync-execution-id"]),
        "the platform default from the function's environment applies"
    );
    assert!(!started.body.to_string().contains(secret));
    let run_id = started.body["runId"].as_str().unwrap().to_owned();
    let wire = standin.requests("StartJobRun");
    let sent = wire
        .iter()
        .find(|body| body["JobName"] == name.as_str())
        .unwrap();
    assert_eq!(
        sent["Arguments"]["--token"], secret,
        "the value reaches Glue, and only Glue"
    );

    let polled = invoke("polysync-glue-poll", json!({ "runId": run_id }));
    assert_eq!(polled.status, 200, "{:?}", polled.body);
    assert_eq!(polled.body["runId"], run_id.as_str());
    assert_eq!(polled.body["terminal"], false);

    let cancelled = invoke("polysync-glue-cancel", json!({ "runId": run_id }));
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["stopRequested"], true);

    // cargo lambda watch answers a handler error with HTTP 500; the body is the error reply the
    // binary posted to the Runtime API.
    let refused = invoke(
        "polysync-glue-start",
        json!({"job": {"externalId": name}, "parameters": [{"name": "a=b", "direction": "Input", "value": 1}]}),
    );
    assert_eq!(refused.status, 500);
    assert_eq!(refused.body["errorType"], "Polysync.InvalidInput");
    assert!(refused.body["errorMessage"]
        .as_str()
        .unwrap()
        .starts_with("parameters[0].name"));

    let unknown = invoke(
        "polysync-glue-poll",
        json!({"runId": format!("{name}/jr_unknown")}),
    );
    assert_eq!(unknown.status, 500);
    assert_eq!(unknown.body["errorType"], "Glue.EntityNotFoundException");
}
