//! Ad stop: SQS out-of-stock events -> ad manager email (SESv2). Wiring only; logic in
//! `shop::ad_stop`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::bindings::ad_stop::Wiring;
use shop::{ad_stop, deps};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    // The identity is read too (for operators); SES checks the From address against it.
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let s = ad_stop::AdStop {
        pool: w.databases.stock.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?,
        ses: aws_sdk_sesv2::Client::new(&deps::bounded(&aws, Duration::from_secs(5))),
        from: w.emails.shop.from.clone(),
        configuration_set: w.emails.shop.configuration_set.clone(),
        lease: Duration::from_secs(15),
    };
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::for_queue(&aws, &w.queue);
    let backoff = &backoff;
    let s = &s;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(
            ad_stop::handle(
                s,
                ev.payload,
                Budget::from_lambda(ev.context.deadline, per_record).with_backoff(backoff.clone()),
            )
            .await,
        )
    }))
    .await
}
