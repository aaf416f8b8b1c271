use lambda_runtime::{service_fn, Error, LambdaEvent};
use polysync_glue::{poll, Env};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::from_environment().await?;
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        poll::handle(env, event)
    }))
    .await
}
