//! Stock arrival: the factory's authenticated callback. Wiring only; logic in
//! `shop::stock_arrival`.
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shop::bindings::stock_arrival::Wiring;
use shop::{deps, stock_arrival};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deps::init_tracing();
    let w = Wiring::from_env()?;
    let aws = deps::aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let s = stock_arrival::StockArrival {
        pool: w.databases.stock.connect(&secrets, 2).await?,
        callback_key: w.secrets.callback_key.value(&secrets).await?.into_bytes(),
    };
    let s = &s;
    run(service_fn(move |ev: LambdaEvent<ApiGatewayV2httpRequest>| async move {
        Ok::<_, Error>(stock_arrival::handle(s, ev.payload).await)
    }))
    .await
}
