//! SNS topics: the user's, and the alarm topic DLQ alarms publish to.
use super::expr::{r, sub, Expr, LogicalId};
use super::policy::{deny_insecure_transport, deny_unwired, operators, Meta, Statement, Wired};
use crate::model::*;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, Clone, Debug)]
pub struct TopicView {
    pub id: LogicalId,
    pub policy_id: LogicalId,
    pub name: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub statements: Vec<Statement>,
    pub subscription: Option<EmailSubscriptionView>,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct EmailSubscriptionView {
    pub id: LogicalId,
    pub endpoint: Expr,
}

pub(super) fn alarm_topic(sys: &System, has_dlq: bool) -> Option<TopicView> {
    let naming = sys.naming();
    let alarms = sub(&format!(
        "arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{}",
        naming.wildcard()
    ));
    has_dlq.then(|| TopicView {
        id: LogicalId::alarm_topic(),
        policy_id: LogicalId::alarm_topic_policy(),
        name: naming.alarm_topic(),
        fifo: false,
        content_based_dedup: false,
        statements: vec![
            Statement {
                sid: "CloudWatchAlarmsPublish".into(),
                effect: "Allow",
                principal: Some(json!({ "Service": "cloudwatch.amazonaws.com" })),
                actions: vec!["sns:Publish".into()],
                resources: r(&LogicalId::alarm_topic()),
                condition: Some(json!({ "ArnLike": { "aws:SourceArn": alarms.clone() } })),
            },
            deny_unwired(
                "DenyPublishersNotWired",
                &["sns:Publish"],
                r(&LogicalId::alarm_topic()),
                Wired { source_like: Some(alarms), principals: operators(sys), ..Wired::default() },
            ),
            deny_insecure_transport(&["sns:Publish"], r(&LogicalId::alarm_topic())),
        ],
        subscription: Some(EmailSubscriptionView {
            id: LogicalId::alarm_subscription(),
            endpoint: r(&LogicalId::alarm_email()),
        }),
        meta: Meta::default(),
    })
}

/// The ARN of topic `name` (its config name): `!Ref` of this stack's topic, or the export of
/// the system an imported topic belongs to.
pub(super) fn topic_arn(sys: &System, name: &str) -> Expr {
    match sys.topic(name).and_then(|t| imported_topic_export(sys, t)) {
        Some(export) => Expr::Import(export),
        None => r(&LogicalId::topic(sys.topic_identity(name))),
    }
}

/// The export an imported topic's ARN is read from: `<system>-<stage>-<Identity>TopicArn` of
/// the exporting system (`None` for this stack's own topics).
pub fn imported_topic_export(sys: &System, t: &Topic) -> Option<String> {
    let i = t.imported.as_ref()?;
    Some(Naming { system: &i.system, stage: &sys.stage }.export(LogicalId::topic_arn_output(&i.identity).as_str()))
}

/// The ARN of the stack key of `system` (an exporter of topics this stage publishes to).
pub(super) fn imported_key_arn(sys: &System, system: &str) -> Expr {
    Expr::Import(Naming { system, stage: &sys.stage }.export(LogicalId::key_arn_output().as_str()))
}

/// The roles of `system`'s functions that publish to imported topics, which its own topics'
/// policies cannot name one by one: `arn:...:role/flowform/<system>/<stage>/*`.
fn publishing_roles(sys: &System, system: &str) -> Expr {
    let path = Naming { system, stage: &sys.stage }.role_path();
    sub(&format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{path}*"))
}

/// Who may subscribe to topic `t`: the queues of this stage and of the systems the topic is
/// exported to for subscribing, by name prefix (`<system>-<stage>-*`: a queue added to the
/// config is admitted before its subscription is created, in the same deploy), and the
/// stage's operators. So no other system's queue, and no e-mail, HTTP or Lambda endpoint,
/// receives the topic's messages.
fn subscribers(sys: &System, t: &Topic) -> Wired {
    let queues = |system: &str| {
        let prefix = Naming { system, stage: &sys.stage }.wildcard();
        sub(&format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{prefix}"))
    };
    let systems = std::iter::once(sys.name.as_str()).chain(t.export.subscribe.iter().map(String::as_str));
    Wired { endpoints_like: systems.map(queues).collect(), principals: operators(sys), ..Wired::default() }
}

pub(super) fn topics(sys: &System) -> Vec<TopicView> {
    let topics: Vec<TopicView> = sys
        .topics
        .iter()
        .filter(|t| t.imported.is_none())
        .map(|t| {
            let id = LogicalId::topic(&t.identity);
            // The roles of the functions that publish to it, then the operators.
            let mut principals: Vec<Expr> = sys
                .functions
                .iter()
                .filter(|f| f.publishes.contains(&t.name))
                .map(|f| Expr::arn(&LogicalId::role(&f.identity)))
                .collect();
            principals.extend(operators(sys));
            let principals_like = t.export.publish.iter().map(|s| publishing_roles(sys, s)).collect();
            let wired = Wired { principals, principals_like, ..Wired::default() };
            TopicView {
                policy_id: LogicalId::topic_policy(&t.identity),
                name: t.physical_name(sys),
                fifo: t.fifo,
                content_based_dedup: t.content_based_dedup,
                statements: vec![
                    deny_unwired("DenyPublishersNotWired", &["sns:Publish"], r(&id), wired),
                    deny_unwired("DenySubscribersNotWired", &["sns:Subscribe"], r(&id), subscribers(sys, t)),
                    deny_insecure_transport(&["sns:Publish"], r(&id)),
                ],
                subscription: None,
                meta: Meta::default().renamed(&t.identity, &t.name),
                id,
            }
        })
        .collect();
    topics
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::{condition, lowered};

    #[test]
    fn a_topic_admits_its_publishers_and_the_operators() {
        let publishers = "topics:\n  t: {}\nfunctions:\n  a: { trigger: { schedule: rate(1 day) }, publishes: [t] }\n  b: { trigger: { schedule: rate(1 day) } }\n";
        let ops = r#" operators: ["arn:aws:iam::123456789012:role/oncall"] "#;
        let rows: &[(&str, &str, &str)] = &[
            ("", publishers, r#"{"ArnNotEquals":{"aws:PrincipalArn":{"Fn::GetAtt":["ARole","Arn"]}}}"#),
            (
                ops,
                publishers,
                r#"{"ArnNotEquals":{"aws:PrincipalArn":[{"Fn::GetAtt":["ARole","Arn"]},"arn:aws:iam::123456789012:role/oncall"]}}"#,
            ),
            ("", "topics:\n  t: {}\n", "null"),
            // Another system's publishers, by the IAM path of their roles: one key, `ArnNotLike`.
            (
                "",
                "topics:\n  t: { export: { publish: [b, a] } }\nfunctions:\n  a: { trigger: { schedule: rate(1 day) }, publishes: [t] }\n",
                r#"{"ArnNotLike":{"aws:PrincipalArn":[{"Fn::GetAtt":["ARole","Arn"]},{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/flowform/a/dev/*"},{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/flowform/b/dev/*"}]}}"#,
            ),
        ];
        for (stage, extra, want) in rows {
            let view = lowered(stage, extra);
            let deny = view.topics[0].statements.iter().find(|s| s.sid == "DenyPublishersNotWired").unwrap();
            assert_eq!(condition(deny), *want, "{extra}");
        }
    }
}
