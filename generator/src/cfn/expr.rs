//! The typed CloudFormation layer: logical IDs and the values CloudFormation resolves.
//!
//! A [`LogicalId`] is made only by its constructors (one per kind of resource or
//! parameter), so an ID is spelled in one place. An [`Expr`] is a literal, `Ref`, `GetAtt`,
//! `Sub` or a list of them; it serialises to CloudFormation's long form (`{"Ref": "X"}`),
//! which the render filter prints in short form (`!Ref X`), and [`Expr::parse`] reads that
//! long form back (the plan and the local runner decode templates with it).

use crate::ids::{pascal, route_id};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;
use std::fmt;

/// A resource's or parameter's logical ID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LogicalId(String);

impl fmt::Display for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl LogicalId {
    fn named(name: &str, kind: &str) -> Self {
        LogicalId(format!("{}{kind}", pascal(name)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    // The stack's own resources and parameters.
    pub fn key() -> Self {
        LogicalId("EncryptionKey".into())
    }
    pub fn key_alias() -> Self {
        LogicalId("EncryptionKeyAlias".into())
    }
    /// The output (and export) of the key's ARN, for systems that publish to exported topics.
    pub fn key_arn_output() -> Self {
        LogicalId("EncryptionKeyArn".into())
    }
    pub fn alarm_topic() -> Self {
        LogicalId("AlarmTopic".into())
    }
    pub fn alarm_topic_policy() -> Self {
        LogicalId("AlarmTopicPolicy".into())
    }
    pub fn alarm_subscription() -> Self {
        LogicalId("AlarmEmailSubscription".into())
    }
    pub fn alarm_email() -> Self {
        LogicalId("AlarmEmail".into())
    }
    pub fn vpc() -> Self {
        LogicalId("VpcId".into())
    }
    pub fn private_subnets() -> Self {
        LogicalId("PrivateSubnetIds".into())
    }
    pub fn http_api() -> Self {
        LogicalId("HttpApi".into())
    }
    pub fn http_stage() -> Self {
        LogicalId("HttpApiStage".into())
    }
    pub fn http_log_group() -> Self {
        LogicalId("HttpApiAccessLogGroup".into())
    }
    pub fn http_url_output() -> Self {
        LogicalId("HttpApiUrl".into())
    }

    // Topics and queues.
    pub fn topic(name: &str) -> Self {
        Self::named(name, "Topic")
    }
    pub fn topic_policy(name: &str) -> Self {
        Self::named(name, "TopicPolicy")
    }
    pub fn topic_arn_output(name: &str) -> Self {
        Self::named(name, "TopicArn")
    }
    pub fn queue(name: &str) -> Self {
        Self::named(name, "Queue")
    }
    pub fn queue_policy(name: &str) -> Self {
        Self::named(name, "QueuePolicy")
    }
    pub fn queue_url_output(name: &str) -> Self {
        Self::named(name, "QueueUrl")
    }
    /// The dead-letter queue of a queue or of a scheduled function (validation keeps the two
    /// apart).
    pub fn dlq(name: &str) -> Self {
        Self::named(name, "DeadLetterQueue")
    }
    pub fn dlq_policy(name: &str) -> Self {
        Self::named(name, "DeadLetterQueuePolicy")
    }
    pub fn dlq_alarm(name: &str) -> Self {
        Self::named(name, "DeadLetterQueueAlarm")
    }
    pub fn dlq_url_output(name: &str) -> Self {
        Self::named(name, "DeadLetterQueueUrl")
    }
    pub fn subscription(topic: &str, queue: &str) -> Self {
        LogicalId(format!("{}To{}Subscription", pascal(topic), pascal(queue)))
    }

    // Functions.
    pub fn function(name: &str) -> Self {
        Self::named(name, "Function")
    }
    pub fn role(name: &str) -> Self {
        Self::named(name, "Role")
    }
    pub fn log_group(name: &str) -> Self {
        Self::named(name, "LogGroup")
    }
    pub fn security_group(name: &str) -> Self {
        Self::named(name, "SecurityGroup")
    }
    pub fn db_ingress(function: &str, db: &str) -> Self {
        LogicalId(format!("{}To{}DbIngress", pascal(function), pascal(db)))
    }
    pub fn event_source_mapping(name: &str) -> Self {
        Self::named(name, "EventSourceMapping")
    }
    pub fn schedule_rule(name: &str) -> Self {
        Self::named(name, "ScheduleRule")
    }
    pub fn schedule_permission(name: &str) -> Self {
        Self::named(name, "SchedulePermission")
    }
    pub fn event_invoke_config(name: &str) -> Self {
        Self::named(name, "EventInvokeConfig")
    }
    pub fn integration(function: &str) -> Self {
        Self::named(function, "Integration")
    }
    pub fn route(method: &str, path: &str) -> Self {
        LogicalId(format!("{}Route", route_id(method, path)))
    }
    pub fn authorizer(name: &str) -> Self {
        Self::named(name, "Authorizer")
    }
    /// A parameter of a JWT authorizer: `Issuer` (`<Name>JwtIssuer`), `Audience`.
    pub fn jwt_param(name: &str, what: &str) -> Self {
        LogicalId(format!("{}Jwt{what}", pascal(name)))
    }
    pub fn route_permission(method: &str, path: &str) -> Self {
        LogicalId(format!("{}Permission", route_id(method, path)))
    }

    // What functions reach.
    pub fn secret(name: &str) -> Self {
        Self::named(name, "Secret")
    }
    /// A parameter of an existing secret: `Arn` (`<Name>SecretArn`), `KeyArn`.
    pub fn secret_param(name: &str, what: &str) -> Self {
        LogicalId(format!("{}Secret{what}", pascal(name)))
    }
    /// A parameter of an existing database: `Host`, `SecretArn`, `ResourceId`, `SecurityGroupId`.
    pub fn db_param(db: &str, what: &str) -> Self {
        LogicalId(format!("{}Db{what}", pascal(db)))
    }
    pub fn endpoint_param(name: &str) -> Self {
        Self::named(name, "Url")
    }
    pub fn email_identity(name: &str) -> Self {
        Self::named(name, "EmailIdentity")
    }
    pub fn email_config_set(name: &str) -> Self {
        Self::named(name, "ConfigurationSet")
    }
}

/// A value in a template: a literal or something CloudFormation resolves.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Lit(Json),
    Ref(LogicalId),
    GetAtt(LogicalId, String),
    /// `Fn::Sub` with `${...}` placeholders.
    Sub(String),
    /// `Fn::Join` of the parts with the delimiter (only [`Expr::text`] writes it).
    Join(String, Vec<Expr>),
    List(Vec<Expr>),
    /// `Fn::ImportValue` of another stack's export (an imported topic's ARN, its key's).
    Import(String),
}

impl Expr {
    pub fn r(id: &LogicalId) -> Self {
        Expr::Ref(id.clone())
    }
    pub fn arn(id: &LogicalId) -> Self {
        Expr::GetAtt(id.clone(), "Arn".into())
    }
    pub fn att(id: &LogicalId, attribute: &str) -> Self {
        Expr::GetAtt(id.clone(), attribute.into())
    }
    pub fn sub(s: impl Into<String>) -> Self {
        Expr::Sub(s.into())
    }
    pub fn lit(v: impl Into<Json>) -> Self {
        Expr::Lit(v.into())
    }
    /// A user's text, reaching the template as written. CloudFormation reads `${...}` as a
    /// substitution only inside `Fn::Sub`, but cfn-lint flags `${AWS::Region}` outside one
    /// (E1029), and the escape inside one (`${!`) leaves a Sub with no variable (W1020). So a
    /// text with `${` is `Fn::Join` on `$` of the pieces between its `$`s: no piece holds `${`,
    /// and the joined value is the text.
    pub fn text(s: &str) -> Self {
        if s.contains("${") {
            Expr::Join("$".into(), s.split('$').map(Expr::lit).collect())
        } else {
            Expr::lit(s)
        }
    }

    /// [`Expr::text`] for every string (keys stay as they are) of a JSON value.
    pub fn text_json(v: &Json) -> Json {
        match v {
            Json::String(s) if s.contains("${") => serde_json::to_value(Expr::text(s)).unwrap_or_default(),
            Json::Array(items) => Json::Array(items.iter().map(Expr::text_json).collect()),
            Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), Expr::text_json(v))).collect()),
            other => other.clone(),
        }
    }

    /// One value as itself, several as a list (IAM and conditions accept both).
    pub fn one_or_many(mut v: Vec<Expr>) -> Self {
        if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::List(v)
        }
    }

    /// Reads the long form back; `None` for JSON that is not a template value this layer
    /// writes (e.g. a mapping of properties).
    pub fn parse(v: &Json) -> Option<Expr> {
        match v {
            Json::Array(items) => items.iter().map(Expr::parse).collect::<Option<Vec<_>>>().map(Expr::List),
            Json::Object(m) if m.len() == 1 => {
                let (k, v) = m.iter().next()?;
                match (k.as_str(), v) {
                    ("Ref", Json::String(id)) => Some(Expr::Ref(LogicalId(id.clone()))),
                    ("Fn::GetAtt", Json::Array(p)) if p.len() == 2 => {
                        Some(Expr::GetAtt(LogicalId(p[0].as_str()?.into()), p[1].as_str()?.into()))
                    }
                    ("Fn::GetAtt", Json::String(s)) => {
                        let (id, att) = s.split_once('.')?;
                        Some(Expr::GetAtt(LogicalId(id.into()), att.into()))
                    }
                    ("Fn::Sub", Json::String(s)) => Some(Expr::Sub(s.clone())),
                    ("Fn::ImportValue", Json::String(s)) => Some(Expr::Import(s.clone())),
                    ("Fn::Join", Json::Array(p)) if p.len() == 2 => {
                        let Json::Array(parts) = &p[1] else { return None };
                        let parts = parts.iter().map(Expr::parse).collect::<Option<Vec<_>>>()?;
                        Some(Expr::Join(p[0].as_str()?.into(), parts))
                    }
                    _ => None,
                }
            }
            Json::Object(_) => None,
            other => Some(Expr::Lit(other.clone())),
        }
    }

    /// The logical ID this value names directly (`Ref`, `GetAtt`), or the first `${Id}` of a
    /// `Sub` that is not a pseudo parameter.
    pub fn target(&self) -> Option<String> {
        match self {
            Expr::Ref(id) | Expr::GetAtt(id, _) => Some(id.0.clone()),
            Expr::Sub(s) => placeholders(s).into_iter().next(),
            Expr::Join(_, parts) => parts.iter().find_map(Expr::target),
            Expr::Lit(_) | Expr::List(_) | Expr::Import(_) => None,
        }
    }
}

/// The `${Name}` placeholders of a `Sub` string that are not `AWS::` pseudo parameters.
pub fn placeholders(s: &str) -> Vec<String> {
    s.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.starts_with("AWS::") && !name.starts_with('!'))
        .map(|name| name.split('.').next().unwrap_or(name).to_string())
        .collect()
}

/// `!Ref id`.
pub fn r(id: &LogicalId) -> Expr {
    Expr::r(id)
}
/// `!GetAtt id.Arn`.
pub fn arn(id: &LogicalId) -> Expr {
    Expr::arn(id)
}
/// `!Sub s`.
pub fn sub(s: &str) -> Expr {
    Expr::sub(s)
}
pub fn one_or_many(v: Vec<Expr>) -> Expr {
    Expr::one_or_many(v)
}

impl From<LogicalId> for Expr {
    fn from(id: LogicalId) -> Self {
        Expr::Ref(id)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Lit(v) => v.serialize(s),
            Expr::List(items) => items.serialize(s),
            Expr::Ref(id) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Ref", &id.0)?;
                m.end()
            }
            Expr::GetAtt(id, att) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Fn::GetAtt", &[&id.0, att])?;
                m.end()
            }
            Expr::Sub(text) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Fn::Sub", text)?;
                m.end()
            }
            Expr::Import(name) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Fn::ImportValue", name)?;
                m.end()
            }
            Expr::Join(delimiter, parts) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Fn::Join", &(delimiter, parts))?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_form_round_trips() {
        let q = LogicalId::queue("stock_request");
        let cases = [
            (Expr::r(&q), json!({"Ref": "StockRequestQueue"})),
            (Expr::arn(&q), json!({"Fn::GetAtt": ["StockRequestQueue", "Arn"]})),
            (Expr::sub("arn:${AWS::Partition}:x"), json!({"Fn::Sub": "arn:${AWS::Partition}:x"})),
            (Expr::lit("*"), json!("*")),
            (Expr::Import("p-dev-ATopicArn".into()), json!({"Fn::ImportValue": "p-dev-ATopicArn"})),
            (Expr::text("a ${AWS::Region}$"), json!({"Fn::Join": ["$", ["a ", "{AWS::Region}", ""]]})),
            (Expr::one_or_many(vec![Expr::r(&q), Expr::lit(1)]), json!([{"Ref": "StockRequestQueue"}, 1])),
        ];
        for (expr, want) in cases {
            let got = serde_json::to_value(&expr).unwrap();
            assert_eq!(got, want);
            assert_eq!(Expr::parse(&got), Some(expr));
        }
        assert_eq!(Expr::parse(&json!({"Type": "AWS::SQS::Queue"})), None);
    }

    #[test]
    fn text_without_substitutions_stays_a_string() {
        assert_eq!(Expr::text("costs $5 {x}"), Expr::lit("costs $5 {x}"));
        assert_eq!(
            Expr::text_json(&json!({"k": ["${x}", 1], "${k}": "v"})),
            json!({"k": [{"Fn::Join": ["$", ["", "{x}"]]}, 1], "${k}": "v"})
        );
    }

    #[test]
    fn sub_placeholders_skip_pseudo_parameters() {
        let e = Expr::sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage.Name}");
        assert_eq!(e.target().as_deref(), Some("HttpApi"));
        assert_eq!(placeholders("${AWS::Region}-${A}-${!Literal}-${B.Arn}"), vec!["A", "B"]);
    }
}
