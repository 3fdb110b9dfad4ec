//! Partial batch failures for SQS-triggered functions.
//!
//! A queue handler returns a [`BatchResponse`] and nothing else: there is no error path that
//! could make Lambda retry the whole batch (the pitfall where `batchItemFailures` is ignored
//! because the handler also returned an error). Records are processed one by one; each
//! failure names only its own record.
//!
//! A [`Budget`] keeps the invocation inside its timeout: a record is started only when the
//! time left can hold the longest a record may take; the rest are reported failed untouched
//! and come back on their own. A Lambda timeout would instead re-run the whole batch,
//! records already done included.

use crate::Failure;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The time an invocation has, and the longest one record may take (its external calls'
/// timeouts plus database time).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Option<Instant>,
    per_record: Duration,
}

impl Budget {
    /// No deadline (tests, tools).
    pub fn unlimited() -> Budget {
        Budget { deadline: None, per_record: Duration::ZERO }
    }

    pub fn new(deadline: Instant, per_record: Duration) -> Budget {
        Budget { deadline: Some(deadline), per_record }
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

/// Runs `work` on every record that fits in `budget`; collects the ids of those that failed
/// or were not started.
pub async fn each<F, Fut>(event: SqsEvent, budget: Budget, mut work: F) -> BatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut out = BatchResponse::default();
    let total = event.records.len();
    for (i, record) in event.records.into_iter().enumerate() {
        let id = record.message_id.clone().unwrap_or_default();
        if !budget.fits_one_more() {
            tracing::warn!(message_id = %id, left = total - i, "time budget: not started, comes back for the next invocation");
            out.batch_item_failures.push(ItemFailure { item_identifier: id });
            continue;
        }
        match work(record).await {
            Ok(()) => {}
            Err(f) => {
                match &f {
                    Failure::Retryable(_) => tracing::warn!(message_id = %id, "record failed, will be retried: {f}"),
                    Failure::Permanent(_) => tracing::error!(message_id = %id, "record failed permanently, goes to the DLQ after maxReceiveCount: {f}"),
                }
                out.batch_item_failures.push(ItemFailure { item_identifier: id });
            }
        }
    }
    out
}
