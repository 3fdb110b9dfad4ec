//! The donut shop's handlers in process, against real services: MariaDB (a fresh database per
//! test), moto (SNS, SQS, SESv2) and the factory and marketing stand-ins over loopback.
//! Events are built from recorded fixtures (SNS envelopes in SQS records, API Gateway v2).

use serde_json::{json, Value as Json};
use shop::events::{OutOfStock, Purchase};
use shop::schema;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tests::services::*;

async fn stock_db(stock: i64) -> TestDb {
    let db = fresh_db("stock", 40).await;
    schema::migrate(&db.pool, schema::STOCK).await.unwrap();
    schema::seed_stock(&db.pool, stock, "http://factory.invalid").await.unwrap();
    db
}

async fn scalar(pool: &sqlx::MySqlPool, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(pool).await.unwrap().get::<i64, _>(0)
}

async fn checkout_deps(db: &TestDb, aws: &aws_config::SdkConfig) -> (shop::sales::Checkout, Capture, Capture) {
    let oos = Capture::new(aws, "oos").await;
    let purchases = Capture::new(aws, "purchases").await;
    let c = shop::sales::Checkout {
        pool: db.pool.clone(),
        sns: aws_sdk_sns::Client::new(aws),
        out_of_stock_arn: oos.topic_arn.clone(),
        purchases_arn: purchases.topic_arn.clone(),
    };
    (c, oos, purchases)
}

fn checkout_body(qty: i64, customer: &str) -> String {
    json!({ "sku": schema::SEED_SKU, "quantity": qty, "customer": customer }).to_string()
}

fn envelope_message(body: &str) -> (Json, Json) {
    let env: Json = serde_json::from_str(body).unwrap();
    (serde_json::from_str(env["Message"].as_str().unwrap()).unwrap(), env["MessageAttributes"].clone())
}

#[tokio::test]
async fn product_and_checkout_answer_and_publish() {
    let aws = aws().await;
    let db = stock_db(3).await;
    let (c, oos, purchases) = checkout_deps(&db, &aws).await;

    let r = shop::sales::product(&db.pool, http_event("GET", "/product/donut", "", None)).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let p: Json = serde_json::from_str(&r.body).unwrap();
    assert_eq!((p["sku"].as_str(), p["name"].as_str(), p["price"].as_i64(), p["stock"].as_i64()), (Some("CP-502101"), Some("부산도너츠"), Some(19900), Some(3)));
    assert_eq!(shop::sales::product(&db.pool, http_event("GET", "/product/donut", "sku=NOPE", None)).await.status_code, 400);
    assert_eq!(shop::sales::product(&db.pool, http_event("GET", "/other", "", None)).await.status_code, 404);

    let r = shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&checkout_body(1, "c-1001")))).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let bought = purchases.drain().await;
    assert_eq!(bought.len(), 1);
    let (msg, attrs) = envelope_message(&bought[0]);
    assert_eq!(msg["quantity"], 1);
    assert_eq!(attrs["quantity"], json!({ "Type": "Number", "Value": "1" }), "quantity must be a Number attribute for the VIP filter");

    // 2 left, 5 wanted: 409, and the restock cycle opens with one event.
    for _ in 0..3 {
        let r = shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&checkout_body(5, "c-1002")))).await;
        assert_eq!(r.status_code, 409, "{}", r.body);
        assert!(r.body.contains("out_of_stock"));
    }
    let events = oos.drain().await;
    assert_eq!(events.len(), 1, "one out-of-stock event per restock cycle");
    let (msg, attrs) = envelope_message(&events[0]);
    assert_eq!(msg["sku"], "CP-502101");
    assert_eq!(msg["count"], 10, "reorder quantity of the seed product");
    for a in ["MessageAttributeProductId", "MessageAttributeFactoryId", "MessageAttributeProductCnt", "MessageAttributeRequester"] {
        assert!(attrs.get(a).is_some(), "attribute {a} missing: {attrs}");
    }
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 2, "a refused checkout changes nothing");
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order").await, 1);

    for bad in ["{}", "not json", r#"{"sku":"CP-502101","quantity":0,"customer":"c"}"#] {
        assert_eq!(shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(bad))).await.status_code, 400, "{bad}");
    }
    let r = shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&json!({"sku":"NOPE","quantity":1,"customer":"c"}).to_string()))).await;
    assert_eq!(r.status_code, 404);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checkouts_sell_exactly_the_stock_and_order_once() {
    let aws = aws().await;
    let db = stock_db(100).await;
    let (c, oos, purchases) = checkout_deps(&db, &aws).await;
    let c = Arc::new(c);
    let mut tasks = Vec::new();
    for i in 0..500 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&checkout_body(1, &format!("c-{i}"))))).await.status_code
        }));
    }
    let mut codes = std::collections::BTreeMap::new();
    for t in tasks {
        *codes.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(codes, std::collections::BTreeMap::from([(200u16, 100), (409u16, 400)]), "exactly the stock is sold");
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 0);
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order").await, 1, "one factory order for the cycle");
    assert_eq!(oos.drain().await.len(), 1, "one out-of-stock event");
    assert_eq!(purchases.drain().await.len(), 100, "one purchase event per sale");
    db.drop_db().await;
}

/// Opens a restock cycle through checkout and returns the out-of-stock envelope SNS delivered.
async fn open_cycle(db: &TestDb, aws: &aws_config::SdkConfig) -> (String, OutOfStock) {
    let (c, oos, _) = checkout_deps(db, aws).await;
    let r = shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&checkout_body(1, "c-1001")))).await;
    assert_eq!(r.status_code, 409);
    let body = oos.drain().await.pop().expect("an out-of-stock event");
    let (msg, _) = envelope_message(&body);
    (body, serde_json::from_value(msg).unwrap())
}

fn stock_request(db: &TestDb, factory: &str, api: &str, timeout: Duration) -> shop::stock_request::StockRequest {
    shop::stock_request::StockRequest {
        pool: db.pool.clone(),
        http: shop::deps::http_client(timeout),
        factory_url: factory.to_string(),
        api_url: api.to_string(),
        callback_key: b"test-callback-key".to_vec(),
        lease_seconds: 15,
    }
}

async fn order_status(db: &TestDb, id: &str) -> String {
    sqlx::query("SELECT status FROM restock_order WHERE order_id = ?").bind(id).fetch_one(&db.pool).await.unwrap().get("status")
}

#[tokio::test]
async fn stock_request_orders_once_and_classifies_failures() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (envelope, ev) = open_cycle(&db, &aws).await;
    let factory = standins::factory(0, standins::Faults::default(), 7, Duration::from_secs(3600)).await.unwrap();
    let s = stock_request(&db, &factory.url(), "https://api.example.com", Duration::from_secs(1));

    // The factory fails: only that record is reported, the order is released for the retry.
    factory.set_faults(standins::Faults { error_rate: 1.0, ..Default::default() });
    let r = shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())])).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");
    // The factory hangs past the client timeout: retryable too.
    factory.set_faults(standins::Faults { slow_rate: 1.0, slow_ms: 3000, ..Default::default() });
    let r = shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())])).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");

    // Healthy again: a batch with the event twice (duplicate delivery) and a malformed record.
    factory.set_faults(standins::Faults::default());
    let r = shop::stock_request::handle(&s, sqs_event(&[("dup-1", envelope.clone()), ("bad", "{\"Type\":\"Notification\"".into()), ("dup-2", envelope.clone())])).await;
    let failed: Vec<_> = r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["bad"], "only the malformed record fails");
    assert_eq!(order_status(&db, &ev.order_id).await, "ordered");
    let log = factory.log();
    assert_eq!(log.accepted.len(), 1, "one factory order for the cycle despite the duplicate");
    let order = &log.accepted[0];
    assert_eq!(order["MessageGroupId"], "stock-arrival-group");
    assert_eq!(order["MessageAttributeProductCnt"], "10");
    let cb = order["CallbackUrl"].as_str().unwrap();
    assert!(cb.starts_with(&format!("https://api.example.com/factory/callback?order={}&token=", ev.order_id)), "{cb}");
    // A later redelivery is a no-op.
    assert!(shop::stock_request::handle(&s, sqs_event(&[("m9", envelope)])).await.batch_item_failures.is_empty());
    assert_eq!(factory.log().accepted.len(), 1);
    factory.stop();
    db.drop_db().await;
}

#[tokio::test]
async fn callback_restocks_once_and_rejects_forgeries() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (envelope, ev) = open_cycle(&db, &aws).await;
    let arrival = Arc::new(shop::stock_arrival::StockArrival { pool: db.pool.clone(), callback_key: b"test-callback-key".to_vec() });
    let a = arrival.clone();
    let api = http_front(Arc::new(move |req| {
        let a = a.clone();
        Box::pin(async move { shop::stock_arrival::handle(&a, req).await })
    }))
    .await;
    // The factory calls back twice for every order.
    let factory = standins::factory(0, standins::Faults { duplicate_rate: 1.0, ..Default::default() }, 7, Duration::from_millis(10)).await.unwrap();
    let s = stock_request(&db, &factory.url(), &api, Duration::from_secs(5));
    assert!(shop::stock_request::handle(&s, sqs_event(&[("m1", envelope)])).await.batch_item_failures.is_empty());
    for _ in 0..100 {
        if factory.log().callbacks.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let callbacks = factory.log().callbacks;
    assert_eq!(callbacks.iter().map(|c| c.1).collect::<Vec<_>>(), vec![200, 200], "both callbacks answered");
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 10, "stock grows once per order");
    assert_eq!(scalar(&db.pool, "SELECT CAST(restocking AS SIGNED) FROM product").await, 0, "the cycle is closed");
    assert_eq!(order_status(&db, &ev.order_id).await, "delivered");

    let http = reqwest::Client::new();
    let post = |url: String| http.post(url).body("{}").send();
    assert_eq!(post(format!("{api}/factory/callback?order={}", ev.order_id)).await.unwrap().status(), 401);
    assert_eq!(post(format!("{api}/factory/callback?order={}&token={}", ev.order_id, "ab".repeat(32))).await.unwrap().status(), 403);
    let forged_other = shop::token::sign(b"someone-else", &ev.order_id);
    assert_eq!(post(format!("{api}/factory/callback?order={}&token={forged_other}", ev.order_id)).await.unwrap().status(), 403);
    let replay = shop::stock_request::callback_url(&api, b"test-callback-key", &ev.order_id);
    let r = post(replay).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("already delivered"));
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 10, "forged and replayed calls change nothing");
    factory.stop();
    db.drop_db().await;
}

#[tokio::test]
async fn ad_stop_emails_the_ad_manager_once_per_cycle() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let manager = format!("ads-{}@donut.example.com", uuid::Uuid::new_v4().simple());
    sqlx::query("UPDATE advertisement SET manager_email = ?").bind(&manager).execute(&db.pool).await.unwrap();
    let ses = aws_sdk_sesv2::Client::new(&aws);
    let _ = ses.create_email_identity().email_identity("donut.example.com").send().await;
    let s = shop::ad_stop::AdStop { pool: db.pool.clone(), ses, from: "ads@donut.example.com".into(), configuration_set: "donut-shop-dev-shop".into() };
    let ev = OutOfStock {
        order_id: uuid::Uuid::new_v4().to_string(),
        product_id: schema::SEED_PRODUCT_ID.into(),
        sku: schema::SEED_SKU.into(),
        factory_id: schema::SEED_FACTORY_ID.into(),
        count: 10,
        requester: "c-1001".into(),
        cycle: 1,
    };
    let body = sns_envelope(&serde_json::to_value(&ev).unwrap(), &[]);
    let r = shop::ad_stop::handle(&s, sqs_event(&[("a", body.clone()), ("b", body.clone()), ("bad", "[]".into())])).await;
    assert_eq!(r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect::<Vec<_>>(), vec!["bad"]);
    assert!(shop::ad_stop::handle(&s, sqs_event(&[("c", body)])).await.batch_item_failures.is_empty());
    let sent = ses_sent_to(&manager).await;
    assert_eq!(sent.len(), 1, "one ad-stop email per restock cycle: {sent:?}");
    assert!(sent[0]["subject"].as_str().unwrap().contains("부산도너츠"));
    assert_eq!(scalar(&db.pool, "SELECT CAST(status AS SIGNED) FROM advertisement").await, 0, "the ad is recorded as paused");
    // The next cycle asks again.
    let next = sns_envelope(&serde_json::to_value(OutOfStock { cycle: 2, ..ev }).unwrap(), &[]);
    assert!(shop::ad_stop::handle(&s, sqs_event(&[("d", next)])).await.batch_item_failures.is_empty());
    assert_eq!(ses_sent_to(&manager).await.len(), 2);
    db.drop_db().await;
}

#[tokio::test]
async fn vip_promotion_is_idempotent_and_survives_a_marketing_outage() {
    let db = fresh_db("customer", 8).await;
    schema::migrate(&db.pool, schema::CUSTOMER).await.unwrap();
    schema::seed_customers(&db.pool).await.unwrap();
    let marketing = standins::marketing(0, standins::Faults { down: true, ..Default::default() }, 3).await.unwrap();
    let s = shop::vip::Vip { pool: db.pool.clone(), http: shop::deps::http_client(Duration::from_secs(2)), marketing_url: marketing.url() };
    let purchase = |customer: &str, quantity: i64| {
        let p = Purchase { purchase_id: uuid::Uuid::new_v4().to_string(), sku: schema::SEED_SKU.into(), customer: customer.into(), quantity };
        sns_envelope(&serde_json::to_value(&p).unwrap(), &[("quantity", "Number", &quantity.to_string())])
    };
    let big = purchase("c-1001", 150);
    let kind = |c: &'static str| {
        let pool = db.pool.clone();
        async move { sqlx::query("SELECT type, purchase_total FROM customer WHERE customer_id = ?").bind(c).fetch_one(&pool).await.map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))).unwrap() }
    };

    // Marketing is down: the record fails (retried), but the promotion is done once.
    for _ in 0..2 {
        let r = shop::vip::handle(&s, sqs_event(&[("big", big.clone())])).await;
        assert_eq!(r.batch_item_failures.len(), 1);
    }
    assert_eq!(kind("c-1001").await, ("vip".to_string(), 150), "promoted once, not twice");
    assert!(marketing.log().accepted.is_empty());
    // Marketing is back: the retry only tells it, once.
    marketing.set_faults(standins::Faults::default());
    for _ in 0..2 {
        assert!(shop::vip::handle(&s, sqs_event(&[("big", big.clone())])).await.batch_item_failures.is_empty());
    }
    let told = marketing.log().accepted;
    assert_eq!(told.len(), 1, "marketing told exactly once: {told:?}");
    assert_eq!(told[0]["customer_id"], "c-1001");
    assert_eq!(kind("c-1001").await, ("vip".to_string(), 150));

    // A small purchase that slipped past the filter changes nothing; a malformed one fails alone.
    let r = shop::vip::handle(&s, sqs_event(&[("small", purchase("c-1002", 40)), ("bad", "{}".into())])).await;
    assert_eq!(r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect::<Vec<_>>(), vec!["bad"]);
    assert_eq!(kind("c-1002").await, ("normal".to_string(), 0));
    marketing.stop();
    db.drop_db().await;
}

/// Database credentials come from Secrets Manager by ARN, and the connection insists on TLS:
/// the machine's MariaDB has TLS disabled, so a good secret ends in a refused (retryable)
/// connection, never a plaintext one; a malformed secret is a permanent error.
#[tokio::test]
async fn database_credentials_come_from_secrets_manager_and_require_tls() {
    let aws = aws().await;
    let sm = aws_sdk_secretsmanager::Client::new(&aws);
    let name = |s: &str| format!("flowform-test/{}/{s}", std::process::id());
    let good = sm.create_secret().name(name("good")).secret_string(r#"{"username":"root","password":""}"#).send().await.unwrap().arn.unwrap();
    let bad = sm.create_secret().name(name("bad")).secret_string("hunter2").send().await.unwrap().arn.unwrap();
    // A config name of its own, so no other test reads these env vars.
    let db = "secret_probe";
    std::env::set_var(contracts::db_host(db), "127.0.0.1");
    std::env::set_var(contracts::db_port(db), "3306");
    std::env::set_var(contracts::db_name(db), "test");
    std::env::set_var(contracts::db_secret_arn(db), &bad);
    match shop::db::connect(db, Some(&sm), 1).await {
        Err(shop::Failure::Permanent(m)) => assert!(m.contains("username, password"), "{m}"),
        other => panic!("a malformed secret must be permanent: {:?}", other.map(|_| ())),
    }
    std::env::set_var(contracts::db_secret_arn(db), &good);
    match shop::db::connect(db, Some(&sm), 1).await {
        Err(shop::Failure::Retryable(m)) => assert!(m.to_lowercase().contains("tls") || m.to_lowercase().contains("ssl"), "must fail on TLS, got: {m}"),
        other => panic!("a server without TLS must be refused: {:?}", other.map(|_| ())),
    }
}
