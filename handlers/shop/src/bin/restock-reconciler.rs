//! Restock reconciler (scheduled): asks again for restock orders past their deadline. Wiring
//! only; logic in `shop::reconcile`. A failed pass is an error, so Lambda's asynchronous
//! retries and then the function's DLQ see it.
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::{db, deps, reconcile, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let pool = db::connect(wiring::STOCK_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?;
    let pool = &pool;
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(reconcile::run(pool, 100).await?) })).await
}
