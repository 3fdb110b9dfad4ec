//! `flowform-local`: run the system described by flowform.yaml on this machine.

use clap::{Parser, Subcommand};
use local::{dev, provision, runtime::LogSink};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "flowform-local",
    version,
    about = "Run a flowform system locally against moto, MariaDB and the stand-ins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// The system description.
    #[arg(long, short, default_value = "flowform.yaml")]
    config: PathBuf,
    /// Which stage to run.
    #[arg(long, default_value = "dev")]
    stage: String,
    /// The AWS endpoint (moto), e.g. http://127.0.0.1:5000 [default: $AWS_ENDPOINT_URL; `dev`
    /// without either starts the pinned moto itself, on a free loopback port, and stops it on
    /// exit].
    #[arg(long)]
    endpoint_url: Option<String>,
    #[arg(long, default_value = "ap-northeast-2")]
    region: String,
}

#[derive(Subcommand)]
enum DlqAction {
    /// Every queue with a DLQ: messages in the DLQ and in the queue.
    List,
    /// Show up to 10 messages of a queue's DLQ without taking them.
    Peek { queue: String },
    /// Move a queue's DLQ messages back to it (StartMessageMoveTask on AWS; receive, send,
    /// delete where the service lacks it), with counts before and after.
    Redrive {
        queue: String,
        /// At most this many messages.
        #[arg(long)]
        max: Option<i64>,
        /// Only count.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Print a bearer token for an `auth: jwt` route of a running `flowform-local dev`
    /// (signed by its local issuer, whose key it keeps in run/local-issuer.json).
    Token {
        /// The system description (for the authorizer's audience and its routes' scopes).
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
        #[arg(long, default_value = "dev")]
        stage: String,
        /// The user the token is for (the `sub` claim).
        #[arg(long)]
        sub: String,
        /// Which authorizer [default: the only one].
        #[arg(long)]
        authorizer: Option<String>,
        /// Scopes to grant (repeat) [default: every scope its routes require].
        #[arg(long)]
        scope: Vec<String>,
        /// Seconds the token is valid.
        #[arg(long, default_value_t = 3600)]
        expires_in: u64,
    },
    /// Dead-letter queues of the stage. Without --endpoint-url and $AWS_ENDPOINT_URL, against
    /// AWS with the usual credential chain.
    Dlq {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Create through the service APIs what moto's CloudFormation skips (subscriptions with
    /// filters, secrets, SES identities; topics and queues if missing), idempotently.
    Up(Common),
    /// `up`, then run every function as its real binary: queues polled, HTTP routes served
    /// on loopback (JWT routes verified against a local issuer), every AWS call of a function
    /// held to its generated role by the IAM gate, all logs in one stream. Without
    /// --endpoint-url or $AWS_ENDPOINT_URL it starts the pinned moto itself. Ctrl-C (or
    /// SIGTERM) stops everything.
    Dev {
        #[command(flatten)]
        common: Common,
        /// Lambda zips to run (the bootstraps are unpacked under run/bin).
        #[arg(long, default_value = "dist/lambda")]
        dist: PathBuf,
        /// Run binaries from this directory instead of the zips (e.g. target/debug).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Database on this machine per config database, reached WITHOUT TLS (loopback hosts
        /// only): --db stock=mysql://root@127.0.0.1:3306/donut
        #[arg(long, value_parser = plaintext_db)]
        db: Vec<(String, String)>,
        /// URL per external endpoint: --endpoint factory=http://127.0.0.1:9001
        #[arg(long, value_parser = kv)]
        endpoint: Vec<(String, String)>,
        /// Start the factory and marketing stand-ins for endpoints `factory` and `marketing`.
        #[arg(long)]
        standins: bool,
        /// A shell command to run once the AWS side is provisioned and before any function
        /// starts (migrations, seed data); it gets AWS_ENDPOINT_URL, AWS_REGION and
        /// FLOWFORM_DB_<NAME>_PLAINTEXT_URL for each --db. Repeatable, in order; dev stops if
        /// one fails.
        #[arg(long)]
        before: Vec<String>,
        /// Loopback port of the HTTP API (0 = a free one).
        #[arg(long, default_value_t = 8080)]
        http_port: u16,
        /// Most processes per function (capped by its reserved concurrency, or for a queue
        /// function by its mapping's maximum concurrency; one poller per queue process).
        #[arg(long, default_value_t = 4)]
        max_concurrency: usize,
        /// Seconds between runs of every scheduled function (default: its rate; a minute
        /// for cron expressions).
        #[arg(long)]
        schedule_every: Option<u64>,
        /// Seconds after which a failed record is visible again after its first receive,
        /// doubling with each receive up to 16x (the handlers' backoff, compressed; default:
        /// the handlers' own waits, as in AWS).
        #[arg(long)]
        retry_after: Option<u64>,
        /// Serve every request: no per-route throttling (by default the routes answer 429
        /// over the stage's limits, as API Gateway does).
        #[arg(long)]
        no_throttle: bool,
    },
}

fn kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

/// Every `--db` names a database of the config, and every database a function uses has one
/// (without it the functions would look for a server and a secret that do not exist here).
fn check_dbs(sys: &generator::model::System, given: &[(String, String)]) -> Result<(), String> {
    let names: Vec<&str> = sys.databases.iter().map(|d| d.name.as_str()).collect();
    for (name, _) in given {
        if !names.contains(&name.as_str()) {
            return Err(format!("--db {name}: the config has no database `{name}` (databases: {})", names.join(", ")));
        }
    }
    for d in &names {
        let users: Vec<&str> =
            sys.functions.iter().filter(|f| f.databases.iter().any(|x| x == d)).map(|f| f.name.as_str()).collect();
        if !users.is_empty() && !given.iter().any(|(n, _)| n == d) {
            return Err(format!(
                "database `{d}` (used by {}) has no --db; pass --db {d}=mysql://root@127.0.0.1:3306/<schema>",
                users.join(", ")
            ));
        }
    }
    Ok(())
}

fn plaintext_db(s: &str) -> Result<(String, String), String> {
    let (name, url) = kv(s)?;
    contracts::loopback_db_host(&url)
        .map_err(|e| format!("--db {name}: {e}; a plaintext connection must stay on this machine"))?;
    Ok((name, url))
}

fn system(c: &Common) -> Result<generator::model::System, String> {
    let text = std::fs::read_to_string(&c.config).map_err(|e| format!("cannot read {}: {e}", c.config.display()))?;
    let b = generator::build_file(&c.config, &text).map_err(|f| match f {
        generator::Failure::Invalid(d) => generator::diag::render(&c.config.display().to_string(), &text, &d),
        generator::Failure::Internal(m) => m,
    })?;
    b.systems
        .into_iter()
        .find(|s| s.stage == c.stage)
        .ok_or_else(|| format!("no stage `{}` in {}", c.stage, c.config.display()))
}

/// The AWS endpoint given: `--endpoint-url`, else `$AWS_ENDPOINT_URL`.
fn aws_endpoint(c: &Common) -> Option<String> {
    c.endpoint_url.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
}

async fn aws(c: &Common) -> Result<(aws_config::SdkConfig, String), String> {
    let endpoint = aws_endpoint(c).ok_or("pass --endpoint-url (moto), e.g. from scripts/with-moto.sh")?;
    let conf = local::aws_config(&endpoint, &c.region).await;
    Ok((conf, endpoint))
}

fn unpack(dist: &std::path::Path, handlers: impl Iterator<Item = String>) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from("run/bin");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for h in handlers {
        let zip = dist.join(format!("{h}.zip"));
        let data = std::fs::read(&zip).map_err(|e| format!("{}: {e} (run `flowform package`)", zip.display()))?;
        let bin = generator::package::read_bootstrap(&data).map_err(|e| format!("{}: {e}", zip.display()))?;
        let path = dir.join(&h);
        std::fs::write(&path, bin)
            .and_then(|_| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

async fn dlq(common: Common, action: DlqAction) -> Result<(), String> {
    let sys = system(&common)?;
    let conf = match common.endpoint_url.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()) {
        Some(endpoint) => local::aws_config(&endpoint, &common.region).await,
        None => {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(common.region.clone()))
                .load()
                .await
        }
    };
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let pairs = local::dlq::pairs(&sys);
    let pair = |q: &str| {
        pairs.iter().find(|p| p.queue == q).ok_or_else(|| {
            let known: Vec<&str> = pairs.iter().map(|p| p.queue.as_str()).collect();
            format!(
                "queue `{q}` has no dead-letter queue in stage `{}` (queues with one: {})",
                sys.stage,
                known.join(", ")
            )
        })
    };
    match action {
        DlqAction::List => {
            for p in &pairs {
                let (d, s) = (local::dlq::depth(&sqs, &p.dlq).await?, local::dlq::depth(&sqs, &p.source).await?);
                println!("{}: {d} in {} ({s} in {})", p.queue, p.dlq, p.source);
            }
        }
        DlqAction::Peek { queue } => {
            let p = pair(&queue)?;
            for m in local::dlq::peek(&sqs, &p.dlq, 10).await? {
                let body: String = m.body.chars().take(200).collect();
                println!("{} (received {} times): {body}", m.id, m.receives);
            }
        }
        DlqAction::Redrive { queue, max, dry_run } => {
            let p = pair(&queue)?;
            let m = local::dlq::redrive(&sqs, p, max, dry_run).await?;
            println!(
                "{}: {} in the DLQ before, {} moved to {}, {} left ({})",
                p.queue, m.before, m.moved, p.source, m.after, m.how
            );
        }
    }
    Ok(())
}

/// `flowform-local token`: a token from the saved local issuer.
fn token(
    common: &Common,
    sub: &str,
    authorizer: Option<String>,
    scope: Vec<String>,
    expires_in: u64,
) -> Result<String, String> {
    let sys = system(common)?;
    let names: Vec<&str> = sys.authorizers.iter().map(|a| a.name.as_str()).collect();
    let name = match (authorizer, names.as_slice()) {
        (Some(a), _) => a,
        (None, [only]) => only.to_string(),
        (None, []) => return Err(format!("stage `{}` has no `auth: jwt` routes", sys.stage)),
        (None, _) => return Err(format!("pass --authorizer, one of {}", names.join(", "))),
    };
    let a = sys.authorizers.iter().find(|a| a.name == name).ok_or_else(|| {
        format!("no authorizer `{name}` in stage `{}` (its authorizers: {})", sys.stage, names.join(", "))
    })?;
    let scopes = if scope.is_empty() { sys.jwt_scopes(&name) } else { scope };
    let issuer = local::jwt::Issuer::load(std::path::Path::new(local::jwt::STATE_FILE))?;
    let audience = a.audience.first().ok_or("the authorizer has no audience")?;
    Ok(issuer.mint(&name, audience, sub, &scopes, expires_in))
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Token { config, stage, sub, authorizer, scope, expires_in } => {
            let common = Common { config, stage, endpoint_url: None, region: String::new() };
            println!("{}", token(&common, &sub, authorizer, scope, expires_in)?);
            Ok(())
        }
        Command::Dlq { common, action } => dlq(common, action).await,
        Command::Up(c) => {
            let sys = system(&c)?;
            let (conf, _) = aws(&c).await?;
            let p = provision::up(&sys, &conf).await?;
            println!(
                "up: {} topics, {} queues ({} with a DLQ), {} secrets",
                p.topics.len(),
                p.queues.len(),
                p.dlqs.len(),
                p.secrets.len()
            );
            Ok(())
        }
        Command::Dev {
            common,
            dist,
            bin_dir,
            db,
            endpoint,
            standins,
            before,
            http_port,
            max_concurrency,
            schedule_every,
            retry_after,
            no_throttle,
        } => {
            let sys = system(&common)?;
            check_dbs(&sys, &db)?;
            // No endpoint: a moto of our own, stopped when `_moto` drops at the end of dev.
            let mut _moto = None;
            let (conf, endpoint_url) = match aws_endpoint(&common) {
                Some(_) => aws(&common).await?,
                None => {
                    let run_dir =
                        std::env::var_os("FLOWFORM_RUN_DIR").map_or_else(|| PathBuf::from("run"), PathBuf::from);
                    let m = local::moto::Moto::start(&run_dir, Duration::from_secs(30))?;
                    println!("moto: {} (started for this run; log {})", m.url, m.log.display());
                    let url = m.url.clone();
                    _moto = Some(m);
                    (local::aws_config(&url, &common.region).await, url)
                }
            };
            let provisioned = provision::up(&sys, &conf).await?;
            for cmd in &before {
                println!("before: {cmd}");
                let status = std::process::Command::new("sh")
                    .args(["-c", cmd])
                    .env("AWS_ENDPOINT_URL", &endpoint_url)
                    .env("AWS_REGION", &common.region)
                    .envs(db.iter().map(|(name, url)| (contracts::db_plaintext_url(name), url)))
                    .status()
                    .map_err(|e| format!("--before `{cmd}`: {e}"))?;
                if !status.success() {
                    return Err(format!("--before `{cmd}` failed ({status}); nothing was started"));
                }
            }
            let bin_dir = match bin_dir {
                Some(d) => d,
                None => unpack(&dist, sys.functions.iter().map(|f| f.handler.clone()))?,
            };
            let mut endpoints: BTreeMap<String, String> = endpoint.into_iter().collect();
            let mut running = Vec::new();
            if standins {
                let f = standins::factory(0, standins::Faults::default(), 1, Duration::from_millis(500))
                    .await
                    .map_err(|e| e.to_string())?;
                let m = standins::marketing(0, standins::Faults::default(), 1).await.map_err(|e| e.to_string())?;
                println!("stand-ins: factory {} marketing {}", f.url(), m.url());
                endpoints.entry("factory".into()).or_insert(f.url());
                endpoints.entry("marketing".into()).or_insert(m.url());
                running.push(f);
                running.push(m);
            }
            let log: LogSink = Arc::new(|name: &str, line: &str| println!("[{name}] {line}"));
            let d = dev::start(dev::Options {
                system: sys,
                provisioned,
                bin_dir,
                db_urls: db.into_iter().collect(),
                endpoint_urls: endpoints,
                aws_endpoint: endpoint_url,
                region: common.region,
                http_port,
                max_concurrency,
                schedule_every: schedule_every.map(Duration::from_secs),
                extra_env: Vec::new(),
                retry_after: retry_after.map(Duration::from_secs),
                throttle: !no_throttle,
                log,
            })
            .await?;
            let state = std::path::Path::new(local::jwt::STATE_FILE);
            if let (Some(i), Some(url)) = (&d.issuer, &d.issuer_url) {
                i.save(state)?;
                println!(
                    "JWT issuer: {url}/<authorizer> (keys at .../.well-known/jwks.json); a token: flowform-local token --sub <user>"
                );
            }
            for line in d.summary() {
                println!("  {line}");
            }
            println!("HTTP API: {}  (Ctrl-C stops)", d.http_url);
            // Ctrl-C, or a SIGTERM (a process manager, `kill`): the same orderly stop, so the
            // issuer's key file and moto do not outlive the run.
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| format!("SIGTERM handler: {e}"))?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            println!("stopping");
            let _ = std::fs::remove_file(state);
            d.stop().await;
            for r in running {
                r.stop();
            }
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
