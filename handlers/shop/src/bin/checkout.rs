//! `POST /checkout`. Wiring only; logic in `shop::sales`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::bindings::checkout::Wiring;
use shop::deps;
use shop::{outbox, sales};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let c = sales::Checkout {
        pool: w.databases.stock.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?,
        // Published after commit; a slow SNS delays the answer by at most this, and the relay
        // publishes what it could not.
        publisher: outbox::Publisher::new(
            aws_sdk_sns::Client::new(&deps::bounded(&aws, Duration::from_secs(2))),
            &[&w.topics.out_of_stock, &w.topics.purchases],
        ),
    };
    let c = &c;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(sales::checkout(c, ev.payload).await)
    }))
    .await
}
