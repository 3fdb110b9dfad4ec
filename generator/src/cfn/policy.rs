//! IAM statements and resource Metadata (derived values with their reasons, scanner
//! suppressions with theirs).

use super::expr::Expr;
use serde::Serialize;
use serde_json::{json, Value as Json};

#[derive(Serialize, Clone, Debug)]
pub struct Pair {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct Skip {
    pub id: String,
    pub comment: String,
}

/// Resource Metadata: why derived values are what they are, and every scanner suppression
/// with its reason.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Meta {
    pub derived: Vec<Pair>,
    pub checkov: Vec<Skip>,
    pub cfn_lint: Vec<Skip>,
}

impl Meta {
    pub(super) fn why(mut self, key: &str, value: impl Into<String>) -> Self {
        self.derived.push(Pair { key: key.into(), value: value.into() });
        self
    }
    pub(super) fn checkov(mut self, id: &str, comment: impl Into<String>) -> Self {
        self.checkov.push(Skip { id: id.into(), comment: comment.into() });
        self
    }
    pub(super) fn cfn_lint(mut self, id: &str, comment: impl Into<String>) -> Self {
        self.cfn_lint.push(Skip { id: id.into(), comment: comment.into() });
        self
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Statement {
    pub sid: String,
    pub effect: &'static str,
    pub principal: Option<Json>,
    pub actions: Vec<String>,
    pub resources: Expr,
    pub condition: Option<Json>,
}

pub(super) fn allow(sid: &str, actions: &[&str], resources: Expr) -> Statement {
    Statement {
        sid: sid.into(),
        effect: "Allow",
        principal: None,
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources,
        condition: None,
    }
}

pub(super) fn deny_insecure_transport(actions: &[&str], resources: Expr) -> Statement {
    Statement {
        sid: "DenyInsecureTransport".into(),
        effect: "Deny",
        principal: Some(json!("*")),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources,
        condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
    }
}
