//! A local Lambda Runtime API (`/2018-06-01/runtime/...`) per function, and the function's
//! process: the real handler binary, which cannot tell it is not in Lambda.
//!
//! Each process handles one invocation at a time, as a Lambda execution environment does; a
//! function runs `concurrency` processes that take invocations from one queue (Lambda scales
//! environments the same way, up to the reserved concurrency). An invocation that outlives
//! the function's timeout kills its process, which is started again (Lambda does the same).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// Where log lines go: (function name, line).
pub type LogSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The handler returned an error (`/invocation/{id}/error`).
    Function(String),
    /// No answer within the function's timeout; the process was restarted.
    Timeout,
    /// The process died during the invocation.
    Crashed,
}

/// Where an invocation's outcome goes.
type Reply = oneshot::Sender<Result<Vec<u8>, InvokeError>>;

struct Pending {
    id: String,
    payload: Vec<u8>,
    deadline_ms: u128,
    reply: Reply,
}

/// What all processes of a function share: the invocation queue and the replies owed.
struct Shared {
    arn: String,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    inflight: Mutex<HashMap<String, Reply>>,
}

/// One process's Runtime API endpoint: which invocation it holds, and how to restart it.
struct Worker {
    current: Mutex<Option<String>>,
    restart: tokio::sync::Notify,
}

#[derive(Clone)]
struct Api {
    shared: Arc<Shared>,
    worker: Arc<Worker>,
}

async fn next(State(api): State<Api>) -> Response {
    // Processes wait their turn on the queue; each takes the next invocation.
    let Some(p) = api.shared.next.lock().await.recv().await else {
        // The function is stopping. AWS never answers `next` then (it freezes or kills the
        // process), and the Rust runtime panics on an answer without a request id: wait for
        // the supervisor's kill instead.
        return std::future::pending::<Response>().await;
    };
    *api.worker.current.lock().unwrap() = Some(p.id.clone());
    api.shared.inflight.lock().unwrap().insert(p.id.clone(), p.reply);
    let mut h = HeaderMap::new();
    let hv = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    h.insert("lambda-runtime-aws-request-id", hv(&p.id));
    h.insert("lambda-runtime-deadline-ms", hv(&p.deadline_ms.to_string()));
    h.insert("lambda-runtime-invoked-function-arn", hv(&api.shared.arn));
    h.insert("lambda-runtime-trace-id", hv(&format!("Root=1-{}", p.id)));
    h.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, h, p.payload).into_response()
}

fn finish(api: &Api, id: &str, outcome: Result<Vec<u8>, InvokeError>) {
    let mut current = api.worker.current.lock().unwrap();
    if current.as_deref() == Some(id) {
        *current = None;
    }
    if let Some(tx) = api.shared.inflight.lock().unwrap().remove(id) {
        let _ = tx.send(outcome);
    }
}

async fn response(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, Ok(body.to_vec()));
    StatusCode::ACCEPTED
}

async fn error(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, Err(InvokeError::Function(String::from_utf8_lossy(&body).into_owned())));
    StatusCode::ACCEPTED
}

/// The process could not initialise (e.g. a missing env var); it exits and is started again.
async fn init_error() -> StatusCode {
    StatusCode::ACCEPTED
}

/// A running function: its Runtime API and its process.
pub struct Function {
    pub name: String,
    pub timeout: Duration,
    tx: mpsc::UnboundedSender<Pending>,
    shared: Arc<Shared>,
    workers: Vec<Arc<Worker>>,
    stopping: Arc<AtomicBool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

pub struct Spec {
    /// Physical function name (`donut-shop-dev-checkout`).
    pub name: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory: u64,
    pub region: String,
    /// Processes running at once (at least 1).
    pub concurrency: usize,
}

impl Function {
    pub async fn start(spec: Spec, log: LogSink) -> std::io::Result<Arc<Function>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let arn = format!("arn:aws:lambda:{}:123456789012:function:{}", spec.region, spec.name);
        let shared = Arc::new(Shared { arn, next: tokio::sync::Mutex::new(rx), inflight: Mutex::new(HashMap::new()) });
        let stopping = Arc::new(AtomicBool::new(false));
        let spec = Arc::new(spec);
        let mut workers = Vec::new();
        let mut tasks = Vec::new();
        for n in 0..spec.concurrency.max(1) {
            let worker = Arc::new(Worker { current: Mutex::new(None), restart: tokio::sync::Notify::new() });
            let app = Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
                .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state(Api { shared: shared.clone(), worker: worker.clone() });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            let label = if spec.concurrency > 1 { format!("{}#{n}", spec.name) } else { spec.name.clone() };
            tasks.push(tokio::spawn(supervise(
                worker.clone(),
                shared.clone(),
                stopping.clone(),
                spec.clone(),
                port,
                label,
                log.clone(),
            )));
            workers.push(worker);
        }
        Ok(Arc::new(Function {
            name: spec.name.clone(),
            timeout: spec.timeout,
            tx,
            shared,
            workers,
            stopping,
            tasks: Mutex::new(tasks),
        }))
    }

    /// Invokes the function synchronously, as API Gateway and the SQS poller do.
    /// How many processes run the function.
    pub fn processes(&self) -> usize {
        self.workers.len()
    }

    pub async fn invoke(&self, payload: &serde_json::Value) -> Result<serde_json::Value, InvokeError> {
        let (reply, rx) = oneshot::channel();
        let deadline_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() + self.timeout.as_millis();
        let id = uuid::Uuid::new_v4().to_string();
        let p =
            Pending { id: id.clone(), payload: serde_json::to_vec(payload).unwrap_or_default(), deadline_ms, reply };
        if self.tx.send(p).is_err() {
            return Err(InvokeError::Crashed);
        }
        // Queueing behind another invocation does not count against this one's timeout in
        // Lambda either (each environment runs one at a time); allow for it generously.
        match tokio::time::timeout(self.timeout + Duration::from_millis(500), rx).await {
            Ok(Ok(Ok(body))) => Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(InvokeError::Crashed),
            Err(_) => {
                self.shared.inflight.lock().unwrap().remove(&id);
                if let Some(w) = self.workers.iter().find(|w| w.current.lock().unwrap().as_deref() == Some(id.as_str()))
                {
                    w.restart.notify_one();
                }
                Err(InvokeError::Timeout)
            }
        }
    }

    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for w in &self.workers {
            w.restart.notify_one();
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        for t in tasks {
            // Supervisors end once their process is killed; servers are aborted.
            t.abort();
        }
    }
}

/// Runs the function's process; restarts it when it exits or an invocation timed out.
async fn supervise(
    worker: Arc<Worker>,
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
    spec: Arc<Spec>,
    port: u16,
    label: String,
    log: LogSink,
) {
    while !stopping.load(Ordering::SeqCst) {
        let mut cmd = tokio::process::Command::new(&spec.binary);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", &spec.region)
            .env("AWS_DEFAULT_REGION", &spec.region)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                log(&label, &format!("cannot start {}: {e}", spec.binary.display()));
                return;
            }
        };
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child.stderr.take().map(|p| Box::new(p) as _),
        ]
        .into_iter()
        .flatten()
        {
            let (log, name) = (log.clone(), label.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log(&name, &line);
                }
            });
        }
        tokio::select! {
            status = child.wait() => {
                // The invocation it held, if any, fails now rather than at its timeout.
                let held = worker.current.lock().unwrap().take();
                if let Some(tx) = held.and_then(|id| shared.inflight.lock().unwrap().remove(&id)) {
                    let _ = tx.send(Err(InvokeError::Crashed));
                }
                if !stopping.load(Ordering::SeqCst) {
                    log(&label, &format!("process exited ({}); starting it again", status.map(|s| s.to_string()).unwrap_or_default()));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            _ = worker.restart.notified() => {
                let _ = child.kill().await;
                worker.current.lock().unwrap().take();
                if !stopping.load(Ordering::SeqCst) {
                    log(&label, "invocation timed out; process restarted");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in "handler" in bash: takes one invocation from the Runtime API, then `then`.
    fn script(dir: &std::path::Path, name: &str, then: &str) -> PathBuf {
        let path = dir.join(name);
        let body = format!(
            "#!/bin/bash\nexec 3<>/dev/tcp/${{AWS_LAMBDA_RUNTIME_API%:*}}/${{AWS_LAMBDA_RUNTIME_API#*:}}\nprintf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3\nread -r status <&3\n{then}\n"
        );
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn spec(binary: PathBuf, timeout_ms: u64) -> Spec {
        Spec {
            name: "probe".into(),
            binary,
            env: vec![],
            timeout: Duration::from_millis(timeout_ms),
            memory: 128,
            region: "ap-northeast-2".into(),
            concurrency: 1,
        }
    }

    #[tokio::test]
    async fn a_hung_invocation_times_out_and_the_process_is_restarted() {
        let dir = std::env::temp_dir().join(format!("flowform-rt-hang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let f = Function::start(
            spec(script(&dir, "hang", "exec sleep 30"), 500),
            Arc::new(move |_: &str, l: &str| sink.lock().unwrap().push(l.to_string())),
        )
        .await
        .unwrap();
        let t = std::time::Instant::now();
        assert_eq!(f.invoke(&serde_json::json!({})).await, Err(InvokeError::Timeout));
        assert!(t.elapsed() < Duration::from_secs(3));
        // The restarted process takes the next invocation (and hangs again).
        assert_eq!(f.invoke(&serde_json::json!({})).await, Err(InvokeError::Timeout));
        assert!(lines.lock().unwrap().iter().any(|l| l.contains("timed out; process restarted")));
        f.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_crash_fails_the_invocation_at_once() {
        let dir = std::env::temp_dir().join(format!("flowform-rt-crash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = Function::start(spec(script(&dir, "crash", "exit 3"), 20_000), Arc::new(|_: &str, _: &str| {}))
            .await
            .unwrap();
        let t = std::time::Instant::now();
        assert_eq!(f.invoke(&serde_json::json!({})).await, Err(InvokeError::Crashed));
        assert!(t.elapsed() < Duration::from_secs(5), "reported at the crash, not at the 20 s timeout");
        f.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
