//! Stock request (SQS): out-of-stock event -> an order at the Factory API.
//!
//! The order row is claimed with a lease before the POST, so concurrent or duplicate
//! deliveries of the same event never send at the same time; once `ordered`, redeliveries are
//! no-ops. The quantity comes from the order row (the product's restock policy), never from
//! the message. Each send is an attempt with its own id in the signed callback URL: after an
//! ambiguous failure (timeout, 5xx: the factory may have accepted) the claim is released and
//! the retry sends a new attempt, and every production the factory confirms is counted once
//! (`stock_arrival`). A malformed message is permanent.

use crate::batch::{each, BatchResponse, Budget};
use crate::deps::classify;
use crate::events::{unwrap, Envelope, OutOfStock};
use crate::{claim, token, Failure};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use sqlx::{MySqlPool, Row};

pub struct StockRequest {
    pub pool: MySqlPool,
    pub http: reqwest::Client,
    /// Base URL of the Factory API.
    pub factory_url: String,
    /// Base URL of this stack's HTTP API (the callback goes to `/factory/callback`).
    pub api_url: String,
    pub callback_key: Vec<u8>,
    /// How long a claim keeps others off the order; longer than the HTTP client's timeout.
    pub lease_seconds: u64,
}

pub use contracts::wire::FactoryOrder;

pub async fn handle(s: &StockRequest, event: SqsEvent, budget: Budget) -> BatchResponse {
    each(event, budget, |r| one(s, r)).await
}

pub fn callback_url(api_url: &str, key: &[u8], order_id: &str, attempt_id: &str) -> String {
    format!(
        "{}/factory/callback?order={order_id}&attempt={attempt_id}&token={}",
        api_url.trim_end_matches('/'),
        token::sign(key, order_id, attempt_id)
    )
}

/// This caller's claim on an order: the token in `restock_order.claim_token`.
struct OrderClaim {
    quantity: i32,
    token: String,
}

/// Claims the order for one send; `Ok(Some(..))` when this caller holds the claim.
async fn claim(s: &StockRequest, order_id: &str) -> Result<Option<OrderClaim>, Failure> {
    let token = uuid::Uuid::new_v4().to_string();
    let claimed = sqlx::query(
        "UPDATE restock_order SET status = 'ordering', claim_token = ?, claimed_until = NOW() + INTERVAL ? SECOND, attempts = attempts + 1
         WHERE order_id = ? AND (status = 'requested' OR (status = 'ordering' AND claimed_until < NOW()))",
    )
    .bind(&token)
    .bind(s.lease_seconds)
    .bind(order_id)
    .execute(&s.pool)
    .await?
    .rows_affected()
        == 1;
    let row = sqlx::query("SELECT status, quantity FROM restock_order WHERE order_id = ?")
        .bind(order_id)
        .fetch_optional(&s.pool)
        .await?;
    let Some(row) = row else {
        return Err(Failure::Permanent(format!("order {order_id} does not exist")));
    };
    if claimed {
        return Ok(Some(OrderClaim { quantity: row.get("quantity"), token }));
    }
    match row.get::<&str, _>("status") {
        "ordered" | "delivered" => {
            tracing::info!(order_id, "duplicate delivery: already ordered");
            Ok(None)
        }
        "refused" => {
            tracing::warn!(order_id, "the factory refused this order; the reconciler asks again after its deadline");
            Ok(None)
        }
        other => Err(Failure::Retryable(format!("order {order_id} is `{other}` by another worker"))),
    }
}

/// Renews the claim right before the POST: fails when the lease ran out while this caller
/// waited (on the database, say) and another caller took the order.
async fn confirm(s: &StockRequest, order_id: &str, c: &OrderClaim) -> Result<(), Failure> {
    let renewed = sqlx::query("UPDATE restock_order SET claimed_until = NOW() + INTERVAL ? SECOND WHERE order_id = ? AND status = 'ordering' AND claim_token = ?")
        .bind(s.lease_seconds)
        .bind(order_id)
        .bind(&c.token)
        .execute(&s.pool)
        .await?
        .rows_affected();
    if renewed == 1 {
        Ok(())
    } else {
        Err(Failure::Retryable(format!("lost the claim on order {order_id} before sending it")))
    }
}

async fn one(s: &StockRequest, record: SqsMessage) -> Result<(), Failure> {
    let (_env, ev): (Envelope, OutOfStock) = unwrap(record.body.as_deref())?;
    if uuid::Uuid::parse_str(&ev.order_id).is_err() {
        return Err(Failure::Permanent(format!("out-of-stock event with a bad order id: {ev:?}")));
    }
    let Some(c) = claim(s, &ev.order_id).await? else { return Ok(()) };
    let attempt_id = uuid::Uuid::new_v4().to_string();
    sqlx::query("INSERT INTO factory_attempt (attempt_id, order_id, outcome) VALUES (?, ?, 'sending')")
        .bind(&attempt_id)
        .bind(&ev.order_id)
        .execute(&s.pool)
        .await?;
    let order = FactoryOrder {
        message_group_id: "stock-arrival-group".into(),
        message_attribute_product_id: ev.product_id.clone(),
        message_attribute_product_cnt: c.quantity.to_string(),
        message_attribute_factory_id: ev.factory_id.clone(),
        message_attribute_requester: ev.requester.clone(),
        callback_url: callback_url(&s.api_url, &s.callback_key, &ev.order_id, &attempt_id),
    };
    confirm(s, &ev.order_id, &c).await?;
    let url = format!("{}/api/manufactures", s.factory_url.trim_end_matches('/'));
    let sent = classify("factory order", s.http.post(&url).json(&order).send().await).await;
    // The order's state first (it decides what happens next), then the attempt's bookkeeping.
    let (next, outcome) = match &sent {
        Ok(_) => ("ordered", "accepted"),
        // Released: the redelivery sends a new attempt. After an ambiguous failure the factory
        // may still produce this attempt: its callback is counted all the same.
        Err(Failure::Retryable(_)) => ("requested", "ambiguous"),
        // Not sent again by redeliveries; the reconciler asks again after the deadline and
        // counts the re-asks (three make the order `stuck`, which raises an alarm).
        Err(Failure::Permanent(_)) => ("refused", "refused"),
    };
    claim::record(&ev.order_id, || async {
        // The callback may have come already (status `delivered`): then this changes nothing.
        sqlx::query(
            "UPDATE restock_order o JOIN product p ON p.product_id = o.product_id
             SET o.status = ?, o.ordered_at = IF(? = 'ordered', NOW(3), o.ordered_at), o.claimed_until = NULL, o.claim_token = NULL,
                 o.due_at = IF(? = 'ordered', NOW(3) + INTERVAL p.restock_deadline_seconds SECOND, o.due_at)
             WHERE o.order_id = ? AND o.status = 'ordering' AND o.claim_token = ?",
        )
        .bind(next)
        .bind(next)
        .bind(next)
        .bind(&ev.order_id)
        .bind(&c.token)
        .execute(&s.pool)
        .await?;
        Ok(())
    })
    .await?;
    claim::record(&attempt_id, || async {
        sqlx::query("UPDATE factory_attempt SET outcome = ? WHERE attempt_id = ?")
            .bind(outcome)
            .bind(&attempt_id)
            .execute(&s.pool)
            .await?;
        Ok(())
    })
    .await?;
    if sent.is_ok() {
        tracing::info!(order_id = %ev.order_id, attempt_id, quantity = c.quantity, "ordered from the factory");
    }
    sent.map(|_| ())
}
