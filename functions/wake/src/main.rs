use lambda_runtime::{service_fn, Error, LambdaEvent};
use polysync_glue::{wake, LazyServices};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LazyServices::from_environment()?;
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        wake::handle(env.get().await, event).await
    }))
    .await
}
