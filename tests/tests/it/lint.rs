//! cfn-lint and checkov on every generated template (out/ and the fixture snapshots, root and
//! nested templates):
//! zero findings, and every suppression carries its reason in the resource's Metadata.

use std::path::PathBuf;
use std::process::Command;
use tests::{root, run, template_json, tool};

fn templates() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for base in [root().join("out"), root().join("tests/fixtures")] {
        for entry in walk(&base) {
            let name = entry.file_name().unwrap_or_default().to_string_lossy().to_string();
            let nested = name.starts_with("nested-") && entry.with_file_name("template.yaml").exists();
            if name == "template.yaml" || (nested && name.ends_with(".yaml")) {
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

/// Runs cfn-guard with `rules` on `template`; (exit code, report).
fn guard(rules: &std::path::Path, template: &std::path::Path) -> (i32, String) {
    let (code, out, err) = run(Command::new(tool("FLOWFORM_CFN_GUARD"))
        .args(["validate", "--show-summary", "all", "--rules"])
        .arg(rules)
        .arg("--data")
        .arg(template));
    (code, format!("{out}{err}"))
}

/// Every generated template passes its own `flowform.guard` (#11: the invariants shipped as
/// CloudFormation Guard rules), and each rule catches the template edit it exists for: the
/// donut shop's dev template, changed one way at a time, fails with that rule named.
#[test]
fn guard_rules_pass_and_catch_each_broken_invariant() {
    let mut checked = 0;
    for template in templates() {
        let rules = template.with_file_name("flowform.guard");
        assert!(rules.exists(), "{} has no flowform.guard beside it", template.display());
        let (code, report) = guard(&rules, &template);
        assert_eq!(code, 0, "{} fails its guard rules:\n{report}", template.display());
        checked += 1;
    }
    assert!(checked >= 5);
    // The donut shop has every kind of resource the rules look at: none may pass by skipping.
    let (_, report) = guard(&root().join("out/dev/flowform.guard"), &root().join("out/dev/template.yaml"));
    let rules: Vec<&str> = report.lines().filter(|l| l.starts_with("flowform.guard/")).collect();
    assert!(
        rules.len() >= 10 && rules.iter().all(|l| l.ends_with("PASS")),
        "every rule must apply and pass:\n{report}"
    );

    let dir = root().join("out/dev");
    let text = std::fs::read_to_string(dir.join("template.yaml")).unwrap();
    let work = std::env::temp_dir().join(format!("flowform-guard-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    // (rule that must fail, the resource to change, its first text to change, the replacement)
    let tls_off = "Condition: { Bool: { \"aws:SecureTransport\": \"false\" } }";
    let tls_on = "Condition: { Bool: { \"aws:SecureTransport\": \"true\" } }";
    let breaks: &[(&str, &str, &str, &str)] = &[
        ("queue_AdStopQueue", "  AdStopQueue:", "maxReceiveCount: 8\n", "maxReceiveCount: 800\n"),
        (
            "queues_have_a_dead_letter_queue",
            "  AdStopQueue:",
            "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt AdStopDeadLetterQueue.Arn\n        maxReceiveCount: 8\n",
            "",
        ),
        ("queue_AdStopQueue", "  AdStopQueue:", "VisibilityTimeout: 60\n", "VisibilityTimeout: 59\n"),
        (
            "queue_AdStopQueue",
            "  AdStopEventSourceMapping:",
            "      Enabled: true\n",
            "      MaximumBatchingWindowInSeconds: 300\n      Enabled: true\n",
        ),
        ("queue_StockRequestQueue", "  StockRequestFunction:", "\n      Timeout: 30\n", "\n      Timeout: 31\n"),
        (
            "queues_use_the_stack_key",
            "  VipQueue:",
            "KmsMasterKeyId: !Ref EncryptionKey",
            "KmsMasterKeyId: alias/aws/sqs",
        ),
        (
            "topics_use_the_stack_key",
            "  PurchasesTopic:",
            "KmsMasterKeyId: !Ref EncryptionKey",
            "KmsMasterKeyId: alias/aws/sns",
        ),
        ("queue_policies_are_tls_only", "  VipQueuePolicy:", tls_off, tls_on),
        ("topic_policies_are_tls_only", "  AlarmTopicPolicy:", tls_off, tls_on),
        ("roles_name_every_action", "  AdStopRole:", "\"sqs:ReceiveMessage\"]", "\"sqs:*\"]"),
        ("stateful_resources_are_retained", "  EncryptionKey:", "DeletionPolicy: Retain", "DeletionPolicy: Delete"),
    ];
    for (rule, resource, from, to) in breaks {
        // The change lands inside the resource: its block ends where the next one starts.
        let start =
            text.find(&format!("\n{resource}\n")).unwrap_or_else(|| panic!("no {resource} in the dev template")) + 1;
        let body = start + resource.len();
        let end = text[body..]
            .match_indices("\n  ")
            .map(|(i, _)| body + i)
            .find(|&i| text[i + 3..].starts_with(|c: char| c.is_ascii_uppercase()))
            .map_or(text.len(), |i| i + 1);
        let block = &text[start..end];
        assert!(block.contains(from), "{resource} no longer contains {from:?}: update this test");
        let broken = work.join(format!("{rule}-{}.yaml", resource.trim().trim_end_matches(':')));
        std::fs::write(&broken, format!("{}{}{}", &text[..start], block.replacen(from, to, 1), &text[end..])).unwrap();
        let (code, report) = guard(&dir.join("flowform.guard"), &broken);
        assert_ne!(code, 0, "{rule}: cfn-guard passed {resource} with {to:?}:\n{report}");
        let failed = report.lines().any(|l| l.contains(rule) && l.contains("FAIL"));
        assert!(failed, "{rule} did not fail for {resource} with {to:?}:\n{report}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
