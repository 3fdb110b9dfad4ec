//! The `flowform` binary: exit codes, messages, and that a failed run writes nothing.

use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flowform-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn flowform(dir: &PathBuf, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowform")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const GOOD: &str = "version: 1\nsystem: s\nstages: { dev: {} }\ntopics: { t: {} }\nqueues: { q: { subscribe: [t] } }\nfunctions:\n  f: { trigger: { queue: q } }\n  p: { trigger: { http: { auth: public, routes: [\"POST /x\"] } }, publishes: [t] }\n";

#[test]
fn invalid_config_exits_1_with_positions_and_writes_nothing() {
    let dir = scratch("invalid");
    std::fs::create_dir_all(dir.join("out/dev")).unwrap();
    std::fs::write(dir.join("out/dev/template.yaml"), "previous\n").unwrap();
    std::fs::write(dir.join("flowform.yaml"), "version: 1\nsystem: s\nstages: { dev: {} }\nqueus: {}\n").unwrap();
    let (code, _, err) = flowform(&dir, &["generate"]);
    assert_eq!(code, 1);
    assert!(err.contains("flowform.yaml:4:1"), "{err}");
    assert!(err.contains("did you mean `queues`?"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("out/dev/template.yaml")).unwrap(), "previous\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generate_then_check_then_drift() {
    let dir = scratch("check");
    std::fs::write(dir.join("flowform.yaml"), GOOD).unwrap();
    let (code, out, err) = flowform(&dir, &["generate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "wrote out/bindings.rs\nwrote out/dev/flowform.guard\nwrote out/dev/graph.dot\nwrote out/dev/graph.mmd\nwrote out/dev/template.yaml\n"
    );
    assert_eq!(flowform(&dir, &["check"]).0, 0);
    let t = dir.join("out/dev/template.yaml");
    let edited = std::fs::read_to_string(&t).unwrap().replace("Timeout: 10", "Timeout: 11");
    std::fs::write(&t, edited).unwrap();
    let (code, _, err) = flowform(&dir, &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("-      Timeout: 11") && err.contains("+      Timeout: 10"), "{err}");
    assert!(err.contains("run `flowform generate`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_config_exits_3_with_help() {
    let dir = scratch("missing");
    let (code, _, err) = flowform(&dir, &["validate"]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot read flowform.yaml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // The reader goes away before flowform writes: `flowform schema | head -0`.
    for args in [&["schema"][..], &["graph", "-c", "../flowform.yaml"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowform"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn encodings_a_bom_is_accepted_and_bad_bytes_are_pointed_at() {
    let dir = scratch("encoding");
    std::fs::write(dir.join("bom.yaml"), format!("\u{feff}{GOOD}")).unwrap();
    let (code, _, err) = flowform(&dir, &["validate", "-c", "bom.yaml"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("bad.yaml"), b"version: 1\nsystem: s\xff\n").unwrap();
    let (code, _, err) = flowform(&dir, &["validate", "-c", "bad.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[E030]") && err.contains("bad.yaml:2:10") && err.contains("byte 0xff"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `plan` compares with the committed out/ of the checkout it runs in, from any directory of
/// it; a revision that does not exist, or no checkout at all, is an error, never "everything
/// is new" (which would pass `--fail-on-destructive`).
#[test]
fn plan_reads_the_committed_stack_and_refuses_what_it_cannot_read() {
    let dir = scratch("plan");
    let git = |args: &[&str]| {
        let o = Command::new("git").current_dir(&dir).args(args).output().unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    // Not a checkout yet.
    std::fs::write(dir.join("flowform.yaml"), GOOD).unwrap();
    let (code, _, err) = flowform(&dir, &["plan"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not inside a git checkout"), "{err}");
    // A checkout whose config lives in a subdirectory.
    let sub = dir.join("services/orders");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::rename(dir.join("flowform.yaml"), sub.join("flowform.yaml")).unwrap();
    git(&["init", "-q"]);
    assert_eq!(flowform(&sub, &["generate"]).0, 0);
    git(&["add", "-A"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first"]);
    let (code, out, err) = flowform(&sub, &["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no changes"), "the committed stack, read from the subdirectory: {out}{err}");
    let (code, _, err) = flowform(&sub, &["plan", "--base", "no-such-revision"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("`no-such-revision` is not a revision"), "{err}");
    // The config passed for the template parses as YAML, but it is no template.
    let (code, out, err) = flowform(&sub, &["plan", "--before", "flowform.yaml"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("is not a CloudFormation template"), "{err}");
    // A stage split into nested stacks: `--before` reads the nested templates beside the root.
    let nested = GOOD.replacen("version: 1\n", "version: 1\nnested_stacks: 2\n", 1);
    std::fs::write(sub.join("flowform.yaml"), &nested).unwrap();
    assert_eq!(flowform(&sub, &["generate", "-o", "split"]).0, 0);
    let (code, out, err) = flowform(&sub, &["plan", "--before", "split/dev/template.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no changes"), "the split stage, read back whole: {out}{err}");
    let nested_file = std::fs::read_dir(sub.join("split/dev"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("nested-"))
        .expect("a nested template")
        .path();
    std::fs::remove_file(&nested_file).unwrap();
    let (code, _, err) = flowform(&sub, &["plan", "--before", "split/dev/template.yaml"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("names nested template") && err.contains("which cannot be read"), "{err}");
    std::fs::write(sub.join("flowform.yaml"), GOOD).unwrap();
    // Another stage's template: said, and compared all the same.
    std::fs::write(sub.join("flowform.yaml"), GOOD.replace("stages: { dev: {} }", "stages: { dev: {}, prod: {} }"))
        .unwrap();
    let (code, _, err) = flowform(&sub, &["plan", "--stage", "prod", "--before", "out/dev/template.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is the template of `s-dev`, compared here with `s-prod`"), "{err}");
    // Without --stage: `dev`, and plan says which and what else there is.
    let (code, _, err) = flowform(&sub, &["plan", "--before", "out/dev/template.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("plan: stage `dev` (--stage prod for another)"), "{err}");
    std::fs::write(sub.join("flowform.yaml"), GOOD).unwrap();
    // A stage the revision does not have yet: every resource is new, and plan says why.
    std::fs::write(sub.join("flowform.yaml"), GOOD.replace("stages: { dev: {} }", "stages: { dev: {}, prod: {} }"))
        .unwrap();
    let (code, out, err) = flowform(&sub, &["plan", "--stage", "prod"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("does not exist at HEAD: every resource is new"), "{err}");
    assert!(out.contains("to add"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A system unlike the donut shop: FIFO topic and queues, a body-filtered subscription, SES, a
/// database, a secret, a schedule, and a function named with a Rust keyword.
const SECOND_SYSTEM: &str = r#"version: 1
system: ledger
handlers_crate: ledger-handlers
stages: { dev: {}, prod: {} }
topics:
  postings: { fifo: true, content_based_dedup: true }
queues:
  ledger_writer:
    fifo: true
    content_based_dedup: true
    subscribe: [{ topic: postings, raw: true }]
  audit:
    fifo: true
    subscribe:
      - { topic: postings, raw: true, filter_scope: body, filter: { account: [{ prefix: "corp-" }] } }
email:
  notices: { identity: ledger.example.com, senders: [notices@ledger.example.com] }
databases:
  books: { engine: mysql }
secrets:
  bank_api_key: { existing: true }
functions:
  intake:
    trigger: { http: { auth: iam, routes: ["POST /postings"] } }
    publishes: [postings]
  writer:
    trigger: { queue: ledger_writer }
    databases: [books]
    emails: [notices]
    secrets: [bank_api_key]
  auditor:
    trigger: { queue: audit, batch_size: 1 }
  type:
    trigger: { schedule: rate(1 hour) }
    databases: [books]
"#;

/// Where the scaffold builds: a directory of its own under the shared target dir (kept between
/// runs, so only the first build compiles its dependencies). Never the workspace's own: the
/// scaffold's cargo rebuilds `contracts` and `flowform-runtime` under the same file names,
/// and the workspace's crates built against the old ones no longer link (E0460 in a doctest).
fn scaffold_target(krate: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| PathBuf::from(t).join("scaffold"))
        .unwrap_or_else(|| krate.join("target"))
}

fn cargo(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    // The workspace's lock: the scaffold builds with the versions flowform is tested with.
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", scaffold_target(dir))
        .args(args)
        .arg("--offline")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `flowform new handlers` on a config unlike the donut shop writes a crate whose tests pass as
/// written; the user's files are kept on a second run; and a wire the config loses breaks the
/// build where the handler used it (the bindings are generated from the config).
#[test]
fn a_scaffold_builds_and_passes_its_tests_and_a_removed_wire_breaks_the_build() {
    let dir = scratch("scaffold");
    std::fs::write(dir.join("flowform.yaml"), SECOND_SYSTEM).unwrap();
    let (code, _, err) = flowform(&dir, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = flowform(&dir, &["new", "handlers"]);
    assert_eq!(code, 0, "{err}");
    let krate = dir.join("handlers/ledger-handlers");
    for f in ["Cargo.toml", "src/lib.rs", "src/type.rs", "src/bin/type.rs", "src/bin/intake.rs", "src/writer.rs"] {
        assert!(krate.join(f).exists(), "{f} missing: {err}");
    }
    let (ok, out) = cargo(&krate, &["test"]);
    assert!(ok, "the scaffold's tests fail:\n{out}");
    let fmt = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", scaffold_target(&krate))
        .args(["fmt", "--check"])
        .output()
        .unwrap();
    assert!(fmt.status.success(), "the scaffold is not rustfmt-clean:\n{}", String::from_utf8_lossy(&fmt.stdout));
    assert_eq!(out.matches("handles_its_recorded_event ... ok").count(), 4, "{out}");

    // The user writes logic that uses the sender; a second `new` keeps it.
    let writer = krate.join("src/writer.rs");
    let logic = std::fs::read_to_string(&writer).unwrap().replace(
        "tracing::info!(stage = %ctx.wiring.stage,",
        "tracing::info!(stage = %ctx.wiring.stage, from = %ctx.wiring.emails.notices.from,",
    );
    std::fs::write(&writer, &logic).unwrap();
    let (code, _, err) = flowform(&dir, &["new", "handlers"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("kept ") && err.contains("src/writer.rs"), "{err}");
    assert_eq!(std::fs::read_to_string(&writer).unwrap(), logic);
    let (ok, out) = cargo(&krate, &["build"]);
    assert!(ok, "{out}");
    runs_locally(&dir, &krate);

    // The config loses the wire; the build fails where the handler used it.
    std::fs::write(dir.join("flowform.yaml"), SECOND_SYSTEM.replace("    emails: [notices]\n", "")).unwrap();
    let (code, _, err) = flowform(&dir, &["generate"]);
    assert_eq!(code, 0, "{err}");
    let (ok, out) = cargo(&krate, &["build"]);
    assert!(!ok, "the build passed without the wire");
    assert!(out.contains("no field `emails`") && out.contains("src/writer.rs"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scaffold's binaries under `flowform-local dev` (its own moto): the route answers with the
/// function's JSON, the scheduled function runs, and a message published to the FIFO topic
/// reaches a queue function (the writer, raw; the auditor, filtered on the body) as JSON.
fn runs_locally(dir: &std::path::Path, krate: &std::path::Path) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let local = std::path::Path::new(env!("CARGO_BIN_EXE_flowform")).with_file_name("flowform-local");
    assert!(local.exists(), "{} is missing: `cargo build --workspace` builds it", local.display());
    let bins = scaffold_target(krate).join("debug");
    let mut child = Command::new(&local)
        .current_dir(dir)
        .args(["dev", "--http-port", "0", "--schedule-every", "2", "--db", "books=mysql://root@127.0.0.1:3306/test"])
        .arg("--bin-dir")
        .arg(&bins)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("FLOWFORM_MOTO_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let streams = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ];
    /// Ctrl-C to the whole run (moto and the functions too), then its exit.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("kill").args(["-INT", "--", &format!("-{}", self.0.id())]).status();
            let _ = self.0.wait();
        }
    }
    let _stop = Stop(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in streams {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let started = Instant::now();
    let mut seen = Vec::new();
    let wait_for = |what: &str, seen: &mut Vec<String>| -> String {
        while started.elapsed() < Duration::from_secs(90) {
            if let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
                seen.push(line.clone());
                if line.contains(what) {
                    return line;
                }
            }
        }
        panic!("no `{what}` from flowform-local dev:\n{}", seen.join("\n"));
    };
    let moto = wait_for("moto: http://", &mut seen).split_whitespace().nth(1).unwrap().to_string();
    let api = wait_for("HTTP API: ", &mut seen).split_whitespace().nth(2).unwrap().to_string();
    let body = post(&api, "/postings", "{}");
    assert!(
        body.starts_with("HTTP/1.1 200")
            && body.contains("\"function\":\"intake\"")
            && body.contains("\"stage\":\"dev\""),
        "{body}"
    );
    wait_for("scheduled run", &mut seen);
    let aws = std::env::var_os("FLOWFORM_AWS").map(PathBuf::from).expect("FLOWFORM_AWS (scripts/tools.sh's awscli)");
    let published = Command::new(aws)
        .args(["--endpoint-url", &moto, "--region", "ap-northeast-2", "sns", "publish"])
        .args(["--topic-arn", "arn:aws:sns:ap-northeast-2:123456789012:ledger-dev-postings.fifo"])
        .args([
            "--message",
            r#"{"account":"corp-7","amount":12}"#,
            "--message-group-id",
            "corp-7",
            "--message-deduplication-id",
            "d-7",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    let line = wait_for("corp-7", &mut seen);
    assert!(line.contains("received"), "{line}");
}

/// A POST over plain HTTP/1.1 to `base` (`http://127.0.0.1:<port>`): the whole answer, status
/// line first (std only: no HTTP client in this crate, no curl on the path).
fn post(base: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}
