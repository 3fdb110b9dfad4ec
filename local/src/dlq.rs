//! Dead-letter queues of a stage: list them with their depth, peek at messages without taking
//! them, and redrive them to their source queue. Redrive asks SQS's StartMessageMoveTask where
//! the service has it (AWS); where it does not (moto), it does the same by hand: receive, send
//! to the source with the same body and attributes (and FIFO group), delete, until the DLQ is
//! empty or the count to move is reached.

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use generator::cfn::{self, LogicalId};
use generator::model::System;

/// A queue with a dead-letter queue, by physical name.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// The config's name of the queue.
    pub queue: String,
    pub source: String,
    pub dlq: String,
    pub fifo: bool,
}

/// Every queue of the stage that has a DLQ (scheduled functions' DLQs have no source queue
/// to go back to: failed runs are retried by running the function, not by redrive).
pub fn pairs(sys: &System) -> Vec<Pair> {
    let view = cfn::lower(sys);
    let name = |id: LogicalId| view.queues.iter().find(|q| q.id == id).map(|q| q.name.clone());
    sys.queues
        .iter()
        .filter(|q| q.dlq.is_some())
        .filter_map(|q| {
            Some(Pair {
                queue: q.name.clone(),
                source: name(LogicalId::queue(&q.identity))?,
                dlq: name(LogicalId::dlq(&q.identity))?,
                fifo: q.fifo,
            })
        })
        .collect()
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

async fn url(sqs: &Client, name: &str) -> Result<String, String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| format!("queue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| format!("queue {name}: no URL"))
}

/// Messages in a queue (visible and in flight).
pub async fn depth(sqs: &Client, name: &str) -> Result<i64, String> {
    let u = url(sqs, name).await?;
    let r = sqs
        .get_queue_attributes()
        .queue_url(&u)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| format!("queue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let attrs = r.attributes.unwrap_or_default();
    let n = |a: QueueAttributeName| attrs.get(&a).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    Ok(n(QueueAttributeName::ApproximateNumberOfMessages)
        + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
}

/// A message seen in a DLQ, left where it is.
#[derive(Debug)]
pub struct Peeked {
    pub id: String,
    pub receives: String,
    pub body: String,
}

/// Up to `max` messages of a DLQ, made visible again at once (visibility timeout 0).
pub async fn peek(sqs: &Client, dlq: &str, max: i32) -> Result<Vec<Peeked>, String> {
    let u = url(sqs, dlq).await?;
    let r = sqs
        .receive_message()
        .queue_url(&u)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .map_err(|e| format!("peek {dlq}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(r.messages()
        .iter()
        .map(|m| Peeked {
            id: m.message_id().unwrap_or_default().to_string(),
            receives: m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_default(),
            body: m.body().unwrap_or_default().to_string(),
        })
        .collect())
}

/// What a redrive did.
#[derive(Debug, PartialEq)]
pub struct Moved {
    pub before: i64,
    pub moved: i64,
    pub after: i64,
    /// `StartMessageMoveTask`, or `receive, send, delete` where the service lacks it.
    pub how: &'static str,
}

/// Moves the DLQ's messages back to its source queue (all of them, or `max`); `dry_run`
/// only counts.
pub async fn redrive(sqs: &Client, pair: &Pair, max: Option<i64>, dry_run: bool) -> Result<Moved, String> {
    let before = depth(sqs, &pair.dlq).await?;
    if dry_run || before == 0 {
        return Ok(Moved { before, moved: 0, after: before, how: "nothing moved" });
    }
    let (dlq_url, source_url) = (url(sqs, &pair.dlq).await?, url(sqs, &pair.source).await?);
    let arn = |u: &str| {
        let sqs = sqs.clone();
        let u = u.to_string();
        async move {
            let r = sqs
                .get_queue_attributes()
                .queue_url(&u)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| format!("{u}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            r.attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .ok_or_else(|| format!("{u}: no ARN"))
        }
    };
    let dlq_arn = arn(&dlq_url).await?;
    let mut task = sqs.start_message_move_task().source_arn(&dlq_arn).destination_arn(arn(&source_url).await?);
    if let Some(m) = max {
        task = task.max_number_of_messages_per_second(m.clamp(1, 500) as i32);
    }
    match task.send().await {
        Ok(_) => {
            // The task runs in the service; wait for the DLQ to drain (bounded).
            for _ in 0..120 {
                if depth(sqs, &pair.dlq).await? == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            let after = depth(sqs, &pair.dlq).await?;
            if after > 0 {
                // The task sends as its caller: a queue policy's deny shows up here, not
                // in the answer to StartMessageMoveTask.
                let tasks = sqs.list_message_move_tasks().source_arn(&dlq_arn).max_results(1).send().await;
                if let Some(t) = tasks.ok().and_then(|t| t.results.and_then(|r| r.into_iter().next())) {
                    if t.status() == Some("FAILED") {
                        return Err(format!(
                            "redrive {}: the move task failed: {}{}",
                            pair.dlq,
                            t.failure_reason().unwrap_or("no reason given"),
                            OPERATOR_HINT
                        ));
                    }
                }
            }
            Ok(Moved { before, moved: before - after, after, how: "StartMessageMoveTask" })
        }
        Err(e) if missing_api(&e) => by_hand(sqs, pair, (&dlq_url, &source_url), before, max).await,
        Err(e) => Err(format!("redrive {}: {}{}", pair.dlq, aws_sdk_sqs::error::DisplayErrorContext(&e), hint(&e))),
    }
}

/// What to do when the stack's queue policy denies the sender.
const OPERATOR_HINT: &str = "\nhelp: the stack's queue policies deny sending to anyone the config does not wire; \
     a redrive sends as you, so add your role's ARN to `stages.<stage>.operators` and deploy";

fn hint<E: aws_sdk_sqs::error::ProvideErrorMetadata>(e: &aws_sdk_sqs::error::SdkError<E>) -> &'static str {
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
    if code.contains("AccessDenied") {
        OPERATOR_HINT
    } else {
        ""
    }
}

/// The service does not implement StartMessageMoveTask (moto answers with an unknown action).
fn missing_api<E: aws_sdk_sqs::error::ProvideErrorMetadata>(e: &aws_sdk_sqs::error::SdkError<E>) -> bool {
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
    code.is_empty()
        || code.contains("InvalidAction")
        || code.contains("NotImplemented")
        || code.contains("UnknownOperation")
}

async fn by_hand(
    sqs: &Client,
    pair: &Pair,
    (dlq_url, source_url): (&str, &str),
    before: i64,
    max: Option<i64>,
) -> Result<Moved, String> {
    let limit = max.unwrap_or(before).min(before);
    let mut moved = 0;
    // Each pass receives up to 10; a bounded number of empty passes ends it.
    let mut empty = 0;
    while moved < limit && empty < 3 {
        let r = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages((limit - moved).clamp(1, 10) as i32)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::MessageDeduplicationId)
            .send()
            .await
            .map_err(err("receive"))?;
        if r.messages().is_empty() {
            empty += 1;
            continue;
        }
        for m in r.messages() {
            let mut send = sqs.send_message().queue_url(source_url).message_body(m.body().unwrap_or_default());
            for (k, v) in m.message_attributes().into_iter().flatten() {
                let value = MessageAttributeValue::builder()
                    .data_type(v.data_type())
                    .set_string_value(v.string_value().map(String::from))
                    .set_binary_value(v.binary_value().cloned())
                    .build()
                    .map_err(err("message attribute"))?;
                send = send.message_attributes(k, value);
            }
            if pair.fifo {
                let system = m.attributes();
                let get = |a: MessageSystemAttributeName| system.and_then(|s| s.get(&a)).cloned();
                send = send
                    .set_message_group_id(get(MessageSystemAttributeName::MessageGroupId))
                    .message_deduplication_id(
                        get(MessageSystemAttributeName::MessageDeduplicationId)
                            .unwrap_or_else(|| m.message_id().unwrap_or_default().to_string()),
                    );
            }
            // Sent before it is deleted: a crash in between leaves a copy, never a loss
            // (the handlers take each message's effect once).
            send.send().await.map_err(|e| {
                format!("send to {}: {}{}", pair.source, aws_sdk_sqs::error::DisplayErrorContext(&e), hint(&e))
            })?;
            sqs.delete_message()
                .queue_url(dlq_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(|e| format!("delete from {}: {}", pair.dlq, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            moved += 1;
        }
    }
    let after = depth(sqs, &pair.dlq).await?;
    Ok(Moved { before, moved, after, how: "receive, send, delete (the service has no StartMessageMoveTask)" })
}
