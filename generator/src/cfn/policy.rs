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
    /// A topic, queue or function renamed in the config that keeps this resource
    /// (`renamed_from`): `flowform plan` reads it to say "renamed".
    pub renamed: Option<Renamed>,
}

#[derive(Serialize, Clone, Debug)]
pub struct Renamed {
    /// The name the resource is named after (its identity).
    pub from: String,
    /// The entry's name in the config now.
    pub to: String,
}

impl Meta {
    pub(super) fn why(mut self, key: &str, value: impl Into<String>) -> Self {
        self.derived.push(Pair { key: key.into(), value: value.into() });
        self
    }
    /// Marks the primary resource of an entry whose config name is not its identity.
    pub(super) fn renamed(mut self, identity: &str, name: &str) -> Self {
        if identity != name {
            self.renamed = Some(Renamed { from: identity.into(), to: name.into() });
        }
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

/// Who the wiring lets reach a queue or topic: requests that a service makes for one of
/// `sources` (`aws:SourceArn`: a topic delivering, a rule sending), or for an ARN matching
/// `source_like`, and requests signed by one of `principals` (`aws:PrincipalArn`: function
/// roles, the stage's operators) or by a principal matching `principals_like` (the roles of
/// another system's publishing functions, by their IAM path), and subscriptions of an
/// endpoint matching `endpoints_like` (`sns:Endpoint`: queues by name prefix).
#[derive(Default, Clone)]
pub(super) struct Wired {
    pub sources: Vec<Expr>,
    pub source_like: Option<Expr>,
    pub principals: Vec<Expr>,
    pub principals_like: Vec<Expr>,
    pub endpoints_like: Vec<Expr>,
}

/// Denies `actions` on `resource` to every request [`Wired`] does not name. The conditions
/// use negated operators, which hold when their key is absent: a request of a user or role
/// has no `aws:SourceArn` and a service's delivery has no `aws:PrincipalArn`, so a request is
/// let through only by a key it carries, and denied when it matches no list. With nothing
/// wired, the statement denies every request. An explicit Deny wins over any Allow, so a
/// principal of the account with broad IAM rights cannot send or publish either.
pub(super) fn deny_unwired(sid: &str, actions: &[&str], resource: Expr, wired: Wired) -> Statement {
    let mut not_equals = serde_json::Map::new();
    if !wired.sources.is_empty() {
        not_equals.insert("aws:SourceArn".into(), json!(Expr::one_or_many(wired.sources)));
    }
    let mut not_like = serde_json::Map::new();
    if let Some(like) = wired.source_like {
        not_like.insert("aws:SourceArn".into(), json!(like));
    }
    if wired.principals_like.is_empty() {
        if !wired.principals.is_empty() {
            not_equals.insert("aws:PrincipalArn".into(), json!(Expr::one_or_many(wired.principals)));
        }
    } else {
        // One key, one operator: exact ARNs hold no wildcard, so `ArnNotLike` matches them
        // exactly and the patterns as patterns.
        let mut all = wired.principals;
        all.extend(wired.principals_like);
        not_like.insert("aws:PrincipalArn".into(), json!(Expr::one_or_many(all)));
    }
    let mut condition = serde_json::Map::new();
    if !not_equals.is_empty() {
        condition.insert("ArnNotEquals".into(), Json::Object(not_equals));
    }
    if !not_like.is_empty() {
        condition.insert("ArnNotLike".into(), Json::Object(not_like));
    }
    if !wired.endpoints_like.is_empty() {
        condition.insert("StringNotLike".into(), json!({ "sns:Endpoint": Expr::one_or_many(wired.endpoints_like) }));
    }
    Statement {
        sid: sid.into(),
        effect: "Deny",
        principal: Some(json!("*")),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources: resource,
        condition: (!condition.is_empty()).then_some(Json::Object(condition)),
    }
}

/// The stage's operators as principals.
pub(super) fn operators(sys: &crate::model::System) -> Vec<Expr> {
    sys.operators.iter().map(|o| Expr::lit(o.as_str())).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_unwired_names_what_it_lets_through() {
        let arn = |x: &str| Expr::lit(x);
        let rows: &[(Wired, &str)] = &[
            (Wired::default(), "null"),
            (Wired { sources: vec![arn("t")], ..Wired::default() }, r#"{"ArnNotEquals":{"aws:SourceArn":"t"}}"#),
            (
                Wired { sources: vec![arn("t"), arn("u")], principals: vec![arn("r")], ..Wired::default() },
                r#"{"ArnNotEquals":{"aws:SourceArn":["t","u"],"aws:PrincipalArn":"r"}}"#,
            ),
            (
                Wired { source_like: Some(arn("a*")), principals: vec![arn("o")], ..Wired::default() },
                r#"{"ArnNotEquals":{"aws:PrincipalArn":"o"},"ArnNotLike":{"aws:SourceArn":"a*"}}"#,
            ),
        ];
        for (wired, want) in rows {
            let s = deny_unwired("Sid", &["sqs:SendMessage"], arn("q"), wired.clone());
            assert_eq!((s.effect, s.principal.clone()), ("Deny", Some(json!("*"))));
            assert_eq!(serde_json::to_string(&s.condition).unwrap(), *want);
        }
    }
}
