//! The generated IAM enforced on this machine (#11): under `flowform-local dev` every AWS call
//! of a function passes the IAM gate, which holds it to that function's role statements.
//! - A copy of the donut shop whose checkout lost its `publishes: purchases` wire (but still
//!   finds the topic's ARN, as a handler with a hard-coded ARN would) sells, and its publish is
//!   refused as AWS would refuse it: the SDK sees `AuthorizationError`, the sale waits in the
//!   outbox, the gate records the denial.
//! - Each service the handlers use answers a call outside the role with the error code the
//!   SDK reports from AWS (SNS `AuthorizationError`, SQS `AccessDenied`, Secrets Manager and
//!   SES `AccessDeniedException`); an unknown key is refused; a granted call reaches moto.
//!
//! The unmodified donut shop runs end to end through the gate with no denial (e2e).

use aws_sdk_sqs::config::Credentials;
use serde_json::json;
use shop::schema;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::services::*;

/// SDK config that signs as `function` and calls `endpoint` (the gate).
async fn signed_as(endpoint: &str, function: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("ap-northeast-2"))
        .credentials_provider(Credentials::new(local::iam::access_key(function), "testing", None, None, "test"))
        .load()
        .await
}

fn code<E: aws_sdk_sqs::error::ProvideErrorMetadata>(r: Result<impl std::fmt::Debug, E>) -> String {
    match r {
        Ok(v) => panic!("allowed: {v:?}"),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_role_does_not_grant_fails_here_as_on_aws() {
    let alone = tests::alone().await;
    reset_moto(&alone);
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let sys = generator::build(&text).unwrap().systems.into_iter().find(|s| s.stage == "dev").unwrap();
    let provisioned = local::provision::up(&sys, &aws_alone(&alone).await).await.unwrap();
    let purchases = provisioned.topics["purchases"].clone();
    // The copy: checkout without the wire to `purchases`, still handed its ARN.
    let mut cut = sys.clone();
    let checkout = cut.functions.iter_mut().find(|f| f.name == "checkout").unwrap();
    checkout.publishes.retain(|t| t != "purchases");
    checkout.env.push((contracts::topic_arn("purchases"), purchases.clone()));
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logs.clone();
    let log: local::runtime::LogSink =
        Arc::new(move |who: &str, line: &str| sink.lock().unwrap().push(format!("[{who}] {line}")));
    let shop = LocalShop::start(&cut, provisioned.clone(), "iam", 10, log).await;
    let (dev, stock_db) = (&shop.dev, &shop.stock_db);

    let answer = reqwest::Client::new()
        .post(format!("{}/checkout", dev.http_url))
        .header("authorization", bearers(dev)("c-1001"))
        .json(&json!({ "sku": schema::SEED_SKU, "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200, "the sale commits; its event waits in the outbox");
    let refused = format!("donut-shop-dev-checkout sns:Publish {purchases}");
    for _ in 0..100 {
        if dev.denials().contains(&refused) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dev.denials().contains(&refused), "the gate let checkout publish without the wire: {:?}", dev.denials());
    let all = logs.lock().unwrap().join("\n");
    assert!(all.contains("AuthorizationError"), "the handler did not see AWS's error code:\n{all}");
    let waiting: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE topic = 'purchases' AND published_at IS NULL")
            .fetch_one(&stock_db.pool)
            .await
            .unwrap();
    assert_eq!(waiting, 1, "the refused event is kept for the relay (which holds the wire)");

    // Each protocol's refusal, as the SDK reports it. `product` reads a database only: it may
    // call no AWS API at all.
    let product = signed_as(&dev.aws_url, "product").await;
    let sns = aws_sdk_sns::Client::new(&product);
    assert_eq!(code(sns.publish().topic_arn(&purchases).message("{}").send().await), "AuthorizationError");
    let sqs = aws_sdk_sqs::Client::new(&product);
    let vip_url = &provisioned.queues["vip"].0;
    assert_eq!(code(sqs.send_message().queue_url(vip_url).message_body("{}").send().await), "AccessDenied");
    let callback_key = provisioned.secrets["callback_key"].clone();
    let sm = aws_sdk_secretsmanager::Client::new(&product);
    assert_eq!(code(sm.get_secret_value().secret_id(&callback_key).send().await), "AccessDeniedException");
    let ses = aws_sdk_sesv2::Client::new(&product);
    let email = ses
        .send_email()
        .from_email_address("ads@donut.example.com")
        .destination(aws_sdk_sesv2::types::Destination::builder().to_addresses("x@example.com").build())
        .content(
            aws_sdk_sesv2::types::EmailContent::builder()
                .raw(
                    aws_sdk_sesv2::types::RawMessage::builder()
                        .data(aws_sdk_sesv2::primitives::Blob::new("x"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(email), "AccessDeniedException");
    let stranger = signed_as(&dev.aws_url, "nobody").await;
    assert_eq!(
        code(aws_sdk_sns::Client::new(&stranger).publish().topic_arn(&purchases).message("{}").send().await),
        "AuthorizationError"
    );
    // What a role grants passes to moto: checkout may still publish out-of-stock events, and
    // stock-request read its secret.
    let out_of_stock = &provisioned.topics["out_of_stock"];
    let checkout = aws_sdk_sns::Client::new(&signed_as(&dev.aws_url, "checkout").await);
    checkout
        .publish()
        .topic_arn(out_of_stock)
        .message("{}")
        .send()
        .await
        .expect("checkout publishes out-of-stock events");
    let stock_request = aws_sdk_secretsmanager::Client::new(&signed_as(&dev.aws_url, "stock_request").await);
    stock_request.get_secret_value().secret_id(&callback_key).send().await.expect("stock-request reads its secret");
    // ...but not another topic, even in the same stack.
    assert_eq!(code(checkout.publish().topic_arn(&purchases).message("{}").send().await), "AuthorizationError");

    shop.stop().await;
}

/// Another system's topic under `flowform-local`: `up` makes a stand-in of the exporter's name
/// (tests/fixtures/shipping.yaml imports payments' `paid` and `refund_requests`), subscribes
/// the importer's queue to it with its filter, and the gate resolves the role statements'
/// `!ImportValue` to the stand-in: the publisher of the imported topic may publish to it, the
/// other function may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_topic_runs_locally_as_a_stand_in_of_the_exporters_name() {
    let alone = tests::alone().await;
    reset_moto(&alone);
    let b = tests::build_config(&tests::root().join("tests/fixtures/shipping.yaml")).unwrap();
    let sys = b.systems.into_iter().find(|s| s.stage == "dev").unwrap();
    let aws = aws_alone(&alone).await;
    let p = local::provision::up(&sys, &aws).await.unwrap();
    let paid = &p.topics["paid"];
    assert_eq!(paid, "arn:aws:sns:ap-northeast-2:123456789012:payments-dev-paid");
    let (sns, sqs) = (aws_sdk_sns::Client::new(&aws), aws_sdk_sqs::Client::new(&aws));
    for currency in ["EUR", "JPY"] {
        let attr = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(currency)
            .build()
            .unwrap();
        sns.publish()
            .topic_arn(paid)
            .message(format!("paid in {currency}"))
            .message_attributes("currency", attr)
            .send()
            .await
            .unwrap();
    }
    let (url, _) = &p.queues["to_ship"];
    let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<String> = got.messages().iter().filter_map(|m| m.body().map(str::to_string)).collect();
    assert_eq!(bodies.len(), 1, "the filter lets EUR through, not JPY: {bodies:?}");
    assert!(bodies[0].contains("paid in EUR"), "{bodies:?}");

    let view = generator::cfn::lower(&sys);
    let locals = local::locals::Locals::new(&sys, &p, &Default::default(), "ap-northeast-2");
    let roles = local::locals::roles(&sys, &view, &locals);
    let publish = local::iam::Call {
        action: "sns:Publish".into(),
        resources: vec![vec![p.topics["refund_requests"].clone()]],
        context: [("aws:SecureTransport".to_string(), "true".to_string())].into(),
    };
    let rules = |f: &str| &roles[&local::iam::access_key(f)].rules;
    assert_eq!(local::iam::decide(rules("ship"), &publish), Ok(()));
    assert!(local::iam::decide(rules("track"), &publish).is_err());
}
