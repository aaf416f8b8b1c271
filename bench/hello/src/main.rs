//! Hello world on lambda_runtime, as its own examples write it: the baseline our functions'
//! cold start is measured against.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(json!({ "hello": event.payload }))
    }))
    .await
}
