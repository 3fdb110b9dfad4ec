//! Stand-ins for the donut shop's external systems, for tests and local runs (loopback only):
//! - the legacy **Factory API**: `POST /api/manufactures` with the six-string order; after a
//!   delay it POSTs the order back to its `CallbackUrl`;
//! - the **marketing system**: `POST /api/vip`.
//!
//! Both inject faults on demand (error rate, slow answers, outages for a given time; for the
//! factory also: accept an order and then answer too late, call back twice, report a
//! different count than ordered) and expose what they saw under `/admin/*`, so tests can
//! assert on it. Faults can be changed while running: `PUT /admin/faults` (an outage's clock
//! starts with the next request). `dbproxy` is a third stand-in: a MySQL-protocol proxy that drops connections.

pub mod dbproxy;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fault injection, per request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// Answer 503 to everything.
    pub down: bool,
    /// Share of requests answered with HTTP 500 (0.0..=1.0).
    pub error_rate: f64,
    /// Share of requests answered only after `slow_ms`.
    pub slow_rate: f64,
    pub slow_ms: u64,
    /// Factory only: share of orders whose callback is sent twice.
    pub duplicate_rate: f64,
    /// Factory only: share of orders accepted (and produced) whose answer comes only after
    /// `slow_ms`, so a client with a shorter timeout sees a timeout after the factory accepted.
    pub accept_then_timeout_rate: f64,
    /// Factory only: share of productions whose callback reports one unit less than ordered.
    pub short_report_rate: f64,
    /// Answer 503 to everything for this long, from the first request after the faults were
    /// set (0 = no outage).
    pub outage_ms: u64,
}

/// A small deterministic PRNG (xorshift64*), so fault patterns repeat for a given seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

pub use contracts::wire::FactoryOrder;

/// What a stand-in saw: accepted requests and the outcome of each callback it sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Log {
    pub accepted: Vec<serde_json::Value>,
    pub rejected: usize,
    /// HTTP status of every callback attempt (factory only; 0 = connection failed).
    pub callbacks: Vec<(String, u16)>,
    /// Factory only: (callback URL, units reported) of every production that called back
    /// successfully (2xx). A production reported twice (`duplicate_rate`) appears once.
    pub produced: Vec<(String, u64)>,
    /// Factory only: (callback URL, units) of every order accepted, so produced, whether or
    /// not its callback ever got through.
    pub productions: Vec<(String, u64)>,
    /// How many times each fault fired: `error`, `slow`, `down`, `outage`, `duplicate`,
    /// `accept_then_timeout`, `short_report`.
    pub fired: std::collections::BTreeMap<String, usize>,
}

impl Log {
    fn fire(&mut self, fault: &str) {
        *self.fired.entry(fault.to_string()).or_default() += 1;
    }
}

struct Shared {
    faults: Mutex<Faults>,
    /// When the outage began: the first request after the faults were set.
    outage_start: Mutex<Option<std::time::Instant>>,
    rng: Mutex<Rng>,
    log: Mutex<Log>,
    callback_delay: Duration,
    http: reqwest::Client,
}

/// A running stand-in.
pub struct Running {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn log(&self) -> Log {
        self.shared.log.lock().unwrap().clone()
    }
    pub fn set_faults(&self, f: Faults) {
        self.shared.set_faults(f);
    }
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Shared {
    fn set_faults(&self, f: Faults) {
        *self.faults.lock().unwrap() = f;
        *self.outage_start.lock().unwrap() = None;
    }

    fn chance(&self, p: f64) -> bool {
        self.rng.lock().unwrap().chance(p)
    }

    fn fire(&self, fault: &str) {
        self.log.lock().unwrap().fire(fault);
    }
}

/// Decides the fate of one request: Some(status) to fail it, after an optional delay.
async fn inject(s: &Shared) -> Option<StatusCode> {
    let f = s.faults.lock().unwrap().clone();
    let in_outage = f.outage_ms > 0
        && s.outage_start.lock().unwrap().get_or_insert_with(std::time::Instant::now).elapsed()
            < Duration::from_millis(f.outage_ms);
    let (fail, slow) = (s.chance(f.error_rate), s.chance(f.slow_rate));
    if slow {
        s.fire("slow");
        tokio::time::sleep(Duration::from_millis(f.slow_ms)).await;
    }
    if f.down || in_outage {
        s.fire(if f.down { "down" } else { "outage" });
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else if fail {
        s.fire("error");
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        None
    }
}

fn valid(o: &FactoryOrder) -> Result<u64, String> {
    for (k, v) in [
        ("MessageGroupId", &o.message_group_id),
        ("MessageAttributeProductId", &o.message_attribute_product_id),
        ("MessageAttributeProductCnt", &o.message_attribute_product_cnt),
        ("MessageAttributeFactoryId", &o.message_attribute_factory_id),
        ("MessageAttributeRequester", &o.message_attribute_requester),
        ("CallbackUrl", &o.callback_url),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{k} is empty"));
        }
    }
    if !(o.callback_url.starts_with("http://") || o.callback_url.starts_with("https://")) {
        return Err("CallbackUrl is not an http(s) URL".into());
    }
    o.message_attribute_product_cnt
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "MessageAttributeProductCnt is not a positive number".into())
}

async fn manufacture(
    State(s): State<Arc<Shared>>,
    body: Result<Json<FactoryOrder>, axum::extract::rejection::JsonRejection>,
) -> (StatusCode, Json<serde_json::Value>) {
    if let Some(code) = inject(&s).await {
        return (code, Json(serde_json::json!({ "error": "injected fault" })));
    }
    let order = match body {
        Ok(Json(o)) => o,
        Err(e) => {
            s.log.lock().unwrap().rejected += 1;
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": e.body_text() })));
        }
    };
    if let Err(why) = valid(&order) {
        s.log.lock().unwrap().rejected += 1;
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": why })));
    }
    s.log.lock().unwrap().accepted.push(serde_json::to_value(&order).unwrap_or_default());
    let f = s.faults.lock().unwrap().clone();
    let (twice, late, short) =
        (s.chance(f.duplicate_rate), s.chance(f.accept_then_timeout_rate), s.chance(f.short_report_rate));
    let ordered: u64 = order.message_attribute_product_cnt.parse().unwrap_or(0);
    let units = if short { ordered.saturating_sub(1) } else { ordered };
    s.log.lock().unwrap().productions.push((order.callback_url.clone(), units));
    for (fired, name) in [(twice, "duplicate"), (late, "accept_then_timeout"), (short, "short_report")] {
        if fired {
            s.fire(name);
        }
    }
    let shared = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(shared.callback_delay).await;
        for _ in 0..if twice { 2 } else { 1 } {
            callback(&shared, &order, units).await;
        }
    });
    if late {
        // Accepted and in production; the answer comes after the client gave up.
        tokio::time::sleep(Duration::from_millis(f.slow_ms)).await;
    }
    (StatusCode::ACCEPTED, Json(serde_json::json!({ "accepted": true })))
}

/// POSTs the production report to the order's CallbackUrl, retrying 5xx and connection errors.
async fn callback(s: &Shared, o: &FactoryOrder, units: u64) {
    let body = serde_json::json!({
        "MessageGroupId": o.message_group_id,
        "MessageAttributeProductId": o.message_attribute_product_id,
        "MessageAttributeProductCnt": units.to_string(),
        "MessageAttributeFactoryId": o.message_attribute_factory_id,
        "MessageAttributeRequester": o.message_attribute_requester,
        "Status": "produced",
    });
    for attempt in 0..8u32 {
        let status = match s.http.post(&o.callback_url).json(&body).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        {
            let mut log = s.log.lock().unwrap();
            log.callbacks.push((o.callback_url.clone(), status));
            if (200..300).contains(&status) && !log.produced.iter().any(|(u, _)| u == &o.callback_url) {
                log.produced.push((o.callback_url.clone(), units));
            }
        }
        if status != 0 && status < 500 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt.min(5)))).await;
    }
}

async fn vip(
    State(s): State<Arc<Shared>>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    if let Some(code) = inject(&s).await {
        return (code, Json(serde_json::json!({ "error": "injected fault" })));
    }
    if body.get("customer_id").and_then(|c| c.as_str()).is_none_or(str::is_empty) {
        s.log.lock().unwrap().rejected += 1;
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "customer_id is required" })));
    }
    s.log.lock().unwrap().accepted.push(body);
    (StatusCode::OK, Json(serde_json::json!({ "ok": true })))
}

async fn admin_log(State(s): State<Arc<Shared>>) -> Json<Log> {
    Json(s.log.lock().unwrap().clone())
}

async fn admin_faults(State(s): State<Arc<Shared>>, Json(f): Json<Faults>) -> StatusCode {
    s.set_faults(f);
    StatusCode::NO_CONTENT
}

async fn serve(port: u16, shared: Arc<Shared>, app: Router<Arc<Shared>>) -> std::io::Result<Running> {
    let app =
        app.route("/admin/log", get(admin_log)).route("/admin/faults", put(admin_faults)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running { addr, shared, task })
}

fn shared(faults: Faults, seed: u64, callback_delay: Duration) -> Arc<Shared> {
    Arc::new(Shared {
        faults: Mutex::new(faults),
        outage_start: Mutex::new(None),
        rng: Mutex::new(Rng(seed.max(1))),
        log: Mutex::new(Log::default()),
        callback_delay,
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client"),
    })
}

/// Starts the Factory API stand-in on 127.0.0.1:`port` (0 = a free port).
pub async fn factory(port: u16, faults: Faults, seed: u64, callback_delay: Duration) -> std::io::Result<Running> {
    serve(port, shared(faults, seed, callback_delay), Router::new().route("/api/manufactures", post(manufacture))).await
}

/// Starts the marketing-system stand-in on 127.0.0.1:`port` (0 = a free port).
pub async fn marketing(port: u16, faults: Faults, seed: u64) -> std::io::Result<Running> {
    serve(port, shared(faults, seed, Duration::ZERO), Router::new().route("/api/vip", post(vip))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_rates_are_roughly_right_and_repeatable() {
        let mut a = Rng(42);
        let hits = (0..10_000).filter(|_| a.chance(0.3)).count();
        assert!((2700..3300).contains(&hits), "{hits}");
        let mut b = Rng(42);
        let mut c = Rng(42);
        assert!((0..100).all(|_| b.chance(0.5) == c.chance(0.5)));
    }
}
