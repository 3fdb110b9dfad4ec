//! VIP promotion: SQS purchases -> customer DB + marketing system. Wiring only; logic in
//! `shop::vip`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::deps::{self, env};
use shop::{db, vip, wiring};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let s = vip::Vip {
        pool: db::connect(wiring::CUSTOMER_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?,
        http: deps::http_client(Duration::from_secs(5)),
        marketing_url: env(&contracts::endpoint_url(wiring::MARKETING))?,
        lease: Duration::from_secs(15),
    };
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::from_env(&aws)?;
    let backoff = &backoff;
    let s = &s;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(
            vip::handle(
                s,
                ev.payload,
                Budget::from_lambda(ev.context.deadline, per_record).with_backoff(backoff.clone()),
            )
            .await,
        )
    }))
    .await
}
