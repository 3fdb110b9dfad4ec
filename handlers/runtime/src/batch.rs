//! Partial batch failures for SQS-triggered functions.
//!
//! A queue handler returns a [`BatchResponse`] and nothing else: there is no error path that
//! could make Lambda retry the whole batch (the pitfall where `batchItemFailures` is ignored
//! because the handler also returned an error). Records are processed one by one; each
//! failure names only its own record.
//!
//! On a FIFO queue the first failure ends the batch: it and every record after it are
//! reported failed and come back in order (AWS's rule for FIFO partial batch responses).
//!
//! A [`Budget`] keeps the invocation inside its timeout: a record is started only when the
//! time left can hold the longest a record may take; the rest are reported failed untouched
//! and come back on their own. A Lambda timeout would instead re-run the whole batch,
//! records already done included.
//!
//! With a [`Backoff`], a record that failed and is worth retrying waits longer after each
//! receive (`contracts::retry`: doubling from the queue's visibility timeout up to 15 min),
//! set with `ChangeMessageVisibility` before the batch response hands it back; the generator
//! sized `maxReceiveCount` for the config's `dlq.retry_window` with the same schedule, so an
//! outage of that length moves nothing to the DLQ.

use crate::Failure;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The time an invocation has, the longest one record may take (its external calls'
/// timeouts plus database time), and how failed records wait before their next try.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Option<Instant>,
    per_record: Duration,
    backoff: Option<Backoff>,
}

/// Exponential waits between receives of a failing record.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub sqs: aws_sdk_sqs::Client,
    /// The first wait: the queue's visibility timeout (`FLOWFORM_RETRY_BASE_SECONDS`).
    pub base_seconds: u64,
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>` from a queue ARN (the form
/// CloudFormation's `Ref` gives; SQS accepts it with any endpoint).
pub fn queue_url(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "sqs", region, account, name] = parts.as_slice() else { return None };
    let domain = if *partition == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

impl Backoff {
    /// For the function's bound queue (`Wiring.queue`): the base is its visibility timeout; an
    /// SQS client whose calls are bounded (a slow SQS must not eat the invocation's time).
    pub fn for_queue(aws: &aws_config::SdkConfig, queue: &crate::bind::Consumed) -> Backoff {
        Backoff {
            sqs: aws_sdk_sqs::Client::new(&crate::deps::bounded(aws, Duration::from_secs(2))),
            base_seconds: queue.retry_base_seconds,
        }
    }

    /// Makes the failed `record` wait before its next receive; a failure to do so leaves the
    /// queue's visibility timeout in force (logged, not fatal).
    async fn hold(&self, arn: Option<&str>, receipt: Option<&str>, receive_count: u64) {
        let (Some(url), Some(receipt)) = (arn.and_then(queue_url), receipt) else { return };
        let wait = contracts::retry::wait(self.base_seconds, receive_count);
        let r = self
            .sqs
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(receipt)
            .visibility_timeout(wait as i32)
            .send()
            .await;
        if let Err(e) = r {
            tracing::warn!(queue = %url, "could not delay the retry by {wait} s: {}", aws_sdk_sqs::error::DisplayErrorContext(e));
        }
    }
}

impl Budget {
    /// No deadline (tests, tools).
    pub fn unlimited() -> Budget {
        Budget { deadline: None, per_record: Duration::ZERO, backoff: None }
    }

    pub fn new(deadline: Instant, per_record: Duration) -> Budget {
        Budget { deadline: Some(deadline), per_record, backoff: None }
    }

    pub fn with_backoff(self, backoff: Backoff) -> Budget {
        Budget { backoff: Some(backoff), ..self }
    }

    /// From the Lambda context's deadline (milliseconds since the Unix epoch).
    pub fn from_lambda(deadline_ms: u64, per_record: Duration) -> Budget {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Budget::new(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)), per_record)
    }

    /// Whether the time left can hold one more unit of work.
    pub fn fits_one_more(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() + self.per_record <= d)
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

/// Which receive of its message this record is (1 for the first).
fn receive_count(record: &SqsMessage) -> u64 {
    record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1)
}

/// Runs `work` on every record that fits in `budget`; collects the ids of those that failed
/// or were not started.
pub async fn each<F, Fut>(event: SqsEvent, budget: Budget, mut work: F) -> BatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut out = BatchResponse::default();
    let total = event.records.len();
    // A FIFO queue's order holds only if nothing after a failed record is done: AWS asks for
    // the first failure and every record after it.
    let fifo = event.records.first().and_then(|r| r.event_source_arn.as_deref()).is_some_and(|a| a.ends_with(".fifo"));
    let mut stopped = false;
    for (i, record) in event.records.into_iter().enumerate() {
        let id = record.message_id.clone().unwrap_or_default();
        if stopped {
            out.batch_item_failures.push(ItemFailure { item_identifier: id });
            continue;
        }
        if !budget.fits_one_more() {
            stopped = fifo;
            tracing::warn!(message_id = %id, left = total - i, "time budget: not started, comes back for the next invocation");
            // Held like a failure: when records run out of time because a dependency is slow,
            // coming back at once would burn receives as fast as failures would.
            if let Some(b) = &budget.backoff {
                b.hold(record.event_source_arn.as_deref(), record.receipt_handle.as_deref(), receive_count(&record))
                    .await;
            }
            out.batch_item_failures.push(ItemFailure { item_identifier: id });
            continue;
        }
        let arn = record.event_source_arn.clone();
        let receipt = record.receipt_handle.clone();
        let receives = receive_count(&record);
        match work(record).await {
            Ok(()) => {}
            Err(f) => {
                stopped = fifo;
                if let (Some(b), true) = (&budget.backoff, f.is_retryable()) {
                    b.hold(arn.as_deref(), receipt.as_deref(), receives).await;
                }
                match &f {
                    Failure::Retryable(_) => tracing::warn!(message_id = %id, "record failed, will be retried: {f}"),
                    Failure::Permanent(_) => {
                        tracing::error!(message_id = %id, "record failed permanently, goes to the DLQ after maxReceiveCount: {f}")
                    }
                }
                out.batch_item_failures.push(ItemFailure { item_identifier: id });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(arn: &str, n: usize) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = (0..n)
            .map(|i| {
                let mut m = SqsMessage::default();
                m.message_id = Some(format!("m{i}"));
                m.event_source_arn = Some(arn.to_string());
                m
            })
            .collect();
        e
    }

    /// A failure in the middle: a standard queue goes on with the rest, a FIFO queue does
    /// nothing after it and hands back the failed record and all later ones, in order.
    #[tokio::test]
    async fn a_fifo_batch_stops_at_its_first_failure() {
        for (arn, want_done, want_failed) in [
            ("arn:aws:sqs:us-east-1:1:q", vec!["m0", "m2"], vec!["m1"]),
            ("arn:aws:sqs:us-east-1:1:q.fifo", vec!["m0"], vec!["m1", "m2"]),
        ] {
            let done = std::sync::Mutex::new(Vec::new());
            let out = each(event(arn, 3), Budget::unlimited(), |m| {
                let id = m.message_id.unwrap_or_default();
                let done = &done;
                async move {
                    if id == "m1" {
                        return Err(Failure::Retryable("down".into()));
                    }
                    done.lock().unwrap().push(id);
                    Ok(())
                }
            })
            .await;
            assert_eq!(*done.lock().unwrap(), want_done, "{arn}");
            let failed: Vec<&str> = out.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
            assert_eq!(failed, want_failed, "{arn}");
        }
    }

    #[test]
    fn queue_urls_from_arns() {
        assert_eq!(
            queue_url("arn:aws:sqs:ap-northeast-2:123456789012:donut-shop-dev-vip").as_deref(),
            Some("https://sqs.ap-northeast-2.amazonaws.com/123456789012/donut-shop-dev-vip")
        );
        assert_eq!(
            queue_url("arn:aws-cn:sqs:cn-north-1:1:q.fifo").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/1/q.fifo")
        );
        assert_eq!(queue_url("arn:aws:sns:ap-northeast-2:1:topic"), None);
        assert_eq!(queue_url("garbage"), None);
    }
}
