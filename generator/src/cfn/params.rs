//! Parameters: per-account values derived from the wiring (alarm address, VPC, databases,
//! endpoints).
use super::expr::LogicalId;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct ParamView {
    pub id: LogicalId,
    pub kind: String,
    pub description: String,
    pub default: Option<String>,
    pub allowed_pattern: Option<String>,
    pub constraint: Option<String>,
}

impl ParamView {
    fn new(id: LogicalId, kind: &str, description: impl Into<String>) -> Self {
        ParamView {
            id,
            kind: kind.into(),
            description: description.into(),
            default: None,
            allowed_pattern: None,
            constraint: None,
        }
    }

    /// CloudFormation rejects a value that does not match, saying `constraint`.
    fn pattern(mut self, pattern: &str, constraint: &str) -> Self {
        self.allowed_pattern = Some(pattern.into());
        self.constraint = Some(constraint.into());
        self
    }
}

/// The parameters a deployer fills in: the alarm address, the VPC, each database's and each
/// endpoint's.
pub(super) fn parameters(sys: &System, has_dlq: bool, vpc: bool) -> Vec<ParamView> {
    let mut out = Vec::new();
    if has_dlq {
        out.push(
            ParamView::new(LogicalId::alarm_email(), "String", "Address that receives dead-letter-queue alarms")
                .pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "must be an email address"),
        );
    }
    if vpc {
        out.push(ParamView::new(
            LogicalId::vpc(),
            "AWS::EC2::VPC::Id",
            "VPC of the databases; functions that reach a database run in it",
        ));
        out.push(ParamView::new(
            LogicalId::private_subnets(),
            "List<AWS::EC2::Subnet::Id>",
            "Private subnets (with a NAT or VPC endpoints) for functions that reach a database",
        ));
    }
    for db in &sys.databases {
        out.extend(database(db));
    }
    for s in sys.secrets.iter().filter(|s| s.existing) {
        let what = if s.description.is_empty() { format!("secret `{}`", s.name) } else { s.description.clone() };
        out.push(
            ParamView::new(
                LogicalId::secret_param(&s.name, "Arn"),
                "String",
                format!("ARN of the existing Secrets Manager secret: {what}"),
            )
            // The complete ARN, with the 6-character suffix Secrets Manager adds: a partial ARN
            // in a policy matches no secret, so GetSecretValue would be denied at run time.
            .pattern(
                r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^:]+-[A-Za-z0-9]{6}$",
                "must be a complete Secrets Manager secret ARN (ending in -XXXXXX)",
            ),
        );
        if s.own_key {
            out.push(
                ParamView::new(
                    LogicalId::secret_param(&s.name, "KeyArn"),
                    "String",
                    format!("ARN of the KMS key that encrypts {what}"),
                )
                .pattern(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", "must be a KMS key ARN"),
            );
        }
    }
    for a in &sys.authorizers {
        out.extend(authorizer(a));
    }
    for ep in &sys.endpoints {
        let description = if ep.description.is_empty() {
            format!("Base URL of endpoint `{}`", ep.name)
        } else {
            format!("Base URL of {}", ep.description)
        };
        let p = ParamView::new(LogicalId::endpoint_param(&ep.name), "String", description);
        let mut p = if ep.allow_http {
            p.pattern("^https?://.+$", "must be an http(s) URL")
        } else {
            p.pattern("^https://.+$", "must be an https:// URL (TLS only; `allow_http` in the config allows http://)")
        };
        p.default = ep.default.clone();
        out.push(p);
    }
    out
}

/// The issuer and audiences of a JWT authorizer (per account: a user pool and its app
/// clients), defaulting to the config's.
fn authorizer(a: &Authorizer) -> Vec<ParamView> {
    let what = if a.description.is_empty() { format!("JWT authorizer `{}`", a.name) } else { a.description.clone() };
    let mut issuer = ParamView::new(
        LogicalId::jwt_param(&a.name, "Issuer"),
        "String",
        format!("Issuer URL (the tokens' iss) of {what}"),
    )
    .pattern(r"^https://[^\s/?#]+[^\s]*$", "must be the issuer's https:// URL");
    issuer.default = a.issuer.clone();
    let mut audience = ParamView::new(
        LogicalId::jwt_param(&a.name, "Audience"),
        "CommaDelimitedList",
        format!("Accepted audiences (aud or client_id, comma-separated) of {what}"),
    );
    audience.default = Some(a.audience.join(","));
    vec![issuer, audience]
}

/// Host, secret and security group of an existing database (and its resource ID for IAM
/// authentication).
fn database(db: &Database) -> Vec<ParamView> {
    let what = if db.description.is_empty() { format!("database `{}`", db.name) } else { db.description.clone() };
    let param = |what_param: &str| LogicalId::db_param(&db.name, what_param);
    let mut out = vec![
        ParamView::new(param("Host"), "String", format!("Endpoint host name of {what}"))
            .pattern(r"^[A-Za-z0-9.-]+$", "must be a host name"),
        ParamView::new(
            param("SecretArn"),
            "String",
            format!("ARN of the Secrets Manager secret with username and password of {what}"),
        )
        .pattern(
            r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$",
            "must be a Secrets Manager secret ARN",
        ),
        ParamView::new(
            param("SecurityGroupId"),
            "AWS::EC2::SecurityGroup::Id",
            format!("Security group of {what}; flowform adds an ingress rule per function"),
        ),
    ];
    if db.iam_user.is_some() {
        out.push(
            ParamView::new(
                param("ResourceId"),
                "String",
                format!("DbiResourceId (db-...) of {what}, for IAM database authentication"),
            )
            .pattern(r"^db-[A-Z0-9]+$", "must be a DbiResourceId such as db-ABCDEFGHIJKL"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::lowered;

    #[test]
    fn endpoint_parameters_accept_https_unless_told_otherwise() {
        let used = "functions:\n  f: { trigger: { schedule: rate(1 day) }, endpoints: [factory] }\n";
        let rows: &[(&str, &str)] = &[
            ("endpoints:\n  factory: {}\n", "^https://"),
            ("endpoints:\n  factory: { allow_http: true }\n", "^https?://"),
        ];
        for (extra, start) in rows {
            let view = lowered("", &format!("{extra}{used}"));
            let p = view.parameters.iter().find(|p| p.id.as_str() == "FactoryUrl").unwrap();
            assert!(
                p.allowed_pattern.as_deref().is_some_and(|a| a.starts_with(start)),
                "{extra}: {:?}",
                p.allowed_pattern
            );
        }
    }
}
