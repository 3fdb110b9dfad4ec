//! Stock arrival: the factory's authenticated callback. Wiring only; logic in
//! `shop::stock_arrival`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::deps::{self, env};
use shop::{db, stock_arrival, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let aws = deps::aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let s = stock_arrival::StockArrival {
        pool: db::connect(wiring::STOCK_DB, Some(&secrets), 2).await?,
        callback_key: deps::secret(&secrets, &env(&contracts::secret_arn(wiring::CALLBACK_KEY))?).await?.into_bytes(),
    };
    let s = &s;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(stock_arrival::handle(s, ev.payload).await)
    }))
    .await
}
