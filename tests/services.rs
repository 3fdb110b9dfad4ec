//! Real services for handler tests: a fresh MariaDB database, moto through the AWS SDK,
//! events built from the recorded fixtures, and a loopback HTTP front that turns requests
//! into API Gateway v2 events (as API Gateway does) for in-process handlers.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value as Json};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub const MARIADB: &str = "mysql://root@127.0.0.1:3306";

/// A database of its own for one test, dropped by [`TestDb::drop_db`].
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: MySqlPool,
}

impl TestDb {
    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(admin) = MySqlPoolOptions::new().max_connections(1).connect(MARIADB).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{}`", self.name)))
                .execute(&admin)
                .await;
        }
    }
}

static DB_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Creates `flowform_<tag>_<pid>_<n>` on the machine's MariaDB (127.0.0.1:3306, root).
/// Fails the test, saying how to start MariaDB, when it is not running.
pub async fn fresh_db(tag: &str, max_connections: u32) -> TestDb {
    let admin = MySqlPoolOptions::new().max_connections(1).connect(MARIADB).await.unwrap_or_else(|e| {
        panic!("MariaDB is not reachable at 127.0.0.1:3306 as root ({e}); start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`")
    });
    let name = format!("flowform_{tag}_{}_{}", std::process::id(), DB_SEQ.fetch_add(1, Ordering::SeqCst));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let url = format!("{MARIADB}/{name}");
    let pool = MySqlPoolOptions::new().max_connections(max_connections).connect(&url).await.unwrap();
    TestDb { name, url, pool }
}

/// The moto endpoint started by `scripts/test.sh`; fails the test with instructions if absent.
pub fn moto_url() -> String {
    std::env::var("FLOWFORM_MOTO_URL").unwrap_or_else(|_| panic!("FLOWFORM_MOTO_URL is not set: run the tests through `scripts/test.sh`, which starts moto on a free loopback port"))
}

/// SDK config pointing at moto with dummy credentials, for a test that shares moto (see
/// [`crate::MOTO`]): moto is not reset while the returned value lives. Take it once per test.
pub async fn aws() -> SharedMoto {
    let shared = crate::MOTO.read().await;
    SharedMoto { config: local::aws_config(&moto_url(), "ap-northeast-2").await, _shared: shared }
}

/// [`aws`] for a test that has moto alone.
pub async fn aws_alone(_alone: &crate::Alone) -> aws_config::SdkConfig {
    local::aws_config(&moto_url(), "ap-northeast-2").await
}

/// The SDK config of [`aws`], with the read guard that keeps moto from being reset under it.
pub struct SharedMoto {
    config: aws_config::SdkConfig,
    _shared: tokio::sync::RwLockReadGuard<'static, ()>,
}

impl std::ops::Deref for SharedMoto {
    type Target = aws_config::SdkConfig;
    fn deref(&self) -> &aws_config::SdkConfig {
        &self.config
    }
}

/// Empties moto (every account, region and service), for a test that has it alone. A plain
/// HTTP/1.1 POST, so synchronous callers need no runtime.
pub fn reset_moto(_alone: &crate::Alone) {
    use std::io::{Read, Write};
    let url = moto_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("moto at {host}: {e}"));
    write!(conn, "POST /moto-api/reset HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let status = answer.lines().next().unwrap_or_default();
    assert_eq!(status.split_whitespace().nth(1), Some("200"), "moto reset: {status}");
}

/// A topic and a queue subscribed to it (envelope delivery), to see what a handler published.
pub struct Capture {
    pub topic_arn: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Capture {
    pub async fn new(aws: &aws_config::SdkConfig, name: &str) -> Capture {
        let unique = format!("{name}-{}-{}", std::process::id(), DB_SEQ.fetch_add(1, Ordering::SeqCst));
        let sns = aws_sdk_sns::Client::new(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let topic_arn = sns.create_topic().name(&unique).send().await.unwrap().topic_arn.unwrap();
        let queue_url = sqs.create_queue().queue_name(&unique).send().await.unwrap().queue_url.unwrap();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attrs.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        sns.subscribe().topic_arn(&topic_arn).protocol("sqs").endpoint(queue_arn).send().await.unwrap();
        Capture { topic_arn, queue_url, sqs }
    }

    /// Every message delivered so far, as SQS bodies (SNS envelopes), deleting them.
    pub async fn drain(&self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let r = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                out.push(m.body.clone().unwrap_or_default());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn fixture(name: &str) -> Json {
    let p = crate::root().join("tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// An SNS envelope (as SNS writes into SQS) around `message`, from the recorded fixture.
pub fn sns_envelope(message: &Json, attributes: &[(&str, &str, &str)]) -> String {
    let record = &fixture("sqs-sns-envelope.json")["Records"][0];
    let mut env: Json = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    env["MessageId"] = json!(uuid::Uuid::new_v4().to_string());
    env["Message"] = json!(message.to_string());
    env["MessageAttributes"] =
        Json::Object(attributes.iter().map(|(k, t, v)| (k.to_string(), json!({ "Type": t, "Value": v }))).collect());
    env.to_string()
}

/// An SQS event with one record per (message id, body), from the recorded fixture.
pub fn sqs_event(records: &[(&str, String)]) -> SqsEvent {
    let template = fixture("sqs-sns-envelope.json")["Records"][0].clone();
    let recs: Vec<Json> = records
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": recs })).unwrap()
}

/// An API Gateway v2 (payload 2.0) event, from the recorded fixture.
pub fn http_event(method: &str, path: &str, query: &str, body: Option<&str>) -> ApiGatewayV2httpRequest {
    let mut e = fixture("apigw-v2-request.json");
    e["routeKey"] = json!(format!("{method} {path}"));
    e["rawPath"] = json!(path);
    e["rawQueryString"] = json!(query);
    e["requestContext"]["routeKey"] = json!(format!("{method} {path}"));
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    let params: serde_json::Map<String, Json> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    e["queryStringParameters"] = Json::Object(params);
    e["body"] = body.map_or(Json::Null, |b| json!(b));
    serde_json::from_value(e).unwrap()
}

/// `POST /checkout` by a signed-in customer: API Gateway's JWT authorizer verified a token
/// whose subject is `customer` and passes its claims (`auth: jwt` in flowform.yaml).
pub fn checkout_as(customer: &str, body: &str) -> ApiGatewayV2httpRequest {
    let mut e = serde_json::to_value(http_event("POST", "/checkout", "", Some(body))).unwrap();
    e["requestContext"]["authorizer"] = json!({ "jwt": {
        "claims": { "sub": customer, "iss": "https://auth.donut.example.com", "aud": "donut-shop-web", "scope": "donut/checkout" },
        "scopes": ["donut/checkout"],
    } });
    serde_json::from_value(e).unwrap()
}

type Handler = Arc<
    dyn Fn(ApiGatewayV2httpRequest) -> std::pin::Pin<Box<dyn std::future::Future<Output = shop::http::Response> + Send>>
        + Send
        + Sync,
>;

/// Serves `handler` on a loopback port the way API Gateway would: each request becomes a
/// payload-2.0 event. Returns the base URL.
pub async fn http_front(handler: Handler) -> String {
    use axum::body::Bytes;
    use axum::http::{Method, StatusCode, Uri};
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let h = handler.clone();
        async move {
            let text = String::from_utf8_lossy(&body).into_owned();
            let ev = http_event(
                method.as_str(),
                uri.path(),
                uri.query().unwrap_or(""),
                (!text.is_empty()).then_some(text.as_str()),
            );
            let r = h(ev).await;
            (StatusCode::from_u16(r.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), r.body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Messages moto's SES "sent" to `to` (read from moto's data dump).
pub async fn ses_sent_to(to: &str) -> Vec<Json> {
    let data: Json = reqwest::get(format!("{}/moto-api/data.json", moto_url())).await.unwrap().json().await.unwrap();
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|x| x == to)))
        .cloned()
        .collect()
}

/// The unmodified Lambda binaries of `system`, unpacked from dist/lambda (built by
/// `flowform package`; scripts/test.sh runs it) into a fresh directory.
pub fn unpack_handlers(system: &generator::model::System, tag: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("flowform-{tag}-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in &system.functions {
        let zip = crate::root().join(format!("dist/lambda/{}.zip", f.handler));
        let bytes = std::fs::read(&zip).unwrap_or_else(|e| {
            panic!("{}: {e}; scripts/test.sh builds the zips with `flowform package`", zip.display())
        });
        let path = dir.join(&f.handler);
        std::fs::write(&path, generator::package::read_bootstrap(&bytes).unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// The donut shop's two databases, migrated and seeded (`stock` units of the seed product).
pub async fn donut_dbs(tag: &str, stock: i64) -> (TestDb, TestDb) {
    let stock_db = fresh_db(&format!("{tag}_stock"), 4).await;
    shop::schema::migrate(&stock_db.pool, shop::schema::STOCK).await.unwrap();
    shop::schema::seed_stock(&stock_db.pool, stock, "http://factory.local").await.unwrap();
    let customer_db = fresh_db(&format!("{tag}_customer"), 4).await;
    shop::schema::migrate(&customer_db.pool, shop::schema::CUSTOMER).await.unwrap();
    shop::schema::seed_customers(&customer_db.pool).await.unwrap();
    (stock_db, customer_db)
}

/// How soon `start_shop` makes a failed record visible again (doubling per receive; see
/// `local::dev::retry_wait`).
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Makes `Authorization` values for the donut shop's checkout (`auth: jwt`, authorizer
/// `customers`): a token of `dev`'s local issuer for a customer, with every scope the route
/// requires, valid for an hour; what a signed-in customer's client sends.
pub type Bearers = Arc<dyn Fn(&str) -> String + Send + Sync>;

pub fn bearers(dev: &local::dev::Dev) -> Bearers {
    let issuer = dev.issuer.clone().expect("the donut shop has `auth: jwt` routes, so a local issuer");
    let sys = dev.system();
    let a = sys.authorizers.iter().find(|a| a.name == "customers").expect("authorizer `customers`").clone();
    let scopes = sys.jwt_scopes(&a.name);
    Arc::new(move |customer: &str| format!("Bearer {}", issuer.mint(&a.name, &a.audience[0], customer, &scopes, 3600)))
}

/// The donut shop running locally (`flowform-local dev` as a library) on the given databases
/// and stand-ins; failed records become visible again after `RETRY_AFTER`.
pub async fn start_shop(
    system: &generator::model::System,
    provisioned: local::provision::Provisioned,
    bin_dir: &std::path::Path,
    dbs: (&TestDb, &TestDb),
    standins: (&standins::Running, &standins::Running),
    log: local::runtime::LogSink,
) -> local::dev::Dev {
    local::dev::start(local::dev::Options {
        system: system.clone(),
        provisioned,
        bin_dir: bin_dir.to_path_buf(),
        db_urls: [("stock".to_string(), dbs.0.url.clone()), ("customer".to_string(), dbs.1.url.clone())].into(),
        endpoint_urls: [("factory".to_string(), standins.0.url()), ("marketing".to_string(), standins.1.url())].into(),
        aws_endpoint: moto_url(),
        region: "ap-northeast-2".into(),
        http_port: 0,
        max_concurrency: 4,
        schedule_every: None,
        extra_env: Vec::new(),
        retry_after: Some(RETRY_AFTER),
        throttle: false, // load and fault runs measure the system, not the API's limits
        log,
    })
    .await
    .unwrap()
}

/// The donut shop under `flowform-local dev` with everything it runs on: both databases
/// (`stock` units of the seed product), the factory and marketing stand-ins (no faults, no
/// delay), the handler binaries unpacked from dist/lambda. [`LocalShop::stop`] takes it all down.
pub struct LocalShop {
    pub dev: local::dev::Dev,
    pub stock_db: TestDb,
    pub customer_db: TestDb,
    pub factory: standins::Running,
    pub marketing: standins::Running,
    pub bin_dir: std::path::PathBuf,
}

impl LocalShop {
    pub async fn start(
        system: &generator::model::System,
        provisioned: local::provision::Provisioned,
        tag: &str,
        stock: i64,
        log: local::runtime::LogSink,
    ) -> LocalShop {
        let (stock_db, customer_db) = donut_dbs(tag, stock).await;
        let factory = standins::factory(0, standins::Faults::default(), 1, std::time::Duration::ZERO).await.unwrap();
        let marketing = standins::marketing(0, standins::Faults::default(), 1).await.unwrap();
        let bin_dir = unpack_handlers(system, tag);
        let dev =
            start_shop(system, provisioned, &bin_dir, (&stock_db, &customer_db), (&factory, &marketing), log).await;
        LocalShop { dev, stock_db, customer_db, factory, marketing, bin_dir }
    }

    pub async fn stop(self) {
        self.dev.stop().await;
        self.factory.stop();
        self.marketing.stop();
        self.stock_db.drop_db().await;
        self.customer_db.drop_db().await;
        let _ = std::fs::remove_dir_all(&self.bin_dir);
    }
}
