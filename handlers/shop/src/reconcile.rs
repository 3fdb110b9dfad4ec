//! Restock reconciliation (a scheduled function): no restock cycle stays open silently.
//!
//! An order whose deadline (`due_at`: the product's `restock_deadline_seconds` after it was
//! opened, and again after the factory accepted it) has passed is asked for again: its
//! out-of-stock event is staged anew in the outbox (same order id and cycle), which sends a
//! new factory attempt. That covers an order whose message ended in the stock-request DLQ, a
//! factory that accepted and never called back, and a callback lost on the way. An attempt
//! that does call back late is still counted (every production counts once). Orders being
//! sent right now (a live claim) are left alone; an order the factory refused (a 4xx) waits
//! for its deadline here too.

use crate::bindings::topics;
use crate::events::{uuid_text, OutOfStock};
use crate::outbox::{self, Event};
use crate::Failure;
use serde::Serialize;
use sqlx::{MySqlPool, Row};

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Orders asked for again in this pass.
    pub reordered: usize,
    /// Orders still open after the pass (all with a deadline in the future).
    pub open: i64,
    /// Open orders asked for [`STUCK_AFTER`] times or more without a delivery: a person must
    /// look (the factory may refuse the product). The scheduled function fails its run when
    /// there are any, so its DLQ alarm fires.
    pub stuck: Vec<String>,
}

/// Re-asks after which an order counts as stuck.
pub const STUCK_AFTER: i64 = 3;

const OVERDUE: &str =
    "status IN ('requested', 'ordered', 'refused') OR (status = 'ordering' AND claimed_until < NOW())";

/// One pass over at most `limit` overdue orders, oldest deadline first.
pub async fn run(pool: &MySqlPool, limit: u32) -> Result<Report, Failure> {
    let ids: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT order_id FROM restock_order WHERE due_at < NOW(3) AND ({OVERDUE}) ORDER BY due_at LIMIT ?"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| r.get(0))
    .collect();
    let mut report = Report::default();
    for id in ids {
        if reorder(pool, &id).await? {
            report.reordered += 1;
        }
    }
    report.open =
        sqlx::query("SELECT COUNT(*) FROM restock_order WHERE status <> 'delivered'").fetch_one(pool).await?.get(0);
    report.stuck = sqlx::query(
        "SELECT order_id FROM restock_order WHERE status <> 'delivered' AND reminders >= ? ORDER BY order_id",
    )
    .bind(STUCK_AFTER)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| r.get(0))
    .collect();
    if report.reordered > 0 {
        tracing::warn!(reordered = report.reordered, open = report.open, "overdue restock orders asked for again");
    }
    Ok(report)
}

/// Re-checks one order under its row lock and stages its event again.
async fn reorder(pool: &MySqlPool, order_id: &str) -> Result<bool, Failure> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT o.product_id, o.cycle, o.quantity, o.requester, o.status, p.sku, p.factory_id, p.restock_deadline_seconds
         FROM restock_order o JOIN product p ON p.product_id = o.product_id
         WHERE o.order_id = ? AND o.due_at < NOW(3) AND ({OVERDUE}) FOR UPDATE"
    )))
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(o) = row else {
        tx.rollback().await?;
        return Ok(false);
    };
    let event = OutOfStock {
        order_id: order_id.to_string(),
        product_id: uuid_text(&o.get::<Vec<u8>, _>("product_id")),
        sku: o.get("sku"),
        factory_id: uuid_text(&o.get::<Vec<u8>, _>("factory_id")),
        count: i64::from(o.get::<i32, _>("quantity")),
        requester: o.get("requester"),
        cycle: o.get("cycle"),
    };
    sqlx::query(
        "UPDATE restock_order SET status = 'requested', claimed_until = NULL, claim_token = NULL, reminders = reminders + 1, due_at = NOW(3) + INTERVAL ? SECOND WHERE order_id = ?",
    )
    .bind(o.get::<i32, _>("restock_deadline_seconds"))
    .bind(order_id)
    .execute(&mut *tx)
    .await?;
    let staged = Event::new(&uuid::Uuid::new_v4().to_string(), topics::OUT_OF_STOCK, &event, event.attributes())?;
    outbox::stage(&mut tx, &staged).await?;
    tx.commit().await?;
    tracing::warn!(order_id, was = o.get::<&str, _>("status"), sku = %event.sku, cycle = event.cycle, "restock order overdue: asked for again");
    Ok(true)
}
