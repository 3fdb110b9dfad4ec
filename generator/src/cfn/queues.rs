//! SQS queues, their dead-letter queues (with alarms) and their subscriptions to topics.
use super::expr::one_or_many;
use super::expr::{arn, r, sub, Expr, LogicalId};
use super::policy::{deny_insecure_transport, deny_unwired, operators, Meta, Statement, Wired};
use super::topics::topic_arn;
use crate::model::*;
use serde::Serialize;
use serde_json::{json, Value as Json};

#[derive(Serialize, Clone, Debug)]
pub struct QueueView {
    pub id: LogicalId,
    pub policy_id: LogicalId,
    pub name: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub visibility_timeout: u64,
    pub retention: u64,
    pub redrive: Option<Json>,
    pub redrive_allow: Option<Json>,
    pub statements: Vec<Statement>,
    pub policy_queues: Vec<Expr>,
    pub meta: Meta,
    pub alarm: Option<AlarmView>,
    pub options: QueueOptions,
}

/// Settings only a user's queue takes from the config (dead-letter queues keep SQS's defaults).
#[derive(Serialize, Clone, Debug, Default)]
pub struct QueueOptions {
    /// FIFO high throughput: `DeduplicationScope: messageGroup`, `FifoThroughputLimit: perMessageGroupId`.
    pub high_throughput: bool,
    /// `DelaySeconds`, written when not 0.
    pub delay_seconds: u64,
    pub max_message_size: Option<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct AlarmView {
    pub id: LogicalId,
    pub name: String,
    pub description: String,
    pub queue_name: Expr,
    /// Where the alarm notifies: the alarm topic.
    pub action: Expr,
}

#[derive(Serialize, Clone, Debug)]
pub struct SubscriptionView {
    pub id: LogicalId,
    pub topic: Expr,
    pub queue: Expr,
    pub raw: bool,
    pub filter: Option<Json>,
    pub filter_scope: Option<String>,
    pub meta: Meta,
}

pub(super) fn queues(sys: &System) -> (Vec<QueueView>, Vec<SubscriptionView>) {
    let mut queues = Vec::new();
    let mut subscriptions = Vec::new();
    for q in &sys.queues {
        queues.push(queue(sys, q));
        if let Some(d) = &q.dlq {
            queues.push(dead_letter_queue(sys, q, d));
        }
        subscriptions.extend(q.subscriptions.iter().map(|s| subscription(sys, q, s)));
    }
    (queues, subscriptions)
}

fn queue(sys: &System, q: &Queue) -> QueueView {
    let id = LogicalId::queue(&q.identity);
    let meta = queue_meta(sys, q);
    let mut statements = Vec::new();
    let topics: Vec<Expr> = q.subscriptions.iter().map(|s| topic_arn(sys, &s.topic)).collect();
    if !topics.is_empty() {
        statements.push(Statement {
            sid: "SubscribedTopicsSend".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "sns.amazonaws.com" })),
            actions: vec!["sqs:SendMessage".into()],
            resources: arn(&id),
            condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(topics.clone()) } })),
        });
    }
    let wired = Wired { sources: topics, principals: operators(sys), ..Wired::default() };
    statements.push(deny_unwired("DenySendersNotWired", &["sqs:SendMessage"], arn(&id), wired));
    statements.push(deny_insecure_transport(&["sqs:*"], arn(&id)));
    QueueView {
        policy_id: LogicalId::queue_policy(&q.identity),
        name: q.physical_name(sys),
        fifo: q.fifo,
        content_based_dedup: q.content_based_dedup,
        visibility_timeout: q.visibility_timeout,
        retention: q.retention_seconds,
        redrive: q.dlq.as_ref().map(
            |d| json!({ "deadLetterTargetArn": arn(&LogicalId::dlq(&q.identity)), "maxReceiveCount": d.max_receives }),
        ),
        redrive_allow: None,
        statements,
        policy_queues: vec![r(&id)],
        meta,
        alarm: None,
        options: QueueOptions {
            high_throughput: q.high_throughput,
            delay_seconds: q.delay_seconds,
            max_message_size: q.max_message_size,
        },
        id: id.clone(),
    }
}

/// Why the visibility timeout and the redrive are what they are.
fn queue_meta(sys: &System, q: &Queue) -> Meta {
    let consumer = q.consumer.as_ref().and_then(|c| sys.function(c));
    let vt = q.visibility_timeout;
    let vt_why = match (consumer, q.visibility_timeout_set) {
        (Some(f), set) => {
            let floor = format!(
                "{} s = 6 x the {} s timeout of function `{}` + its {} s batching window (AWS guidance), so a message is not redelivered while a retried invocation may still hold it",
                f.visibility_floor(),
                f.timeout,
                f.name,
                f.batch_window()
            );
            if set {
                format!("{vt} s, set by `visibility_timeout`, at least the floor of {floor}")
            } else {
                floor
            }
        }
        (None, true) => format!("{vt} s, set by `visibility_timeout` (no function consumes this queue)"),
        (None, false) => format!("{vt} s, the SQS default: no function consumes this queue"),
    };
    let mut meta = Meta::default().renamed(&q.identity, &q.name).why("VisibilityTimeout", vt_why);
    let dlq = q.dlq.as_ref();
    if let Some(d) = dlq {
        let why = match d.retry_window {
            Some(w) => format!(
                "{} receives: failed records wait {} s, doubling up to {} s, before the next receive (the handlers set it with ChangeMessageVisibility), so the last retry comes {} s after the first receive, covering the {w} s `dlq.retry_window`; then the message moves to the dead-letter queue",
                d.max_receives,
                q.visibility_timeout,
                contracts::retry::MAX_WAIT_SECONDS.max(q.visibility_timeout),
                contracts::retry::elapsed_before(q.visibility_timeout, d.max_receives)
            ),
            None => format!("after {} receives without success a message moves to the dead-letter queue instead of being retried forever", d.max_receives),
        };
        meta = meta.why("RedrivePolicy", why);
    } else {
        meta = meta
            .why("RedrivePolicy", "none: `dlq: false` in the config; failed messages are retried until they expire");
    }
    meta
}

fn dead_letter_queue(sys: &System, q: &Queue, d: &Dlq) -> QueueView {
    let did = LogicalId::dlq(&q.identity);
    QueueView {
        policy_id: LogicalId::dlq_policy(&q.identity),
        name: q.dlq_physical_name(sys),
        options: Default::default(),
        fifo: q.fifo,
        content_based_dedup: q.fifo,
        visibility_timeout: 30,
        retention: d.retention_seconds,
        redrive: None,
        // The source ARN is spelled out: `!GetAtt` would make the queue and its DLQ
        // depend on each other.
        redrive_allow: Some(json!({ "redrivePermission": "byQueue", "sourceQueueArns": [sub(&format!(
            "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{}",
            q.physical_name(sys)
        ))] })),
        statements: vec![
            // SQS moving a failed message here is not a SendMessage of anyone's; if it is ever
            // evaluated, it is for the source queue. Everyone else but the operators is denied.
            deny_unwired(
                "DenySendersNotWired",
                &["sqs:SendMessage"],
                arn(&did),
                Wired { sources: vec![arn(&LogicalId::queue(&q.identity))], principals: operators(sys), ..Wired::default() },
            ),
            deny_insecure_transport(&["sqs:*"], arn(&did)),
        ],
        policy_queues: vec![r(&did)],
        meta: Meta::default().why(
            "MessageRetentionPeriod",
            format!(
                "{} days, longer than the {} days of queue `{}`: a message's age counts from its first enqueue, so a shorter DLQ retention would drop it on arrival",
                d.retention_seconds / 86_400,
                q.retention_seconds / 86_400,
                q.name
            ),
        ),
        alarm: Some(AlarmView {
            id: LogicalId::dlq_alarm(&q.identity),
            name: sys.naming().dlq_alarm(&q.identity),
            description: format!("Messages of queue `{}` failed {} times and wait in its dead-letter queue", q.name, d.max_receives),
            queue_name: Expr::att(&did, "QueueName"),
            action: r(&LogicalId::alarm_topic()),
        }),
        id: did,    }
}

fn subscription(sys: &System, q: &Queue, s: &Subscription) -> SubscriptionView {
    let id = LogicalId::queue(&q.identity);
    let topic = sys.topic(&s.topic);
    let mut meta = Meta::default();
    if !s.raw {
        meta = meta.why(
            "RawMessageDelivery",
            "false: the consumer reads the SNS envelope (message attributes stay inside the body)",
        );
    }
    if topic.is_some_and(|t| t.fifo) && !q.fifo {
        meta = meta
            .why("Ordering", "a FIFO topic delivering to a standard queue: order and deduplication end at the queue");
    }
    SubscriptionView {
        id: LogicalId::subscription(sys.topic_identity(&s.topic), &q.identity),
        topic: topic_arn(sys, &s.topic),
        queue: arn(&id),
        raw: s.raw,
        filter: s.filter.as_ref().map(Expr::text_json),
        filter_scope: s.filter.as_ref().map(|_| match s.filter_scope {
            FilterScope::Attributes => "MessageAttributes".to_string(),
            FilterScope::Body => "MessageBody".to_string(),
        }),
        meta,
    }
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::{condition, lowered};

    #[test]
    fn a_queue_admits_its_topics_and_its_dlq_its_queue() {
        let consumed = "functions:\n  f: { trigger: { queue: q } }\n";
        let rows: &[(&str, &str, &str)] = &[
            (
                "topics:\n  t: {}\nqueues:\n  q: { subscribe: [t] }\n",
                "QQueue",
                r#"{"ArnNotEquals":{"aws:SourceArn":{"Ref":"TTopic"}}}"#,
            ),
            ("queues:\n  q: {}\n", "QQueue", "null"),
            (
                "queues:\n  q: {}\n",
                "QDeadLetterQueue",
                r#"{"ArnNotEquals":{"aws:SourceArn":{"Fn::GetAtt":["QQueue","Arn"]}}}"#,
            ),
        ];
        for (extra, id, want) in rows {
            let view = lowered("", &format!("{extra}{consumed}"));
            let q = view.queues.iter().find(|q| q.id.as_str() == *id).unwrap();
            let deny = q.statements.iter().find(|s| s.sid == "DenySendersNotWired").unwrap();
            assert_eq!(condition(deny), *want, "{extra}");
        }
    }
}
