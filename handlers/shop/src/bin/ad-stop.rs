//! Ad stop: SQS out-of-stock events -> ad manager email (SESv2). Wiring only; logic in
//! `shop::ad_stop`.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::batch::{Backoff, Budget};
use shop::deps::{self, env};
use shop::{ad_stop, db, wiring};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    // The identity is in the env for operators; SES checks the From address against it.
    let _identity = env(&contracts::email_identity(wiring::SHOP_EMAIL))?;
    let s = ad_stop::AdStop {
        pool: db::connect(wiring::STOCK_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?,
        ses: aws_sdk_sesv2::Client::new(&deps::bounded(&aws, Duration::from_secs(5))),
        from: env(&contracts::email_from(wiring::SHOP_EMAIL))?,
        configuration_set: env(&contracts::email_configuration_set(wiring::SHOP_EMAIL))?,
        lease: Duration::from_secs(15),
    };
    let per_record = Duration::from_secs(8);
    let backoff = Backoff::from_env(&aws)?;
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
