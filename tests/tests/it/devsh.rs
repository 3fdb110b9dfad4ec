//! `scripts/dev.sh`, the one command that brings the donut shop up on a fresh clone: tools,
//! builds, zips, databases, then `flowform-local dev`, which starts moto itself (no endpoint
//! given) and every function. It answers on its HTTP port (the product,
//! and a checkout that sells), and Ctrl-C stops all of it, moto included.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::root;
use tests::services::MARIADB;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_brings_the_shop_up_and_ctrl_c_stops_all_of_it() {
    // Alone: it runs every function and its own moto; the chaos runs have time bounds.
    let _alone = tests::alone().await;
    let run_dir = std::env::temp_dir().join(format!("flowform-devsh-{}", std::process::id()));
    let db = format!("devsh_{}", std::process::id());
    let mut child = Command::new(root().join("scripts/dev.sh"))
        .args(["--http-port", "0", "--retry-after", "1"])
        .env("FLOWFORM_DEV_DB", &db)
        .env("FLOWFORM_RUN_DIR", &run_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("FLOWFORM_MOTO_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("scripts/dev.sh starts");
    let group = child.id();
    // Whatever happens below, nothing of the run outlives the test.
    let _reaper = Reaper(group);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let interrupt = || {
        let _ = Command::new("kill").args(["-INT", "--", &format!("-{group}")]).status();
    };

    // Up: wait for the HTTP API's line (builds are warm in the suite; a cold clone takes minutes).
    let started = Instant::now();
    let mut seen = Vec::new();
    let url = loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("HTTP API: ") {
                    break rest.split_whitespace().next().unwrap().to_string();
                }
                seen.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("scripts/dev.sh ended before serving ({:?}):\n{}", child.wait(), seen.join("\n"))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if started.elapsed() > Duration::from_secs(600) {
            interrupt();
            panic!("no HTTP API after 10 minutes:\n{}", seen.join("\n"));
        }
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The migrations ran through dev's --before hook, and dev listed every function.
    assert!(seen.iter().any(|l| l.starts_with("before: ") && l.contains("migrate")), "{}", seen.join("\n"));
    assert!(
        seen.iter().any(|l| l.trim_start().starts_with("checkout") && l.contains("POST /checkout")),
        "{}",
        seen.join("\n")
    );
    // No endpoint given: flowform-local started moto itself.
    assert!(
        seen.iter().any(|l| l.starts_with("moto: http://127.0.0.1:")),
        "flowform-local dev did not say it started moto:\n{}",
        seen.join("\n")
    );
    let moto_log = std::fs::read_to_string(run_dir.join("moto.log")).unwrap_or_default();
    let moto_port: u16 = moto_log
        .lines()
        .find_map(|l| l.strip_prefix("MOTO_PORT="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no MOTO_PORT in {}/moto.log:\n{moto_log}", run_dir.display()));

    let http = reqwest::Client::new();
    let product = http.get(format!("{url}/product/donut")).send().await.unwrap();
    let status = product.status().as_u16();
    let body = product.text().await.unwrap();
    // Checkout is `auth: jwt`: without a token the local API refuses it as API Gateway
    // would; with one from `flowform-local token` (the local issuer dev started) it sells.
    let checkout = |auth: Option<String>| {
        let mut r = http.post(format!("{url}/checkout")).body(r#"{"sku":"CP-502101","quantity":1}"#);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let anonymous = checkout(None).await.unwrap().status().as_u16();
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/.cache/flowform-target", std::env::var("HOME").unwrap()));
    let minted = Command::new(format!("{target}/debug/flowform-local"))
        .args(["token", "--sub", "c-1001"])
        .current_dir(root())
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&minted.stdout).trim().to_string();
    let state_file = root().join(local::jwt::STATE_FILE);
    let state_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&state_file).map(|m| m.permissions().mode() & 0o777).ok()
    };
    let signed_in = checkout(Some(format!("Bearer {token}"))).await.unwrap();
    let sold = signed_in.status().as_u16();
    let answer = signed_in.text().await.unwrap();

    // Ctrl-C: everything stops, moto included.
    interrupt();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "scripts/dev.sh still running 60 s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(200));
    }
    let moto_gone = std::net::TcpStream::connect(("127.0.0.1", moto_port)).is_err();
    let admin = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(MARIADB).await.unwrap();
    for name in [db.clone(), format!("{db}_customer")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(&admin).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&run_dir);

    assert_eq!(status, 200, "GET /product/donut: {body}");
    assert!(body.contains("CP-502101"), "the seeded product: {body}");
    assert_eq!(anonymous, 401, "POST /checkout without a token");
    assert!(minted.status.success(), "flowform-local token: {}", String::from_utf8_lossy(&minted.stderr));
    assert_eq!(state_mode, Some(0o600), "{} holds the issuer's private key", state_file.display());
    assert_eq!(sold, 200, "POST /checkout with a token: {answer}");
    assert!(!state_file.exists(), "Ctrl-C removes {}", state_file.display());
    assert!(moto_gone, "moto still answers on port {moto_port} after Ctrl-C");
}

/// Kills the run's whole process group (dev.sh, flowform-local, the functions, moto) when the
/// test ends, so a failed assertion leaves nothing running.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0)]).status();
    }
}
