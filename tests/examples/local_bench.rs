//! The local runner's benchmarks (scripts/bench.sh; numbers in docs/BENCHMARKS.md):
//! checkouts per second through the local HTTP path (HTTP front -> local Runtime API -> the
//! checkout binary -> MariaDB + SNS), and the latency from an out-of-stock answer to restocked
//! stock with a zero-delay factory, split into phases from the order's timestamps.

use serde_json::json;
use shop::schema;
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::services::*;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let sys = generator::build(&text).unwrap().systems.into_iter().find(|s| s.stage == "dev").unwrap();
    let aws = aws().await;
    let provisioned = local::provision::up(&sys, &aws).await.unwrap();
    let shop = LocalShop::start(&sys, provisioned, "lbench", 1_000_000, Arc::new(|_: &str, _: &str| {})).await;
    let (dev, stock_db) = (&shop.dev, &shop.stock_db);
    let http = reqwest::Client::new();
    let body = json!({ "sku": schema::SEED_SKU, "quantity": 1 });
    // One signed-in customer: the local front verifies the token on every request (RS256).
    let auth = bearers(dev)("c-1001");
    // Warm up (first invocation starts nothing new: processes are already up).
    for _ in 0..20 {
        http.post(format!("{}/checkout", dev.http_url))
            .header("authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    for clients in [1usize, 4] {
        let per = 200;
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (http, url, body, auth) = (http.clone(), dev.http_url.clone(), body.clone(), auth.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                for _ in 0..per {
                    let s = Instant::now();
                    let r = http
                        .post(format!("{url}/checkout"))
                        .header("authorization", &auth)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    lat.push(s.elapsed());
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let secs = t.elapsed().as_secs_f64();
        lat.sort();
        println!(
            "checkouts through the local HTTP path, {clients} client(s): {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
            (clients * per) as f64 / secs,
            lat[lat.len() / 2].as_secs_f64() * 1e3,
            lat[lat.len() * 99 / 100].as_secs_f64() * 1e3
        );
    }
    // Out-of-stock -> restocked, zero-delay factory.
    let mut total = Vec::new();
    let mut phases: Vec<[f64; 3]> = Vec::new();
    for _ in 0..10 {
        sqlx::query("UPDATE product SET stock = 0").execute(&stock_db.pool).await.unwrap();
        let t0 = Instant::now();
        let r = http.post(format!("{}/checkout", dev.http_url)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 409);
        loop {
            let v: serde_json::Value =
                http.get(format!("{}/product/donut", dev.http_url)).send().await.unwrap().json().await.unwrap();
            if v["stock"].as_i64().unwrap() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        total.push(t0.elapsed());
        let row = sqlx::query(
            "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, COALESCE(ordered_at, delivered_at)) AS a, TIMESTAMPDIFF(MICROSECOND, COALESCE(ordered_at, delivered_at), delivered_at) AS b, TIMESTAMPDIFF(MICROSECOND, created_at, delivered_at) AS c FROM restock_order ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&stock_db.pool)
        .await
        .unwrap();
        phases.push([
            row.get::<i64, _>("a") as f64 / 1e3,
            row.get::<i64, _>("b") as f64 / 1e3,
            row.get::<i64, _>("c") as f64 / 1e3,
        ]);
    }
    total.sort();
    let med = |i: usize| {
        let mut v: Vec<f64> = phases.iter().map(|p| p[i]).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "out-of-stock -> restocked (zero-delay factory, 10 cycles): median {:.0} ms, max {:.0} ms; phases (median): event -> factory order {:.0} ms (SNS -> SQS -> poller -> stock-request), order -> delivered {:.0} ms (factory callback -> HTTP front -> stock-arrival; 0 when the callback lands before stock-request records the order), order created -> delivered {:.0} ms",
        total[total.len() / 2].as_secs_f64() * 1e3,
        total[total.len() - 1].as_secs_f64() * 1e3,
        med(0),
        med(1),
        med(2)
    );
    shop.stop().await;
}
