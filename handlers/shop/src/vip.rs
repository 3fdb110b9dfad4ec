//! VIP promotion (SQS): a purchase of 100 units or more turns the customer into a VIP in the
//! customer database, and the marketing system is told.
//!
//! The quantity is re-checked (the subscription filter is not trusted alone). The promotion
//! is keyed by purchase id, so a redelivery never repeats it; the marketing call is tracked
//! separately, so a marketing outage retries only the call. The call is made under a claim
//! (`crate::claim`) whose lease outlasts the HTTP client's timeout, so concurrent duplicate
//! deliveries tell marketing once.

use crate::batch::{each, BatchResponse, Budget};
use crate::claim;
use crate::deps::classify;
use crate::events::{unwrap, Envelope, Purchase};
use crate::Failure;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use sqlx::MySqlPool;

pub const VIP_THRESHOLD: i64 = 100;

pub struct Vip {
    pub pool: MySqlPool,
    pub http: reqwest::Client,
    pub marketing_url: String,
    /// How long the claim keeps duplicates off; longer than the HTTP client's timeout.
    pub lease: std::time::Duration,
}

pub async fn handle(s: &Vip, event: SqsEvent, budget: Budget) -> BatchResponse {
    each(event, budget, |r| one(s, r)).await
}

async fn one(s: &Vip, record: SqsMessage) -> Result<(), Failure> {
    let (_env, p): (Envelope, Purchase) = unwrap(record.body.as_deref())?;
    if p.quantity < VIP_THRESHOLD {
        tracing::info!(purchase_id = %p.purchase_id, quantity = p.quantity, "below the VIP threshold; ignored");
        return Ok(());
    }
    if uuid::Uuid::parse_str(&p.purchase_id).is_err() || p.customer.is_empty() || p.customer.len() > 64 {
        return Err(Failure::Permanent(format!("malformed purchase {p:?}")));
    }
    let mut tx = s.pool.begin().await?;
    let first = sqlx::query("INSERT IGNORE INTO vip_promotion (purchase_id, customer_id, quantity) VALUES (?, ?, ?)")
        .bind(&p.purchase_id)
        .bind(&p.customer)
        .bind(p.quantity)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if first {
        sqlx::query(
            "INSERT INTO customer (customer_id, type, purchase_total) VALUES (?, 'vip', ?)
             ON DUPLICATE KEY UPDATE type = 'vip', purchase_total = purchase_total + VALUES(purchase_total)",
        )
        .bind(&p.customer)
        .bind(p.quantity)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let key = format!("marketing-vip:{}", p.purchase_id);
    let Some(holder) = claim::acquire(&s.pool, &key, s.lease).await? else { return Ok(()) };
    let url = format!("{}/api/vip", s.marketing_url.trim_end_matches('/'));
    let body = serde_json::json!({ "customer_id": p.customer, "purchase_id": p.purchase_id, "quantity": p.quantity, "type": "vip" });
    claim::confirm(&s.pool, &holder, s.lease).await?;
    if let Err(f) = classify("marketing system", s.http.post(&url).json(&body).send().await).await {
        claim::release(&s.pool, &holder).await?;
        return Err(f);
    }
    claim::record(&key, || async {
        let mut tx = s.pool.begin().await?;
        sqlx::query("UPDATE vip_promotion SET marketing_notified_at = NOW() WHERE purchase_id = ?")
            .bind(&p.purchase_id)
            .execute(&mut *tx)
            .await?;
        claim::done(&mut *tx, &holder).await?;
        tx.commit().await?;
        Ok(())
    })
    .await?;
    tracing::info!(customer = %p.customer, purchase_id = %p.purchase_id, "customer promoted to VIP; marketing told");
    Ok(())
}
