//! `GET /product/donut`. Wiring only; logic in `shop::sales`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::bindings::product::Wiring;
use shop::{deps, sales};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let pool = w.databases.stock.connect(&aws_sdk_secretsmanager::Client::new(&aws), 2).await?;
    let pool = &pool;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(sales::product(pool, ev.payload).await)
    }))
    .await
}
