//! The generator end to end, in process: out/ is fresh, fixtures match their snapshots,
//! every invalid config gives its snapshotted report (insta, under tests/corpus/*/snapshots),
//! and no input makes flowform panic. Fixture templates stay plain files under
//! tests/fixtures/<name>/ (compared by `tests::snapshot`): they are also the inputs the
//! scanners lint and the deploy tests read, so they must be the template itself.

use generator::{build, diag, emit, Failure};
use std::path::Path;
use tests::{build_config, fixture_configs, root, snapshot};

#[test]
fn committed_out_is_fresh() {
    let text = std::fs::read_to_string(root().join("flowform.yaml")).unwrap();
    let b = build(&text).expect("the donut shop builds");
    let drift = emit::check(&root().join("out"), &b.files).unwrap();
    assert!(drift.is_empty(), "out/ is stale, run `flowform generate`: {drift:#?}");
}

#[test]
fn generation_is_deterministic() {
    for (name, path) in fixture_configs() {
        let a = build_config(&path).unwrap_or_else(|e| panic!("{name}: {e:?}")).files;
        let b = build_config(&path).unwrap().files;
        assert_eq!(a, b, "{name}: two builds differ");
    }
}

#[test]
fn reordering_the_config_changes_nothing() {
    let a = "version: 1\nsystem: s\nstages: { dev: {}, prod: {} }\ntopics: { a: {}, b: {} }\nqueues:\n  q1: { subscribe: [{ topic: a, filter: { y: [b, a], x: [{ numeric: [\">\", 0, \"<\", 9] }] } }] }\n  q2: { subscribe: [b, a] }\nfunctions:\n  f1: { trigger: { queue: q1 }, publishes: [b, a] }\n  f2: { trigger: { queue: q2 } }\n";
    let b = "version: 1\nsystem: s\nfunctions:\n  f2: { trigger: { queue: q2 } }\n  f1: { publishes: [a, b], trigger: { queue: q1 } }\nqueues:\n  q2: { subscribe: [a, b] }\n  q1: { subscribe: [{ filter: { x: [{ numeric: [\">\", 0, \"<\", 9] }], y: [b, a] }, topic: a }] }\ntopics: { b: {}, a: {} }\nstages: { prod: {}, dev: {} }\n";
    assert_eq!(build(a).unwrap().files, build(b).unwrap().files);
}

#[test]
fn fixtures_match_their_snapshots() {
    let mut failures = Vec::new();
    for (name, path) in fixture_configs().into_iter().filter(|(n, _)| n != "donut-shop") {
        let b = build_config(&path).unwrap_or_else(|e| panic!("fixture {name} must build: {e:?}"));
        assert!(b.warnings.is_empty(), "fixture {name} has warnings: {:?}", b.warnings);
        for (file, content) in &b.files {
            if let Err(e) = snapshot(&root().join("tests/fixtures").join(&name).join(file), content) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `check` on every `*.yaml` of a corpus directory, snapshotting each report with insta
/// in the directory's `snapshots/` (`report@<file>.snap`); every failure is reported at the end.
/// `INSTA_UPDATE=always scripts/test.sh` (or `cargo insta review`) accepts changed reports.
macro_rules! each_corpus_file {
    ($dir:literal, $check:expr) => {
        insta::with_settings!({
            snapshot_path => concat!("../../corpus/", $dir, "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::glob!(concat!("../../corpus/", $dir), "*.yaml", $check);
        })
    };
}

fn report_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

#[test]
fn every_invalid_config_fails_with_its_report() {
    let mut failures = Vec::new();
    let mut seen_reports = std::collections::BTreeMap::new();
    let mut count = 0;
    each_corpus_file!("invalid", |path: &Path| {
        count += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let name = report_name(path);
        // Imports are read beside the file, as `flowform generate -c <file>` reads them.
        let options = generator::Options { base: path.parent(), ..Default::default() };
        let report = match generator::build_opts(&text, options) {
            Ok(_) => return failures.push(format!("{name}: accepted, but it is in the invalid corpus")),
            Err(Failure::Internal(msg)) => {
                return failures.push(format!("{name}: internal error instead of a diagnostic: {msg}"))
            }
            Err(Failure::Invalid(d)) => {
                for x in d.iter().filter(|x| x.is_error() && x.help.is_none()) {
                    failures.push(format!("{name}: error {} has no help line", x.code));
                }
                diag::render(&name, &text, &d)
            }
        };
        if let Some(other) = seen_reports.insert(report.lines().next().unwrap_or_default().to_string(), name.clone()) {
            failures.push(format!(
                "{name}: same first diagnostic as {other}; each corpus file must show a different mistake"
            ));
        }
        insta::assert_snapshot!("report", report);
    });
    assert!(count >= 30, "the corpus must hold at least 30 invalid configs, has {count}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn warning_configs_build_and_warn() {
    let mut failures = Vec::new();
    each_corpus_file!("warnings", |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = report_name(path);
        match build(&text) {
            Ok(b) if !b.warnings.is_empty() => {
                insta::assert_snapshot!("report", diag::render(&name, &text, &b.warnings))
            }
            Ok(_) => failures.push(format!("{name}: no warning")),
            Err(e) => failures.push(format!("{name}: failed: {e:?}")),
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every prefix and a set of byte-flipped variants of the real configs: errors are fine,
/// panics and internal errors are not.
#[test]
fn mangled_configs_never_panic() {
    for (name, path) in fixture_configs() {
        let text = std::fs::read_to_string(&path).unwrap();
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            let prefix = String::from_utf8_lossy(&bytes[..cut]).into_owned();
            if let Err(Failure::Internal(m)) = build(&prefix) {
                panic!("{name} cut at {cut}: internal error {m}");
            }
        }
        for (i, flip) in
            [b':', b' ', b'-', b'[', b'}', b'\t', b'"', b'*', b'&', b'!'].iter().cycle().take(400).enumerate()
        {
            let at = (i * 131) % bytes.len();
            let mut m = bytes.to_vec();
            m[at] = *flip;
            let s = String::from_utf8_lossy(&m).into_owned();
            if let Err(Failure::Internal(msg)) = build(&s) {
                panic!("{name} with byte {at} set to {:?}: internal error {msg}", *flip as char);
            }
        }
    }
}

/// Empty values of required keys are missing (E004); only values refused for their type are
/// reported once, as E002.
#[test]
fn empty_required_values_are_missing() {
    for text in ["version: 1\nsystem: s\nstages: {}\n", "version: 1\nsystem: s\nstages:\n"] {
        match build(text) {
            Err(Failure::Invalid(d)) => {
                assert!(d.iter().any(|d| d.code == "E004" && d.message.contains("stages")), "{text}: {d:?}")
            }
            other => panic!("{text}: expected E004, got {other:?}"),
        }
    }
}

#[test]
fn a_system_over_500_resources_is_a_clear_error() {
    assert!(build(&generator::synthetic::config(10)).is_ok());
    match build(&generator::synthetic::config(100)) {
        Err(Failure::Invalid(d)) => {
            assert!(d.iter().all(|d| d.code == "E023"), "{d:?}");
            assert!(d[0].message.contains("one CloudFormation template holds at most 500"), "{}", d[0].message);
        }
        other => panic!("expected E023, got {other:?}"),
    }
}

/// Every `DependsOn` of the whole template holds after the split: between resources of one
/// template as it was; across templates as the `DependsOn` of the nested stack resource (on
/// the target, or on the target's nested stack), or implied by a parameter passed from it.
fn depends_on_survives_the_split(
    what: &str,
    whole: &serde_json::Value,
    joined: &serde_json::Value,
    files: &generator::emit::Files,
    stage: &str,
) {
    let read = generator::split::read_stage(&files[&format!("{stage}/template.yaml")], |f| {
        files.get(&format!("{stage}/{f}")).cloned().ok_or_else(|| f.to_string())
    })
    .unwrap();
    let root = tests::template_json(&files[&format!("{stage}/template.yaml")]);
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    };
    let stack_of = |file: &str| -> String {
        read.stacks.iter().find(|(_, r)| r["Properties"]["TemplateURL"] == file).map(|(id, _)| id.clone()).unwrap()
    };
    for (id, r) in whole["Resources"].as_object().unwrap() {
        let home = &read.homes[id];
        for t in list(&r["DependsOn"]) {
            let there = &read.homes[&t];
            if there == home {
                assert!(list(&joined["Resources"][id]["DependsOn"]).contains(&t), "{what}: {id} lost DependsOn {t}");
            } else if home == "template.yaml" {
                assert!(list(&root["Resources"][id]["DependsOn"]).contains(&stack_of(there)), "{what}: {id} -> {t}");
            } else {
                let stack = &read.stacks[&stack_of(home)];
                let waits_for = if there == "template.yaml" { t.clone() } else { stack_of(there) };
                let implied = stack["Properties"]["Parameters"].to_string().contains(&format!("\"{waits_for}\""));
                assert!(
                    implied || list(&stack["DependsOn"]).contains(&waits_for),
                    "{what}: {id} -> {t}: its nested stack neither waits for {waits_for} nor takes a parameter from it"
                );
            }
        }
    }
}

/// Nested stacks, three promises. (1) The templates of a split stage, joined back
/// (`split::join`: parameters replaced by what the root passes, output reads by the outputs),
/// are exactly the one template the config makes without `nested_stacks`, for every fixture
/// and a 300-function system: no wire is lost, rewired wrongly or added (a `DependsOn` across
/// templates is kept as the nested stack's, so both sides are compared without them).
/// (2) Adding a function moves no existing resource to another template. (3) A nested
/// template over a quota is E023 at `nested_stacks`, telling to raise it.
#[test]
fn nested_stacks_join_back_into_the_whole_template_and_stay_put() {
    fn strip_depends_on(t: &mut serde_json::Value) {
        for r in t["Resources"].as_object_mut().unwrap().values_mut() {
            r.as_object_mut().unwrap().remove("DependsOn");
        }
    }
    let whole_opts = generator::Options { quotas: false, ..Default::default() };
    let fixtures = root().join("tests/fixtures");
    let whole_opts = generator::Options { base: Some(&fixtures), ..whole_opts };
    let nested_opts = generator::Options { base: Some(&fixtures), ..Default::default() };
    let mut configs: Vec<(String, String)> = tests::fixture_configs()
        .into_iter()
        .map(|(name, path)| (name, std::fs::read_to_string(path).unwrap()))
        .collect();
    configs.push(("synthetic-300".into(), generator::synthetic::nested(300, 16)));
    let mut split_stages = 0;
    for (name, text) in configs {
        let (whole_text, nested_text) = match text.lines().find(|l| l.starts_with("nested_stacks:")) {
            // The whole: without `nested_stacks` and without the functions' `stack` pins.
            Some(_) => {
                let keep = |l: &&str| !l.starts_with("nested_stacks:") && !l.trim_start().starts_with("stack:");
                (text.lines().filter(keep).collect::<Vec<_>>().join("\n") + "\n", text.clone())
            }
            None => (text.clone(), text.replacen("version: 1\n", "version: 1\nnested_stacks: 4\n", 1)),
        };
        let whole = generator::build_opts(&whole_text, whole_opts).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let nested = generator::build_opts(&nested_text, nested_opts)
            .unwrap_or_else(|e| panic!("{name} with nested stacks: {e:?}"));
        for sys in &whole.systems {
            let stage = &sys.stage;
            let mut want = tests::template_json(&whole.files[&format!("{stage}/template.yaml")]);
            let mut got = generator::split::stage_template(&nested.files, stage).unwrap().unwrap();
            assert!(
                nested.files.keys().any(|f| f.starts_with(&format!("{stage}/nested-"))),
                "{name}/{stage}: not split"
            );
            depends_on_survives_the_split(&format!("{name}/{stage}"), &want, &got, &nested.files, stage);
            strip_depends_on(&mut want);
            strip_depends_on(&mut got);
            for section in ["Parameters", "Resources", "Outputs"] {
                let (w, g) = (&want[section], &got[section]);
                if w != g {
                    let keys = |v: &serde_json::Value| {
                        v.as_object()
                            .map(|o| o.keys().cloned().collect::<std::collections::BTreeSet<_>>())
                            .unwrap_or_default()
                    };
                    let (kw, kg) = (keys(w), keys(g));
                    let differ: Vec<&String> =
                        kw.union(&kg).filter(|k| w.get(k.as_str()) != g.get(k.as_str())).collect();
                    panic!(
                        "{name}/{stage}: {section} differ after the join at {differ:?}: first: {:#}\nvs {:#}",
                        w.get(differ[0].as_str()).unwrap_or(&serde_json::Value::Null),
                        g.get(differ[0].as_str()).unwrap_or(&serde_json::Value::Null)
                    );
                }
            }
            split_stages += 1;
        }
    }
    assert!(split_stages >= 8, "{split_stages} stages checked");

    // (2) One more function (and its queue and route) moves nothing else.
    let homes = |text: &str| -> std::collections::BTreeMap<String, String> {
        let b = build(text).unwrap();
        let mut homes = std::collections::BTreeMap::new();
        for (file, content) in &b.files {
            if file.ends_with(".yaml") {
                for id in tests::template_json(content)["Resources"].as_object().unwrap().keys() {
                    homes.insert(id.clone(), file.clone());
                }
            }
        }
        homes
    };
    let (before, after) =
        (homes(&generator::synthetic::nested(300, 16)), homes(&generator::synthetic::nested(301, 16)));
    let moved: Vec<String> = before
        .iter()
        .filter(|(id, file)| after.get(*id).is_some_and(|f| f != *file) && !id.starts_with("NestedStack"))
        .map(|(id, file)| format!("{id}: {file} -> {}", after[id]))
        .collect();
    assert!(moved.is_empty(), "adding a function moved resources: {moved:?}");
    let added: Vec<&String> = after.keys().filter(|id| !before.contains_key(*id)).collect();
    assert!(
        added.iter().any(|id| id.as_str() == "F300Function") && added.iter().any(|id| id.as_str() == "Api300Function"),
        "{added:?}"
    );

    // (3) Too few nested stacks for the system.
    match build(&generator::synthetic::nested(300, 2)) {
        Err(Failure::Invalid(d)) => {
            assert!(d.iter().all(|d| d.code == "E023"), "{d:?}");
            assert_eq!(d[0].span.line, 3, "at `nested_stacks`: {d:?}");
            assert!(d[0].message.contains("nested-") && d[0].message.contains("at most 500"), "{}", d[0].message);
            assert!(d[0].help.as_deref().unwrap_or_default().contains("raise it to about `nested_stacks: "), "{d:?}");
        }
        other => panic!("expected E023, got {other:?}"),
    }
}
