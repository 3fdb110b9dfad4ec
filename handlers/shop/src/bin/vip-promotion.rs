//! VIP promotion: SQS purchases -> customer DB + marketing system. Wiring only; logic in
//! `shop::vip`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::bindings::vip_promotion::Wiring;
use shop::{deps, vip};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let s = vip::Vip {
        pool: w.databases.customer.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?,
        http: deps::http_client(Duration::from_secs(5)),
        marketing_url: w.endpoints.marketing.url.clone(),
        lease: Duration::from_secs(15),
    };
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::for_queue(&aws, &w.queue);
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
