//! `GET /product/donut`. Wiring only; logic in `shop::sales`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::{db, deps, sales, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let pool = db::connect(wiring::STOCK_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?;
    let pool = &pool;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(sales::product(pool, ev.payload).await)
    }))
    .await
}
