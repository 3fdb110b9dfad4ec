//! `flowform-local dev`: the system on one machine. Each function runs as its real binary
//! behind a local Runtime API; queue-triggered functions are fed by pollers that follow the
//! event source mapping's rules (batch size and window, partial batch failures, failed records
//! left for SQS to redeliver and, after maxReceiveCount, to move to the DLQ), with as many
//! pollers and processes as the mapping's maximum concurrency (so duplicate deliveries race
//! as they do on AWS); scheduled functions are invoked by a ticker with EventBridge's event;
//! HTTP routes are served on a loopback port as API Gateway v2 events; routes with
//! `auth: jwt` verify bearer tokens as API Gateway does, against a local issuer whose key is
//! generated at start ([`crate::jwt`]); every AWS call of a function passes the IAM gate, which
//! holds it to the function's generated role statements ([`crate::iam`]).

use crate::iam;
use crate::jwt::{self, Issuer, Jwk};
use crate::locals::{self, Locals};
use crate::provision::Provisioned;
use crate::runtime::{Function, InvokeError, LogSink, Spec};
use generator::cfn;
use generator::model::{Route, RouteAuth, System, Trigger};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Options {
    pub system: System,
    pub provisioned: Provisioned,
    /// Handler binaries: `<bin_dir>/<handler>` (e.g. bootstraps unpacked from dist/lambda).
    pub bin_dir: PathBuf,
    /// `mysql://` URL per database name.
    pub db_urls: BTreeMap<String, String>,
    /// Base URL per external endpoint name.
    pub endpoint_urls: BTreeMap<String, String>,
    /// The AWS endpoint (moto) the functions talk to.
    pub aws_endpoint: String,
    pub region: String,
    /// Loopback port for the HTTP API (0 = a free one).
    pub http_port: u16,
    /// Most processes per function (Lambda runs up to the reserved concurrency, or for a
    /// queue the mapping's maximum concurrency, in parallel; locally this caps it). A queue
    /// function gets one poller per process.
    pub max_concurrency: usize,
    /// Invoke scheduled functions this often instead of their expression's period (a local
    /// speed-up; `cron(...)` expressions fire every minute locally unless this is set).
    pub schedule_every: Option<Duration>,
    /// Extra environment for every function, after the template's (e.g.
    /// `AWS_ENDPOINT_URL_SNS` to put a fault-injecting proxy in front of one service).
    pub extra_env: Vec<(String, String)>,
    /// Make failed records visible again after this long (doubling with each receive, up to
    /// 16x) instead of the handlers' backoff waits (a local speed-up with the same shape).
    pub retry_after: Option<Duration>,
    /// Throttle each route as the stage does (its own `RouteSettings`, else the stage's
    /// default): over the limit, 429 as API Gateway answers. Off for load tests.
    pub throttle: bool,
    pub log: LogSink,
}

/// A token bucket per route: `rate` tokens a second, at most `burst` saved, as API Gateway
/// meters each route.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u64, burst: u64) -> Self {
        Bucket { rate: rate as f64, burst: burst as f64, tokens: burst as f64, last: Instant::now() }
    }
    /// Takes one token if there is one.
    fn admit(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The limits of each route key, from the lowered stack (the template's values).
fn buckets(sys: &System) -> BTreeMap<String, Mutex<Bucket>> {
    let Some(h) = cfn::lower(sys).http else { return BTreeMap::new() };
    h.routes
        .iter()
        .map(|r| {
            let own = h.route_settings.iter().find(|s| s.key == r.key);
            let (rate, burst) = own.map_or((h.throttle_rate, h.throttle_burst), |s| (s.rate, s.burst));
            (r.key.clone(), Mutex::new(Bucket::new(rate, burst)))
        })
        .collect()
}

/// How long a failed record stays invisible after its `receives`-th receive when
/// `Options::retry_after` is `after`: doubling with each receive, capped at 16x (the shape of
/// `contracts::retry`, compressed).
pub fn retry_wait(after: Duration, receives: u64) -> Duration {
    Duration::from_secs(after.as_secs().max(1) << receives.saturating_sub(1).min(4))
}

/// When a record that fails every time reaches its dead-letter queue, counted from its first
/// receive: SQS moves it on the receive after the `max_receives`-th, so after every wait.
pub fn dead_letter_after(after: Duration, max_receives: u64) -> Duration {
    (1..=max_receives).map(|n| retry_wait(after, n)).sum()
}

/// Per-queue counts, for the ledger.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct QueueStats {
    pub receives: u64,
    pub distinct_messages: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub invoke_errors: u64,
    #[serde(skip)]
    pub seen: BTreeSet<String>,
}

pub struct Dev {
    pub http_url: String,
    /// The AWS endpoint the functions use: the IAM gate in front of moto.
    pub aws_url: String,
    /// The local issuer of the `auth: jwt` routes (None when the stage has none): tokens it
    /// mints pass the routes' checks.
    pub issuer: Option<Arc<Issuer>>,
    /// Its base URL (each authorizer's issuer is `<base>/<authorizer>`).
    pub issuer_url: Option<String>,
    system: System,
    pub functions: BTreeMap<String, Arc<Function>>,
    pub stats: Arc<Mutex<BTreeMap<String, QueueStats>>>,
    denials: Arc<Mutex<Vec<String>>>,
    stopping: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Dev {
    /// A token of `authorizer` for `sub` with `scopes`, valid for `ttl` seconds, for the
    /// authorizer's first audience (what a client of the issuer would get).
    pub fn token(&self, authorizer: &str, sub: &str, scopes: &[&str], ttl: u64) -> Option<String> {
        let a = self.system.authorizers.iter().find(|a| a.name == authorizer)?;
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        Some(self.issuer.as_ref()?.mint(authorizer, a.audience.first()?, sub, &scopes, ttl))
    }

    /// One line per function: its name, what starts it, how many processes run it.
    pub fn summary(&self) -> Vec<String> {
        self.system
            .functions
            .iter()
            .map(|f| {
                let what = match &f.trigger {
                    Trigger::Http { routes, .. } => {
                        routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>().join(", ")
                    }
                    Trigger::Queue { queue, .. } => format!("queue {queue}"),
                    Trigger::Schedule { expression, .. } => format!("schedule {expression}"),
                };
                let n = self.functions.get(&f.name).map_or(0, |x| x.processes());
                format!("{:<22} {what}  ({n} process{})", f.name, if n == 1 { "" } else { "es" })
            })
            .collect()
    }

    /// The system it runs.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The AWS requests of the functions the IAM gate refused, one line each
    /// (`<function> <action> <resource>`), in order.
    pub fn denials(&self) -> Vec<String> {
        self.denials.lock().unwrap().clone()
    }

    pub fn stats(&self) -> BTreeMap<String, QueueStats> {
        self.stats.lock().unwrap().clone()
    }

    /// Stops pollers, the HTTP front and every function process.
    pub async fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for t in &self.tasks {
            t.abort();
        }
        for f in self.functions.values() {
            f.stop().await;
        }
    }
}

/// The env a function gets locally: the template's variables (from the same lowering),
/// with CloudFormation references resolved to the local resources ([`Locals`]), its own access
/// key ([`iam::access_key`]) and `aws_url` as its AWS endpoint (the IAM gate in front of moto).
pub fn function_env(o: &Options, http_url: &str, aws_url: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let view = cfn::lower(&o.system);
    let locals = Locals::new(&o.system, &o.provisioned, &o.endpoint_urls, &o.region);
    envs(o, &view, &locals, http_url, aws_url)
}

/// [`function_env`] from a lowering and its local values that the caller already has.
fn envs(
    o: &Options,
    view: &cfn::StackView,
    locals: &Locals,
    http_url: &str,
    aws_url: &str,
) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for (f, fv) in o.system.functions.iter().zip(&view.functions) {
        let mut env: Vec<(String, String)> = Vec::new();
        for v in &fv.env {
            let value = if v.name == contracts::HTTP_API_URL { http_url.to_string() } else { locals.value(&v.value) };
            env.push((v.name.clone(), value));
        }
        for d in &f.databases {
            if let Some(url) = o.db_urls.get(d) {
                env.push((contracts::db_plaintext_url(d), url.clone()));
            }
        }
        env.push(("AWS_ENDPOINT_URL".into(), aws_url.to_string()));
        env.push(("AWS_ACCESS_KEY_ID".into(), iam::access_key(&f.name)));
        env.push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
        env.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
        env.extend(o.extra_env.iter().cloned());
        out.insert(f.name.clone(), env);
    }
    out
}

/// Starts the IAM gate for `roles` in front of `o.aws_endpoint` on a loopback port: its URL
/// and state.
async fn gate(
    o: &Options,
    roles: std::collections::HashMap<String, iam::Role>,
) -> Result<(String, Arc<iam::Gate>, tokio::task::JoinHandle<()>), String> {
    let gate = Arc::new(iam::Gate::new(o.aws_endpoint.clone(), o.region.clone(), roles, o.log.clone()));
    let l = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("IAM gate port: {e}"))?;
    let url = format!("http://{}", l.local_addr().map_err(|e| e.to_string())?);
    Ok((url, gate.clone(), tokio::spawn(iam::serve(l, gate))))
}

pub async fn start(o: Options) -> Result<Dev, String> {
    let sys = o.system.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.http_port))
        .await
        .map_err(|e| format!("HTTP port {}: {e}", o.http_port))?;
    let http_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let view = cfn::lower(&sys);
    let locals = Locals::new(&sys, &o.provisioned, &o.endpoint_urls, &o.region);
    let (gate_url, gate, gate_task) = gate(&o, locals::roles(&sys, &view, &locals)).await?;
    let envs = envs(&o, &view, &locals, &http_url, &gate_url);
    let mut functions = BTreeMap::new();
    for f in &sys.functions {
        let binary = o.bin_dir.join(&f.handler);
        if !binary.exists() {
            return Err(format!(
                "no binary for handler `{}` at {} (run `flowform package`, or pass --bin-dir)",
                f.handler,
                binary.display()
            ));
        }
        let spec = Spec {
            name: f.physical_name(&sys),
            binary,
            env: envs[&f.name].clone(),
            timeout: Duration::from_secs(f.timeout),
            memory: f.memory,
            region: o.region.clone(),
            concurrency: processes(f, o.max_concurrency),
        };
        let func =
            Function::start(spec, o.log.clone()).await.map_err(|e| format!("runtime API for {}: {e}", f.name))?;
        functions.insert(f.name.clone(), func);
    }
    let stopping = Arc::new(AtomicBool::new(false));
    let stats: Arc<Mutex<BTreeMap<String, QueueStats>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let mut tasks = vec![gate_task];
    for f in &sys.functions {
        if let Trigger::Schedule { expression, retries, .. } = &f.trigger {
            let every = o.schedule_every.unwrap_or_else(|| period(expression));
            let t = Ticker {
                function: functions[&f.name].clone(),
                every,
                retries: *retries,
                stats: stats.clone(),
                region: o.region.clone(),
                log: o.log.clone(),
            };
            tasks.push(tokio::spawn(t.run()));
        }
        let Trigger::Queue { queue, batch_size, batch_window, .. } = &f.trigger else { continue };
        let (url, arn) =
            o.provisioned.queues.get(queue).cloned().ok_or_else(|| format!("queue {queue} was not provisioned"))?;
        // The poller is Lambda's event source mapping, which reads and deletes with the
        // function's execution role: it signs as the function, through the IAM gate.
        let sqs =
            aws_sdk_sqs::Client::new(&crate::aws_config_as(&gate_url, &o.region, &iam::access_key(&f.name)).await);
        for _ in 0..processes(f, o.max_concurrency) {
            let p = Poller {
                queue: queue.clone(),
                url: url.clone(),
                arn: arn.clone(),
                batch_size: *batch_size,
                window: Duration::from_secs(*batch_window),
                function: functions[&f.name].clone(),
                sqs: sqs.clone(),
                stats: stats.clone(),
                stopping: stopping.clone(),
                retry_after: o.retry_after,
                region: o.region.clone(),
                log: o.log.clone(),
            };
            tasks.push(tokio::spawn(p.run()));
        }
    }
    let (issuer, issuer_url) = if sys.authorizers.is_empty() {
        (None, None)
    } else {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("issuer port: {e}"))?;
        let url = format!("http://{}", l.local_addr().map_err(|e| e.to_string())?);
        let issuer = Arc::new(Issuer::generate(&url)?);
        tasks.push(tokio::spawn(jwt::serve(l, issuer.clone())));
        (Some(issuer), Some(url))
    };
    let keys: Vec<Jwk> = issuer.iter().map(|i| i.jwk()).collect();
    let mut routes: Vec<Served> = Vec::new();
    for f in &sys.functions {
        if let Trigger::Http { routes: rs, auth } = &f.trigger {
            let jwt = match (auth, &issuer) {
                (RouteAuth::Jwt { authorizer, scopes }, Some(i)) => Some(JwtRule {
                    issuer: i.url(authorizer),
                    audience: sys
                        .authorizers
                        .iter()
                        .find(|a| &a.name == authorizer)
                        .map(|a| a.audience.clone())
                        .unwrap_or_default(),
                    scopes: scopes.clone(),
                    keys: keys.clone(),
                }),
                (RouteAuth::Jwt { authorizer, .. }, None) => {
                    return Err(format!("function `{}`: no local issuer for authorizer `{authorizer}`", f.name))
                }
                _ => None,
            };
            for r in rs {
                routes.push(Served { route: r.clone(), function: functions[&f.name].clone(), jwt: jwt.clone() });
            }
        }
    }
    let routes = Arc::new(routes);
    let limits = Arc::new(if o.throttle { buckets(&sys) } else { BTreeMap::new() });
    let log = o.log.clone();
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: axum::body::Bytes| {
            let (routes, limits, log) = (routes.clone(), limits.clone(), log.clone());
            async move { front(&routes, &limits, &log, method, uri, headers, body).await }
        },
    );
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));
    Ok(Dev {
        http_url,
        aws_url: gate_url,
        issuer,
        issuer_url,
        system: sys,
        functions,
        stats,
        denials: gate.denials.clone(),
        stopping,
        tasks,
    })
}

/// How many processes a function runs locally: up to its reserved concurrency (HTTP) or its
/// mapping's maximum concurrency (queue; AWS scales pollers up when none is set), capped.
fn processes(f: &generator::model::Function, cap: usize) -> usize {
    let cap = cap.max(1);
    match &f.trigger {
        Trigger::Http { .. } => f.reserved_concurrency.map_or(cap, |rc| rc as usize).clamp(1, cap),
        Trigger::Queue { max_concurrency, .. } => {
            max_concurrency.or(f.reserved_concurrency).map_or(cap, |m| m as usize).clamp(1, cap)
        }
        Trigger::Schedule { .. } => 1,
    }
}

/// The period of a `rate(N unit)` expression; a minute for anything else (`cron(...)`).
fn period(expression: &str) -> Duration {
    let inner = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')).unwrap_or("");
    let mut words = inner.split_whitespace();
    let n: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let unit = match words.next().unwrap_or("").trim_end_matches('s') {
        "hour" => 3600,
        "day" => 86_400,
        _ => 60,
    };
    Duration::from_secs(n * unit)
}

/// `2026-12-02T15:04:05Z` (UTC, whole seconds), as EventBridge writes `time`.
fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// EventBridge's side of a scheduled function: an asynchronous invocation every period, with
/// Lambda's retries of a failed run (the DLQ step is only logged locally).
struct Ticker {
    function: Arc<Function>,
    every: Duration,
    retries: u64,
    stats: Arc<Mutex<BTreeMap<String, QueueStats>>>,
    region: String,
    log: LogSink,
}

impl Ticker {
    async fn run(self) {
        let key = format!("schedule:{}", self.function.name);
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let event = json!({
                "version": "0",
                "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": rfc3339(std::time::SystemTime::now()),
                "region": self.region,
                "resources": [],
                "detail": {},
            });
            let mut ok = false;
            for _ in 0..=self.retries {
                if self.function.invoke(&event).await.is_ok() {
                    ok = true;
                    break;
                }
            }
            let mut st = self.stats.lock().unwrap();
            let s = st.entry(key.clone()).or_default();
            s.receives += 1;
            if ok {
                s.succeeded += 1;
            } else {
                s.failed += 1;
                (self.log)(
                    &self.function.name,
                    "scheduled run failed after its retries; on AWS the event goes to the function's DLQ",
                );
            }
        }
    }
}

struct Poller {
    queue: String,
    url: String,
    arn: String,
    batch_size: u64,
    window: Duration,
    function: Arc<Function>,
    sqs: aws_sdk_sqs::Client,
    stats: Arc<Mutex<BTreeMap<String, QueueStats>>>,
    stopping: Arc<AtomicBool>,
    retry_after: Option<Duration>,
    region: String,
    log: LogSink,
}

impl Poller {
    async fn run(self) {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        while !self.stopping.load(Ordering::SeqCst) {
            let started = Instant::now();
            let mut batch = Vec::new();
            loop {
                let want = (self.batch_size as usize - batch.len()).min(10) as i32;
                let r = self
                    .sqs
                    .receive_message()
                    .queue_url(&self.url)
                    .max_number_of_messages(want)
                    .wait_time_seconds(if batch.is_empty() { 1 } else { 0 })
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .message_attribute_names("All")
                    .send()
                    .await;
                let msgs = match r {
                    Ok(r) => r.messages.unwrap_or_default(),
                    Err(e) => {
                        (self.log)(
                            "poller",
                            &format!("receive from {}: {}", self.queue, aws_sdk_sqs::error::DisplayErrorContext(e)),
                        );
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Vec::new()
                    }
                };
                let got = msgs.len();
                batch.extend(msgs);
                // Like the event source mapping: a full batch, or the window has passed.
                if batch.len() >= self.batch_size as usize
                    || started.elapsed() >= self.window
                    || (got == 0 && !batch.is_empty() && self.window.is_zero())
                {
                    break;
                }
                if got == 0 && batch.is_empty() {
                    break;
                }
            }
            if batch.is_empty() {
                continue;
            }
            let records: Vec<Json> = batch.iter().map(|m| self.record(m)).collect();
            let ids: Vec<String> = batch.iter().map(|m| m.message_id.clone().unwrap_or_default()).collect();
            {
                let mut st = self.stats.lock().unwrap();
                let s = st.entry(self.queue.clone()).or_default();
                s.receives += batch.len() as u64;
                for id in &ids {
                    if s.seen.insert(id.clone()) {
                        s.distinct_messages += 1;
                    }
                }
            }
            let failed: BTreeSet<String> = match self.function.invoke(&json!({ "Records": records })).await {
                Ok(resp) => resp["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(String::from))
                    .collect(),
                Err(e) => {
                    (self.log)(&self.function.name, &format!("batch of {} failed as a whole: {e:?}", batch.len()));
                    self.stats.lock().unwrap().entry(self.queue.clone()).or_default().invoke_errors += 1;
                    ids.iter().cloned().collect()
                }
            };
            let mut done = Vec::new();
            let mut retry = Vec::new();
            for m in &batch {
                let id = m.message_id.clone().unwrap_or_default();
                let handle = m.receipt_handle.clone().unwrap_or_default();
                if failed.contains(&id) {
                    let receives: u64 = m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1);
                    retry.push((handle, receives));
                } else {
                    done.push(handle);
                }
            }
            {
                let mut st = self.stats.lock().unwrap();
                let s = st.entry(self.queue.clone()).or_default();
                s.succeeded += done.len() as u64;
                s.failed += retry.len() as u64;
            }
            for h in done {
                if let Err(e) = self.sqs.delete_message().queue_url(&self.url).receipt_handle(h).send().await {
                    (self.log)(
                        "poller",
                        &format!("delete from {}: {}", self.queue, aws_sdk_sqs::error::DisplayErrorContext(e)),
                    );
                }
            }
            if let Some(after) = self.retry_after {
                // The handlers' backoff, compressed: `after` stands for the queue's visibility
                // timeout, doubling with each receive like `contracts::retry` (capped at 16x),
                // so leases and retry windows keep their proportions locally.
                for (h, receives) in retry {
                    let wait = retry_wait(after, receives).as_secs();
                    let _ = self
                        .sqs
                        .change_message_visibility()
                        .queue_url(&self.url)
                        .receipt_handle(h)
                        .visibility_timeout(wait as i32)
                        .send()
                        .await;
                }
            }
        }
    }

    /// One SQS record as Lambda's event source mapping delivers it.
    fn record(&self, m: &aws_sdk_sqs::types::Message) -> Json {
        let attributes: serde_json::Map<String, Json> = m
            .attributes()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
            .unwrap_or_default();
        let message_attributes: serde_json::Map<String, Json> = m
            .message_attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.clone(), json!({ "stringValue": v.string_value(), "dataType": v.data_type(), "stringListValues": [], "binaryListValues": [] })))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": m.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": self.region,
        })
    }
}

fn matches(route: &Route, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
    if route.method != "ANY" && route.method != method {
        return None;
    }
    let want: Vec<&str> = route.path.split('/').collect();
    let have: Vec<&str> = path.split('/').collect();
    if want.len() != have.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (w, h) in want.iter().zip(&have) {
        if w.starts_with('{') && w.ends_with('}') {
            // API Gateway matches a path variable to a non-empty segment: `/books//borrow` is 404.
            if h.is_empty() {
                return None;
            }
            params.insert(w[1..w.len() - 1].to_string(), h.to_string());
        } else if w != h {
            return None;
        }
    }
    Some(params)
}

/// A route as the local front serves it: its function and, for `auth: jwt`, the checks.
struct Served {
    route: Route,
    function: Arc<Function>,
    jwt: Option<JwtRule>,
}

/// The JWT authorizer of a route, locally: the local issuer's URL and keys, the config's
/// audiences (the `<Name>JwtAudience` parameter's default) and the route's scopes.
#[derive(Clone)]
struct JwtRule {
    issuer: String,
    audience: Vec<String>,
    scopes: Vec<String>,
    keys: Vec<Jwk>,
}

/// An HTTP request -> an API Gateway v2 (payload 2.0) event -> the function -> the response.
async fn front(
    routes: &[Served],
    limits: &BTreeMap<String, Mutex<Bucket>>,
    log: &LogSink,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let path = uri.path().to_string();
    let Some((served, params)) = routes.iter().find_map(|s| matches(&s.route, method.as_str(), &path).map(|p| (s, p)))
    else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({ "message": "Not Found" }))).into_response();
    };
    let (route, f) = (&served.route, &served.function);
    if limits.get(&route.key()).is_some_and(|b| !b.lock().unwrap().admit(Instant::now())) {
        return (StatusCode::TOO_MANY_REQUESTS, axum::Json(json!({ "message": "Too Many Requests" }))).into_response();
    }
    let mut authorizer = Json::Null;
    if let Some(rule) = &served.jwt {
        let given = headers.get("authorization").and_then(|v| v.to_str().ok());
        let r = jwt::Rule { issuer: &rule.issuer, audience: &rule.audience, scopes: &rule.scopes, keys: &rule.keys };
        match jwt::verify(given, &r, jwt::now()) {
            Ok(v) => authorizer = json!({ "jwt": { "claims": v.claims, "scopes": v.scopes } }),
            Err(jwt::Denied::Unauthorized(why)) => {
                log("http", &format!("{} 401: {why}", route.key()));
                let mut r =
                    (StatusCode::UNAUTHORIZED, axum::Json(json!({ "message": "Unauthorized" }))).into_response();
                r.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
                return r;
            }
            Err(jwt::Denied::Forbidden) => {
                log("http", &format!("{} 403: the token has none of the scopes {:?}", route.key(), rule.scopes));
                return (StatusCode::FORBIDDEN, axum::Json(json!({ "message": "Forbidden" }))).into_response();
            }
        }
    }
    let query = uri.query().unwrap_or("");
    let qs: serde_json::Map<String, Json> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect();
    let hs: serde_json::Map<String, Json> =
        headers.iter().map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap_or_default()))).collect();
    // The donut shop's APIs take JSON; binary bodies (which API Gateway would base64-encode)
    // are refused rather than passed on half-supported.
    let Ok(text) = std::str::from_utf8(&body).map(str::to_string) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            axum::Json(json!({ "message": "binary bodies are not supported locally" })),
        )
            .into_response();
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": path,
        "rawQueryString": query,
        "headers": hs,
        "queryStringParameters": if qs.is_empty() { Json::Null } else { Json::Object(qs) },
        "pathParameters": if params.is_empty() { Json::Null } else { json!(params) },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": { "method": method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or("") },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "authorizer": authorizer,
            "routeKey": route.key(),
            "stage": "$default",
            "timeEpoch": now.as_millis() as u64,
        },
        "body": if text.is_empty() { Json::Null } else { json!(text) },
        "isBase64Encoded": false,
    });
    match f.invoke(&event).await {
        Ok(resp) if resp.get("statusCode").is_some() => {
            let status = StatusCode::from_u16(resp["statusCode"].as_u64().unwrap_or(500) as u16)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, resp["body"].as_str().unwrap_or_default().to_string()).into_response();
            for (k, v) in resp["headers"].as_object().into_iter().flatten() {
                if let (Ok(k), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    axum::http::HeaderValue::from_str(v.as_str().unwrap_or_default()),
                ) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
        Ok(other) => (StatusCode::OK, axum::Json(other)).into_response(),
        Err(InvokeError::Timeout) => {
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "message": "Service Unavailable" }))).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "message": "Internal Server Error" })))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_periods_and_event_time() {
        assert_eq!(period("rate(1 minute)"), Duration::from_secs(60));
        assert_eq!(period("rate(5 minutes)"), Duration::from_secs(300));
        assert_eq!(period("rate(2 hours)"), Duration::from_secs(7200));
        assert_eq!(period("rate(1 day)"), Duration::from_secs(86_400));
        assert_eq!(period("cron(0/5 * * * ? *)"), Duration::from_secs(60));
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_796_223_845); // 2026-12-02T15:04:05Z
        assert_eq!(rfc3339(t), "2026-12-02T15:04:05Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn each_route_gets_the_limits_of_the_template() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../flowform.yaml")).unwrap();
        let b = generator::build(&text).unwrap();
        let dev = b.systems.iter().find(|s| s.stage == "dev").unwrap();
        let limits = buckets(dev);
        let of = |k: &str| {
            let b = limits[k].lock().unwrap();
            (b.rate, b.burst)
        };
        assert_eq!(of("POST /factory/callback"), (5.0, 10.0), "the callback's own RouteSettings");
        assert_eq!(of("POST /checkout"), (20.0, 40.0), "the stage's default");
    }

    #[test]
    fn a_route_admits_its_burst_then_its_rate() {
        let mut b = Bucket::new(5, 10);
        let t0 = Instant::now();
        assert_eq!((0..12).filter(|_| b.admit(t0)).count(), 10, "the burst, then 429");
        assert!(b.admit(t0 + Duration::from_millis(200)), "5/s: one token back after 200 ms");
        assert!(!b.admit(t0 + Duration::from_millis(210)));
        assert_eq!(
            (0..20).filter(|_| b.admit(t0 + Duration::from_secs(60))).count(),
            10,
            "never more than the burst saved"
        );
    }

    #[test]
    fn route_matching_with_parameters() {
        let r = Route { method: "POST".into(), path: "/orders/{id}/ship".into() };
        assert_eq!(matches(&r, "POST", "/orders/7/ship").unwrap()["id"], "7");
        assert!(matches(&r, "GET", "/orders/7/ship").is_none());
        assert!(matches(&r, "POST", "/orders/7").is_none());
        assert!(matches(&r, "POST", "/orders//ship").is_none(), "an empty segment is no path variable");
    }
}
