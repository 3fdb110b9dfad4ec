//! Restock reconciler (scheduled): asks again for restock orders past their deadline. Wiring
//! only; logic in `shop::reconcile`. A failed pass is an error, so Lambda's asynchronous
//! retries and then the function's DLQ see it.
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::bindings::restock_reconciler::Wiring;
use shop::{deps, reconcile};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let pool = w.databases.stock.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?;
    let pool = &pool;
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let report = reconcile::run(pool, 100).await?;
        shop::metrics::emit(&[
            ("RestockReordered", report.reordered as f64, "Count"),
            ("RestockOpen", report.open as f64, "Count"),
            ("RestockStuck", report.stuck.len() as f64, "Count"),
        ]);
        if !report.stuck.is_empty() {
            // Fail the run so the function's DLQ alarm tells a person.
            return Err(Error::from(format!(
                "restock orders asked for {} times without a delivery: {}",
                reconcile::STUCK_AFTER,
                report.stuck.join(", ")
            )));
        }
        Ok::<_, Error>(report)
    }))
    .await
}
