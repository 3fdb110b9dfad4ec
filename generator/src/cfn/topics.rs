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

pub(super) fn topics(sys: &System) -> Vec<TopicView> {
    let topics: Vec<TopicView> = sys
        .topics
        .iter()
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
            let wired = Wired { principals, ..Wired::default() };
            TopicView {
                policy_id: LogicalId::topic_policy(&t.identity),
                name: t.physical_name(sys),
                fifo: t.fifo,
                content_based_dedup: t.content_based_dedup,
                statements: vec![
                    deny_unwired("DenyPublishersNotWired", &["sns:Publish"], r(&id), wired),
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
        ];
        for (stage, extra, want) in rows {
            let view = lowered(stage, extra);
            let deny = view.topics[0].statements.iter().find(|s| s.sid == "DenyPublishersNotWired").unwrap();
            assert_eq!(condition(deny), *want, "{extra}");
        }
    }
}
