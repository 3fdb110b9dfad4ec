//! The donut shop's handlers in process, against real services: MariaDB (a fresh database per
//! test), moto (SNS, SQS, SESv2) and the factory and marketing stand-ins over loopback.
//! Events are built from recorded fixtures (SNS envelopes in SQS records, API Gateway v2).

use serde_json::{json, Value as Json};
use shop::batch::Budget;
use shop::bindings::topics;
use shop::events::{OutOfStock, Purchase};
use shop::outbox::Publisher;
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

fn publisher(aws: &aws_config::SdkConfig, oos: &Capture, purchases: &Capture) -> Publisher {
    Publisher {
        sns: aws_sdk_sns::Client::new(aws),
        topics: [
            (topics::OUT_OF_STOCK.to_string(), oos.topic_arn.clone()),
            (topics::PURCHASES.to_string(), purchases.topic_arn.clone()),
        ]
        .into(),
    }
}

async fn checkout_deps(db: &TestDb, aws: &aws_config::SdkConfig) -> (shop::sales::Checkout, Capture, Capture) {
    let oos = Capture::new(aws, "oos").await;
    let purchases = Capture::new(aws, "purchases").await;
    let c = shop::sales::Checkout { pool: db.pool.clone(), publisher: publisher(aws, &oos, &purchases) };
    (c, oos, purchases)
}

fn checkout_body(qty: i64) -> String {
    json!({ "sku": schema::SEED_SKU, "quantity": qty }).to_string()
}

fn envelope_message(body: &str) -> (Json, Json) {
    let env: Json = serde_json::from_str(body).unwrap();
    (serde_json::from_str(env["Message"].as_str().unwrap()).unwrap(), env["MessageAttributes"].clone())
}

/// Whatever a caller sends to a public route, the answer is a 4xx with JSON, never a 5xx or a
/// panic, and nothing is sold, published or changed: malformed and truncated JSON, wrong
/// types, out-of-range and overflowing numbers, duplicate keys, deep nesting, a 6 MB body,
/// control characters, invalid base64, and the wrong method or path.
#[tokio::test]
async fn malformed_and_oversized_requests_get_a_4xx_and_change_nothing() {
    let aws = aws().await;
    let db = stock_db(3).await;
    let (c, oos, purchases) = checkout_deps(&db, &aws).await;
    let sku = schema::SEED_SKU;
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let huge = format!("{{\"sku\":\"{}\",\"quantity\":1}}", "c".repeat(6 << 20));
    let bodies: Vec<String> = vec![
        String::new(),
        "not json".into(),
        "{".into(),
        "[]".into(),
        "null".into(),
        "\u{0}".into(),
        r#"{"sku": 1, "quantity": 1}"#.into(),
        format!(r#"{{"sku": "{sku}", "quantity": "1"}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": -1}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 0}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 1.5}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 1e30}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 9223372036854775808}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 10001}}"#),
        // The customer is the token's subject, never the body's word.
        format!(r#"{{"sku": "{sku}", "quantity": 1, "customer": "c-2002"}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 1, "customer": {{"id": "c-2002"}}}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 1, "quantity": 2}}"#),
        format!(r#"{{"sku": "{sku}", "quantity": 1, "checkout_id": "not-a-uuid"}}"#),
        format!(r#"{{"sku": "{sku}"}}"#),
        deep,
        huge,
    ];
    let mut problems = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let r = shop::sales::checkout(&c, checkout_as("c-1001", b)).await;
        let json_body = serde_json::from_str::<Json>(&r.body).is_ok();
        if !(400..500).contains(&r.status_code) || !json_body {
            problems.push(format!(
                "body #{i} ({} bytes): {} {}",
                b.len(),
                r.status_code,
                r.body.chars().take(120).collect::<String>()
            ));
        }
    }
    // A base64 body that is not base64, and the wrong method or path.
    let mut e = http_event("POST", "/checkout", "", Some("%%%not base64%%%"));
    e.is_base64_encoded = true;
    let bad_base64 = shop::sales::checkout(&c, e).await.status_code;
    let wrong_method = shop::sales::checkout(&c, http_event("GET", "/checkout", "", None)).await.status_code;
    // Without a verified subject (the route reconfigured as public, a direct invoke), an
    // empty one, or one longer than a customer id: refused, nothing sold.
    let good = format!(r#"{{"sku": "{sku}", "quantity": 1}}"#);
    let no_token = shop::sales::checkout(&c, http_event("POST", "/checkout", "", Some(&good))).await.status_code;
    let empty_sub = shop::sales::checkout(&c, checkout_as("", &good)).await.status_code;
    let long_sub = shop::sales::checkout(&c, checkout_as(&"c".repeat(65), &good)).await.status_code;
    assert_eq!((no_token, empty_sub, long_sub), (401, 401, 403));
    let wrong_path =
        shop::sales::product(&db.pool, http_event("GET", "/product/donut/../../etc", "", None)).await.status_code;
    for (what, code) in
        [("invalid base64", bad_base64), ("GET /checkout", wrong_method), ("a path outside the routes", wrong_path)]
    {
        if !(400..500).contains(&code) {
            problems.push(format!("{what}: {code}"));
        }
    }
    assert!(problems.is_empty(), "answers that are not a 4xx with a JSON body:\n{}", problems.join("\n"));
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 3, "nothing was sold");
    assert!(purchases.drain().await.is_empty() && oos.drain().await.is_empty(), "nothing was published");
    // And the function still serves a good request afterwards.
    let r = shop::sales::checkout(&c, checkout_as("c-1001", &checkout_body(1))).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
}

#[tokio::test]
async fn product_and_checkout_answer_and_publish() {
    let aws = aws().await;
    let db = stock_db(3).await;
    let (c, oos, purchases) = checkout_deps(&db, &aws).await;

    let r = shop::sales::product(&db.pool, http_event("GET", "/product/donut", "", None)).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let p: Json = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (p["sku"].as_str(), p["name"].as_str(), p["price"].as_i64(), p["stock"].as_i64()),
        (Some("CP-502101"), Some("부산도너츠"), Some(19900), Some(3))
    );
    assert_eq!(
        shop::sales::product(&db.pool, http_event("GET", "/product/donut", "sku=NOPE", None)).await.status_code,
        400
    );
    assert_eq!(shop::sales::product(&db.pool, http_event("GET", "/other", "", None)).await.status_code, 404);

    let r = shop::sales::checkout(&c, checkout_as("c-1001", &checkout_body(1))).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let bought = purchases.drain().await;
    assert_eq!(bought.len(), 1);
    let (msg, attrs) = envelope_message(&bought[0]);
    assert_eq!(msg["quantity"], 1);
    assert_eq!(
        attrs["quantity"],
        json!({ "Type": "Number", "Value": "1" }),
        "quantity must be a Number attribute for the VIP filter"
    );

    // 2 left, 5 wanted: 409, and the restock cycle opens with one event.
    for _ in 0..3 {
        let r = shop::sales::checkout(&c, checkout_as("c-1002", &checkout_body(5))).await;
        assert_eq!(r.status_code, 409, "{}", r.body);
        assert!(r.body.contains("out_of_stock"));
    }
    let events = oos.drain().await;
    assert_eq!(events.len(), 1, "one out-of-stock event per restock cycle");
    let (msg, attrs) = envelope_message(&events[0]);
    assert_eq!(msg["sku"], "CP-502101");
    assert_eq!(msg["count"], 10, "reorder quantity of the seed product");
    for a in [
        "MessageAttributeProductId",
        "MessageAttributeFactoryId",
        "MessageAttributeProductCnt",
        "MessageAttributeRequester",
    ] {
        assert!(attrs.get(a).is_some(), "attribute {a} missing: {attrs}");
    }
    assert_eq!(
        scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await,
        2,
        "a refused checkout changes nothing"
    );
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order").await, 1);

    for bad in ["{}", "not json", r#"{"sku":"CP-502101","quantity":0}"#] {
        assert_eq!(shop::sales::checkout(&c, checkout_as("c-1001", bad)).await.status_code, 400, "{bad}");
    }
    let r = shop::sales::checkout(&c, checkout_as("c-1001", &json!({"sku":"NOPE","quantity":1}).to_string())).await;
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
            shop::sales::checkout(&c, checkout_as(&format!("c-{i}"), &checkout_body(1))).await.status_code
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
    let r = shop::sales::checkout(&c, checkout_as("c-1001", &checkout_body(1))).await;
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
    sqlx::query("SELECT status FROM restock_order WHERE order_id = ?")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get("status")
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
    let r = shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())]), Budget::unlimited()).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");
    // The factory hangs past the client timeout (and then fails): retryable too.
    factory.set_faults(standins::Faults { slow_rate: 1.0, slow_ms: 3000, error_rate: 1.0, ..Default::default() });
    let r = shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())]), Budget::unlimited()).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");

    // Healthy again: a batch with the event twice (duplicate delivery) and a malformed record.
    factory.set_faults(standins::Faults::default());
    let r = shop::stock_request::handle(
        &s,
        sqs_event(&[
            ("dup-1", envelope.clone()),
            ("bad", "{\"Type\":\"Notification\"".into()),
            ("dup-2", envelope.clone()),
        ]),
        Budget::unlimited(),
    )
    .await;
    let failed: Vec<_> = r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["bad"], "only the malformed record fails");
    assert_eq!(order_status(&db, &ev.order_id).await, "ordered");
    let log = factory.log();
    assert_eq!(log.accepted.len(), 1, "one factory order for the cycle despite the duplicate");
    let order = &log.accepted[0];
    assert_eq!(order["MessageGroupId"], "stock-arrival-group");
    assert_eq!(order["MessageAttributeProductCnt"], "10");
    let cb = order["CallbackUrl"].as_str().unwrap();
    assert!(
        cb.starts_with(&format!("https://api.example.com/factory/callback?order={}&attempt=", ev.order_id)),
        "{cb}"
    );
    // A later redelivery is a no-op.
    assert!(shop::stock_request::handle(&s, sqs_event(&[("m9", envelope)]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(factory.log().accepted.len(), 1);
    factory.stop();
    db.drop_db().await;
}

/// The stock-arrival function behind a loopback HTTP front (the factory's callback target).
async fn arrival_front(db: &TestDb) -> String {
    let arrival = Arc::new(shop::stock_arrival::StockArrival {
        pool: db.pool.clone(),
        callback_key: b"test-callback-key".to_vec(),
    });
    http_front(Arc::new(move |req| {
        let a = arrival.clone();
        Box::pin(async move { shop::stock_arrival::handle(&a, req).await })
    }))
    .await
}

#[tokio::test]
async fn callback_restocks_once_and_rejects_forgeries() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (envelope, ev) = open_cycle(&db, &aws).await;
    let api = arrival_front(&db).await;
    // The factory calls back twice for every order.
    let factory = standins::factory(
        0,
        standins::Faults { duplicate_rate: 1.0, ..Default::default() },
        7,
        Duration::from_millis(10),
    )
    .await
    .unwrap();
    let s = stock_request(&db, &factory.url(), &api, Duration::from_secs(5));
    assert!(shop::stock_request::handle(&s, sqs_event(&[("m1", envelope)]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
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
    let attempt: String =
        sqlx::query("SELECT attempt_id FROM factory_attempt").fetch_one(&db.pool).await.unwrap().get(0);
    assert_eq!(
        post(format!("{api}/factory/callback?order={}&attempt={attempt}", ev.order_id)).await.unwrap().status(),
        401
    );
    assert_eq!(
        post(format!("{api}/factory/callback?order={}&attempt={attempt}&token={}", ev.order_id, "ab".repeat(32)))
            .await
            .unwrap()
            .status(),
        403
    );
    let forged_other = shop::token::sign(b"someone-else", &ev.order_id, &attempt);
    assert_eq!(
        post(format!("{api}/factory/callback?order={}&attempt={attempt}&token={forged_other}", ev.order_id))
            .await
            .unwrap()
            .status(),
        403
    );
    let other_attempt = uuid::Uuid::new_v4().to_string();
    let unknown = shop::stock_request::callback_url(&api, b"test-callback-key", &ev.order_id, &other_attempt);
    assert_eq!(post(unknown).await.unwrap().status(), 404, "a well-signed attempt that was never sent counts nothing");
    let replay = shop::stock_request::callback_url(&api, b"test-callback-key", &ev.order_id, &attempt);
    let r = post(replay).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("already counted"));
    assert_eq!(
        scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await,
        10,
        "forged and replayed calls change nothing"
    );
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
    let s = shop::ad_stop::AdStop {
        pool: db.pool.clone(),
        ses,
        from: "ads@donut.example.com".into(),
        configuration_set: "donut-shop-dev-shop".into(),
        lease: Duration::from_secs(15),
    };
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
    let r = shop::ad_stop::handle(
        &s,
        sqs_event(&[("a", body.clone()), ("b", body.clone()), ("bad", "[]".into())]),
        Budget::unlimited(),
    )
    .await;
    assert_eq!(r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect::<Vec<_>>(), vec!["bad"]);
    assert!(shop::ad_stop::handle(&s, sqs_event(&[("c", body)]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    let sent = ses_sent_to(&manager).await;
    assert_eq!(sent.len(), 1, "one ad-stop email per restock cycle: {sent:?}");
    assert!(sent[0]["subject"].as_str().unwrap().contains("부산도너츠"));
    assert_eq!(
        scalar(&db.pool, "SELECT CAST(status AS SIGNED) FROM advertisement").await,
        0,
        "the ad is recorded as paused"
    );
    // The next cycle asks again.
    let next = sns_envelope(&serde_json::to_value(OutOfStock { cycle: 2, ..ev }).unwrap(), &[]);
    assert!(shop::ad_stop::handle(&s, sqs_event(&[("d", next)]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(ses_sent_to(&manager).await.len(), 2);
    db.drop_db().await;
}

#[tokio::test]
async fn vip_promotion_is_idempotent_and_survives_a_marketing_outage() {
    let db = fresh_db("customer", 8).await;
    schema::migrate(&db.pool, schema::CUSTOMER).await.unwrap();
    schema::seed_customers(&db.pool).await.unwrap();
    let marketing = standins::marketing(0, standins::Faults { down: true, ..Default::default() }, 3).await.unwrap();
    let s = shop::vip::Vip {
        pool: db.pool.clone(),
        http: shop::deps::http_client(Duration::from_secs(2)),
        marketing_url: marketing.url(),
        lease: Duration::from_secs(15),
    };
    let purchase = |customer: &str, quantity: i64| {
        let p = Purchase {
            purchase_id: uuid::Uuid::new_v4().to_string(),
            sku: schema::SEED_SKU.into(),
            customer: customer.into(),
            quantity,
        };
        sns_envelope(&serde_json::to_value(&p).unwrap(), &[("quantity", "Number", &quantity.to_string())])
    };
    let big = purchase("c-1001", 150);
    let kind = |c: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query("SELECT type, purchase_total FROM customer WHERE customer_id = ?")
                .bind(c)
                .fetch_one(&pool)
                .await
                .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
                .unwrap()
        }
    };

    // Marketing is down: the record fails (retried), but the promotion is done once.
    for _ in 0..2 {
        let r = shop::vip::handle(&s, sqs_event(&[("big", big.clone())]), Budget::unlimited()).await;
        assert_eq!(r.batch_item_failures.len(), 1);
    }
    assert_eq!(kind("c-1001").await, ("vip".to_string(), 150), "promoted once, not twice");
    assert!(marketing.log().accepted.is_empty());
    // Marketing is back: the retry only tells it, once.
    marketing.set_faults(standins::Faults::default());
    for _ in 0..2 {
        assert!(shop::vip::handle(&s, sqs_event(&[("big", big.clone())]), Budget::unlimited())
            .await
            .batch_item_failures
            .is_empty());
    }
    let told = marketing.log().accepted;
    assert_eq!(told.len(), 1, "marketing told exactly once: {told:?}");
    assert_eq!(told[0]["customer_id"], "c-1001");
    assert_eq!(kind("c-1001").await, ("vip".to_string(), 150));

    // A small purchase that slipped past the filter changes nothing; a malformed one fails alone.
    let r = shop::vip::handle(
        &s,
        sqs_event(&[("small", purchase("c-1002", 40)), ("bad", "{}".into())]),
        Budget::unlimited(),
    )
    .await;
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
    let good = sm
        .create_secret()
        .name(name("good"))
        .secret_string(r#"{"username":"root","password":""}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
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
        Err(shop::Failure::Retryable(m)) => {
            assert!(m.to_lowercase().contains("tls") || m.to_lowercase().contains("ssl"), "must fail on TLS, got: {m}")
        }
        other => panic!("a server without TLS must be refused: {:?}", other.map(|_| ())),
    }
}

// ---------------------------------------------------------------------------------------------
// Faults where they bite: a commit lost after the sale was decided, SNS down, a factory that
// accepts and then times out, duplicate deliveries racing, a batch that cannot finish in time,
// restock orders that never complete.

fn proxied_pool(proxy: &standins::dbproxy::DbProxy, db: &TestDb) -> impl std::future::Future<Output = sqlx::MySqlPool> {
    let url = proxy.url(&db.url);
    async move { sqlx::mysql::MySqlPoolOptions::new().max_connections(4).connect(&url).await.unwrap() }
}

fn checkout_with_id(qty: i64, id: &str) -> String {
    json!({ "sku": schema::SEED_SKU, "quantity": qty, "checkout_id": id }).to_string()
}

#[tokio::test]
async fn a_commit_lost_after_the_sale_was_decided_sells_and_emits_nothing() {
    let aws = aws().await;
    let db = stock_db(5).await;
    let proxy = standins::dbproxy::start("127.0.0.1:3306".parse().unwrap(), 1).await.unwrap();
    let oos = Capture::new(&aws, "oos").await;
    let purchases = Capture::new(&aws, "purchases").await;
    let c =
        shop::sales::Checkout { pool: proxied_pool(&proxy, &db).await, publisher: publisher(&aws, &oos, &purchases) };
    let post = |body: String| shop::sales::checkout(&c, checkout_as("c-1001", &body));

    // The COMMIT never reaches the server: a sale (and, below, a restock cycle) was decided
    // inside the transaction, then lost. Nothing may be published for it.
    proxy.set(standins::dbproxy::Mode::DropAtCommit);
    let lost = post(checkout_body(2)).await;
    assert_eq!(lost.status_code, 503);
    // No checkout_id was sent: the answer cannot tell the client to retry "with the same one".
    assert!(lost.body.contains("send a checkout_id"), "{}", lost.body);
    assert_eq!(post(checkout_body(9)).await.status_code, 503, "the out-of-stock path commits too");
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 5);
    assert_eq!(
        scalar(&db.pool, "SELECT COUNT(*) FROM sale").await + scalar(&db.pool, "SELECT COUNT(*) FROM outbox").await,
        0
    );
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order").await, 0);
    assert!(
        purchases.drain().await.is_empty() && oos.drain().await.is_empty(),
        "no event for a sale that never happened"
    );

    // The COMMIT succeeds but its answer is lost: the client sees a failure, the sale stands,
    // and its event is in the outbox (the fast path never ran). A retry with the same
    // checkout_id answers the sale without selling again.
    let id = uuid::Uuid::new_v4().to_string();
    proxy.set(standins::dbproxy::Mode::DropAfterCommit);
    let lost = post(checkout_with_id(2, &id)).await;
    assert_eq!(lost.status_code, 503);
    assert!(lost.body.contains("try again with the same checkout_id"), "{}", lost.body);
    proxy.set(standins::dbproxy::Mode::Pass);
    let r = post(checkout_with_id(2, &id)).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let answer: Json = serde_json::from_str(&r.body).unwrap();
    assert_eq!((answer["purchase_id"].as_str(), answer["replayed"].as_bool()), (Some(id.as_str()), Some(true)));
    // Another customer presenting the same checkout_id gets neither the sale nor a new one.
    let theirs = shop::sales::checkout(&c, checkout_as("c-2002", &checkout_with_id(2, &id))).await;
    assert_eq!(theirs.status_code, 409, "{}", theirs.body);
    assert!(!theirs.body.contains(&id), "another customer's sale is not shown: {}", theirs.body);
    // The same UUID spelled another way is the same checkout; the same id for another order
    // is refused, not answered with this sale.
    let braced = format!("{{{}}}", id.to_uppercase());
    let r = post(checkout_with_id(2, &braced)).await;
    assert_eq!((r.status_code, r.body.contains("\"replayed\":true")), (200, true), "{}", r.body);
    let other = post(checkout_with_id(3, &id)).await;
    assert_eq!((other.status_code, other.body.contains("checkout_id_reused")), (409, true), "{}", other.body);
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 3, "sold once");
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM sale").await, 1);
    assert!(purchases.drain().await.is_empty());
    let p = publisher(&aws, &oos, &purchases);
    let first = shop::outbox::relay(&db.pool, &p, Duration::ZERO, Duration::from_secs(30), 100).await.unwrap();
    assert_eq!((first.published, first.oldest_unpublished_ms), (1, 0));
    assert_eq!(
        shop::outbox::relay(&db.pool, &p, Duration::ZERO, Duration::from_secs(30), 100).await.unwrap().published,
        0
    );
    let bought = purchases.drain().await;
    assert_eq!(bought.len(), 1, "the relay publishes the committed sale's event once");
    assert_eq!(envelope_message(&bought[0]).0["purchase_id"], json!(id));
    assert!(proxy.dropped() >= 3, "every fault fired: {}", proxy.dropped());
    proxy.stop();
    db.drop_db().await;
}

/// A TCP endpoint that accepts connections and never answers (an SNS that hangs).
async fn stalled_endpoint() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(sock);
        }
    });
    (url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_sns_outage_delays_events_but_never_stops_or_blocks_sales() {
    let aws = aws().await;
    let db = stock_db(20).await;
    let oos = Capture::new(&aws, "oos").await;
    let purchases = Capture::new(&aws, "purchases").await;
    let (stalled, accepted) = stalled_endpoint().await;
    let dead = shop::deps::bounded(&local::aws_config(&stalled, "ap-northeast-2").await, Duration::from_secs(1));
    let mut down = publisher(&aws, &oos, &purchases);
    down.sns = aws_sdk_sns::Client::new(&dead);
    let c = Arc::new(shop::sales::Checkout { pool: db.pool.clone(), publisher: down });

    // While one checkout waits on the hung SNS, the product's row is free: another
    // transaction locks it at once (the lock wait limit is 1 s, the SNS wait is 1 s per try).
    let first = {
        let c = c.clone();
        tokio::spawn(async move { shop::sales::checkout(&c, checkout_as("c-1", &checkout_body(1))).await.status_code })
    };
    while accepted.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("SET SESSION innodb_lock_wait_timeout = 1").execute(&mut *conn).await.unwrap();
    sqlx::query("UPDATE product SET price = price WHERE sku = ?")
        .bind(schema::SEED_SKU)
        .execute(&mut *conn)
        .await
        .expect("the row is not locked during the publish");
    drop(conn);
    assert_eq!(first.await.unwrap(), 200);

    let mut tasks = Vec::new();
    for i in 0..9 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            shop::sales::checkout(&c, checkout_as(&format!("c-{i}"), &checkout_body(2))).await.status_code
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200, "sales go on while SNS is down");
    }
    // 19 sold, 1 left; a checkout of 2 opens a restock cycle, its event waits too.
    assert_eq!(shop::sales::checkout(&c, checkout_as("c-x", &checkout_body(2))).await.status_code, 409);
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").await, 11);
    assert!(purchases.drain().await.is_empty());

    // SNS is back: two relays race over the backlog; every event goes out once.
    let up = publisher(&aws, &oos, &purchases);
    let (a, b) = tokio::join!(
        shop::outbox::relay(&db.pool, &up, Duration::ZERO, Duration::from_secs(30), 100),
        shop::outbox::relay(&db.pool, &up, Duration::ZERO, Duration::from_secs(30), 100)
    );
    assert_eq!(a.unwrap().published + b.unwrap().published, 11);
    let bought: std::collections::BTreeSet<String> = purchases
        .drain()
        .await
        .iter()
        .map(|b| envelope_message(b).0["purchase_id"].as_str().unwrap().to_string())
        .collect();
    let sold: std::collections::BTreeSet<String> = sqlx::query("SELECT purchase_id FROM sale")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    assert_eq!((bought.len(), &bought), (10, &sold), "one purchase event per sale, no more, no less");
    assert_eq!(oos.drain().await.len(), 1);
    db.drop_db().await;
}

#[tokio::test]
async fn the_order_size_comes_from_the_restock_policy_and_checkouts_are_capped() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (c, oos, _) = checkout_deps(&db, &aws).await;
    let r = shop::sales::checkout(&c, checkout_as("c-1001", &checkout_body(300))).await;
    assert_eq!(r.status_code, 409, "{}", r.body);
    let body: Json = serde_json::from_str(&r.body).unwrap();
    assert!((1..=3600).contains(&body["expected_in_seconds"].as_i64().unwrap()), "{body}");
    let (msg, attrs) = envelope_message(&oos.drain().await.pop().unwrap());
    assert_eq!(
        (msg["count"].as_i64(), attrs["MessageAttributeProductCnt"]["Value"].as_str()),
        (Some(10), Some("10")),
        "the product's reorder quantity, not the buyer's 300"
    );
    assert_eq!(scalar(&db.pool, "SELECT CAST(quantity AS SIGNED) FROM restock_order").await, 10);
    let r = shop::sales::checkout(&c, checkout_as("c-1001", &checkout_body(501))).await;
    assert_eq!(r.status_code, 422, "{}", r.body);
    assert!(r.body.contains("\"max_per_order\":500"), "{}", r.body);
    let bad_id = json!({ "sku": schema::SEED_SKU, "quantity": 1, "checkout_id": "not-a-uuid" }).to_string();
    assert_eq!(shop::sales::checkout(&c, checkout_as("c-1001", &bad_id)).await.status_code, 400);
    db.drop_db().await;
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factory_that_accepts_then_times_out_has_every_production_counted_once() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (envelope, ev) = open_cycle(&db, &aws).await;
    let api = arrival_front(&db).await;
    // Attempt 1: the factory accepts, produces, and answers after the client gave up.
    let factory = standins::factory(
        0,
        standins::Faults { accept_then_timeout_rate: 1.0, slow_ms: 1500, ..Default::default() },
        7,
        Duration::from_millis(2500),
    )
    .await
    .unwrap();
    let s = stock_request(&db, &factory.url(), &api, Duration::from_millis(500));
    let r = shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())]), Budget::unlimited()).await;
    assert_eq!(r.batch_item_failures.len(), 1, "an ambiguous failure is retried");
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");
    // Attempt 2 (the redelivery): accepted at once; the factory reports one unit short and
    // calls back twice.
    factory.set_faults(standins::Faults { short_report_rate: 1.0, duplicate_rate: 1.0, ..Default::default() });
    assert!(shop::stock_request::handle(&s, sqs_event(&[("m1", envelope.clone())]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(order_status(&db, &ev.order_id).await, "ordered");
    wait_for("both productions to be reported", || factory.log().produced.len() == 2).await;
    wait_for("the duplicate callback", || factory.log().callbacks.len() == 3).await;

    let log = factory.log();
    assert_eq!(log.accepted.len(), 2, "the factory produced twice");
    let produced: u64 = log.produced.iter().map(|p| p.1).sum();
    assert_eq!(produced, 10 + 9);
    assert_eq!(
        scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await,
        19,
        "every unit produced is counted, once"
    );
    assert_eq!(scalar(&db.pool, "SELECT CAST(SUM(produced) AS SIGNED) FROM factory_attempt").await, 19);
    assert_eq!(
        scalar(&db.pool, "SELECT CAST(produced AS SIGNED) FROM restock_order").await,
        19,
        "the report that differs is kept"
    );
    let outcomes: Vec<String> = sqlx::query("SELECT outcome FROM factory_attempt ORDER BY sent_at")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(outcomes, vec!["ambiguous", "accepted"]);
    assert_eq!(scalar(&db.pool, "SELECT CAST(restocking AS SIGNED) FROM product").await, 0);
    assert_eq!(log.fired.get("accept_then_timeout"), Some(&1));
    factory.stop();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_deliveries_make_one_external_call() {
    let aws = aws().await;
    // The factory: eight deliveries of one out-of-stock event at once, a slow factory.
    let db = stock_db(0).await;
    let (envelope, _) = open_cycle(&db, &aws).await;
    let factory = standins::factory(
        0,
        standins::Faults { slow_rate: 1.0, slow_ms: 300, ..Default::default() },
        7,
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let s = Arc::new(stock_request(&db, &factory.url(), "https://api.example.com", Duration::from_secs(5)));
    let runs = (0..8)
        .map(|i| {
            let (s, e) = (s.clone(), envelope.clone());
            tokio::spawn(async move {
                shop::stock_request::handle(&s, sqs_event(&[(&format!("d{i}"), e)]), Budget::unlimited()).await
            })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any: they race
    for r in runs {
        r.await.unwrap();
    }
    assert_eq!(factory.log().accepted.len(), 1, "one factory order");

    // The ad manager's email: eight deliveries at once.
    let manager = format!("race-{}@donut.example.com", uuid::Uuid::new_v4().simple());
    sqlx::query("UPDATE advertisement SET manager_email = ?").bind(&manager).execute(&db.pool).await.unwrap();
    let ses = aws_sdk_sesv2::Client::new(&aws);
    let _ = ses.create_email_identity().email_identity("donut.example.com").send().await;
    let ad = Arc::new(shop::ad_stop::AdStop {
        pool: db.pool.clone(),
        ses,
        from: "ads@donut.example.com".into(),
        configuration_set: "cs".into(),
        lease: Duration::from_secs(15),
    });
    let runs = (0..8)
        .map(|i| {
            let (ad, e) = (ad.clone(), envelope.clone());
            tokio::spawn(async move {
                shop::ad_stop::handle(&ad, sqs_event(&[(&format!("a{i}"), e)]), Budget::unlimited()).await
            })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any: they race
    for r in runs {
        r.await.unwrap();
    }
    assert!(shop::ad_stop::handle(&ad, sqs_event(&[("late", envelope.clone())]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(ses_sent_to(&manager).await.len(), 1, "one email");

    // The marketing notice: eight deliveries of one big purchase at once, a slow marketing.
    let cdb = fresh_db("customer", 12).await;
    schema::migrate(&cdb.pool, schema::CUSTOMER).await.unwrap();
    let marketing = standins::marketing(0, standins::Faults { slow_rate: 1.0, slow_ms: 300, ..Default::default() }, 3)
        .await
        .unwrap();
    let vip = Arc::new(shop::vip::Vip {
        pool: cdb.pool.clone(),
        http: shop::deps::http_client(Duration::from_secs(5)),
        marketing_url: marketing.url(),
        lease: Duration::from_secs(15),
    });
    let p = Purchase {
        purchase_id: uuid::Uuid::new_v4().to_string(),
        sku: schema::SEED_SKU.into(),
        customer: "c-9".into(),
        quantity: 120,
    };
    let big = sns_envelope(&serde_json::to_value(&p).unwrap(), &[("quantity", "Number", "120")]);
    let runs = (0..8)
        .map(|i| {
            let (v, e) = (vip.clone(), big.clone());
            tokio::spawn(async move {
                shop::vip::handle(&v, sqs_event(&[(&format!("v{i}"), e)]), Budget::unlimited()).await
            })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any: they race
    let failed: usize = futures_count(runs).await;
    assert!(failed >= 1, "duplicates that found the claim busy are retried, not dropped");
    assert!(shop::vip::handle(&vip, sqs_event(&[("late", big)]), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(marketing.log().accepted.len(), 1, "marketing told once");
    assert_eq!(
        scalar(&cdb.pool, "SELECT CAST(purchase_total AS SIGNED) FROM customer WHERE customer_id = 'c-9'").await,
        120,
        "promoted once"
    );
    factory.stop();
    marketing.stop();
    db.drop_db().await;
    cdb.drop_db().await;
}

/// Waits for every run; returns how many records they reported failed.
async fn futures_count(runs: Vec<tokio::task::JoinHandle<shop::batch::BatchResponse>>) -> usize {
    let mut failed = 0;
    for r in runs {
        failed += r.await.unwrap().batch_item_failures.len();
    }
    failed
}

#[tokio::test]
async fn a_batch_starts_no_record_its_time_cannot_hold() {
    let db = stock_db(0).await;
    // Three open orders (three cycles of the product), each with its event.
    let mut records = Vec::new();
    for cycle in 1..=3 {
        let ev = OutOfStock {
            order_id: uuid::Uuid::new_v4().to_string(),
            product_id: schema::SEED_PRODUCT_ID.into(),
            sku: schema::SEED_SKU.into(),
            factory_id: schema::SEED_FACTORY_ID.into(),
            count: 10,
            requester: "c-1".into(),
            cycle,
        };
        sqlx::query("INSERT INTO restock_order (order_id, product_id, cycle, quantity, requester, status, due_at) VALUES (?, ?, ?, 10, 'c-1', 'requested', NOW(3) + INTERVAL 1 HOUR)")
            .bind(&ev.order_id)
            .bind(uuid::Uuid::parse_str(schema::SEED_PRODUCT_ID).unwrap().as_bytes().to_vec())
            .bind(cycle)
            .execute(&db.pool)
            .await
            .unwrap();
        records.push((format!("r{cycle}"), sns_envelope(&serde_json::to_value(&ev).unwrap(), &[])));
    }
    // Each factory call takes 0.7 s; the invocation has 1.5 s and a record may take 1 s.
    let factory = standins::factory(
        0,
        standins::Faults { slow_rate: 1.0, slow_ms: 700, ..Default::default() },
        7,
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let s = stock_request(&db, &factory.url(), "https://api.example.com", Duration::from_secs(5));
    let recs: Vec<(&str, String)> = records.iter().map(|(id, b)| (id.as_str(), b.clone())).collect();
    let budget = Budget::new(std::time::Instant::now() + Duration::from_millis(1500), Duration::from_secs(1));
    let r = shop::stock_request::handle(&s, sqs_event(&recs), budget).await;
    let failed: Vec<&str> = r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["r2", "r3"], "the records that could not fit are handed back untouched");
    assert_eq!(factory.log().accepted.len(), 1);
    assert_eq!(
        scalar(&db.pool, "SELECT COUNT(*) FROM restock_order WHERE status = 'requested'").await,
        2,
        "not started, not claimed"
    );
    // The redelivery does them, and never the first again.
    assert!(shop::stock_request::handle(&s, sqs_event(&recs), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(factory.log().accepted.len(), 3);
    factory.stop();
    db.drop_db().await;
}

#[tokio::test]
async fn overdue_restock_orders_are_asked_for_again_and_nothing_else_is() {
    let aws = aws().await;
    let db = stock_db(0).await;
    let (envelope, ev) = open_cycle(&db, &aws).await;
    let set = |sql: &'static str| {
        let pool = db.pool.clone();
        let id = ev.order_id.clone();
        async move { sqlx::query(sql).bind(id).execute(&pool).await.unwrap() }
    };
    // Not overdue: nothing happens.
    assert_eq!(shop::reconcile::run(&db.pool, 100).await.unwrap().reordered, 0);
    // Being sent right now (a live claim), though past its deadline: left alone.
    set("UPDATE restock_order SET status = 'ordering', claimed_until = NOW() + INTERVAL 1 MINUTE, due_at = NOW(3) - INTERVAL 1 SECOND WHERE order_id = ?").await;
    assert_eq!(shop::reconcile::run(&db.pool, 100).await.unwrap().reordered, 0);
    // Its message went to the DLQ (still `requested` past the deadline): asked for again.
    set("UPDATE restock_order SET status = 'requested', claimed_until = NULL, due_at = NOW(3) - INTERVAL 1 SECOND WHERE order_id = ?").await;
    let report = shop::reconcile::run(&db.pool, 100).await.unwrap();
    assert_eq!((report.reordered, report.open), (1, 1));
    assert_eq!(scalar(&db.pool, "SELECT CAST(reminders AS SIGNED) FROM restock_order").await, 1);
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order WHERE due_at > NOW(3)").await, 1, "a new deadline");
    // The factory accepted but never called back: asked for again, as a new attempt.
    set("UPDATE restock_order SET status = 'ordered', due_at = NOW(3) - INTERVAL 1 SECOND WHERE order_id = ?").await;
    assert_eq!(shop::reconcile::run(&db.pool, 100).await.unwrap().reordered, 1);
    assert_eq!(order_status(&db, &ev.order_id).await, "requested");
    // A third re-ask without a delivery: the order is stuck, for a person to look at.
    set("UPDATE restock_order SET due_at = NOW(3) - INTERVAL 1 SECOND WHERE order_id = ?").await;
    let third = shop::reconcile::run(&db.pool, 100).await.unwrap();
    assert_eq!((third.reordered, third.stuck.clone()), (1, vec![ev.order_id.clone()]));

    // The re-asks travel the normal path: outbox -> SNS -> stock request -> a factory attempt.
    let oos = Capture::new(&aws, "oos").await;
    let purchases = Capture::new(&aws, "purchases").await;
    let relayed =
        shop::outbox::relay(&db.pool, &publisher(&aws, &oos, &purchases), Duration::ZERO, Duration::from_secs(30), 100)
            .await
            .unwrap();
    assert_eq!(relayed.published, 3);
    assert_eq!(relayed.check_backlog(Duration::from_secs(300)), Ok(()));
    let again = oos.drain().await;
    assert_eq!(again.len(), 3);
    for body in &again {
        let (msg, _) = envelope_message(body);
        assert_eq!(
            (msg["order_id"].as_str(), msg["cycle"].as_i64(), msg["count"].as_i64()),
            (Some(ev.order_id.as_str()), Some(ev.cycle), Some(10))
        );
    }
    let factory = standins::factory(0, standins::Faults::default(), 7, Duration::from_secs(3600)).await.unwrap();
    let s = stock_request(&db, &factory.url(), "https://api.example.com", Duration::from_secs(5));
    let recs = [("x1", again[0].clone()), ("x2", again[1].clone()), ("x3", again[2].clone()), ("orig", envelope)];
    assert!(shop::stock_request::handle(&s, sqs_event(&recs), Budget::unlimited())
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(factory.log().accepted.len(), 1, "duplicates of the re-ask order once");
    // Delivered orders are never re-asked.
    set("UPDATE restock_order SET status = 'delivered', due_at = NOW(3) - INTERVAL 1 SECOND WHERE order_id = ?").await;
    assert_eq!(
        shop::reconcile::run(&db.pool, 100).await.unwrap(),
        shop::reconcile::Report { reordered: 0, open: 0, stuck: vec![] }
    );
    factory.stop();
    db.drop_db().await;
}

/// Receives one message from `url` and turns it into a Lambda SQS event as the mapping would.
async fn received(sqs: &aws_sdk_sqs::Client, url: &str, arn: &str) -> Option<aws_lambda_events::event::sqs::SqsEvent> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let r = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(1)
        .wait_time_seconds(1)
        .message_system_attribute_names(A::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let m = r.messages.unwrap_or_default().into_iter().next()?;
    let mut ev = sqs_event(&[(m.message_id().unwrap_or_default(), m.body().unwrap_or_default().to_string())]);
    let rec = &mut ev.records[0];
    rec.receipt_handle = m.receipt_handle().map(String::from);
    rec.event_source_arn = Some(arn.to_string());
    let count = m.attributes().and_then(|a| a.get(&A::ApproximateReceiveCount)).cloned().unwrap_or_else(|| "1".into());
    rec.attributes.insert("ApproximateReceiveCount".into(), count);
    Some(ev)
}

#[tokio::test]
async fn a_record_that_failed_waits_before_its_next_receive() {
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    // The queue's own visibility timeout is 0: without the backoff, a failed record would be
    // received again at once.
    let name = format!("backoff-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(Q::VisibilityTimeout, "0")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Q::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let arn = attrs[&Q::QueueArn].clone();
    let db = fresh_db("customer", 4).await;
    schema::migrate(&db.pool, schema::CUSTOMER).await.unwrap();
    let marketing = standins::marketing(0, standins::Faults { down: true, ..Default::default() }, 3).await.unwrap();
    let vip = shop::vip::Vip {
        pool: db.pool.clone(),
        http: shop::deps::http_client(Duration::from_secs(2)),
        marketing_url: marketing.url(),
        lease: Duration::from_secs(15),
    };
    let backoff = shop::batch::Backoff { sqs: sqs.clone(), base_seconds: 30 };
    let with_backoff = || Budget::unlimited().with_backoff(backoff.clone());

    // Marketing is down: the record fails, retryably, and is held for 30 s.
    let p = Purchase {
        purchase_id: uuid::Uuid::new_v4().to_string(),
        sku: schema::SEED_SKU.into(),
        customer: "c-1".into(),
        quantity: 150,
    };
    sqs.send_message()
        .queue_url(&url)
        .message_body(sns_envelope(&serde_json::to_value(&p).unwrap(), &[]))
        .send()
        .await
        .unwrap();
    let ev = received(&sqs, &url, &arn).await.expect("the message");
    assert_eq!(shop::vip::handle(&vip, ev, with_backoff()).await.batch_item_failures.len(), 1);
    assert!(received(&sqs, &url, &arn).await.is_none(), "held, not redelivered at once");

    // The wait grows with the receive count: on a third receive with a 1 s base it is 4 s, so
    // the message is still held 2 s later (a wait that ignored the count would be 1 s).
    let p2 = Purchase { purchase_id: uuid::Uuid::new_v4().to_string(), ..p.clone() };
    sqs.send_message()
        .queue_url(&url)
        .message_body(sns_envelope(&serde_json::to_value(&p2).unwrap(), &[]))
        .send()
        .await
        .unwrap();
    let mut ev = received(&sqs, &url, &arn).await.expect("the second message");
    ev.records[0].attributes.insert("ApproximateReceiveCount".into(), "3".into());
    let fast = Budget::unlimited().with_backoff(shop::batch::Backoff { sqs: sqs.clone(), base_seconds: 1 });
    assert_eq!(shop::vip::handle(&vip, ev, fast).await.batch_item_failures.len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(received(&sqs, &url, &arn).await.is_none(), "still held after 2 s: the third wait is 4 s");

    // A malformed record is permanent: not held, it goes on towards the DLQ.
    sqs.send_message().queue_url(&url).message_body("{}").send().await.unwrap();
    let ev = received(&sqs, &url, &arn).await.expect("the malformed message");
    assert_eq!(shop::vip::handle(&vip, ev, with_backoff()).await.batch_item_failures.len(), 1);
    assert!(received(&sqs, &url, &arn).await.is_some(), "a permanent failure is not held back");
    marketing.stop();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_checkout_sell_once_and_all_answer_sold() {
    let aws = aws().await;
    let db = stock_db(40).await;
    let (c, _, purchases) = checkout_deps(&db, &aws).await;
    let c = Arc::new(c);
    // Twenty checkouts of 2, each sent three times at once (a client retrying after a
    // timeout while the first try is still running); the last ones take the final units.
    for _ in 0..20 {
        let id = uuid::Uuid::new_v4().to_string();
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let (c, body) = (c.clone(), checkout_with_id(2, &id));
                tokio::spawn(async move { shop::sales::checkout(&c, checkout_as("c-1001", &body)).await })
            })
            .collect();
        for r in runs {
            let r = r.await.unwrap();
            assert_eq!(r.status_code, 200, "every try of a sold checkout answers sold: {}", r.body);
        }
    }
    assert_eq!(scalar(&db.pool, "SELECT CAST(stock AS SIGNED) FROM product").await, 0, "sold once per checkout");
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM sale").await, 20);
    assert_eq!(scalar(&db.pool, "SELECT COUNT(*) FROM restock_order").await, 0, "no restock cycle opened by a retry");
    assert_eq!(purchases.drain().await.len(), 20, "one purchase event per checkout");
    db.drop_db().await;
}

/// IAM database authentication: the token a handler connects with equals botocore's
/// (`aws rds generate-db-auth-token`, from the pinned awscli) for the same credentials and
/// time, parameter for parameter, signature included. MariaDB cannot check an RDS token;
/// this checks it is the one RDS expects.
#[test]
fn iam_database_tokens_match_botocore() {
    const BOTOCORE: &str = r#"
import datetime, sys, botocore.session
from unittest import mock
s = botocore.session.get_session()
s.set_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
c = s.create_client("rds", region_name="ap-northeast-2")
with mock.patch("botocore.auth.get_current_datetime", return_value=datetime.datetime(2026, 12, 7, 5, 30, 0)):
    for user in sys.argv[1:]:
        print(c.generate_db_auth_token("stock.cluster-abc.ap-northeast-2.rds.amazonaws.com", 3306, user))
"#;
    let users = ["stock_app", "app+user@x"];
    let (code, out, err) =
        tests::run(std::process::Command::new(tests::tool("FLOWFORM_AWS_PYTHON")).arg("-c").arg(BOTOCORE).args(users));
    assert_eq!(code, 0, "{err}");
    let credentials = aws_sdk_secretsmanager::config::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    );
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_796_621_400); // 2026-12-07T05:30:00Z
                                                                         // Host and the set of query parameters, percent-decoded (the order may differ).
    let parts = |t: &str| {
        let (host, query) = t.split_once('?').unwrap();
        let decode = |s: &str| {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        };
        let mut q: Vec<(String, String)> =
            query.split('&').map(|kv| kv.split_once('=').unwrap()).map(|(k, v)| (decode(k), decode(v))).collect();
        q.sort();
        (host.to_string(), q)
    };
    for (user, expected) in users.iter().zip(out.lines()) {
        let ours = shop::db::iam_token(
            "stock.cluster-abc.ap-northeast-2.rds.amazonaws.com",
            3306,
            user,
            "ap-northeast-2",
            &credentials,
            at,
        )
        .unwrap();
        assert_eq!(parts(&ours), parts(expected), "user {user}:\n ours     {ours}\n botocore {expected}");
    }
    assert_eq!(out.lines().count(), users.len());
}
