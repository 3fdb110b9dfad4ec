//! cfn-lint and checkov on every generated template (out/ and the fixture snapshots):
//! zero findings, and every suppression carries its reason in the resource's Metadata.

use std::path::PathBuf;
use std::process::Command;
use tests::{root, run, template_json, tool};

fn templates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for base in [root().join("out"), root().join("tests/fixtures")] {
        for entry in walk(&base) {
            if entry.file_name().is_some_and(|n| n == "template.yaml") {
                v.push(entry);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 5, "expected the donut shop's stages and the fixtures' snapshots, found {v:?}");
    v
}

fn walk(dir: &PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn cfn_lint_reports_nothing_including_informational_rules() {
    let _one = tests::alone_blocking();
    let files = templates();
    let (code, out, err) = run(Command::new(tool("FLOWFORM_CFN_LINT"))
        .args(["-r", "ap-northeast-2", "-c", "I", "-f", "parseable", "--"])
        .args(&files));
    assert!(code == 0 && out.trim().is_empty(), "cfn-lint exit {code} on {} templates:\n{out}\n{err}", files.len());
}

#[test]
fn checkov_reports_no_failed_check() {
    let _one = tests::alone_blocking();
    let files = templates();
    let mut cmd = Command::new(tool("FLOWFORM_CHECKOV"));
    cmd.args(["--framework", "cloudformation", "--skip-download", "-o", "json", "--compact"]);
    for f in &files {
        cmd.arg("-f").arg(f);
    }
    let (code, out, err) = run(&mut cmd);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("checkov JSON: {e}\n{out}\n{err}"));
    let reports = match &report {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let mut passed = 0;
    for r in &reports {
        let summary = &r["summary"];
        assert_eq!(summary["failed"], 0, "checkov failed checks: {:#}", r["results"]["failed_checks"]);
        assert_eq!(summary["parsing_errors"], 0, "checkov could not parse a template");
        passed += summary["passed"].as_u64().unwrap_or(0);
    }
    assert_eq!(code, 0, "checkov exit {code}: {err}");
    assert!(passed > 100, "checkov ran only {passed} checks: did it see the templates?");
}

#[test]
fn every_suppression_has_a_reason() {
    for f in templates() {
        let t = template_json(&std::fs::read_to_string(&f).unwrap());
        for (id, r) in t["Resources"].as_object().unwrap() {
            for skip in r["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(comment.len() > 20, "{}: {id}: checkov skip {} has no real reason", f.display(), skip["id"]);
            }
            for rule in r["Metadata"]["cfn-lint"]["config"]["ignore_checks"].as_array().into_iter().flatten() {
                let reason = &r["Metadata"]["flowform"]["cfn-lint-reasons"][rule.as_str().unwrap()];
                assert!(
                    reason.as_str().is_some_and(|s| s.len() > 20),
                    "{}: {id}: cfn-lint {rule} ignored without a reason",
                    f.display()
                );
            }
        }
    }
}
