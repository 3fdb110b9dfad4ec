//! The whole donut shop on one machine, through the pieces a user deploys: out/dev deployed to
//! moto with awscli (package + deploy), the rest provisioned from the same model
//! (`flowform-local up`), every function running as its unmodified Lambda binary (unpacked
//! from dist/lambda) behind a local Runtime API, queues polled with the event source
//! mapping's rules, HTTP routes served on loopback, MariaDB for both databases, and the
//! factory and marketing stand-ins; every AWS call of a function held to its generated role
//! by the IAM gate. Bounded in time; stops by itself.

use serde_json::{json, Value as Json};
use shop::schema;
use sqlx::Row;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::deploy_path::deploy_dev;
use tests::services::*;

/// Polls `check` until it holds or `limit` passes (then fails with `what`).
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Shop {
    http: reqwest::Client,
    url: String,
    bearer: Bearers,
    sold: Mutex<i64>,
}

impl Shop {
    async fn checkout(&self, customer: &str, qty: i64) -> u16 {
        let r = self
            .http
            .post(format!("{}/checkout", self.url))
            .header("authorization", (self.bearer)(customer))
            .json(&json!({ "sku": schema::SEED_SKU, "quantity": qty }))
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        if code == 200 {
            *self.sold.lock().unwrap() += qty;
        }
        code
    }
    async fn stock(&self) -> i64 {
        let r: Json = self.http.get(format!("{}/product/donut", self.url)).send().await.unwrap().json().await.unwrap();
        r["stock"].as_i64().unwrap()
    }
}

/// Every fault of the chaos run at once: factory errors, accept-then-timeout, duplicate and
/// short reports, a marketing outage, an SNS outage, dropped database connections, every
/// event delivered twice, a poison message. Nothing lost, nothing applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_every_fault_at_once() {
    let alone = tests::alone().await;
    let ledger = tests::chaos::run(&alone, &tests::chaos::Mix::default(), "chaos").await;
    println!("{}", serde_json::to_string(&ledger).unwrap());
    assert!(ledger.ok(), "{ledger:#?}");
    assert!(
        ledger.sold > 0 && ledger.factory_orders > 0 && ledger.promotions > 0,
        "the run did something: {ledger:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_donut_shop_end_to_end() {
    let alone = tests::alone().await;
    let d = deploy_dev(&alone, "e2e");
    let sys = d.system.clone();
    let aws = aws_alone(&alone).await;
    let provisioned = local::provision::up(&sys, &aws).await.unwrap();

    let (stock_db, customer_db) = donut_dbs("e2e", 3).await;
    let manager = format!("ads-{}@donut.example.com", uuid::Uuid::new_v4().simple());
    sqlx::query("UPDATE advertisement SET manager_email = ?").bind(&manager).execute(&stock_db.pool).await.unwrap();

    let factory = standins::factory(0, standins::Faults::default(), 11, Duration::from_millis(100)).await.unwrap();
    let marketing = standins::marketing(0, standins::Faults::default(), 13).await.unwrap();

    // The unmodified Lambda binaries, from the zips `flowform package` built.
    let bin_dir = unpack_handlers(&sys, "e2e");
    let logs: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let verbose = std::env::var_os("FLOWFORM_E2E_VERBOSE").is_some();
    let log: local::runtime::LogSink = Arc::new(move |name: &str, line: &str| {
        let line = format!("[{name}] {line}");
        if verbose {
            println!("{line}");
        }
        sink.lock().unwrap().push(line);
    });
    let dev =
        start_shop(&sys, provisioned.clone(), &bin_dir, (&stock_db, &customer_db), (&factory, &marketing), log).await;
    let shop =
        Shop { http: reqwest::Client::new(), url: dev.http_url.clone(), bearer: bearers(&dev), sold: Mutex::new(0) };
    let limit = Duration::from_secs(60);

    // 1. Sell out -> one out-of-stock -> one factory order -> callback -> stock back.
    println!("== 1. Sell out -> one out-of-stock -> one factory order -> callback -> stock back.");
    for c in ["c-1001", "c-1002", "c-1003"] {
        assert_eq!(shop.checkout(c, 1).await, 200);
    }
    assert_eq!(shop.checkout("c-1001", 1).await, 409);
    assert_eq!(shop.checkout("c-1002", 1).await, 409);
    eventually(limit, "restock after the first cycle", || async { shop.stock().await == 10 }).await;
    assert_eq!(factory.log().accepted.len(), 1, "exactly one factory order for the cycle");
    assert_eq!(shop.checkout("c-1001", 2).await, 200, "checkouts succeed again");

    // 2. The ad manager was asked to pause the ad, once for this cycle.
    println!("== 2. The ad manager was asked to pause the ad, once for this cycle.");
    eventually(limit, "the ad-stop email", || async { ses_sent_to(&manager).await.len() == 1 }).await;

    // 3. 150 units -> VIP and marketing told; 40 units -> stays normal, the VIP queue never sees it.
    println!("== 3. 150 units -> VIP and marketing told; 40 units -> stays normal, the VIP queue never sees it.");
    let mut adjust: i64 = 0; // stock added or removed by hand, for the ledger
    let mut add = |n: i64| {
        adjust += n;
        let pool = stock_db.pool.clone();
        async move { sqlx::query("UPDATE product SET stock = stock + ?").bind(n).execute(&pool).await.unwrap() }
    };
    add(1000).await;
    assert_eq!(shop.checkout("c-1002", 150).await, 200);
    assert_eq!(shop.checkout("c-1003", 40).await, 200);
    let kind = |c: &'static str| {
        let pool = customer_db.pool.clone();
        async move {
            sqlx::query("SELECT type FROM customer WHERE customer_id = ?")
                .bind(c)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<String, _>(0)
        }
    };
    eventually(limit, "c-1002 promoted and marketing told", || async {
        kind("c-1002").await == "vip" && marketing.log().accepted.len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(kind("c-1003").await, "normal");
    assert_eq!(dev.stats()["vip"].distinct_messages, 1, "the 40-unit purchase was filtered out before the VIP queue");

    // 4. Chaos: the factory fails 30% and often calls back twice, marketing is down for a
    println!("== 4. Chaos: factory fails 30% and calls back twice, marketing down for a while, a malformed message");
    //    while, and a malformed message lands in the stock-request queue.
    factory.set_faults(standins::Faults { error_rate: 0.3, duplicate_rate: 0.5, ..Default::default() });
    marketing.set_faults(standins::Faults { down: true, ..Default::default() });
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let (stock_request_url, _) = &provisioned.queues["stock_request"];
    sqs.send_message()
        .queue_url(stock_request_url)
        .message_body("{\"Type\":\"Notification\",\"Message\":\"not json\"}")
        .send()
        .await
        .unwrap();
    let left = shop.stock().await;
    add(2 - left).await;
    let mut cycles = 1;
    for (round, buyer) in ["c-1001", "c-1003", ""].into_iter().enumerate() {
        loop {
            match shop.checkout("c-1001", 1).await {
                200 => {}
                409 => break,
                other => panic!("checkout answered {other}"),
            }
        }
        cycles += 1;
        eventually(limit, "the restock under chaos", || async { shop.stock().await > 0 }).await;
        if !buyer.is_empty() {
            add(100).await;
            assert_eq!(shop.checkout(buyer, 100).await, 200);
        }
        if round == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            marketing.set_faults(standins::Faults::default()); // the outage ends
        }
    }
    eventually(limit, "marketing told about every VIP purchase", || async { marketing.log().accepted.len() == 3 })
        .await;
    let depth = |url: String| {
        let sqs = sqs.clone();
        async move {
            let r = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .unwrap();
            r.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
                .parse::<i64>()
                .unwrap()
        }
    };
    // It fails on every receive; SQS moves it after maxReceiveCount receives, each followed by
    // the (compressed) backoff: 63 s for 7 receives, counted from its first receive.
    let to_dlq = local::dev::dead_letter_after(RETRY_AFTER, provisioned.max_receives["stock_request"]);
    eventually(to_dlq + limit, "the malformed message in the stock-request DLQ", || {
        let d = depth(provisioned.dlqs["stock_request"].clone());
        async move { d.await >= 1 }
    })
    .await;

    // The ledger: every message took effect exactly once or sits in a DLQ.
    let orders = sqlx::query("SELECT status, CAST(produced AS SIGNED) AS produced FROM restock_order")
        .fetch_all(&stock_db.pool)
        .await
        .unwrap();
    assert_eq!(orders.len(), cycles, "one factory order per restock cycle");
    let delivered: i64 = orders.iter().map(|o| o.get::<i64, _>("produced")).sum();
    let undelivered = orders.iter().filter(|o| o.get::<String, _>("status") != "delivered").count() as i64;
    let mut in_dlqs = 0;
    for url in provisioned.dlqs.values() {
        in_dlqs += depth(url.clone()).await;
    }
    assert_eq!(
        in_dlqs,
        1 + undelivered,
        "the DLQs hold the malformed message and any order that never reached the factory"
    );
    let sold = *shop.sold.lock().unwrap();
    let stock = shop.stock().await;
    assert_eq!(
        stock,
        3 + adjust + delivered - sold,
        "stock = initial + produced - sold (+ manual adjustments {adjust}); duplicate callbacks added nothing"
    );
    let accepted = factory.log().accepted.len();
    assert_eq!(accepted as i64, cycles as i64 - undelivered, "exactly one accepted factory order per delivered cycle");
    let vip = sqlx::query(
        "SELECT COUNT(*), CAST(COALESCE(SUM(marketing_notified_at IS NULL), 0) AS SIGNED) FROM vip_promotion",
    )
    .fetch_one(&customer_db.pool)
    .await
    .unwrap();
    assert_eq!(
        (vip.get::<i64, _>(0), vip.get::<i64, _>(1)),
        (3, 0),
        "one promotion per VIP purchase, each told to marketing"
    );
    assert_eq!(marketing.log().accepted.len(), 3, "marketing told exactly once per promotion");
    eventually(limit, "one ad-stop email per restock cycle", || async { ses_sent_to(&manager).await.len() == cycles })
        .await;
    // The DLQ alarm's condition (ApproximateNumberOfMessagesVisible > 0) holds for stock_request.
    assert!(depth(provisioned.dlqs["stock_request"].clone()).await > 0);
    let queues: Vec<String> = dev
        .stats()
        .iter()
        .map(|(q, s)| {
            format!(
                "{q}: {} received ({} distinct), {} ok, {} failed",
                s.receives, s.distinct_messages, s.succeeded, s.failed
            )
        })
        .collect();
    println!(
        "ledger: {cycles} cycles, {delivered} delivered, {sold} sold, {in_dlqs} in DLQs, stock {stock}; {}",
        queues.join("; ")
    );
    let logs = logs.lock().unwrap().clone();
    // One process per function, or `<name>#<n>` when the function runs several.
    assert!(logs.iter().any(|l| l.starts_with("[donut-shop-dev-stock-request]") || l.starts_with("[donut-shop-dev-stock-request#")), "function logs arrive prefixed");
    // No secret value in any log line of the whole run (the callback key signs every
    // factory callback URL that went through the logs' requests).
    let key = aws_sdk_secretsmanager::Client::new(&aws)
        .get_secret_value()
        .secret_id(&provisioned.secrets["callback_key"])
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    assert!(key.len() >= 32);
    let leaked: Vec<&String> = logs.iter().filter(|l| l.contains(&key)).collect();
    assert!(leaked.is_empty(), "the callback key appears in the logs: {leaked:?}");
    // Every AWS call of every function went through the IAM gate: the generated roles grant
    // all the run needed, and no call was refused.
    assert!(dev.denials().is_empty(), "the IAM gate refused calls the run needed: {:?}", dev.denials());
    dev.stop().await;
    factory.stop();
    marketing.stop();
    stock_db.drop_db().await;
    customer_db.drop_db().await;
    let _ = std::fs::remove_dir_all(&bin_dir);
}
