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
        "wrote out/dev/flowform.guard\nwrote out/dev/graph.dot\nwrote out/dev/graph.mmd\nwrote out/dev/template.yaml\n"
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
    // A stage the revision does not have yet: every resource is new, and plan says why.
    std::fs::write(sub.join("flowform.yaml"), GOOD.replace("stages: { dev: {} }", "stages: { dev: {}, prod: {} }"))
        .unwrap();
    let (code, out, err) = flowform(&sub, &["plan", "--stage", "prod"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("does not exist at HEAD: every resource is new"), "{err}");
    assert!(out.contains("to add"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
