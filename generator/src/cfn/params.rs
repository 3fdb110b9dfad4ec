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
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub constraint: Option<String>,
}

/// The parameters a deployer fills in.
pub(super) fn parameters(sys: &System, has_dlq: bool, vpc: bool) -> Vec<ParamView> {
    let mut parameters = Vec::new();
    if has_dlq {
        parameters.push(ParamView {
            id: LogicalId::alarm_email(),
            kind: "String".into(),
            description: "Address that receives dead-letter-queue alarms".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^[^@\s]+@[^@\s]+\.[^@\s]+$".into()),
            constraint: Some("must be an email address".into()),
        });
    }
    if vpc {
        parameters.push(ParamView {
            id: LogicalId::vpc(),
            kind: "AWS::EC2::VPC::Id".into(),
            description: "VPC of the databases; functions that reach a database run in it".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
        parameters.push(ParamView {
            id: LogicalId::private_subnets(),
            kind: "List<AWS::EC2::Subnet::Id>".into(),
            description: "Private subnets (with a NAT or VPC endpoints) for functions that reach a database".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
    }
    for db in &sys.databases {
        let what = if db.description.is_empty() { format!("database `{}`", db.name) } else { db.description.clone() };
        parameters.push(ParamView {
            id: LogicalId::db_param(&db.name, "Host"),
            kind: "String".into(),
            description: format!("Endpoint host name of {what}"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^[A-Za-z0-9.-]+$".into()),
            constraint: Some("must be a host name".into()),
        });
        parameters.push(ParamView {
            id: LogicalId::db_param(&db.name, "SecretArn"),
            kind: "String".into(),
            description: format!("ARN of the Secrets Manager secret with username and password of {what}"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$".into()),
            constraint: Some("must be a Secrets Manager secret ARN".into()),
        });
        parameters.push(ParamView {
            id: LogicalId::db_param(&db.name, "SecurityGroupId"),
            kind: "AWS::EC2::SecurityGroup::Id".into(),
            description: format!("Security group of {what}; flowform adds an ingress rule per function"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
        if db.iam_user.is_some() {
            parameters.push(ParamView {
                id: LogicalId::db_param(&db.name, "ResourceId"),
                kind: "String".into(),
                description: format!("DbiResourceId (db-...) of {what}, for IAM database authentication"),
                default: None,
                allowed_values: vec![],
                allowed_pattern: Some(r"^db-[A-Z0-9]+$".into()),
                constraint: Some("must be a DbiResourceId such as db-ABCDEFGHIJKL".into()),
            });
        }
    }
    for ep in &sys.endpoints {
        parameters.push(ParamView {
            id: LogicalId::endpoint_param(&ep.name),
            kind: "String".into(),
            description: if ep.description.is_empty() {
                format!("Base URL of endpoint `{}`", ep.name)
            } else {
                format!("Base URL of {}", ep.description)
            },
            default: ep.default.clone(),
            allowed_values: vec![],
            allowed_pattern: Some("^https?://.+$".into()),
            constraint: Some("must be an http(s) URL".into()),
        });
    }
    parameters
}
