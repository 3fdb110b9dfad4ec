//! Outbox relay (scheduled): publishes the outbox events that were not published right after
//! their commit (SNS was slow or down, the function died in between). Wiring only; logic in
//! `shop::outbox::relay`. A failed pass (database unreachable) is an error, so Lambda's
//! asynchronous retries and then the function's DLQ see it.
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::bindings::outbox_relay::Wiring;
use shop::deps;
use shop::outbox;
use std::time::{Duration, Instant};

/// Rows younger than this are left to the fast path (its SNS calls are bounded at 2 s).
const GRACE: Duration = Duration::from_secs(10);
/// A claimed row is not retried before this; longer than a pass's publishes can take.
const LEASE: Duration = Duration::from_secs(30);
const BATCH: u32 = 200;
/// A backlog older than this fails the run (and so raises the function's DLQ alarm).
const BACKLOG_LIMIT: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let pool = w.databases.stock.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?;
    let publisher = outbox::Publisher::new(
        aws_sdk_sns::Client::new(&deps::bounded(&aws, Duration::from_secs(2))),
        &[&w.topics.out_of_stock, &w.topics.purchases],
    );
    let (pool, publisher) = (&pool, &publisher);
    run(service_fn(move |ev: LambdaEvent<serde_json::Value>| async move {
        let deadline = shop::batch::Budget::from_lambda(ev.context.deadline, LEASE);
        let started = Instant::now();
        let mut total = outbox::RelayReport::default();
        // Passes until the backlog is gone or the next pass might not fit in the invocation.
        loop {
            let r = outbox::relay(pool, publisher, GRACE, LEASE, BATCH).await?;
            total.claimed += r.claimed;
            total.published += r.published;
            total.failed += r.failed;
            total.oldest_unpublished_ms = r.oldest_unpublished_ms;
            if r.claimed < BATCH as usize || r.failed > 0 || !deadline.fits_one_more() {
                break;
            }
        }
        tracing::info!(
            published = total.published,
            failed = total.failed,
            oldest_unpublished_ms = total.oldest_unpublished_ms,
            ms = started.elapsed().as_millis() as u64,
            "relay pass"
        );
        shop::metrics::emit(&[
            ("OutboxPublished", total.published as f64, "Count"),
            ("OutboxPublishFailed", total.failed as f64, "Count"),
            ("OutboxOldestUnpublishedMs", total.oldest_unpublished_ms as f64, "Milliseconds"),
        ]);
        total.check_backlog(BACKLOG_LIMIT)?;
        Ok::<_, Error>(total)
    }))
    .await
}
