//! The deploy path a user takes, against moto: `aws cloudformation package` + `deploy` of
//! out/dev, then what moto created, read back through the service APIs.
//!
//! Needs moto (FLOWFORM_MOTO_URL), awscli (FLOWFORM_AWS) and the handler zips in dist/lambda:
//! `scripts/test.sh` installs and starts the first two and runs `flowform package` first.

use serde_json::Value as Json;
use tests::deploy_path::deploy_dev;

#[test]
fn package_and_deploy_dev_then_read_back() {
    let alone = tests::alone_blocking();
    let d = deploy_dev(&alone, "readback");
    let (aws, sys, secret) = (&d.aws, &d.system, d.db_secret.as_str());

    // Topics.
    let topics = aws.json(&["sns", "list-topics"]).to_string();
    for t in ["donut-shop-dev-out-of-stock", "donut-shop-dev-purchases", "donut-shop-dev-alarms"] {
        assert!(topics.contains(&format!(":{t}\"")), "topic {t} missing: {topics}");
    }

    // Queues: redrive, derived visibility timeout, encryption with the stack key.
    for q in &sys.queues {
        let name = q.physical_name(sys);
        let url = aws.json(&["sqs", "get-queue-url", "--queue-name", &name])["QueueUrl"].as_str().unwrap().to_string();
        let attrs =
            &aws.json(&["sqs", "get-queue-attributes", "--queue-url", &url, "--attribute-names", "All"])["Attributes"];
        assert_eq!(attrs["VisibilityTimeout"], q.visibility_timeout.to_string(), "{name}");
        assert_eq!(attrs["MessageRetentionPeriod"], q.retention_seconds.to_string(), "{name}");
        assert!(
            attrs["KmsMasterKeyId"].as_str().is_some_and(|k| !k.is_empty()),
            "{name} is not KMS-encrypted: {attrs}"
        );
        let dlq = q.dlq.as_ref().expect("every donut shop queue has a DLQ");
        let redrive: Json = serde_json::from_str(attrs["RedrivePolicy"].as_str().expect("RedrivePolicy")).unwrap();
        assert!(
            redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!(":{}", q.dlq_physical_name(sys))),
            "{name}: {redrive}"
        );
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), dlq.max_receives.to_string(), "{name}");
        let dlq_url = aws.json(&["sqs", "get-queue-url", "--queue-name", &q.dlq_physical_name(sys)])["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let dlq_attrs = &aws.json(&[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            &dlq_url,
            "--attribute-names",
            "MessageRetentionPeriod",
        ])["Attributes"];
        assert_eq!(dlq_attrs["MessageRetentionPeriod"], dlq.retention_seconds.to_string());
    }

    // Functions: runtime, handler, role, env wired to the created resources.
    for f in &sys.functions {
        let name = f.physical_name(sys);
        let c = aws.json(&["lambda", "get-function-configuration", "--function-name", &name]);
        assert_eq!(c["Runtime"], "provided.al2023", "{name}");
        assert_eq!(c["Handler"], "bootstrap", "{name}");
        assert_eq!(c["Timeout"], f.timeout, "{name}");
        assert_eq!(c["MemorySize"], f.memory, "{name}");
        assert!(c["Role"].as_str().unwrap().contains(":role/"), "{name}");
        let env = &c["Environment"]["Variables"];
        assert_eq!(env[contracts::STAGE], "dev", "{name}");
        for t in &f.publishes {
            let arn = env[contracts::topic_arn(t)]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no {}: {env}", contracts::topic_arn(t)));
            assert!(arn.starts_with("arn:aws:sns:ap-northeast-2:123456789012:donut-shop-dev-"), "{name}: {arn}");
        }
        for d in &f.databases {
            assert_eq!(env[contracts::db_secret_arn(d)], secret, "{name}");
        }
        if let generator::model::Trigger::Queue { queue, batch_size, max_concurrency, .. } = &f.trigger {
            let m = aws.json(&["lambda", "list-event-source-mappings", "--function-name", &name]);
            let m = &m["EventSourceMappings"][0];
            assert!(
                m["EventSourceArn"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!(":{}", sys.queue(queue).unwrap().physical_name(sys))),
                "{name}: {m}"
            );
            assert_eq!(m["BatchSize"], *batch_size, "{name}");
            assert_eq!(m["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]), "{name}");
            if let Some(mc) = max_concurrency {
                assert_eq!(m["ScalingConfig"]["MaximumConcurrency"], *mc, "{name}");
            }
        }
    }

    // Schedules: the rule, its one target (the function) with the retry policy and the
    // function's own DLQ, which is encrypted and keeps messages 14 days.
    let mut scheduled = 0;
    for f in &sys.functions {
        let generator::model::Trigger::Schedule { expression, max_event_age, .. } = &f.trigger else { continue };
        scheduled += 1;
        let name = f.physical_name(sys);
        let rule = aws.json(&["events", "describe-rule", "--name", &name]);
        assert_eq!(rule["ScheduleExpression"], expression.as_str(), "{name}: {rule}");
        assert_eq!(rule["State"], "ENABLED", "{name}");
        let targets = aws.json(&["events", "list-targets-by-rule", "--rule", &name]);
        let targets = targets["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1, "{name}: {targets:?}");
        let t = &targets[0];
        assert!(t["Arn"].as_str().unwrap().ends_with(&format!(":function:{name}")), "{name}: {t}");
        assert!(
            t["DeadLetterConfig"]["Arn"].as_str().unwrap().ends_with(&format!(":{}", f.dlq_physical_name(sys))),
            "{name}: {t}"
        );
        assert_eq!(t["RetryPolicy"]["MaximumEventAgeInSeconds"], *max_event_age, "{name}: {t}");
        let url = aws.json(&["sqs", "get-queue-url", "--queue-name", &f.dlq_physical_name(sys)])["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let attrs =
            &aws.json(&["sqs", "get-queue-attributes", "--queue-url", &url, "--attribute-names", "All"])["Attributes"];
        assert!(
            attrs["KmsMasterKeyId"].as_str().is_some_and(|k| !k.is_empty()),
            "{name}: DLQ not KMS-encrypted: {attrs}"
        );
        assert_eq!(attrs["MessageRetentionPeriod"], "1209600", "{name}");
        let policy = aws.json(&["lambda", "get-policy", "--function-name", &name]);
        assert!(
            policy["Policy"].as_str().unwrap().contains(&format!(":rule/{name}")),
            "{name}: invoke permission not scoped to its rule: {policy}"
        );
    }
    assert!(scheduled > 0, "the donut shop has scheduled functions");

    // Log groups with the stage's retention.
    let groups = aws.json(&["logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/donut-shop-dev-"]);
    let groups = groups["logGroups"].as_array().unwrap();
    assert_eq!(groups.len(), sys.functions.len());
    for g in groups {
        assert_eq!(g["retentionInDays"], sys.log_retention_days, "{g}");
    }
}

/// `renamed_from` where a rename bites: on a deployed stack. A message waiting in queue `vip`
/// must still be there after the stack is updated to the config that calls the queue
/// `vip_buyers`, the topic `sales` and the function `promote_vips`; nothing is added or
/// removed; the publishers read the same topic under the code's new name.
/// (moto recreates a topic on any change of its resource, Metadata included, keeping its
/// name and ARN; AWS leaves it alone. So subscriptions are not compared here: the plan test
/// shows the template leaves them untouched.)
#[test]
fn a_rename_with_renamed_from_updates_the_stack_in_place_and_the_queue_keeps_its_messages() {
    let alone = tests::alone_blocking();
    let d = deploy_dev(&alone, "rename");
    let aws = &d.aws;
    let ids = |aws: &tests::deploy_path::Aws| {
        let r = aws.json(&["cloudformation", "list-stack-resources", "--stack-name", &d.stack]);
        let mut ids: Vec<String> = r["StackResourceSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!("{} {}", x["LogicalResourceId"].as_str().unwrap(), x["PhysicalResourceId"].as_str().unwrap())
            })
            .collect();
        ids.sort();
        ids
    };
    let before = ids(aws);
    // moto runs a queue's enabled event source mapping inside send-message (it would need
    // Docker to invoke the function): the message must wait in the queue, as it does on AWS
    // while the function is busy or failing.
    let esms = aws.json(&["lambda", "list-event-source-mappings", "--function-name", "donut-shop-dev-vip-promotion"]);
    let uuid = esms["EventSourceMappings"][0]["UUID"].as_str().unwrap().to_string();
    aws.ok(&["lambda", "update-event-source-mapping", "--uuid", &uuid, "--no-enabled"]);
    let url = aws.json(&["sqs", "get-queue-url", "--queue-name", "donut-shop-dev-vip"])["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    aws.ok(&["sqs", "send-message", "--queue-url", &url, "--message-body", "sent before the rename"]);
    let topic_arn = "arn:aws:sns:ap-northeast-2:123456789012:donut-shop-dev-purchases";

    let config = tests::renamed_donut_shop(true);
    let built = generator::build(&config).unwrap();
    d.update(&config, &built.files["dev/template.yaml"]);

    let after = ids(aws);
    let names = |v: &[String]| v.iter().map(|x| x.split(' ').next().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&before), names(&after), "the update added or removed resources");
    let kept: Vec<&String> = before.iter().filter(|x| x.starts_with("Vip") || x.starts_with("Purchases")).collect();
    assert!(
        kept.iter().all(|x| after.contains(x)),
        "a renamed entry's resource changed its physical ID:\n{kept:#?}\n{after:#?}"
    );
    let again = aws.json(&["sqs", "get-queue-url", "--queue-name", "donut-shop-dev-vip"])["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(again, url);
    let got = aws.json(&["sqs", "receive-message", "--queue-url", &url, "--wait-time-seconds", "1"]);
    assert_eq!(got["Messages"][0]["Body"], "sent before the rename", "{got}");
    let checkout = aws.json(&["lambda", "get-function-configuration", "--function-name", "donut-shop-dev-checkout"]);
    let env = &checkout["Environment"]["Variables"];
    assert_eq!(env["FLOWFORM_TOPIC_SALES_ARN"], topic_arn, "{env}");
    assert!(env.get("FLOWFORM_TOPIC_PURCHASES_ARN").is_none(), "{env}");
    let promote =
        aws.json(&["lambda", "get-function-configuration", "--function-name", "donut-shop-dev-vip-promotion"]);
    assert_eq!(promote["FunctionName"], "donut-shop-dev-vip-promotion");
}

/// Issue #13: a system of 1,250 functions split into nested stacks goes the user's path to
/// moto: `flowform generate`'s files, `aws cloudformation package` (uploads each nested
/// template, rewrites its `TemplateURL`) and `deploy`. Read back: every nested stack exists
/// with exactly its template's resources, and the wires across templates hold: a function's
/// env names the root's topic (a parameter the root passed), the nested stack outputs the
/// publishing role the root's topic policy reads (`GetAtt NestedStackN.Outputs.X`: moto needs
/// scripts/moto_server.py's patch to resolve it; it keeps no model of topic policies, so the
/// policy itself cannot be read back), and a function reads its queue. moto keeps no model of
/// SNS subscriptions either: their topic parameters are held by the join test.
/// Not proved here (moto): HTTP routes in nested stacks (moto has no CloudFormation model of
/// API Gateway v2, so `Ref HttpApi` would pass null: those functions run on a schedule
/// instead; the HTTP wiring is held by the join test and the linters on the nested fixture),
/// and stack updates (moto deletes and recreates a changed nested stack).
#[test]
fn a_thousand_functions_in_nested_stacks_deploy_with_the_plain_aws_cli() {
    let alone = tests::alone_blocking();
    tests::services::reset_moto(&alone);
    let aws = tests::deploy_path::Aws::new();
    let b = generator::build(&generator::synthetic::nested_without_http(1000, 40)).unwrap();
    let sys = &b.systems[0];
    assert_eq!(sys.functions.len(), 1250);
    let work = std::env::temp_dir().join(format!("flowform-nested-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut nested_files = Vec::new();
    for (file, content) in b.files.iter().filter(|(f, _)| f.starts_with("dev/") && f.ends_with(".yaml")) {
        let path = work.join("out").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        if file.starts_with("dev/nested-") {
            nested_files.push(file.clone());
        }
    }
    assert!(nested_files.len() >= 35, "{} nested templates", nested_files.len());
    // An empty zip per handler: moto stores the code and never runs it in this test.
    std::fs::create_dir_all(work.join("dist/lambda")).unwrap();
    let empty_zip = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    for f in &sys.functions {
        std::fs::write(work.join(format!("dist/lambda/{}.zip", f.handler)), empty_zip).unwrap();
    }
    let bucket = format!("flowform-nested-{}", std::process::id());
    aws.ok(&["s3", "mb", &format!("s3://{bucket}")]);
    // moto reads a TemplateURL's bucket from its path only when the host is `localhost`, and
    // `package` writes the nested templates' URLs from its S3 endpoint: both calls use it.
    let local = aws.endpoint.replace("127.0.0.1", "localhost");
    let packaged = work.join("packaged.yaml");
    let template = work.join("out/dev/template.yaml");
    let args = ["cloudformation", "package", "--template-file", template.to_str().unwrap(), "--s3-bucket", &bucket];
    let mut args = args.to_vec();
    args.extend(["--output-template-file", packaged.to_str().unwrap()]);
    let (code, out, err) = tests::run(aws.cmd(&args).env("AWS_ENDPOINT_URL", &local));
    assert_eq!(code, 0, "package: {out}\n{err}");
    let packaged_text = std::fs::read_to_string(&packaged).unwrap();
    assert_eq!(
        packaged_text.matches("TemplateURL: http").count(),
        nested_files.len(),
        "every nested template uploaded"
    );
    let stack = "synth-nested";
    let (code, out, err) = tests::run(
        aws.cmd(&[
            "cloudformation",
            "deploy",
            "--template-file",
            packaged.to_str().unwrap(),
            "--stack-name",
            stack,
            "--s3-bucket",
            &bucket,
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            "AlarmEmail=ops@example.com",
        ])
        .env("AWS_ENDPOINT_URL", &local),
    );
    assert_eq!(code, 0, "deploy: {out}\n{err}");

    // Every nested stack, with exactly its template's resources.
    let ids = |text: &str| -> std::collections::BTreeSet<String> {
        tests::template_json(text)["Resources"].as_object().unwrap().keys().cloned().collect()
    };
    let root = aws.json(&["cloudformation", "describe-stack-resources", "--stack-name", stack]);
    let root_resources = root["StackResources"].as_array().unwrap();
    let mut created = 0;
    for r in root_resources.iter().filter(|r| r["ResourceType"] == "AWS::CloudFormation::Stack") {
        let child = r["PhysicalResourceId"].as_str().unwrap();
        let got = aws.json(&["cloudformation", "describe-stacks", "--stack-name", child]);
        assert_eq!(got["Stacks"][0]["StackStatus"], "CREATE_COMPLETE", "{child}");
        let resources = aws.json(&["cloudformation", "describe-stack-resources", "--stack-name", child]);
        // moto lists the resources it keeps no model of (alarms, invoke configs, ...) without
        // their logical ID: the count holds for all, the IDs for the rest.
        let list = resources["StackResources"].as_array().unwrap();
        let id = r["LogicalResourceId"].as_str().unwrap();
        let file = nested_files.iter().find(|f| b.files[*f].contains(&format!("nested stack {id} of"))).unwrap();
        let want = ids(&b.files[file]);
        assert_eq!(list.len(), want.len(), "{id} ({file}): resources");
        let unknown: Vec<&str> =
            list.iter().filter_map(|r| r["LogicalResourceId"].as_str()).filter(|l| !want.contains(*l)).collect();
        assert!(unknown.is_empty(), "{id} ({file}): {unknown:?} are not in the template");
        created += 1;
    }
    assert_eq!(created, nested_files.len());
    let want = ids(&b.files["dev/template.yaml"]);
    assert_eq!(root_resources.len(), want.len(), "root resources");
    assert!(root_resources.iter().filter_map(|r| r["LogicalResourceId"].as_str()).all(|l| want.contains(l)));
    let functions = aws.json(&["lambda", "list-functions"]);
    assert_eq!(functions["Functions"].as_array().unwrap().len(), 1250);

    // Wires across templates: api0 publishes t0.
    let topic = aws.json(&["sns", "list-topics"])["Topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TopicArn"].as_str().unwrap().to_string())
        .find(|a| a.ends_with(":synth-dev-t0"))
        .expect("topic t0");
    let api0 = aws.json(&["lambda", "get-function-configuration", "--function-name", "synth-dev-api0"]);
    let env = api0["Environment"]["Variables"].as_object().unwrap();
    assert!(env.values().any(|v| v == topic.as_str()), "api0's env names t0's ARN {topic}: {env:?}");
    // The root's topic policy reads api0's role from its nested stack's output; moto keeps no
    // model of topic policies, so the output itself is what can be read back.
    let role = api0["Role"].as_str().unwrap();
    let outputs: Vec<Json> = root_resources
        .iter()
        .filter(|r| r["ResourceType"] == "AWS::CloudFormation::Stack")
        .flat_map(|r| {
            let child = r["PhysicalResourceId"].as_str().unwrap();
            aws.json(&["cloudformation", "describe-stacks", "--stack-name", child])["Stacks"][0]["Outputs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert!(
        outputs.iter().any(|o| o["OutputKey"] == "Api0RoleArn" && o["OutputValue"] == role),
        "a nested stack outputs api0's role {role} for the root's topic policy"
    );
    // f0 consumes q0 in its nested stack (moto keeps no model of SNS subscriptions: the
    // subscription's topic parameter is held by the join test).
    let esm = aws.json(&["lambda", "list-event-source-mappings", "--function-name", "synth-dev-f0"]).to_string();
    assert!(esm.contains(":synth-dev-q0\""), "f0 reads q0: {esm}");
    let _ = std::fs::remove_dir_all(&work);
}

/// References across configs, deployed as a user deploys them: `aws cloudformation package` +
/// `deploy` of tests/fixtures/payments.yaml (exports `paid` to shipping's queues and
/// `refund_requests` to its functions) and tests/fixtures/shipping.yaml (imports both).
/// The importer deployed first fails on the missing export; after the exporter, its stack
/// reads the exporter's topic ARNs and key through CloudFormation exports, and the role of
/// its publisher sits under the IAM path the exporter's topic policy admits (the pattern of
/// the exporter's template, matched against the role moto created).
/// moto needs scripts/moto_server.py's patch to register exports and resolve
/// `Fn::ImportValue` for stacks made by change sets (what `deploy` uses). Not proved here:
/// delivery from the exporter's topic to the importer's queue (moto's CloudFormation creates
/// no SNS subscription, of one stack or across two; the subscription's `!ImportValue` and
/// the queue policy admitting that topic are held by `wiring.rs` on the fixtures), and that
/// CloudFormation refuses to delete an export in use (moto does not enforce it).
#[test]
fn an_importing_stack_reads_the_exporters_topics_through_cloudformation_exports() {
    let alone = tests::alone_blocking();
    let aws = tests::deploy_path::Aws::new();
    let work = std::env::temp_dir().join(format!("flowform-imports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let fixtures = tests::root().join("tests/fixtures");
    let built: Vec<(String, generator::Build)> = ["payments", "shipping"]
        .iter()
        .map(|s| (s.to_string(), tests::build_config(&fixtures.join(format!("{s}.yaml"))).unwrap()))
        .collect();
    for (system, b) in &built {
        let dir = work.join(system);
        std::fs::create_dir_all(dir.join("out/dev")).unwrap();
        std::fs::write(dir.join("out/dev/template.yaml"), &b.files["dev/template.yaml"]).unwrap();
        // An empty zip per handler: moto stores the code and never runs it in this test.
        std::fs::create_dir_all(dir.join("dist/lambda")).unwrap();
        for f in &b.systems[0].functions {
            std::fs::write(
                dir.join(format!("dist/lambda/{}.zip", f.handler)),
                b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            )
            .unwrap();
        }
    }
    let bucket = format!("flowform-imports-{}", std::process::id());
    let deploy = |system: &str| -> (i32, String) {
        let dir = work.join(system);
        let packaged = dir.join("packaged.yaml");
        let template = dir.join("out/dev/template.yaml");
        aws.ok(&[
            "cloudformation",
            "package",
            "--template-file",
            template.to_str().unwrap(),
            "--s3-bucket",
            &bucket,
            "--output-template-file",
            packaged.to_str().unwrap(),
        ]);
        let stack = format!("{system}-dev");
        let (code, out, err) = tests::run(&mut aws.cmd(&[
            "cloudformation",
            "deploy",
            "--template-file",
            packaged.to_str().unwrap(),
            "--stack-name",
            &stack,
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
            "AlarmEmail=ops@example.com",
        ]));
        (code, format!("{out}\n{err}"))
    };

    // The importer alone: its first ImportValue names an export nobody made.
    tests::services::reset_moto(&alone);
    aws.ok(&["s3", "mb", &format!("s3://{bucket}")]);
    let (code, out) = deploy("shipping");
    assert_ne!(code, 0, "shipping deployed without payments: {out}");
    assert!(out.contains("No export named payments-dev-"), "{out}");

    // moto keeps what a failed change set created (CloudFormation would roll it back): start
    // again, the exporter first.
    tests::services::reset_moto(&alone);
    aws.ok(&["s3", "mb", &format!("s3://{bucket}")]);
    for system in ["payments", "shipping"] {
        let (code, out) = deploy(system);
        assert_eq!(code, 0, "deploy {system}: {out}");
    }
    let (payments, shipping) = (&built[0].1.systems[0], &built[1].1.systems[0]);

    // The exports: each exported topic's ARN and the key, under `<system>-<stage>-<Output>`.
    let exports = aws.json(&["cloudformation", "list-exports"]);
    let exports: std::collections::BTreeMap<String, String> = exports["Exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["Name"].as_str().unwrap().to_string(), e["Value"].as_str().unwrap().to_string()))
        .collect();
    let names: Vec<&str> = exports.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["payments-dev-EncryptionKeyArn", "payments-dev-PaidTopicArn", "payments-dev-RefundRequestsTopicArn"]
    );
    let topic_arn = |name: &str| {
        format!("arn:aws:sns:ap-northeast-2:123456789012:{}", payments.topic(name).unwrap().physical_name(payments))
    };
    assert_eq!(exports["payments-dev-PaidTopicArn"], topic_arn("paid"));
    assert_eq!(exports["payments-dev-RefundRequestsTopicArn"], topic_arn("refund_requests"));
    assert!(exports["payments-dev-EncryptionKeyArn"].starts_with("arn:aws:kms:ap-northeast-2:123456789012:key/"));

    // The importer's publisher: the exporter's topic ARN in its env, its role under the path
    // the exporter's policy admits.
    let ship = aws.json(&["lambda", "get-function-configuration", "--function-name", "shipping-dev-ship"]);
    let env = &ship["Environment"]["Variables"];
    assert_eq!(env[contracts::topic_arn("refund_requests")], topic_arn("refund_requests"), "{env}");
    assert_eq!(
        env[contracts::topic_arn("shipped")].as_str().unwrap(),
        format!(
            "arn:aws:sns:ap-northeast-2:123456789012:{}",
            shipping.topic("shipped").unwrap().physical_name(shipping)
        )
    );
    let role = ship["Role"].as_str().unwrap();
    let payments_template = tests::template_json(&built[0].1.files["dev/template.yaml"]);
    let policy = &payments_template["Resources"]["RefundRequestsTopicPolicy"]["Properties"]["PolicyDocument"];
    let deny = policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "DenyPublishersNotWired").unwrap();
    let patterns = tests::as_list(&deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]);
    let admitted = patterns.iter().filter_map(|p| p["Fn::Sub"].as_str()).any(|p| {
        let p = p.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", "123456789012");
        p.strip_suffix('*').is_some_and(|prefix| role.starts_with(prefix) && !role[prefix.len()..].contains('/'))
    });
    assert!(admitted, "the exporter's policy ({patterns:?}) admits the importer's publisher {role}");
    // A function that publishes to no imported topic keeps a role without the path.
    let track = aws.json(&["lambda", "get-function-configuration", "--function-name", "shipping-dev-track"]);
    assert!(!track["Role"].as_str().unwrap().contains("/flowform/"), "{track}");
    let _ = std::fs::remove_dir_all(&work);
}
