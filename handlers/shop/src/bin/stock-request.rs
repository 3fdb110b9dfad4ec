//! Stock request: SQS out-of-stock events -> Factory API orders. Wiring only; logic in
//! `shop::stock_request`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::deps::{self, env};
use shop::{db, stock_request, wiring};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let s = stock_request::StockRequest {
        pool: db::connect(wiring::STOCK_DB, Some(&secrets), 2).await?,
        http: deps::http_client(Duration::from_secs(5)),
        factory_url: env(&contracts::endpoint_url(wiring::FACTORY))?,
        api_url: env(contracts::HTTP_API_URL)?,
        callback_key: deps::secret(&secrets, &env(&contracts::secret_arn(wiring::CALLBACK_KEY))?).await?.into_bytes(),
        lease_seconds: 15,
    };
    // One record: the factory call (5 s) and a few statements.
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::from_env(&aws)?;
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
