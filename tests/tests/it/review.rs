//! Review tooling (#5): the plan classifies config edits correctly (snapshots in tests/plan),
//! every property flowform emits has an update behaviour, the JSON Schema is fresh and agrees
//! with the parser, the diagram is in out/, and the PR workflow passes actionlint.

use generator::plan::{plan, text, ChangeKind, Update};
use std::process::Command;
use tests::{fixture_configs, root, run, template_json, tool};

fn donut() -> String {
    std::fs::read_to_string(root().join("flowform.yaml")).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(name)).unwrap()
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "edit anchor `{from}` not found");
    text.replacen(from, to, 1)
}

/// Plans `before` -> `after` for a stage and snapshots the text report.
fn plan_of(name: &str, before: &str, after: &str, stage: &str) -> generator::plan::Plan {
    let tb = generator::build(before).unwrap_or_else(|e| panic!("{name} before: {e:?}"));
    let ta = generator::build(after).unwrap_or_else(|e| panic!("{name} after: {e:?}"));
    let key = format!("{stage}/template.yaml");
    let p = plan(&template_json(&tb.files[&key]), &template_json(&ta.files[&key]));
    insta::with_settings!({ snapshot_path => "../../plan", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text(&p));
    });
    p
}

fn change<'a>(p: &'a generator::plan::Plan, id: &str) -> &'a generator::plan::Change {
    p.changes.iter().find(|c| c.logical_id == id).unwrap_or_else(|| {
        panic!("no change to {id}: {:#?}", p.changes.iter().map(|c| &c.logical_id).collect::<Vec<_>>())
    })
}

#[test]
fn renaming_a_queue_loses_its_messages() {
    let d = donut();
    let after = edit(
        &edit(&d, "  vip:\n    description: Purchases", "  vip_buyers:\n    description: Purchases"),
        "      queue: vip\n",
        "      queue: vip_buyers\n",
    );
    let p = plan_of("01-rename-queue", &d, &after, "dev");
    let old = change(&p, "VipQueue");
    assert_eq!(old.kind, ChangeKind::Removed);
    assert!(old.destructive && old.consequence.unwrap().text().contains("messages"), "{old:?}");
    assert_eq!(change(&p, "VipBuyersQueue").kind, ChangeKind::Added);
    assert!(p.destructive());
}

#[test]
fn renamed_from_keeps_every_resource_of_a_renamed_topic_queue_and_function() {
    let d = donut();
    let p = plan_of("09-renamed-from", &d, &tests::renamed_donut_shop(true), "dev");
    // Nothing added, removed or replaced: the same logical IDs and physical names, only the
    // env var the code reads the topic by (FLOWFORM_TOPIC_SALES_ARN) and descriptions change.
    for c in &p.changes {
        assert!(c.kind == ChangeKind::Modified && c.update == Some(Update::InPlace), "{c:#?}");
    }
    assert!(!p.destructive() && p.hints.is_empty(), "{p:#?}");
    assert_eq!(p.renamed.len(), 3, "{:#?}", p.renamed);
    for (was, now) in [
        ("topic `purchases`", "`sales`"),
        ("queue `vip`", "`vip_buyers`"),
        ("function `vip_promotion`", "`promote_vips`"),
    ] {
        assert!(p.renamed.iter().any(|l| l.starts_with(&format!("{was} is {now}"))), "{was}: {:#?}", p.renamed);
    }
    let checkout = change(&p, "CheckoutFunction");
    assert!(
        checkout.properties.iter().any(|c| c.after.to_string().contains("FLOWFORM_TOPIC_SALES_ARN")),
        "{checkout:#?}"
    );
}

#[test]
fn a_rename_without_renamed_from_is_destructive_and_each_entry_gets_a_hint() {
    let d = donut();
    let tb = generator::build(&d).unwrap();
    let ta = generator::build(&tests::renamed_donut_shop(false)).unwrap();
    let key = "dev/template.yaml";
    let p = plan(&template_json(&tb.files[key]), &template_json(&ta.files[key]));
    assert!(p.destructive());
    assert_eq!(p.hints.len(), 3, "{:#?}", p.hints);
    for old in ["purchases", "vip", "vip-promotion"] {
        assert!(p.hints.iter().any(|h| h.contains(&format!("add `renamed_from: {old}`"))), "{old}: {:#?}", p.hints);
    }
    // The hint's name is one `renamed_from` takes: following it keeps everything.
    let followed = tests::renamed_donut_shop(false)
        .replace("  sales:\n", "  sales:\n    renamed_from: purchases\n")
        .replace("  vip_buyers:\n", "  vip_buyers:\n    renamed_from: vip\n")
        .replace("  promote_vips:\n", "  promote_vips:\n    renamed_from: vip-promotion\n");
    let tf = generator::build(&followed).unwrap();
    let p = plan(&template_json(&tb.files[key]), &template_json(&tf.files[key]));
    assert!(!p.destructive() && p.changes.iter().all(|c| c.kind == ChangeKind::Modified), "{p:#?}");
}

#[test]
fn dropping_renamed_from_later_is_destructive_and_named() {
    let kept = tests::renamed_donut_shop(true);
    let dropped = kept.replace("    renamed_from: vip\n", "");
    let tk = generator::build(&kept).unwrap();
    let td = generator::build(&dropped).unwrap();
    let key = "dev/template.yaml";
    let p = plan(&template_json(&tk.files[key]), &template_json(&td.files[key]));
    assert!(p.destructive());
    assert_eq!(p.hints, vec!["queue `vip_buyers` lost `renamed_from: vip`, so VipQueue (donut-shop-dev-vip) is replaced: keep `renamed_from` while the stack lives".to_string()]);
}

#[test]
fn flipping_fifo_replaces_the_queue() {
    let f = fixture("fifo-pipeline.yaml");
    let after = edit(&f, "  audit:\n    fifo: true\n", "  audit:\n    fifo: false\n");
    let p = plan_of("02-fifo-flag", &f, &after, "dev");
    let q = change(&p, "AuditQueue");
    assert_eq!(q.update, Some(Update::Replacement));
    assert!(q.properties.iter().any(|c| c.property == "FifoQueue" && c.update == Update::Replacement));
    assert!(q.destructive);
}

#[test]
fn adding_a_filter_updates_the_subscription_in_place() {
    let d = donut();
    let after = edit(&d, "    description: Out-of-stock events whose product ad must be paused\n    subscribe: [out_of_stock]\n", "    description: Out-of-stock events whose product ad must be paused\n    subscribe:\n      - topic: out_of_stock\n        filter:\n          MessageAttributeProductCnt: [{ numeric: [\">\", 0] }]\n");
    let p = plan_of("03-add-filter", &d, &after, "dev");
    let s = change(&p, "OutOfStockToAdStopSubscription");
    assert_eq!(s.update, Some(Update::InPlace));
    assert!(!p.destructive());
}

#[test]
fn widening_wiring_is_reported_in_words() {
    let d = donut();
    let after = edit(
        &d,
        "    databases: [customer]\n    endpoints: [marketing]\n",
        "    databases: [customer]\n    endpoints: [marketing]\n    publishes: [purchases]\n",
    );
    let p = plan_of("04-widen-wiring", &d, &after, "dev");
    assert!(
        p.permissions.iter().any(|l| l == "vip_promotion can now publish to topic purchases"),
        "{:?}",
        p.permissions
    );
    assert_eq!(change(&p, "VipPromotionRole").update, Some(Update::InPlace));
}

#[test]
fn a_new_route_is_called_out_with_who_may_call_it() {
    let d = donut();
    let after = edit(&d, "routes: [\"GET /product/donut\"]", "routes: [\"GET /product/donut\", \"GET /product/list\"]");
    let p = plan_of("05-add-route", &d, &after, "dev");
    assert_eq!(p.routes, vec!["new route GET /product/list: open to anyone at the gateway".to_string()]);
    assert_eq!(change(&p, "GetProductListRoute").kind, ChangeKind::Added);
}

#[test]
fn opening_a_jwt_route_to_anyone_is_called_out() {
    let d = donut();
    let after = edit(
        &d,
        "http: { auth: jwt, authorizer: customers, scopes: [donut/checkout], routes: [\"POST /checkout\"] }",
        "http: { auth: public, routes: [\"POST /checkout\"] }",
    );
    let p = plan_of("08-open-jwt-route", &d, &after, "dev");
    assert_eq!(
        p.routes,
        vec!["route POST /checkout changes from bearers of a JWT CustomersAuthorizer verifies, with scope donut/checkout to open to anyone at the gateway".to_string()]
    );
    assert_eq!(change(&p, "CustomersAuthorizer").kind, ChangeKind::Removed);
}

#[test]
fn removing_a_dlq_is_destructive() {
    let d = donut();
    let after = edit(&d, "    dlq: { retry_window: 3600, retention_days: 14 }\n", "    dlq: false\n");
    let p = plan_of("06-remove-dlq", &d, &after, "dev");
    let dlq = change(&p, "StockRequestDeadLetterQueue");
    assert_eq!(dlq.kind, ChangeKind::Removed);
    assert!(dlq.destructive);
    let q = change(&p, "StockRequestQueue");
    assert!(q.consequence.is_some_and(|c| matches!(c.fate, generator::plan::Fate::DlqDetached { .. })), "{q:?}");
    assert!(q.destructive);
}

#[test]
fn changing_a_schedule_updates_the_rule_in_place_and_says_so() {
    let d = donut();
    let after = edit(&d, "trigger: { schedule: rate(5 minutes) }", "trigger: { schedule: rate(10 minutes) }");
    let p = plan_of("07-change-schedule", &d, &after, "dev");
    assert_eq!(p.schedules, vec!["restock_reconciler runs on rate(10 minutes) instead of rate(5 minutes)".to_string()]);
    assert_eq!(change(&p, "RestockReconcilerScheduleRule").update, Some(Update::InPlace));
    assert!(!p.destructive());
}

#[test]
fn every_emitted_property_has_an_update_behaviour() {
    let mut missing = Vec::new();
    for (name, path) in fixture_configs() {
        let b = tests::build_config(&path).unwrap();
        for (file, content) in b.files.iter().filter(|(f, _)| f.ends_with(".yaml")) {
            let t = template_json(content);
            for (id, r) in t["Resources"].as_object().unwrap() {
                let ty = r["Type"].as_str().unwrap();
                for prop in r["Properties"].as_object().into_iter().flatten().map(|(k, _)| k) {
                    if generator::plan::behaviour(ty, prop).is_none() {
                        missing.push(format!("{name}/{file}: {id} ({ty}).{prop}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "properties without an update behaviour in plan::UPDATE_BEHAVIOUR:\n{}",
        missing.join("\n")
    );
}

/// The update-behaviour table against the CloudFormation resource schemas cfn-lint ships:
/// a property is `Replacement` exactly when the schema lists it in `createOnlyProperties`
/// (or `conditionalCreateOnlyProperties`, which may replace). A table that disagrees would
/// make `plan` call a replacement an in-place update, or the reverse.
#[test]
fn the_update_table_agrees_with_the_resource_schemas() {
    const SCRIPT: &str = r#"
import json, os, sys, cfnlint
base = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")
providers = json.load(open(os.path.join(base, "providers", "us-east-1.json")))
out = {}
for t in sys.argv[1:]:
    d = json.load(open(os.path.join(base, "resources", providers[t] + ".json")))
    names = lambda key: sorted(p.split("/")[2] for p in d.get(key, []))
    out[t] = {"create_only": names("createOnlyProperties"), "conditional": names("conditionalCreateOnlyProperties")}
print(json.dumps(out))
"#;
    let types: Vec<&str> = generator::plan::UPDATE_BEHAVIOUR.iter().map(|(t, _)| *t).collect();
    let (code, out, err) = run(Command::new(tool("FLOWFORM_LINT_PYTHON")).arg("-c").arg(SCRIPT).args(&types));
    assert_eq!(code, 0, "reading cfn-lint's resource schemas failed: {err}");
    let schemas: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut disagree = Vec::new();
    for (ty, props) in generator::plan::UPDATE_BEHAVIOUR {
        let listed = |key: &str, p: &str| schemas[ty][key].as_array().unwrap().iter().any(|x| x == p);
        for (prop, update) in *props {
            let create_only = listed("create_only", prop);
            let conditional = listed("conditional", prop);
            let ok = match update {
                Update::Replacement => create_only || conditional,
                Update::InPlace | Update::Interruption => !create_only,
            };
            if !ok {
                disagree.push(format!(
                    "{ty}.{prop}: table says {update:?}, schema create-only: {create_only}, conditional: {conditional}"
                ));
            }
        }
    }
    assert!(
        disagree.is_empty(),
        "plan::UPDATE_BEHAVIOUR disagrees with the resource schemas:\n{}",
        disagree.join("\n")
    );
}

#[test]
fn schema_is_fresh_and_agrees_with_the_parser() {
    let want = serde_json::to_string_pretty(&generator::schema::json_schema()).unwrap() + "\n";
    let have = std::fs::read_to_string(root().join("docs/flowform.schema.json")).unwrap_or_default();
    assert!(have == want, "docs/flowform.schema.json is stale: run `flowform schema > docs/flowform.schema.json`");
    assert!(std::fs::read_to_string(root().join("flowform.yaml"))
        .unwrap()
        .starts_with("# yaml-language-server: $schema=./docs/flowform.schema.json"));

    // Valid configs validate; configs the parser rejects for unknown keys do not.
    let mut valid: Vec<std::path::PathBuf> = fixture_configs().into_iter().map(|(_, p)| p).collect();
    valid.extend(
        std::fs::read_dir(root().join("tests/corpus/warnings"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml")),
    );
    // Configs the parser refuses for their shape (a wrong type, an unknown key, a missing
    // required key, a value outside its list), in the corpus and written here, must fail in
    // the editor too.
    use generator::codes::Code;
    let shape = [Code::WrongType, Code::UnknownKey, Code::Missing, Code::NotAllowed];
    let dir = std::env::temp_dir().join(format!("flowform-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut unknown_keys = Vec::new();
    for (name, text) in [
        ("empty.yaml", String::new()),
        ("long-system.yaml", "version: 1\nsystem: a-system-name-of-25-chars\nstages: { dev: {} }\n".into()),
        ("no-stage.yaml", "version: 1\nsystem: s\nstages: {}\n".into()),
        ("stage-name.yaml", "version: 1\nsystem: s\nstages: { dev_1: {} }\n".into()),
        ("two-triggers.yaml", "version: 1\nsystem: s\nstages: { dev: {} }\nfunctions:\n  f: { trigger: { queue: q, schedule: rate(1 hour) } }\n".into()),
    ] {
        assert!(matches!(generator::build(&text), Err(generator::Failure::Invalid(_))), "the parser accepts {name}");
        std::fs::write(dir.join(name), text).unwrap();
        unknown_keys.push(dir.join(name));
    }
    // Valid forms a fixture may not use: `dlq: true` (the defaults), an empty stage.
    let dlq_true = "version: 1\nsystem: s\nstages: { dev: }\ntopics: { t: {} }\nqueues: { q: { dlq: true, subscribe: [t] } }\nfunctions: { f: { trigger: { queue: q } } }\n";
    assert!(generator::build(dlq_true).is_ok(), "the parser refuses dlq: true");
    std::fs::write(dir.join("dlq-true.yaml"), dlq_true).unwrap();
    valid.push(dir.join("dlq-true.yaml"));
    for e in std::fs::read_dir(root().join("tests/corpus/invalid")).unwrap().filter_map(Result::ok) {
        let p = e.path();
        let Some(text) = p.extension().is_some_and(|e| e == "yaml").then(|| std::fs::read_to_string(&p).unwrap())
        else {
            continue;
        };
        if let Err(generator::Failure::Invalid(d)) = generator::build(&text) {
            if d.iter().any(|d| shape.contains(&d.code)) {
                unknown_keys.push(p);
            }
        }
    }
    assert!(unknown_keys.len() >= 20, "{unknown_keys:?}");
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    try:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
    except Exception as e:
        print(path, "invalid: not YAML: " + str(e).splitlines()[0])
        continue
    errs = list(v.iter_errors(doc))
    print(path, "ok" if not errs else "invalid: " + errs[0].message)
"#;
    let (code, out, err) = run(Command::new(tool("FLOWFORM_LINT_PYTHON"))
        .arg("-c")
        .arg(script)
        .arg(root().join("docs/flowform.schema.json"))
        .args(&valid)
        .args(&unknown_keys));
    assert_eq!(code, 0, "{err}");
    let mut disagree = Vec::new();
    for line in out.lines() {
        let is_valid_config = valid.iter().any(|v| line.starts_with(&*v.to_string_lossy()));
        if is_valid_config && !line.ends_with(" ok") {
            disagree.push(format!("the schema rejects a valid config: {line}"));
        } else if !is_valid_config && !line.contains(" invalid: ") {
            disagree.push(format!("the schema accepts a config the parser refuses for its shape: {line}"));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert_eq!(out.lines().count(), valid.len() + unknown_keys.len());
}

#[test]
fn the_diagram_is_generated_into_out() {
    let mmd = std::fs::read_to_string(root().join("out/dev/graph.mmd")).unwrap();
    assert!(mmd.contains("topic_purchases -->|\"quantity >= 100\"| queue_vip"), "{mmd}");
    assert!(mmd.contains("queue_vip -.->|\"after 8 receives\"| dlq_vip"));
    assert!(mmd.contains("route_POST__factory_callback([\"POST /factory/callback (signed · 5/s, burst 10)\"])"));
    assert!(mmd.contains("ext_factory -.->|\"calls back, signed with callback_key\"| route_POST__factory_callback"));
    let dot = std::fs::read_to_string(root().join("out/dev/graph.dot")).unwrap();
    assert!(dot.starts_with("// donut-shop (dev)") && dot.trim_end().ends_with('}'));
}

/// Every diagram flowform writes parses: the Mermaid with mermaid's own parser (the one GitHub
/// renders with), the DOT with pydot; and a broken one is refused, so the check checks.
#[test]
fn every_diagram_parses_as_mermaid_and_dot() {
    let mut mmd = Vec::new();
    let mut dot = Vec::new();
    let mut dirs = vec![root().join("out")];
    dirs.extend(
        std::fs::read_dir(root().join("tests/fixtures")).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()),
    );
    for dir in dirs {
        for stage in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            mmd.push(stage.join("graph.mmd"));
            dot.push(stage.join("graph.dot"));
        }
    }
    assert!(mmd.len() >= 5, "{mmd:?}");
    let broken = std::env::temp_dir().join(format!("flowform-broken-{}.mmd", std::process::id()));
    std::fs::write(&broken, "flowchart LR\n  a[[\"x\"]] --> end\n").unwrap();
    let (code, out, err) = run(Command::new("node").arg(tool("FLOWFORM_MERMAID_CHECK")).args(&mmd).arg(&broken));
    let _ = std::fs::remove_file(&broken);
    assert_eq!(code, 1, "the broken diagram must fail: {out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), mmd.len() + 1, "{out}{err}");
    for line in &lines[..mmd.len()] {
        assert!(line.ends_with(": ok"), "mermaid cannot parse {line}");
    }
    const DOT: &str = r#"
import sys, pydot
for path in sys.argv[1:]:
    graphs = pydot.graph_from_dot_data(open(path, encoding="utf-8").read())
    print(path, "ok" if graphs and len(graphs) == 1 else "unparsed")
"#;
    let broken = std::env::temp_dir().join(format!("flowform-broken-{}.dot", std::process::id()));
    std::fs::write(&broken, "digraph x { a -> ; }\n").unwrap();
    let (code, out, err) = run(Command::new(tool("FLOWFORM_LINT_PYTHON")).arg("-c").arg(DOT).args(&dot).arg(&broken));
    let _ = std::fs::remove_file(&broken);
    assert_eq!(code, 0, "{err}");
    let verdicts: Vec<&str> = out.lines().filter(|l| l.ends_with(" ok") || l.ends_with(" unparsed")).collect();
    assert_eq!(verdicts.len(), dot.len() + 1, "{out}{err}");
    assert!(verdicts[..dot.len()].iter().all(|l| l.ends_with(" ok")), "pydot cannot parse: {out}{err}");
    assert!(verdicts[dot.len()].ends_with(" unparsed"), "the broken DOT must fail: {out}");
}

/// The README shows the donut shop's diagram as generated (GitHub renders the block).
#[test]
fn the_readme_shows_the_generated_diagram() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("  ```mermaid\n").expect("a mermaid block in README.md") + "  ```mermaid\n".len();
    let end = start + readme[start..].find("  ```\n").expect("the block's end");
    let shown: String =
        readme[start..end].lines().map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l))).collect();
    let generated = std::fs::read_to_string(root().join("out/dev/graph.mmd")).unwrap();
    assert!(
        shown == generated,
        "README.md's diagram differs from out/dev/graph.mmd: paste it again (indented two spaces)"
    );
}

#[test]
fn the_pr_workflow_passes_actionlint() {
    let (code, out, err) = run(Command::new(tool("FLOWFORM_ACTIONLINT")).arg(root().join(".github/workflows/pr.yml")));
    assert_eq!(code, 0, "actionlint:\n{out}{err}");
}

/// A stage read from built files, nested templates and all.
fn stage_of(text: &str) -> generator::split::Stage {
    let b = generator::build(text).unwrap_or_else(|e| panic!("{e:?}"));
    generator::split::read_stage(&b.files["dev/template.yaml"], |f| {
        b.files.get(&format!("dev/{f}")).cloned().ok_or_else(|| format!("{f} missing"))
    })
    .unwrap()
}

/// Nested stacks in review (#13). Adding a function to a split system of 300 is additions
/// (its unit) and in-place updates (the topic policy that admits it), nothing else. Raising
/// `nested_stacks` moves functions between templates: each moved resource is a replacement,
/// a moved queue destructive. Turning nesting on for a deployed stage moves every unit.
#[test]
fn plan_of_a_split_stage_adds_a_function_without_moving_others_and_calls_moves_replacements() {
    use generator::plan::plan_stage;
    use generator::synthetic::{config, nested};
    let before = stage_of(&nested(300, 16));
    let p = plan_stage(&before, &stage_of(&nested(301, 16)));
    assert!(!p.destructive(), "{}", text(&p));
    for c in &p.changes {
        let ok = c.kind == ChangeKind::Added || (c.kind == ChangeKind::Modified && c.update == Some(Update::InPlace));
        assert!(ok, "{} {:?} {:?}: {}", c.logical_id, c.kind, c.update, text(&p));
    }
    let added: Vec<&str> =
        p.changes.iter().filter(|c| c.kind == ChangeKind::Added).map(|c| c.logical_id.as_str()).collect();
    assert!(
        added.contains(&"F300Function") && added.contains(&"Api300Function") && added.contains(&"Q300Queue"),
        "{added:?}"
    );

    let p = plan_stage(&before, &stage_of(&nested(300, 17)));
    assert!(p.destructive());
    let moved: Vec<&generator::plan::Change> =
        p.changes.iter().filter(|c| c.properties.iter().any(|pc| pc.property == "(template)")).collect();
    assert!(moved.len() > 1000, "most units move from 16 to 17 buckets: {}", moved.len());
    let queue = moved.iter().find(|c| c.resource_type == "AWS::SQS::Queue").expect("a moved queue");
    let fate = queue.consequence.map(|c| c.fate);
    assert!(queue.destructive && fate == Some(generator::plan::Fate::Moved), "{queue:?}");
    assert!(queue.update != Some(Update::Replacement), "a move is not a replacement: {queue:?}");
    assert!(p.hints.iter().any(|h| h.contains("create-stack-refactor")), "{:?}", p.hints);
    let report = text(&p);
    assert!(report.contains("(template)") && report.contains("nested-"), "{report}");

    let p = plan_stage(&stage_of(&config(30)), &stage_of(&nested(30, 4)));
    let units = stage_of(&nested(30, 4)).homes.values().filter(|f| f.starts_with("nested-")).count();
    let moved = p.changes.iter().filter(|c| c.properties.iter().any(|pc| pc.property == "(template)")).count();
    assert_eq!(moved, units, "every resource of a function unit moves into a nested stack");
    let stacks =
        p.changes.iter().filter(|c| c.kind == ChangeKind::Added && c.resource_type == "AWS::CloudFormation::Stack");
    assert_eq!(stacks.count(), 4);
}
