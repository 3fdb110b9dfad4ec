//! The stack's customer-managed KMS key and its policy.
use super::expr::one_or_many;
use super::expr::{sub, Expr, LogicalId};
use super::policy::{Meta, Statement};
use super::schedule::schedule_rule_arn;
use crate::model::*;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, Clone, Debug)]
pub struct KeyView {
    pub id: LogicalId,
    pub alias_id: LogicalId,
    pub alias: String,
    pub description: String,
    pub statements: Vec<Statement>,
    pub meta: Meta,
}

pub(super) fn key(sys: &System, scheduled: &[&Function], has_dlq: bool) -> KeyView {
    let naming = sys.naming();
    let prefix = naming.prefix();
    // The customer key: encrypts topics, queues, logs, env vars and generated secrets.
    // Topic ARNs are spelled out (not `!Ref`): the topics are encrypted with this key, so a
    // reference would make key and topics depend on each other.
    let delivering: Vec<Expr> = sys
        .delivering_topics()
        .iter()
        .map(|t| {
            sub(&format!("arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{}", t.physical_name(sys)))
        })
        .collect();
    let mut key_statements = vec![Statement {
        sid: "AccountAdministersKeyThroughIam".into(),
        effect: "Allow",
        principal: Some(json!({ "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") })),
        actions: vec!["kms:*".into()],
        resources: Expr::lit("*"),
        condition: None,
    }];
    if !delivering.is_empty() {
        key_statements.push(Statement {
            sid: "SnsEncryptsForSubscribedQueues".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "sns.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: Expr::lit("*"),
            condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(delivering.clone()) } })),
        });
    }
    if !scheduled.is_empty() {
        key_statements.push(Statement {
            sid: "EventBridgeEncryptsForScheduleDeadLetterQueues".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "events.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: Expr::lit("*"),
            condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(scheduled.iter().map(|f| schedule_rule_arn(sys, f)).collect()) } })),
        });
    }
    if has_dlq {
        key_statements.push(Statement {
            sid: "CloudWatchAlarmsPublishToAlarmTopic".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "cloudwatch.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: Expr::lit("*"),
            condition: Some(json!({ "ArnLike": { "aws:SourceArn": sub(&format!("arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{}", naming.wildcard())) } })),
        });
    }
    key_statements.push(Statement {
        sid: "CloudWatchLogsEncryptsStackLogGroups".into(),
        effect: "Allow",
        principal: Some(json!({ "Service": sub("logs.${AWS::Region}.amazonaws.com") })),
        actions: vec!["kms:Decrypt*".into(), "kms:Describe*".into(), "kms:Encrypt*".into(), "kms:GenerateDataKey*".into(), "kms:ReEncrypt*".into()],
        resources: Expr::lit("*"),
        condition: Some(json!({ "ArnLike": { "kms:EncryptionContext:aws:logs:arn": [
            sub(&format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{}", naming.lambda_log_group("*"))),
            sub(&format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{}", naming.http_log_group()))
        ] } })),
    });
    let mut key_why = String::from("A customer key, because SNS cannot deliver to queues encrypted with the AWS-managed SQS key. Function roles get kms grants in IAM (the root statement enables that); naming them here would make the key and the roles depend on each other.");
    if !scheduled.is_empty() {
        key_why.push_str(" EventBridge may encrypt only for the schedule rules, whose ARNs are spelled out: the rules reference the dead-letter queues this key encrypts.");
    }
    let key = KeyView {
        id: LogicalId::key(),
        alias_id: LogicalId::key_alias(),
        alias: naming.key_alias(),
        description: format!("{prefix}: encrypts topics, queues, logs, env vars and secrets"),
        statements: key_statements,
        meta: Meta::default().why("KeyPolicy", key_why),
    };
    key
}
