//! `POST /checkout`. Wiring only; logic in `shop::sales`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::deps;
use shop::{db, outbox, sales, wiring};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let c = sales::Checkout {
        pool: db::connect(wiring::STOCK_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?,
        // Published after commit; a slow SNS delays the answer by at most this, and the relay
        // publishes what it could not.
        publisher: outbox::Publisher::from_env(
            aws_sdk_sns::Client::new(&deps::bounded(&aws, Duration::from_secs(2))),
            &[wiring::OUT_OF_STOCK, wiring::PURCHASES],
        )?,
    };
    let c = &c;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(sales::checkout(c, ev.payload).await)
    }))
    .await
}
