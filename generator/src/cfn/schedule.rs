//! Scheduled functions: the EventBridge rule, the invoke config (Lambda's retries) and the
//! function's own dead-letter queue.
use super::expr::{arn, r, sub, Expr, LogicalId};
use super::policy::{deny_insecure_transport, deny_unwired, operators, Meta, Statement, Wired};
use super::queues::{AlarmView, QueueView};
use super::EVENTBRIDGE_MAX_RETRY_ATTEMPTS;
use crate::model::*;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, Clone, Debug)]
pub struct ScheduleView {
    pub rule_id: LogicalId,
    pub rule_name: String,
    pub rule_description: String,
    /// Resources that must exist before the rule fires for the first time.
    pub rule_depends_on: Vec<LogicalId>,
    pub rule_meta: Meta,
    pub expression: String,
    pub target_id: String,
    /// EventBridge's delivery retries (RetryPolicy.MaximumRetryAttempts).
    pub delivery_attempts: u64,
    pub max_event_age: u64,
    pub invoke_config_id: LogicalId,
    pub invoke_config_meta: Meta,
    pub retries: u64,
    pub dlq: QueueView,
}

/// ARN of a scheduled function's rule, spelled out from its deterministic name: the key
/// policy and the rule's own dependencies (permission, DLQ policy) cannot reference the rule.
pub fn schedule_rule_arn(sys: &System, f: &Function) -> Expr {
    sub(&format!(
        "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}",
        sys.naming().schedule_rule(&f.identity)
    ))
}

/// "after 2 retries", "after 1 retry", "with no retry".
pub fn retry_words(n: u64) -> String {
    match n {
        0 => "with no retry".into(),
        1 => "after 1 retry".into(),
        n => format!("after {n} retries"),
    }
}

/// The EventBridge rule that invokes a scheduled function, its invoke config (Lambda's
/// retries) and its dead-letter queue, which collects both the runs Lambda gave up on and the
/// events EventBridge could not deliver.
pub(super) fn lower_schedule(
    sys: &System,
    f: &Function,
    expression: &str,
    retries: u64,
    max_event_age: u64,
) -> ScheduleView {
    let rule_id = LogicalId::schedule_rule(&f.identity);
    let invoke_config_id = LogicalId::event_invoke_config(&f.identity);
    let permission_id = LogicalId::schedule_permission(&f.identity);
    let dlq = schedule_dlq(sys, f, retries, max_event_age);
    let rule_meta = Meta::default()
        .why(
            "RetryPolicy",
            format!(
                "EventBridge retries handing a run to Lambda (throttling, service errors) with backoff until the event is {max_event_age} s old (`max_event_age`), then puts it in the dead-letter queue. MaximumRetryAttempts is EventBridge's maximum, {EVENTBRIDGE_MAX_RETRY_ATTEMPTS}: its backoff spreads those over about 24 h, so the age always ends the retries first and one config value bounds both EventBridge and Lambda"
            ),
        )
        .why(
            "DependsOn",
            "the permission, the invoke config and the dead-letter queue's policy exist before the first run is due; they name this rule by its spelled-out ARN, so depending on them makes no cycle",
        );
    ScheduleView {
        rule_name: sys.naming().schedule_rule(&f.identity),
        rule_description: format!("Runs function {} of {} on {expression}{}", f.name, sys.prefix(), if expression.starts_with("cron(") { " (UTC)" } else { "" }),
        rule_depends_on: {
            let mut d = vec![dlq.policy_id.clone(), invoke_config_id.clone(), permission_id];
            d.sort();
            d
        },
        rule_meta,
        expression: expression.to_string(),
        target_id: sys.naming().schedule_rule(&f.identity),
        delivery_attempts: EVENTBRIDGE_MAX_RETRY_ATTEMPTS,
        max_event_age,
        invoke_config_meta: Meta::default()
            .why(
                "MaximumRetryAttempts",
                match retries {
                    0 => "0 (`retries`): Lambda does not run a failed scheduled run again; the event goes straight to the function's dead-letter queue".to_string(),
                    n => format!("{n} (`retries`): Lambda runs a failed scheduled run again up to {n} more time{}, then sends the event to the function's dead-letter queue", if n == 1 { "" } else { "s" }),
                },
            )
            .why("MaximumEventAgeInSeconds", format!("{max_event_age} s (`max_event_age`): a run still waiting (throttled, or between retries) after that goes to the dead-letter queue instead")),
        invoke_config_id,
        retries,
        rule_id,
        dlq,
    }
}

/// The function's own dead-letter queue: failed runs (Lambda) and undelivered events
/// (EventBridge) land here, alarmed; no queue may redrive into it.
fn schedule_dlq(sys: &System, f: &Function, retries: u64, max_event_age: u64) -> QueueView {
    let dlq_id = LogicalId::dlq(&f.identity);
    QueueView {
        policy_id: LogicalId::dlq_policy(&f.identity),
        name: f.dlq_physical_name(sys),
        options: Default::default(),
        fifo: false,
        content_based_dedup: false,
        visibility_timeout: 30,
        retention: crate::validate::DEFAULT_DLQ_RETENTION_DAYS * 86_400,
        redrive: None,
        redrive_allow: Some(json!({ "redrivePermission": "denyAll" })),
        statements: vec![
            Statement {
                sid: "ScheduleRuleSendsUndeliveredEvents".into(),
                effect: "Allow",
                principal: Some(json!({ "Service": "events.amazonaws.com" })),
                actions: vec!["sqs:SendMessage".into()],
                resources: arn(&dlq_id),
                condition: Some(json!({ "ArnEquals": { "aws:SourceArn": schedule_rule_arn(sys, f) } })),
            },
            deny_unwired(
                "DenySendersNotWired",
                &["sqs:SendMessage"],
                arn(&dlq_id),
                Wired {
                    sources: vec![schedule_rule_arn(sys, f)],
                    principals: [Expr::arn(&LogicalId::role(&f.identity))].into_iter().chain(operators(sys)).collect(),
                    ..Wired::default()
                },
            ),
            deny_insecure_transport(&["sqs:*"], arn(&dlq_id)),
        ],
        policy_queues: vec![r(&dlq_id)],
        meta: Meta::default()
            .why(
                "MessageRetentionPeriod",
                format!("{} days, the SQS maximum: failed scheduled runs of function `{}` wait here to be looked at", crate::validate::DEFAULT_DLQ_RETENTION_DAYS, f.name),
            )
            .why("RedriveAllowPolicy", format!("denyAll: this queue collects the failed runs of function `{}`; no queue may make it its dead-letter queue", f.name)),
        alarm: Some(AlarmView {
            id: LogicalId::dlq_alarm(&f.identity),
            name: sys.naming().dlq_alarm(&f.identity),
            description: format!(
                "Scheduled runs of function `{}` failed ({}, or older than {max_event_age} s) and wait in its dead-letter queue",
                f.name,
                retry_words(retries)
            ),
            queue_name: Expr::att(&dlq_id, "QueueName"),
                    action: r(&LogicalId::alarm_topic()),
        }),
        id: dlq_id,
    }
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::lowered;

    #[test]
    fn a_schedule_becomes_a_rule_with_its_expression_and_retries() {
        let rows: &[(&str, &str, u64)] = &[
            ("rate(5 minutes)", "rate(5 minutes)", crate::schema::DEFAULT_SCHEDULE_RETRIES),
            ("cron(0 3 * * ? *)", "cron(0 3 * * ? *)", crate::schema::DEFAULT_SCHEDULE_RETRIES),
        ];
        for (expression, want, retries) in rows {
            let view = lowered("", &format!("functions:\n  nightly: {{ trigger: {{ schedule: {expression} }} }}\n"));
            let s = view.functions[0].schedule.as_ref().unwrap();
            assert_eq!((s.expression.as_str(), s.rule_name.as_str(), s.retries), (*want, "shop-dev-nightly", *retries));
            assert_eq!(
                (s.dlq.id.as_str(), s.dlq.name.as_str()),
                ("NightlyDeadLetterQueue", "shop-dev-nightly-dlq"),
                "its own DLQ"
            );
        }
    }
}
