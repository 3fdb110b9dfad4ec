//! Partial batch failures for SQS-triggered functions.
//!
//! A queue handler returns a [`BatchResponse`] and nothing else: there is no error path that
//! could make Lambda retry the whole batch (the pitfall where `batchItemFailures` is ignored
//! because the handler also returned an error). Records are processed one by one; each
//! failure names only its own record.

use crate::Failure;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Serialize;
use std::future::Future;

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

/// Runs `work` on every record; collects the ids of those that failed.
pub async fn each<F, Fut>(event: SqsEvent, mut work: F) -> BatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut out = BatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
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
