//! Stock request: SQS out-of-stock events -> Factory API orders. Wiring only; logic in
//! `shop::stock_request`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::bindings::stock_request::Wiring;
use shop::{deps, stock_request};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let s = stock_request::StockRequest {
        pool: w.databases.stock.connect(&secrets, 2).await?,
        http: deps::http_client(Duration::from_secs(5)),
        factory_url: w.endpoints.factory.url.clone(),
        api_url: w.api_url.clone(),
        callback_key: w.secrets.callback_key.value(&secrets).await?.into_bytes(),
        lease_seconds: 15,
    };
    // One record: the factory call (5 s) and a few statements.
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::for_queue(&aws, &w.queue);
    let backoff = &backoff;
    let s = &s;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(
            stock_request::handle(
                s,
                ev.payload,
                Budget::from_lambda(ev.context.deadline, per_record).with_backoff(backoff.clone()),
            )
            .await,
        )
    }))
    .await
}
