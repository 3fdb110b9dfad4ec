//! `POST /checkout`. Wiring only; logic in `shop::sales`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::deps::{self, env};
use shop::{db, sales, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let c = sales::Checkout {
        pool: db::connect(wiring::STOCK_DB, Some(&aws_sdk_secretsmanager::Client::new(&aws)), 2).await?,
        sns: aws_sdk_sns::Client::new(&aws),
        out_of_stock_arn: env(&contracts::topic_arn(wiring::OUT_OF_STOCK))?,
        purchases_arn: env(&contracts::topic_arn(wiring::PURCHASES))?,
    };
    let c = &c;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move { Ok::<_, Error>(sales::checkout(c, ev.payload).await) })).await
}
