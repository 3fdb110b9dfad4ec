//! Static checks of the wiring that moto cannot catch (it enforces neither queue policies
//! nor IAM): every SNS->SQS subscription has a queue policy admitting exactly its topics, every
//! queue and topic policy denies whatever is not wired, and every role statement names only
//! resources its function is wired to.

use generator::model::{System, Trigger};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use tests::{as_list, fixture_configs, resources_of, template_json};

fn systems() -> Vec<(String, System, Json)> {
    let mut v = Vec::new();
    for (name, path) in fixture_configs() {
        let b = tests::build_config(&path).unwrap();
        for sys in b.systems {
            // A stage split into nested stacks is checked as the one template it was split from.
            let t = generator::split::stage_template(&b.files, &sys.stage).expect("a template").unwrap();
            v.push((format!("{name}/{}", sys.stage), sys, t));
        }
    }
    v
}

fn pascal(s: &str) -> String {
    generator::ids::pascal(s)
}

#[test]
fn each_subscribed_queue_admits_exactly_its_topics() {
    for (name, _, t) in systems() {
        let subs = resources_of(&t, "AWS::SNS::Subscription");
        let policies = resources_of(&t, "AWS::SQS::QueuePolicy");
        let mut queues: BTreeSet<String> = BTreeSet::new();
        for (_, s) in subs.iter().filter(|(_, s)| s["Properties"]["Protocol"] == "sqs") {
            queues.insert(
                s["Properties"]["Endpoint"]["Fn::GetAtt"][0]
                    .as_str()
                    .expect("Endpoint is GetAtt Queue.Arn")
                    .to_string(),
            );
        }
        assert!(!queues.is_empty(), "{name}: no SQS subscriptions");
        for q in queues {
            let topics: BTreeSet<String> = subs
                .iter()
                .filter(|(_, s)| s["Properties"]["Endpoint"]["Fn::GetAtt"][0] == q.as_str())
                .map(|(_, s)| s["Properties"]["TopicArn"].to_string())
                .collect();
            let covering: Vec<_> = policies
                .iter()
                .filter(|(_, p)| as_list(&p["Properties"]["Queues"]).contains(&json!({ "Ref": q })))
                .collect();
            assert_eq!(covering.len(), 1, "{name}: queue {q} needs exactly one queue policy");
            let stmts = covering[0].1["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap();
            let allows: Vec<&Json> = stmts.iter().filter(|s| s["Effect"] == "Allow").collect();
            assert_eq!(allows.len(), 1, "{name}: queue {q}: one Allow statement expected");
            let a = allows[0];
            assert_eq!(a["Principal"], json!({ "Service": "sns.amazonaws.com" }), "{name}: {q}");
            assert_eq!(as_list(&a["Action"]), vec![json!("sqs:SendMessage")], "{name}: {q}");
            assert_eq!(a["Resource"], json!({ "Fn::GetAtt": [q, "Arn"] }), "{name}: {q}");
            let admitted: BTreeSet<String> =
                as_list(&a["Condition"]["ArnEquals"]["aws:SourceArn"]).iter().map(Json::to_string).collect();
            assert_eq!(admitted, topics, "{name}: queue {q} must admit exactly its subscribed topics");
            assert!(
                stmts.iter().any(|s| s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
                "{name}: queue {q} must deny insecure transport"
            );
        }
    }
}

/// Every schedule rule may invoke its function and dead-letter into the function's own DLQ:
/// a Lambda permission, a queue policy and a key policy statement name exactly that rule (by
/// its spelled-out ARN), the rule waits for them, and the function dead-letters there too.
#[test]
fn each_schedule_rule_can_invoke_and_dead_letter() {
    let mut rules_seen = 0;
    for (name, sys, t) in systems() {
        let res = &t["Resources"];
        for f in sys.functions.iter().filter(|f| matches!(f.trigger, Trigger::Schedule { .. })) {
            rules_seen += 1;
            let p = pascal(&f.name);
            let rule = &res[format!("{p}ScheduleRule")];
            assert_eq!(rule["Type"], "AWS::Events::Rule", "{name}: {}", f.name);
            let props = &rule["Properties"];
            let Trigger::Schedule { expression, max_event_age, retries } = &f.trigger else { unreachable!() };
            assert_eq!(props["ScheduleExpression"], json!(expression), "{name}: {}", f.name);
            assert_eq!(props["State"], "ENABLED");
            let rule_arn = json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}", props["Name"].as_str().unwrap()) });
            let targets = props["Targets"].as_array().unwrap();
            assert_eq!(targets.len(), 1, "{name}: {}", f.name);
            let dlq = json!({ "Fn::GetAtt": [format!("{p}DeadLetterQueue"), "Arn"] });
            assert_eq!(targets[0]["Arn"], json!({ "Fn::GetAtt": [format!("{p}Function"), "Arn"] }));
            assert_eq!(targets[0]["DeadLetterConfig"]["Arn"], dlq, "{name}: {}", f.name);
            assert_eq!(targets[0]["RetryPolicy"]["MaximumEventAgeInSeconds"], json!(max_event_age));
            let cfg = &res[format!("{p}EventInvokeConfig")]["Properties"];
            assert_eq!(
                (&cfg["MaximumRetryAttempts"], &cfg["MaximumEventAgeInSeconds"], &cfg["Qualifier"]),
                (&json!(retries), &json!(max_event_age), &json!("$LATEST"))
            );
            assert_eq!(
                res[format!("{p}Function")]["Properties"]["DeadLetterConfig"]["TargetArn"],
                dlq,
                "{name}: {}",
                f.name
            );

            let perm = &res[format!("{p}SchedulePermission")]["Properties"];
            assert_eq!(
                (&perm["Principal"], &perm["FunctionName"], &perm["SourceArn"]),
                (&json!("events.amazonaws.com"), &json!({ "Ref": format!("{p}Function") }), &rule_arn)
            );

            let stmts = res[format!("{p}DeadLetterQueuePolicy")]["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone();
            let allows: Vec<&Json> = stmts.iter().filter(|s| s["Effect"] == "Allow").collect();
            assert_eq!(allows.len(), 1, "{name}: {}", f.name);
            assert_eq!(allows[0]["Principal"], json!({ "Service": "events.amazonaws.com" }));
            assert_eq!(as_list(&allows[0]["Action"]), vec![json!("sqs:SendMessage")]);
            assert_eq!(allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"], rule_arn, "{name}: {}", f.name);
            assert!(stmts
                .iter()
                .any(|s| s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"));

            let key = res["EncryptionKey"]["Properties"]["KeyPolicy"]["Statement"].as_array().unwrap();
            let events = key
                .iter()
                .find(|s| s["Principal"] == json!({ "Service": "events.amazonaws.com" }))
                .expect("key admits EventBridge");
            assert!(
                as_list(&events["Condition"]["ArnEquals"]["aws:SourceArn"]).contains(&rule_arn),
                "{name}: key policy must admit {}",
                f.name
            );

            let depends: Vec<Json> = as_list(&rule["DependsOn"]);
            for d in
                [format!("{p}SchedulePermission"), format!("{p}DeadLetterQueuePolicy"), format!("{p}EventInvokeConfig")]
            {
                assert!(depends.contains(&json!(d)), "{name}: rule of {} must wait for {d}", f.name);
            }
        }
    }
    assert!(rules_seen > 0, "no scheduled function in the configs under test");
}

/// A topic's ARN as a template names it: this stack's topic, or an imported topic's export
/// (`<exporter>-<stage>-<Identity>TopicArn`).
fn topic_arn(sys: &System, t: &str) -> Json {
    match sys.topic(t).and_then(|t| t.imported.as_ref()) {
        Some(i) => json!({ "Fn::ImportValue": format!("{}-{}-{}TopicArn", i.system, sys.stage, pascal(&i.identity)) }),
        None => json!({ "Ref": format!("{}Topic", pascal(t)) }),
    }
}

/// What a function may touch, spelled out from the model independently of the generator.
fn allowed_resources(sys: &System, f: &generator::model::Function) -> BTreeSet<String> {
    let p = pascal(&f.name);
    let mut v: Vec<Json> = vec![
        json!({ "Fn::GetAtt": [format!("{p}LogGroup"), "Arn"] }),
        json!({ "Fn::GetAtt": ["EncryptionKey", "Arn"] }),
    ];
    if let Trigger::Queue { queue, .. } = &f.trigger {
        v.push(json!({ "Fn::GetAtt": [format!("{}Queue", pascal(queue)), "Arn"] }));
    }
    if let Trigger::Schedule { .. } = &f.trigger {
        v.push(json!({ "Fn::GetAtt": [format!("{p}DeadLetterQueue"), "Arn"] }));
    }
    for t in &f.publishes {
        v.push(topic_arn(sys, t));
        // Another system's topic is encrypted with that system's key, named by its export.
        if let Some(i) = sys.topic(t).and_then(|t| t.imported.as_ref()) {
            v.push(json!({ "Fn::ImportValue": format!("{}-{}-EncryptionKeyArn", i.system, sys.stage) }));
        }
    }
    for s in &f.secrets {
        let secret = sys.secrets.iter().find(|x| &x.name == s).unwrap();
        if !secret.existing {
            v.push(json!({ "Ref": format!("{}Secret", pascal(s)) }));
            continue;
        }
        // An existing secret is its ARN parameter; its own key may only be used through
        // Secrets Manager (checked below).
        v.push(json!({ "Ref": format!("{}SecretArn", pascal(s)) }));
        if secret.own_key {
            v.push(json!({ "Ref": format!("{}SecretKeyArn", pascal(s)) }));
        }
    }
    for d in &f.databases {
        v.push(json!({ "Ref": format!("{}DbSecretArn", pascal(d)) }));
        if let Some(user) = sys.database(d).and_then(|db| db.iam_user.clone()) {
            v.push(json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:rds-db:${{AWS::Region}}:${{AWS::AccountId}}:dbuser:${{{}DbResourceId}}/{user}", pascal(d)) }));
        }
    }
    for e in &f.emails {
        let email = sys.email(e).unwrap();
        v.push(json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{}", email.identity) }));
        v.push(json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/${{{}ConfigurationSet}}", pascal(e)) }));
    }
    if !f.databases.is_empty() {
        v.push(json!("*")); // ec2:DescribeNetworkInterfaces only, checked below
        for kind in ["network-interface/*", "subnet/*"] {
            v.push(json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:{kind}") }));
        }
        v.push(json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/${{{p}SecurityGroup}}") }));
    }
    v.iter().map(Json::to_string).collect()
}

#[test]
fn role_statements_name_only_wired_resources() {
    for (name, sys, t) in systems() {
        for f in &sys.functions {
            let p = pascal(&f.name);
            let role = &t["Resources"][format!("{p}Role")];
            let policies = role["Properties"]["Policies"].as_array().expect("inline policies");
            assert!(role["Properties"]["ManagedPolicyArns"].is_null(), "{name}: {} uses managed policies", f.name);
            let allowed = allowed_resources(&sys, f);
            let mut used = BTreeSet::new();
            for pol in policies {
                for s in pol["PolicyDocument"]["Statement"].as_array().unwrap() {
                    assert_eq!(s["Effect"], "Allow");
                    let actions: Vec<String> =
                        as_list(&s["Action"]).iter().map(|a| a.as_str().unwrap().to_string()).collect();
                    assert!(
                        actions.iter().all(|a| !a.contains('*')),
                        "{name}: {} has a wildcard action {actions:?}",
                        f.name
                    );
                    for r in as_list(&s["Resource"]) {
                        let key = r.to_string();
                        assert!(
                            allowed.contains(&key),
                            "{name}: role of {} names {key}, which the function is not wired to",
                            f.name
                        );
                        if r == json!("*") {
                            assert_eq!(
                                actions,
                                vec!["ec2:DescribeNetworkInterfaces"],
                                "{name}: {}: `*` only for describe",
                                f.name
                            );
                        }
                        if key.ends_with("SecretKeyArn\"}") {
                            assert_eq!(
                                s["Condition"]["StringEquals"]["kms:ViaService"],
                                json!({ "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com" }),
                                "{name}: {}: an existing secret's key is usable only through Secrets Manager",
                                f.name
                            );
                            let secret_arn = key.replace("SecretKeyArn", "SecretArn");
                            assert_eq!(
                                s["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"].to_string(),
                                secret_arn,
                                "{name}: {}: an existing secret's key decrypts only that secret",
                                f.name
                            );
                        }
                        used.insert(key);
                    }
                }
            }
            // And the converse: every wire has its permission.
            assert_eq!(used, allowed, "{name}: role of {} misses a permission its wiring needs", f.name);
        }
    }
}

#[test]
fn function_env_names_come_from_the_contracts() {
    for (name, sys, t) in systems() {
        for f in &sys.functions {
            let vars =
                &t["Resources"][format!("{}Function", pascal(&f.name))]["Properties"]["Environment"]["Variables"];
            let have: BTreeSet<String> = vars.as_object().unwrap().keys().cloned().collect();
            let mut want: BTreeSet<String> = [contracts::STAGE.to_string()].into();
            want.extend(f.publishes.iter().map(|t| contracts::topic_arn(t)));
            want.extend(f.secrets.iter().map(|s| contracts::secret_arn(s)));
            want.extend(f.endpoints.iter().map(|e| contracts::endpoint_url(e)));
            for d in &f.databases {
                want.extend([
                    contracts::db_host(d),
                    contracts::db_port(d),
                    contracts::db_name(d),
                    contracts::db_secret_arn(d),
                    contracts::db_ca(d),
                ]);
                if sys.database(d).unwrap().iam_user.is_some() {
                    want.insert(contracts::db_iam_user(d));
                }
            }
            for e in &f.emails {
                want.extend([
                    contracts::email_identity(e),
                    contracts::email_configuration_set(e),
                    contracts::email_from(e),
                ]);
            }
            if !f.callbacks.is_empty() {
                want.insert(contracts::HTTP_API_URL.to_string());
            }
            if let Trigger::Queue { queue, .. } = &f.trigger {
                want.insert(contracts::RETRY_BASE_SECONDS.to_string());
                let base = &vars[contracts::RETRY_BASE_SECONDS];
                assert_eq!(
                    base,
                    &json!(sys.queue(queue).unwrap().visibility_timeout.to_string()),
                    "{name}: retry base of {} is its queue's visibility timeout",
                    f.name
                );
            }
            want.extend(f.env.iter().map(|(k, _)| k.clone()));
            assert_eq!(have, want, "{name}: env of {}", f.name);
        }
    }
}

#[test]
fn stateful_resources_are_retained_and_encrypted() {
    for (name, _, t) in systems() {
        for ty in ["AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::SecretsManager::Secret"] {
            for (id, r) in resources_of(&t, ty) {
                assert_eq!(r["DeletionPolicy"], "Retain", "{name}: {id}");
                assert_eq!(r["UpdateReplacePolicy"], "Retain", "{name}: {id}");
            }
        }
        for (id, r) in resources_of(&t, "AWS::SQS::Queue").into_iter().chain(resources_of(&t, "AWS::SNS::Topic")) {
            assert_eq!(
                r["Properties"]["KmsMasterKeyId"],
                json!({ "Ref": "EncryptionKey" }),
                "{name}: {id} must use the stack key"
            );
        }
    }
}

/// The donut shop's functions and the shop crate's binaries match one to one, and each
/// function's template gives exactly the env vars the bindings the shop was compiled with read
/// (`out/bindings.rs`, included by `shop::bindings`), plus the stage's extra `env:`.
#[test]
fn every_function_has_a_handler_reading_exactly_its_env() {
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let compiled: std::collections::BTreeMap<&str, (&str, &[&str])> =
        shop::bindings::FUNCTIONS.iter().map(|(f, h, env)| (*f, (*h, *env))).collect();
    for sys in &b.systems {
        let t = template_json(&b.files[&format!("{}/template.yaml", sys.stage)]);
        for f in &sys.functions {
            let (handler, reads) = compiled.get(f.name.as_str()).unwrap_or_else(|| {
                panic!("function {} has no bindings in the shop crate: is out/bindings.rs fresh?", f.name)
            });
            assert_eq!(*handler, f.handler, "{}: handler", f.name);
            assert!(
                tests::root().join(format!("handlers/shop/src/bin/{}.rs", f.handler)).exists(),
                "no binary for {}",
                f.handler
            );
            let vars =
                &t["Resources"][format!("{}Function", pascal(&f.identity))]["Properties"]["Environment"]["Variables"];
            let given: BTreeSet<&str> = vars.as_object().unwrap().keys().map(String::as_str).collect();
            let read: BTreeSet<&str> = reads.iter().copied().collect();
            assert!(
                read.is_subset(&given),
                "{}/{}: the bindings read {:?}, which the template does not set",
                sys.stage,
                f.name,
                read.difference(&given).collect::<Vec<_>>()
            );
            let user: BTreeSet<&str> = f.env.iter().map(|(k, _)| k.as_str()).collect();
            let unread: Vec<&&str> = given.difference(&read).filter(|k| !user.contains(**k)).collect();
            assert!(
                unread.is_empty(),
                "{}/{}: the template sets {unread:?}, which the bindings do not read",
                sys.stage,
                f.name
            );
        }
        for name in compiled.keys() {
            assert!(
                sys.function(name).is_some(),
                "the shop's bindings have function `{name}`, which stage {} lacks",
                sys.stage
            );
        }
    }
}

/// The local runner gives each function the template's env vars (resolved locally), plus only
/// the local database URL override and the AWS endpoint/credentials.
#[test]
fn local_runner_env_matches_the_template() {
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let sys = b.systems.iter().find(|s| s.stage == "dev").unwrap().clone();
    let t = template_json(&b.files["dev/template.yaml"]);
    let opts = local::dev::Options {
        system: sys.clone(),
        provisioned: local::provision::Provisioned::default(),
        bin_dir: std::path::PathBuf::new(),
        db_urls: sys
            .databases
            .iter()
            .map(|d| (d.name.clone(), format!("mysql://root@127.0.0.1:3306/{}", d.name)))
            .collect(),
        endpoint_urls: Default::default(),
        aws_endpoint: "http://127.0.0.1:1".into(),
        region: "ap-northeast-2".into(),
        http_port: 0,
        max_concurrency: 1,
        schedule_every: None,
        extra_env: Vec::new(),
        retry_after: None,
        throttle: false, // load and fault runs measure the system, not the API's limits
        log: std::sync::Arc::new(|_: &str, _: &str| {}),
    };
    let envs = local::dev::function_env(&opts, "http://127.0.0.1:8080", "http://127.0.0.1:2");
    for f in &sys.functions {
        let vars = &t["Resources"][format!("{}Function", pascal(&f.name))]["Properties"]["Environment"]["Variables"];
        let template: BTreeSet<String> = vars.as_object().unwrap().keys().cloned().collect();
        let local: BTreeSet<String> = envs[&f.name].iter().map(|(k, _)| k.clone()).collect();
        let mut extra: BTreeSet<String> =
            ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        extra.extend(f.databases.iter().map(|d| contracts::db_plaintext_url(d)));
        assert_eq!(local, template.union(&extra).cloned().collect(), "{}", f.name);
        if !f.callbacks.is_empty() {
            assert!(envs[&f.name].iter().any(|(k, v)| k == contracts::HTTP_API_URL && v == "http://127.0.0.1:8080"));
        }
    }
}

/// One request to a queue or topic, as its resource policy sees it.
#[derive(Clone, Debug)]
struct Request {
    who: String,
    service: Option<&'static str>,
    source_arn: Option<Json>,
    principal_arn: Option<Json>,
    /// `sns:Endpoint` of a subscribe request.
    endpoint: Option<Json>,
}

impl Request {
    fn role(who: &str, arn: Json) -> Self {
        Request { who: who.into(), service: None, source_arn: None, principal_arn: Some(arn), endpoint: None }
    }
    fn service(who: &str, service: &'static str, source: Json) -> Self {
        Request {
            who: who.into(),
            service: Some(service),
            source_arn: Some(source),
            principal_arn: None,
            endpoint: None,
        }
    }
    /// A deployer (a role of the account, no operator) subscribing `endpoint`.
    fn subscribing(who: &str, endpoint: Json) -> Self {
        let deployer = json!("arn:aws:iam::123456789012:role/deployer");
        Request {
            who: who.into(),
            service: None,
            source_arn: None,
            principal_arn: Some(deployer),
            endpoint: Some(endpoint),
        }
    }
}

/// `*` in `pattern` matches any run of characters (ArnLike), on the text of plain strings
/// and of `Fn::Sub` strings alike (both sides name the same variables).
fn like(pattern: &Json, value: &Json) -> bool {
    fn text(v: &Json) -> Option<&str> {
        v.as_str().or_else(|| v["Fn::Sub"].as_str())
    }
    let (Some(p), Some(v)) = (text(pattern), text(value)) else { return pattern == value };
    let parts: Vec<&str> = p.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return p == v;
    }
    if v.len() < first.len() + last.len() || !v.starts_with(first) || !v.ends_with(last) {
        return false;
    }
    let mut rest = &v[first.len()..v.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether every condition of a statement holds for `req`, with IAM's rule for missing
/// keys: a negated operator holds, any other does not. Secure transport is assumed.
fn conditions_hold(condition: &Json, req: &Request) -> bool {
    let Some(ops) = condition.as_object() else { return true };
    ops.iter().all(|(op, keys)| {
        keys.as_object().unwrap().iter().all(|(key, wanted)| {
            let got = match key.as_str() {
                "aws:SourceArn" => req.source_arn.clone(),
                "aws:PrincipalArn" => req.principal_arn.clone(),
                "aws:SecureTransport" => Some(json!("true")),
                "sns:Endpoint" => req.endpoint.clone(),
                other => panic!("a condition key the evaluator does not know: {other}"),
            };
            let wanted = as_list(wanted);
            match (op.as_str(), got) {
                ("ArnNotEquals" | "ArnNotLike" | "StringNotLike", None) => true,
                (_, None) => false,
                ("ArnEquals" | "Bool", Some(g)) => wanted.contains(&g),
                ("ArnNotEquals", Some(g)) => !wanted.contains(&g),
                ("ArnLike", Some(g)) => wanted.iter().any(|w| like(w, &g)),
                ("ArnNotLike", Some(g)) => !wanted.iter().any(|w| like(w, &g)),
                ("StringNotLike", Some(g)) => !wanted.iter().any(|w| like(w, &g)),
                (other, _) => panic!("a condition operator the evaluator does not know: {other}"),
            }
        })
    })
}

/// Whether a statement covers `action` for `req`.
fn applies(s: &Json, action: &str, req: &Request) -> bool {
    as_list(&s["Action"]).iter().any(|a| {
        let a = a.as_str().unwrap();
        a == action || a.strip_suffix('*').is_some_and(|p| action.starts_with(p))
    }) && conditions_hold(&s["Condition"], req)
}

/// Whether a Deny of the policy applies to `req`.
fn denied(statements: &[Json], action: &str, req: &Request) -> bool {
    statements.iter().filter(|s| s["Effect"] == "Deny").any(|s| applies(s, action, req))
}

/// What a resource policy decides for a service's request: `Some(false)` when a Deny applies,
/// else whether an Allow names the service; `None` for a role of the account (its own IAM
/// policy grants it, so only a Deny here matters).
fn decide(statements: &[Json], action: &str, req: &Request) -> Option<bool> {
    if denied(statements, action, req) {
        return Some(false);
    }
    let service = req.service?;
    Some(
        statements
            .iter()
            .filter(|s| s["Effect"] == "Allow" && s["Principal"]["Service"] == service)
            .any(|s| applies(s, action, req)),
    )
}

/// Deny by default (#11): each queue and topic policy lets in exactly what the config wires
/// (subscribed topics delivering, publishing functions' roles, a schedule rule and its
/// function writing to the function's DLQ, the stage's alarms) and the stage's operators;
/// every other role of the account, a stranger, and a service acting for something else is
/// denied, whatever IAM grants them. moto enforces no resource policy, so a small evaluator
/// of the statements (IAM's rules for Deny and missing condition keys) decides here.
#[test]
fn resource_policies_let_in_only_the_wired_senders() {
    let mut operators_seen = 0;
    for (name, sys, t) in systems() {
        let res = &t["Resources"];
        let role = |f: &str| json!({ "Fn::GetAtt": [format!("{}Role", pascal(f)), "Arn"] });
        let stranger = Request::role("a stranger", json!("arn:aws:iam::123456789012:role/admin"));
        let operators: Vec<Request> = sys.operators.iter().map(|o| Request::role(o, json!(o))).collect();
        operators_seen += operators.len();
        let statements = |ty: &str, prop: &str, id: &str| -> Vec<Json> {
            let (_, p) = resources_of(&t, ty)
                .into_iter()
                .find(|(_, p)| as_list(&p["Properties"][prop]).contains(&json!({ "Ref": id })))
                .unwrap_or_else(|| panic!("{name}: no {ty} covers {id}"));
            p["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap().clone()
        };
        let check = |what: &str, st: &[Json], action: &str, allowed: &[Request], refused: &[Request]| {
            for r in allowed.iter().chain(&operators) {
                assert!(!denied(st, action, r), "{name}: {what} must let in {}", r.who);
            }
            for r in refused {
                assert!(denied(st, action, r), "{name}: {what} must deny {}", r.who);
            }
        };
        let roles_except = |keep: &dyn Fn(&generator::model::Function) -> bool| -> Vec<Request> {
            let mut v: Vec<Request> = sys
                .functions
                .iter()
                .filter(|f| !keep(f))
                .map(|f| Request::role(&format!("function {}", f.name), role(&f.name)))
                .collect();
            v.push(stranger.clone());
            v
        };
        let topic_ref = |t: &str| topic_arn(&sys, t);

        for q in &sys.queues {
            let st = statements("AWS::SQS::QueuePolicy", "Queues", &format!("{}Queue", pascal(&q.name)));
            let subscribed: Vec<&str> = q.subscriptions.iter().map(|s| s.topic.as_str()).collect();
            let allowed: Vec<Request> = subscribed
                .iter()
                .map(|t| Request::service(&format!("topic {t}"), "sns.amazonaws.com", topic_ref(t)))
                .collect();
            let mut denied = roles_except(&|_| false);
            denied.extend(
                sys.topics
                    .iter()
                    .filter(|t| !subscribed.contains(&t.name.as_str()))
                    .map(|t| Request::service(&format!("topic {}", t.name), "sns.amazonaws.com", topic_ref(&t.name))),
            );
            for r in &allowed {
                assert_eq!(decide(&st, "sqs:SendMessage", r), Some(true), "{name}: queue {} admits {}", q.name, r.who);
            }
            check(&format!("queue {}", q.name), &st, "sqs:SendMessage", &allowed, &denied);
            if q.dlq.is_some() {
                let id = format!("{}DeadLetterQueue", pascal(&q.name));
                let st = statements("AWS::SQS::QueuePolicy", "Queues", &id);
                let source = json!({ "Fn::GetAtt": [format!("{}Queue", pascal(&q.name)), "Arn"] });
                let moving = Request::service("SQS moving its queue's failed messages", "sqs.amazonaws.com", source);
                check(&id, &st, "sqs:SendMessage", &[moving], &roles_except(&|_| false));
            }
        }
        for f in sys.functions.iter().filter(|f| matches!(f.trigger, Trigger::Schedule { .. })) {
            let id = format!("{}DeadLetterQueue", pascal(&f.name));
            let st = statements("AWS::SQS::QueuePolicy", "Queues", &id);
            let rule = res[format!("{}ScheduleRule", pascal(&f.name))]["Properties"]["Name"].as_str().unwrap();
            let rule_arn = json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule}") });
            let events = Request::service("its schedule rule", "events.amazonaws.com", rule_arn);
            assert_eq!(decide(&st, "sqs:SendMessage", &events), Some(true), "{name}: {id} admits its rule");
            let other_rule = Request::service(
                "another rule",
                "events.amazonaws.com",
                json!({ "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/other" }),
            );
            let own = Request::role("its own function", role(&f.name));
            let mut denied = roles_except(&|g| g.name == f.name);
            denied.push(other_rule);
            check(&id, &st, "sqs:SendMessage", &[events, own], &denied);
        }
        // An imported topic's policy is its exporter's (checked with the exporter's config).
        for topic in sys.topics.iter().filter(|t| t.imported.is_none()) {
            let st = statements("AWS::SNS::TopicPolicy", "Topics", &format!("{}Topic", pascal(&topic.name)));
            let mut publishers: Vec<Request> = sys
                .functions
                .iter()
                .filter(|f| f.publishes.contains(&topic.name))
                .map(|f| Request::role(&format!("publisher {}", f.name), role(&f.name)))
                .collect();
            let mut refused_publishers = roles_except(&|f| f.publishes.contains(&topic.name));
            // Systems the topic is exported to for publishing: their roles under
            // /flowform/<system>/<stage>/, and no role of theirs elsewhere or of another stage.
            let path_role = |system: &str, stage: &str| json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/flowform/{system}/{stage}/{system}-{stage}-ShipRole-1A2B3C") });
            for system in &topic.export.publish {
                publishers.push(Request::role(&format!("a role of {system}"), path_role(system, &sys.stage)));
                refused_publishers
                    .push(Request::role(&format!("a role of {system}, other stage"), path_role(system, "other")));
                let plain = format!(
                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{system}-{}-ShipRole-1A2B3C",
                    sys.stage
                );
                refused_publishers
                    .push(Request::role(&format!("a role of {system} outside the path"), json!({ "Fn::Sub": plain })));
            }
            refused_publishers
                .push(Request::role("a role of a system not exported to", path_role("elsewhere", &sys.stage)));
            check(&format!("topic {}", topic.name), &st, "sns:Publish", &publishers, &refused_publishers);
            // Subscribing: this stage's queues and those of the systems it is exported to for
            // subscribing; no other system's queue, stage or kind of endpoint.
            let queue = |system: &str, stage: &str, name: &str| json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{system}-{stage}-{name}") });
            let mut subscribers = vec![Request::subscribing("a queue of the stage", queue(&sys.name, &sys.stage, "q"))];
            let mut refused = vec![
                Request::subscribing("a queue of another system", queue("elsewhere", &sys.stage, "q")),
                Request::subscribing("a queue of another stage", queue(&sys.name, "other", "q")),
                Request::subscribing("an e-mail address", json!("someone@example.com")),
                Request::subscribing("an HTTPS endpoint", json!("https://example.com/hook")),
            ];
            for system in &topic.export.subscribe {
                subscribers.push(Request::subscribing(&format!("a queue of {system}"), queue(system, &sys.stage, "q")));
                refused.push(Request::subscribing(
                    &format!("a queue of {system}, other stage"),
                    queue(system, "other", "q"),
                ));
            }
            for r in &subscribers {
                assert!(!denied(&st, "sns:Subscribe", r), "{name}: topic {} must let {} subscribe", topic.name, r.who);
            }
            for r in &refused {
                assert!(denied(&st, "sns:Subscribe", r), "{name}: topic {} must refuse {}", topic.name, r.who);
            }
            for o in &sys.operators {
                let mut r = Request::subscribing("an operator", json!("someone@example.com"));
                r.principal_arn = Some(json!(o));
                assert!(
                    !denied(&st, "sns:Subscribe", &r),
                    "{name}: topic {} must let operator {o} subscribe",
                    topic.name
                );
            }
        }
        if res.get("AlarmTopic").is_some() {
            let st = statements("AWS::SNS::TopicPolicy", "Topics", "AlarmTopic");
            let alarm = |system: &str| json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{system}-{}-x-dlq-not-empty", sys.stage) });
            let ours = Request::service("an alarm of the stage", "cloudwatch.amazonaws.com", alarm(&sys.name));
            assert_eq!(
                decide(&st, "sns:Publish", &ours),
                Some(true),
                "{name}: the alarm topic admits the stage's alarms"
            );
            let mut denied = roles_except(&|_| false);
            denied.push(Request::service("another system's alarm", "cloudwatch.amazonaws.com", alarm("othersystem")));
            check("the alarm topic", &st, "sns:Publish", &[ours], &denied);
        }
    }
    assert!(operators_seen > 0, "a fixture names operators (scheduled-jobs prod)");
}

/// Each role may use the stack key only through the services it is wired to (kms:ViaService):
/// Lambda (its encrypted environment) always, SQS when it consumes a queue or dead-letters a
/// scheduled run, SNS when it publishes, Secrets Manager when it reads a generated secret.
/// No role can call KMS directly to decrypt what it copied out of a queue's storage.
#[test]
fn the_stack_key_is_used_only_through_wired_services() {
    for (name, sys, t) in systems() {
        for f in &sys.functions {
            let role = &t["Resources"][format!("{}Role", pascal(&f.name))];
            let statements: Vec<&Json> = role["Properties"]["Policies"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
                .filter(|s| as_list(&s["Resource"]).contains(&json!({ "Fn::GetAtt": ["EncryptionKey", "Arn"] })))
                .collect();
            assert_eq!(statements.len(), 1, "{name}: {} has one statement on the stack key", f.name);
            let mut expected = BTreeSet::from(["lambda"]);
            // Another system's topic is encrypted with that system's key, not this one.
            if f.publishes.iter().any(|t| sys.topic(t).is_some_and(|t| t.imported.is_none())) {
                expected.insert("sns");
            }
            if matches!(f.trigger, Trigger::Queue { .. } | Trigger::Schedule { .. }) {
                expected.insert("sqs");
            }
            if f.secrets.iter().any(|s| sys.secrets.iter().any(|x| &x.name == s && !x.existing)) {
                expected.insert("secretsmanager");
            }
            let expected: BTreeSet<String> = expected
                .iter()
                .map(|s| json!({ "Fn::Sub": format!("{s}.${{AWS::Region}}.amazonaws.com") }).to_string())
                .collect();
            let via: BTreeSet<String> = as_list(&statements[0]["Condition"]["StringEquals"]["kms:ViaService"])
                .iter()
                .map(Json::to_string)
                .collect();
            assert_eq!(via, expected, "{name}: {} uses the stack key through exactly its services", f.name);
        }
    }
}
