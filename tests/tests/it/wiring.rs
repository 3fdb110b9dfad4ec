//! Static checks of the wiring that moto cannot catch (it enforces neither queue policies
//! nor IAM): every SNS->SQS subscription has a queue policy admitting exactly its topics, and
//! every role statement names only resources its function is wired to.

use generator::model::{System, Trigger};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use tests::{as_list, fixture_configs, resources_of, template_json};

fn systems() -> Vec<(String, System, Json)> {
    let mut v = Vec::new();
    for (name, path) in fixture_configs() {
        let text = std::fs::read_to_string(&path).unwrap();
        let b = generator::build(&text).unwrap();
        for sys in b.systems {
            let t = template_json(&b.files[&format!("{}/template.yaml", sys.stage)]);
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
        v.push(json!({ "Ref": format!("{}Topic", pascal(t)) }));
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
/// function's template gives exactly the env vars its handler reads.
#[test]
fn every_function_has_a_handler_reading_exactly_its_env() {
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let handlers: std::collections::BTreeMap<&str, Vec<String>> = shop::wiring::handlers().into_iter().collect();
    for sys in &b.systems {
        let t = template_json(&b.files[&format!("{}/template.yaml", sys.stage)]);
        for f in &sys.functions {
            let reads = handlers.get(f.handler.as_str()).unwrap_or_else(|| {
                panic!("function {} names handler `{}`, which the shop crate does not have", f.name, f.handler)
            });
            assert!(
                tests::root().join(format!("handlers/shop/src/bin/{}.rs", f.handler)).exists(),
                "no binary for {}",
                f.handler
            );
            let vars =
                &t["Resources"][format!("{}Function", pascal(&f.name))]["Properties"]["Environment"]["Variables"];
            let user: BTreeSet<&str> = f.env.iter().map(|(k, _)| k.as_str()).collect();
            let given: BTreeSet<String> = vars
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.as_str() != contracts::STAGE && !user.contains(k.as_str()))
                .cloned()
                .collect();
            let read: BTreeSet<String> = reads.iter().cloned().collect();
            assert_eq!(given, read, "{}/{}: template env vs what handler `{}` reads", sys.stage, f.name, f.handler);
        }
        for h in handlers.keys() {
            assert!(
                sys.functions.iter().any(|f| f.handler == *h),
                "handler `{h}` is not used by any function of stage {}",
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
    let envs = local::dev::function_env(&opts, "http://127.0.0.1:8080");
    for f in &sys.functions {
        let vars = &t["Resources"][format!("{}Function", pascal(&f.name))]["Properties"]["Environment"]["Variables"];
        let template: BTreeSet<String> = vars.as_object().unwrap().keys().cloned().collect();
        let local: BTreeSet<String> = envs[&f.name].iter().map(|(k, _)| k.clone()).collect();
        let mut extra: BTreeSet<String> =
            ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        extra.extend(f.databases.iter().map(|d| contracts::db_url(d)));
        assert_eq!(local, template.union(&extra).cloned().collect(), "{}", f.name);
        if !f.callbacks.is_empty() {
            assert!(envs[&f.name].iter().any(|(k, v)| k == contracts::HTTP_API_URL && v == "http://127.0.0.1:8080"));
        }
    }
}
