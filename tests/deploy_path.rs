//! The deploy path a user takes, as a library for tests: `aws cloudformation package` +
//! `deploy` of out/<stage> with the real handler zips, against moto, with awscli.

use crate::{root, run, tool};
use serde_json::Value as Json;
use std::process::Command;

pub struct Aws {
    pub bin: std::path::PathBuf,
    pub endpoint: String,
}

impl Default for Aws {
    fn default() -> Self {
        Self::new()
    }
}

impl Aws {
    pub fn new() -> Self {
        let endpoint = std::env::var("FLOWFORM_MOTO_URL")
            .unwrap_or_else(|_| panic!("FLOWFORM_MOTO_URL is not set: run the tests through `scripts/test.sh`, which starts moto on a free loopback port"));
        assert!(endpoint.starts_with("http://127.0.0.1:"), "moto must be on loopback, got {endpoint}");
        Aws { bin: tool("FLOWFORM_AWS"), endpoint }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
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

    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = run(&mut self.cmd(args));
        assert_eq!(code, 0, "aws {}: exit {code}\n{out}\n{err}", args.join(" "));
        out
    }

    pub fn json(&self, args: &[&str]) -> Json {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("aws {}: not JSON ({e}): {out}", args.join(" ")))
    }
}

/// What a deploy needs to be checked against.
pub struct Deployed {
    pub aws: Aws,
    pub stack: String,
    pub system: generator::model::System,
    /// The secret ARN passed for both databases.
    pub db_secret: String,
    bucket: String,
    /// The `--parameter-overrides` of the first deploy, passed again by [`Deployed::update`].
    overrides: Vec<String>,
    tag: String,
}

/// Resets moto, then packages and deploys out/dev to it as a new stack. The stack's physical
/// names are fixed, so the deploy needs moto alone and empty: anything left by an earlier
/// test under one of those names (a queue with other attributes, say) would make it fail
/// with QueueAlreadyExists. `tag` names the stack, the bucket and the work folder.
pub fn deploy_dev(alone: &crate::Alone, tag: &str) -> Deployed {
    crate::services::reset_moto(alone);
    let aws = Aws::new();
    let text = std::fs::read_to_string(root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let sys = b.systems.iter().find(|s| s.stage == "dev").unwrap();

    // The per-account values a user passes: a VPC, subnets and database security groups.
    let vpc =
        aws.json(&["ec2", "create-vpc", "--cidr-block", "10.9.0.0/16"])["Vpc"]["VpcId"].as_str().unwrap().to_string();
    let subnet = aws.json(&["ec2", "create-subnet", "--vpc-id", &vpc, "--cidr-block", "10.9.1.0/24"])["Subnet"]
        ["SubnetId"]
        .as_str()
        .unwrap()
        .to_string();
    let sg = |name: &str| {
        aws.json(&["ec2", "create-security-group", "--group-name", name, "--description", "db", "--vpc-id", &vpc])
            ["GroupId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (stock_sg, customer_sg) = (sg(&format!("stock-db-{tag}")), sg(&format!("customer-db-{tag}")));
    let bucket = format!("flowform-deploy-{tag}-{}", std::process::id());
    aws.ok(&["s3", "mb", &format!("s3://{bucket}")]);

    let secret = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:donut-db-AbCdEf";
    let overrides = vec![
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
    let d = Deployed {
        aws,
        stack: format!("donut-shop-dev-{tag}-{}", std::process::id()),
        system: sys.clone(),
        db_secret: secret.to_string(),
        bucket,
        overrides,
        tag: tag.to_string(),
    };
    let committed = std::fs::read_to_string(root().join("out/dev/template.yaml")).unwrap();
    d.package_and_deploy(&committed, sys, "CREATE_COMPLETE");
    d
}

impl Deployed {
    /// Deploys `template` (the dev stage of `config`) over the stack, with the first deploy's
    /// parameters, as a user updates a stack: `aws cloudformation package` + `deploy`.
    pub fn update(&self, config: &str, template: &str) {
        let b = generator::build(config).unwrap();
        let sys = b.systems.iter().find(|s| s.stage == "dev").unwrap();
        self.package_and_deploy(template, sys, "UPDATE_COMPLETE");
    }

    fn package_and_deploy(&self, template_text: &str, sys: &generator::model::System, status: &str) {
        let aws = &self.aws;
        let work = std::env::temp_dir().join(format!("flowform-deploy-{}-{}", self.tag, std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(work.join("out/dev")).unwrap();
        let template = work.join("out/dev/template.yaml");
        std::fs::write(&template, template_text).unwrap();
        // The real artifacts `flowform package` built (scripts/test.sh runs it first).
        for f in &sys.functions {
            let zip = root().join(format!("dist/lambda/{}.zip", f.handler));
            let dest = work.join(format!("dist/lambda/{}.zip", f.handler));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&zip, &dest).unwrap_or_else(|e| {
                panic!("{}: {e}; `scripts/test.sh` builds the zips with `flowform package`", zip.display())
            });
        }
        let packaged = work.join("packaged.yaml");
        aws.ok(&[
            "cloudformation",
            "package",
            "--template-file",
            template.to_str().unwrap(),
            "--s3-bucket",
            &self.bucket,
            "--output-template-file",
            packaged.to_str().unwrap(),
        ]);
        let packaged_text = std::fs::read_to_string(&packaged).unwrap();
        assert!(!packaged_text.contains("dist/lambda"), "package must replace every local Code path");
        let mut deploy = vec![
            "cloudformation",
            "deploy",
            "--template-file",
            packaged.to_str().unwrap(),
            "--stack-name",
            &self.stack,
            "--s3-bucket",
            &self.bucket,
            "--capabilities",
            "CAPABILITY_IAM",
            "--parameter-overrides",
        ];
        deploy.extend(self.overrides.iter().map(String::as_str));
        // The template is over CloudFormation's 51,200-byte inline limit, so `deploy` uploads it
        // and passes a TemplateURL. moto 5.2.5 reads the bucket from that URL's path only when
        // the host says `localhost` (with `127.0.0.1` it takes "127" as the bucket name), so the
        // S3 upload of this one call goes to the same loopback server under that name.
        let local = aws.endpoint.replace("127.0.0.1", "localhost");
        let (code, out, err) = run(aws.cmd(&deploy).env("AWS_ENDPOINT_URL", &local));
        assert_eq!(code, 0, "aws cloudformation deploy: exit {code}\n{out}\n{err}");
        let got = aws.json(&["cloudformation", "describe-stacks", "--stack-name", &self.stack]);
        assert_eq!(got["Stacks"][0]["StackStatus"], status);
        let _ = std::fs::remove_dir_all(&work);
    }
}
