//! Stock request (SQS): out-of-stock event -> one order at the Factory API.
//!
//! The order row is claimed with a lease before the POST, so concurrent or duplicate
//! deliveries of the same event never send two orders; once `ordered`, redeliveries are
//! no-ops. The POST is awaited: a timeout or 5xx fails only this record (retried, then DLQ);
//! a malformed message is permanent.

use crate::batch::{each, BatchResponse};
use crate::deps::classify;
use crate::events::{unwrap, Envelope, OutOfStock};
use crate::{token, Failure};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Serialize;
use sqlx::{MySqlPool, Row};

pub struct StockRequest {
    pub pool: MySqlPool,
    pub http: reqwest::Client,
    /// Base URL of the Factory API.
    pub factory_url: String,
    /// Base URL of this stack's HTTP API (the callback goes to `/factory/callback`).
    pub api_url: String,
    pub callback_key: Vec<u8>,
    /// How long a claim keeps others off the order; longer than the HTTP timeout.
    pub lease_seconds: u64,
}

/// The Factory API's order: six strings, as the legacy API expects.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct FactoryOrder {
    pub message_group_id: String,
    pub message_attribute_product_id: String,
    pub message_attribute_product_cnt: String,
    pub message_attribute_factory_id: String,
    pub message_attribute_requester: String,
    pub callback_url: String,
}

pub async fn handle(s: &StockRequest, event: SqsEvent) -> BatchResponse {
    each(event, |r| one(s, r)).await
}

pub fn callback_url(api_url: &str, key: &[u8], order_id: &str) -> String {
    format!("{}/factory/callback?order={order_id}&token={}", api_url.trim_end_matches('/'), token::sign(key, order_id))
}

async fn one(s: &StockRequest, record: SqsMessage) -> Result<(), Failure> {
    let (_env, ev): (Envelope, OutOfStock) = unwrap(record.body.as_deref())?;
    if uuid::Uuid::parse_str(&ev.order_id).is_err() || ev.count <= 0 {
        return Err(Failure::Permanent(format!("out-of-stock event with bad order id or count: {ev:?}")));
    }
    let claimed = sqlx::query(
        "UPDATE restock_order SET status = 'ordering', claimed_until = NOW() + INTERVAL ? SECOND
         WHERE order_id = ? AND (status = 'requested' OR (status = 'ordering' AND claimed_until < NOW()))",
    )
    .bind(s.lease_seconds)
    .bind(&ev.order_id)
    .execute(&s.pool)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        let status: Option<String> = sqlx::query("SELECT status FROM restock_order WHERE order_id = ?")
            .bind(&ev.order_id)
            .fetch_optional(&s.pool)
            .await?
            .map(|r| r.get("status"));
        return match status.as_deref() {
            None => Err(Failure::Permanent(format!("order {} does not exist", ev.order_id))),
            Some("ordered") | Some("delivered") => {
                tracing::info!(order_id = %ev.order_id, "duplicate delivery: already ordered");
                Ok(())
            }
            Some(other) => Err(Failure::Retryable(format!("order {} is `{other}` by another worker", ev.order_id))),
        };
    }
    let order = FactoryOrder {
        message_group_id: "stock-arrival-group".into(),
        message_attribute_product_id: ev.product_id.clone(),
        message_attribute_product_cnt: ev.count.to_string(),
        message_attribute_factory_id: ev.factory_id.clone(),
        message_attribute_requester: ev.requester.clone(),
        callback_url: callback_url(&s.api_url, &s.callback_key, &ev.order_id),
    };
    let url = format!("{}/api/manufactures", s.factory_url.trim_end_matches('/'));
    match classify("factory order", s.http.post(&url).json(&order).send().await).await {
        Ok(_) => {
            sqlx::query("UPDATE restock_order SET status = 'ordered', ordered_at = NOW(3), claimed_until = NULL WHERE order_id = ? AND status = 'ordering'")
                .bind(&ev.order_id)
                .execute(&s.pool)
                .await?;
            tracing::info!(order_id = %ev.order_id, count = ev.count, "ordered from the factory");
            Ok(())
        }
        Err(f) => {
            // Release the claim so the redelivery can try at once after the visibility timeout.
            sqlx::query("UPDATE restock_order SET status = 'requested', claimed_until = NULL WHERE order_id = ? AND status = 'ordering'")
                .bind(&ev.order_id)
                .execute(&s.pool)
                .await?;
            Err(f)
        }
    }
}
