//! The deploy path a user takes, against moto: `aws cloudformation package` + `deploy` of
//! out/dev, then what moto created, read back through the service APIs.
//!
//! Needs moto (FLOWFORM_MOTO_URL), awscli (FLOWFORM_AWS) and the handler zips in dist/lambda:
//! `scripts/test.sh` installs and starts the first two and runs `flowform package` first.

use serde_json::Value as Json;
use std::process::Command;
use tests::{root, run, tool};

struct Aws {
    bin: std::path::PathBuf,
    endpoint: String,
}

impl Aws {
    fn new() -> Self {
        let endpoint = std::env::var("FLOWFORM_MOTO_URL")
            .unwrap_or_else(|_| panic!("FLOWFORM_MOTO_URL is not set: run the tests through `scripts/test.sh`, which starts moto on a free loopback port"));
        assert!(endpoint.starts_with("http://127.0.0.1:"), "moto must be on loopback, got {endpoint}");
        Aws { bin: tool("FLOWFORM_AWS"), endpoint }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        // awscli v1 ignores AWS_ENDPOINT_URL for some services (sqs): always pass it.
        c.args(["--endpoint-url", &self.endpoint, "--region", "ap-northeast-2", "--output", "json"]).args(args);
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "ap-northeast-2")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = run(&mut self.cmd(args));
        assert_eq!(code, 0, "aws {}: exit {code}\n{out}\n{err}", args.join(" "));
        out
    }

    fn json(&self, args: &[&str]) -> Json {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("aws {}: not JSON ({e}): {out}", args.join(" ")))
    }
}

#[test]
fn package_and_deploy_dev_then_read_back() {
    let aws = Aws::new();
    let work = std::env::temp_dir().join(format!("flowform-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("out/dev")).unwrap();
    std::fs::copy(root().join("out/dev/template.yaml"), work.join("out/dev/template.yaml")).unwrap();
    let text = std::fs::read_to_string(root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let sys = b.systems.iter().find(|s| s.stage == "dev").unwrap();
    // The real artifacts `flowform package` built (scripts/test.sh runs it first).
    for f in &sys.functions {
        let zip = root().join(format!("dist/lambda/{}.zip", f.handler));
        let dest = work.join(format!("dist/lambda/{}.zip", f.handler));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&zip, &dest).unwrap_or_else(|e| panic!("{}: {e}; `scripts/test.sh` builds the zips with `flowform package`", zip.display()));
    }

    // The per-account values a user passes: a VPC, subnets and database security groups.
    let vpc = aws.json(&["ec2", "create-vpc", "--cidr-block", "10.9.0.0/16"])["Vpc"]["VpcId"].as_str().unwrap().to_string();
    let subnet = aws.json(&["ec2", "create-subnet", "--vpc-id", &vpc, "--cidr-block", "10.9.1.0/24"])["Subnet"]["SubnetId"].as_str().unwrap().to_string();
    let sg = |name: &str| aws.json(&["ec2", "create-security-group", "--group-name", name, "--description", "db", "--vpc-id", &vpc])["GroupId"].as_str().unwrap().to_string();
    let (stock_sg, customer_sg) = (sg("stock-db"), sg("customer-db"));
    let bucket = format!("flowform-deploy-{}", std::process::id());
    aws.ok(&["s3", "mb", &format!("s3://{bucket}")]);

    let template = work.join("out/dev/template.yaml");
    let packaged = work.join("packaged.yaml");
    aws.ok(&["cloudformation", "package", "--template-file", template.to_str().unwrap(), "--s3-bucket", &bucket, "--output-template-file", packaged.to_str().unwrap()]);
    let packaged_text = std::fs::read_to_string(&packaged).unwrap();
    assert!(!packaged_text.contains("dist/lambda"), "package must replace every local Code path");

    let stack = format!("donut-shop-dev-{}", std::process::id());
    let secret = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:donut-db-AbCdEf";
    let overrides = [
        "AlarmEmail=ops@donut.example.com".to_string(),
        format!("VpcId={vpc}"),
        format!("PrivateSubnetIds={subnet}"),
        "StockDbHost=stock.cluster.local".into(),
        format!("StockDbSecretArn={secret}"),
        format!("StockDbSecurityGroupId={stock_sg}"),
        "CustomerDbHost=customer.cluster.local".into(),
        format!("CustomerDbSecretArn={secret}"),
        format!("CustomerDbSecurityGroupId={customer_sg}"),
    ];
    let mut deploy = vec![
        "cloudformation", "deploy", "--template-file", packaged.to_str().unwrap(), "--stack-name", &stack, "--s3-bucket", &bucket,
        "--capabilities", "CAPABILITY_IAM", "--parameter-overrides",
    ];
    deploy.extend(overrides.iter().map(String::as_str));
    // The template is over CloudFormation's 51,200-byte inline limit, so `deploy` uploads it
    // and passes a TemplateURL. moto 5.2.5 reads the bucket from that URL's path only when
    // the host says `localhost` (with `127.0.0.1` it takes "127" as the bucket name), so the
    // S3 upload of this one call goes to the same loopback server under that name.
    let local = aws.endpoint.replace("127.0.0.1", "localhost");
    let (code, out, err) = run(aws.cmd(&deploy).env("AWS_ENDPOINT_URL", &local));
    assert_eq!(code, 0, "aws cloudformation deploy: exit {code}\n{out}\n{err}");
    let status = aws.json(&["cloudformation", "describe-stacks", "--stack-name", &stack]);
    assert_eq!(status["Stacks"][0]["StackStatus"], "CREATE_COMPLETE");

    // Topics.
    let topics = aws.json(&["sns", "list-topics"]).to_string();
    for t in ["donut-shop-dev-out-of-stock", "donut-shop-dev-purchases", "donut-shop-dev-alarms"] {
        assert!(topics.contains(&format!(":{t}\"")), "topic {t} missing: {topics}");
    }

    // Queues: redrive, derived visibility timeout, encryption with the stack key.
    for q in &sys.queues {
        let name = q.physical_name(sys);
        let url = aws.json(&["sqs", "get-queue-url", "--queue-name", &name])["QueueUrl"].as_str().unwrap().to_string();
        let attrs = &aws.json(&["sqs", "get-queue-attributes", "--queue-url", &url, "--attribute-names", "All"])["Attributes"];
        assert_eq!(attrs["VisibilityTimeout"], q.visibility_timeout.to_string(), "{name}");
        assert_eq!(attrs["MessageRetentionPeriod"], q.retention_seconds.to_string(), "{name}");
        assert!(attrs["KmsMasterKeyId"].as_str().is_some_and(|k| !k.is_empty()), "{name} is not KMS-encrypted: {attrs}");
        let dlq = q.dlq.as_ref().expect("every donut shop queue has a DLQ");
        let redrive: Json = serde_json::from_str(attrs["RedrivePolicy"].as_str().expect("RedrivePolicy")).unwrap();
        assert!(redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!(":{}", q.dlq_physical_name(sys))), "{name}: {redrive}");
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), dlq.max_receives.to_string(), "{name}");
        let dlq_url = aws.json(&["sqs", "get-queue-url", "--queue-name", &q.dlq_physical_name(sys)])["QueueUrl"].as_str().unwrap().to_string();
        let dlq_attrs = &aws.json(&["sqs", "get-queue-attributes", "--queue-url", &dlq_url, "--attribute-names", "MessageRetentionPeriod"])["Attributes"];
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
            let arn = env[contracts::topic_arn(t)].as_str().unwrap_or_else(|| panic!("{name}: no {}: {env}", contracts::topic_arn(t)));
            assert!(arn.starts_with("arn:aws:sns:ap-northeast-2:123456789012:donut-shop-dev-"), "{name}: {arn}");
        }
        for d in &f.databases {
            assert_eq!(env[contracts::db_secret_arn(d)], secret, "{name}");
        }
        if let generator::model::Trigger::Queue { queue, batch_size, max_concurrency, .. } = &f.trigger {
            let m = aws.json(&["lambda", "list-event-source-mappings", "--function-name", &name]);
            let m = &m["EventSourceMappings"][0];
            assert!(m["EventSourceArn"].as_str().unwrap().ends_with(&format!(":{}", sys.queue(queue).unwrap().physical_name(sys))), "{name}: {m}");
            assert_eq!(m["BatchSize"], *batch_size, "{name}");
            assert_eq!(m["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]), "{name}");
            if let Some(mc) = max_concurrency {
                assert_eq!(m["ScalingConfig"]["MaximumConcurrency"], *mc, "{name}");
            }
        }
    }

    // Log groups with the stage's retention.
    let groups = aws.json(&["logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/donut-shop-dev-"]);
    let groups = groups["logGroups"].as_array().unwrap();
    assert_eq!(groups.len(), sys.functions.len());
    for g in groups {
        assert_eq!(g["retentionInDays"], sys.log_retention_days, "{g}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
