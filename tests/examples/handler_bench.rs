//! Handler benchmarks (run by scripts/bench.sh inside scripts/with-moto.sh; numbers in
//! docs/BENCHMARKS.md). Not a test: it prints measurements.
//!
//! 1. checkout latency: 1000 sequential `POST /checkout` in process against MariaDB and
//!    moto's SNS (each sale commits its outbox row, then publishes it), p50 / p99 / max; the
//!    outbox lag (commit -> published) of those events; then the relay: the same 1000 events
//!    marked unpublished, published again by relay passes, events per second; then one
//!    product, 4 concurrent clients, 2000 sales in process: sales per second (the row lock
//!    spans the transaction only, not the SNS publish);
//! 2. stock-request throughput: batches of 10 distinct out-of-stock events against the factory
//!    stand-in (each claims its order in MariaDB and POSTs the factory), records per second;
//! 3. cold start: release handler binaries from process start to their first Runtime API
//!    poll (`GET /2018-06-01/runtime/invocation/next`), 20 runs each.

use serde_json::json;
use shop::schema;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::services::*;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn checkout_latency() {
    let aws = aws().await;
    let db = fresh_db("bench", 4).await;
    schema::migrate(&db.pool, schema::STOCK).await.unwrap();
    schema::seed_stock(&db.pool, 1_000_000, "http://factory.invalid").await.unwrap();
    let cap = Capture::new(&aws, "bench").await;
    let topics = [
        (shop::bindings::topics::OUT_OF_STOCK.to_string(), cap.topic_arn.clone()),
        (shop::bindings::topics::PURCHASES.to_string(), cap.topic_arn.clone()),
    ]
    .into();
    let c = shop::sales::Checkout {
        pool: db.pool.clone(),
        publisher: shop::outbox::Publisher { sns: aws_sdk_sns::Client::new(&aws), topics },
    };
    let body = json!({ "sku": schema::SEED_SKU, "quantity": 1 }).to_string();
    let mut times = Vec::new();
    for i in 0..1100 {
        let ev = checkout_as("c-1001", &body);
        let t = Instant::now();
        let r = shop::sales::checkout(&c, ev).await;
        if i >= 100 {
            times.push(t.elapsed());
        }
        assert_eq!(r.status_code, 200);
    }
    times.sort();
    println!("checkout latency (1000 sales, MariaDB + outbox + moto SNS after commit): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", pct(&times, 0.5), pct(&times, 0.99), pct(&times, 1.0));
    let mut lags: Vec<Duration> = sqlx::query("SELECT CAST(TIMESTAMPDIFF(MICROSECOND, created_at, published_at) AS SIGNED) FROM outbox WHERE published_at IS NOT NULL")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| Duration::from_micros(sqlx::Row::get::<i64, _>(r, 0).max(0) as u64))
        .collect();
    lags.sort();
    println!("outbox lag, fast path (row created in the transaction -> marked published, {} events): p50 {:.2} ms, p99 {:.2} ms", lags.len(), pct(&lags, 0.5), pct(&lags, 0.99));
    sqlx::query("UPDATE outbox SET published_at = NULL").execute(&db.pool).await.unwrap();
    let t = Instant::now();
    let mut published = 0;
    loop {
        let r =
            shop::outbox::relay(&db.pool, &c.publisher, Duration::ZERO, Duration::from_secs(30), 200).await.unwrap();
        published += r.published;
        if r.claimed == 0 {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "outbox relay (a backlog of {published} events, passes of 200): {:.0} events/s, {:.2} s in all",
        published as f64 / secs,
        secs
    );
    db.drop_db().await;
}

/// An SNS endpoint that answers every Publish at once (no fan-out, nothing stored): takes
/// moto, a single-threaded Python server, out of a measurement of the shop's own work.
async fn instant_sns() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            [("content-type", "text/xml")],
            format!(
                "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>{}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>",
                uuid::Uuid::new_v4()
            ),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn same_product_four_clients(sns_endpoint: Option<String>) {
    let aws = match &sns_endpoint {
        Some(url) => local::aws_config(url, "ap-northeast-2").await,
        None => aws().await.clone(),
    };
    let db = fresh_db("bench", 8).await;
    schema::migrate(&db.pool, schema::STOCK).await.unwrap();
    schema::seed_stock(&db.pool, 1_000_000, "http://factory.invalid").await.unwrap();
    let arn = match &sns_endpoint {
        Some(_) => "arn:aws:sns:ap-northeast-2:123456789012:instant".to_string(),
        None => Capture::new(&aws, "bench4").await.topic_arn.clone(),
    };
    let topics = [
        (shop::bindings::topics::OUT_OF_STOCK.to_string(), arn.clone()),
        (shop::bindings::topics::PURCHASES.to_string(), arn),
    ]
    .into();
    let c = std::sync::Arc::new(shop::sales::Checkout {
        pool: db.pool.clone(),
        publisher: shop::outbox::Publisher { sns: aws_sdk_sns::Client::new(&aws), topics },
    });
    let body = json!({ "sku": schema::SEED_SKU, "quantity": 1 }).to_string();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (c, body) = (c.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..500 {
                assert_eq!(shop::sales::checkout(&c, checkout_as("c-1001", &body)).await.status_code, 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let sns = if sns_endpoint.is_some() { "an instant SNS stub" } else { "moto SNS" };
    println!(
        "one product, 4 concurrent clients, 2000 sales in process (MariaDB + outbox + {sns}): {:.0} sales/s",
        2000.0 / secs
    );
    db.drop_db().await;
}

async fn stock_request_throughput() {
    let db = fresh_db("bench", 4).await;
    schema::migrate(&db.pool, schema::STOCK).await.unwrap();
    schema::seed_stock(&db.pool, 0, "http://factory.invalid").await.unwrap();
    let factory = standins::factory(0, standins::Faults::default(), 1, Duration::from_secs(3600)).await.unwrap();
    let s = shop::stock_request::StockRequest {
        pool: db.pool.clone(),
        http: shop::deps::http_client(Duration::from_secs(5)),
        factory_url: factory.url(),
        api_url: "https://api.example.com".into(),
        callback_key: b"k".to_vec(),
        lease_seconds: 15,
    };
    let pid = uuid::Uuid::parse_str(schema::SEED_PRODUCT_ID).unwrap();
    let batches = 50;
    let mut total = Duration::ZERO;
    for b in 0..batches {
        let mut records = Vec::new();
        for i in 0..10 {
            let order_id = uuid::Uuid::new_v4().to_string();
            let cycle = (b * 10 + i + 1) as i64;
            sqlx::query("INSERT INTO restock_order (order_id, product_id, cycle, quantity, requester, status, due_at) VALUES (?, ?, ?, 10, 'bench', 'requested', NOW(3) + INTERVAL 1 HOUR)")
                .bind(&order_id)
                .bind(pid.as_bytes().to_vec())
                .bind(cycle)
                .execute(&db.pool)
                .await
                .unwrap();
            let ev = json!({ "order_id": order_id, "product_id": schema::SEED_PRODUCT_ID, "sku": schema::SEED_SKU, "factory_id": schema::SEED_FACTORY_ID, "count": 10, "requester": "bench", "cycle": cycle });
            records.push((format!("m{i}"), sns_envelope(&ev, &[])));
        }
        let refs: Vec<(&str, String)> = records.iter().map(|(id, b)| (id.as_str(), b.clone())).collect();
        let event = sqs_event(&refs);
        let t = Instant::now();
        let r = shop::stock_request::handle(&s, event, shop::batch::Budget::unlimited()).await;
        total += t.elapsed();
        assert!(r.batch_item_failures.is_empty());
    }
    let per_batch = total.as_secs_f64() * 1000.0 / batches as f64;
    println!(
        "stock-request (batches of 10, MariaDB + factory stand-in): {per_batch:.2} ms per batch, {:.0} records/s",
        10_000.0 / per_batch
    );
    assert_eq!(factory.log().accepted.len(), batches * 10);
    factory.stop();
    db.drop_db().await;
}

fn cold_start(bin: &std::path::Path, env: &[(&str, String)]) -> Vec<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut out = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let mut child = Command::new(bin)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("AWS_REGION", "ap-northeast-2")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        out.push(t.elapsed());
        assert!(line.starts_with("GET /2018-06-01/runtime/invocation/next"), "{line}");
        let _ = child.kill();
        let _ = child.wait();
    }
    out.sort();
    out
}

#[tokio::main]
async fn main() {
    checkout_latency().await;
    same_product_four_clients(None).await;
    same_product_four_clients(Some(instant_sns().await)).await;
    stock_request_throughput().await;
    let dir = std::path::PathBuf::from(
        std::env::var("FLOWFORM_BENCH_BIN_DIR").expect("FLOWFORM_BENCH_BIN_DIR: the release binaries"),
    );
    let db = fresh_db("coldstart", 2).await;
    schema::migrate(&db.pool, schema::STOCK).await.unwrap();
    let url = db.url.clone();
    let topic = "arn:aws:sns:ap-northeast-2:123456789012:bench".to_string();
    for (name, env) in [
        ("product", vec![(contracts_db_url("stock"), url.clone())]),
        (
            "checkout",
            vec![
                (contracts_db_url("stock"), url.clone()),
                (contracts::topic_arn("out_of_stock"), topic.clone()),
                (contracts::topic_arn("purchases"), topic.clone()),
            ],
        ),
    ] {
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let t = cold_start(&dir.join(name), &env);
        println!("cold start {name} (process start -> first Runtime API poll, incl. MariaDB connect, 20 runs): p50 {:.2} ms, max {:.2} ms", pct(&t, 0.5), pct(&t, 1.0));
    }
    db.drop_db().await;
}

fn contracts_db_url(db: &str) -> String {
    contracts::db_plaintext_url(db)
}
