//! What any function that calls Glue through the AWS SDK for Rust costs: lambda_runtime's hello
//! world plus one GetJobRun an event, with the SDK's default client built on the first
//! invocation (as ours is) and nothing of Polysync's. Against hello world it is the SDK's
//! floor; against it, our functions show what their own code adds (BENCHMARKS.md).
use aws_config::BehaviorVersion;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let glue = OnceCell::new();
    let glue = &glue;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let glue = glue
            .get_or_init(|| async {
                aws_sdk_glue::Client::new(
                    &aws_config::load_defaults(BehaviorVersion::latest()).await,
                )
            })
            .await;
        // The poll function's event: {"runId": "job/run"}.
        let run_id = event.payload["runId"].as_str().ok_or("runId is missing")?;
        let (job, run) = run_id.split_once('/').ok_or("runId is not job/run")?;
        let answer = glue.get_job_run().job_name(job).run_id(run).send().await?;
        let state = answer.job_run().and_then(|run| run.job_run_state());
        Ok::<Value, Error>(json!({ "state": state.map(|state| state.as_str()) }))
    }))
    .await
}
