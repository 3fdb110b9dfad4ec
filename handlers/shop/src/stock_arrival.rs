//! Stock arrival (the factory's callback,
//! `POST /factory/callback?order=..&attempt=..&token=..`, body: the factory's report).
//!
//! Authenticated by the HMAC token of (order, attempt) in the URL (401 without one, 403 for a
//! wrong one). Each attempt is counted once: in one transaction the attempt records what the
//! factory reports it produced (`MessageAttributeProductCnt` in the body; the ordered quantity
//! when the report has none), stock grows by that much, and the restock cycle closes if the
//! order belongs to the product's current cycle. A report that differs from the order is kept
//! and logged. A repeated callback of the same attempt changes nothing.

use crate::http::{body, error, json, query, route, Response};
use crate::{token, Failure};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use sqlx::{MySqlPool, Row};

pub struct StockArrival {
    pub pool: MySqlPool,
    pub callback_key: Vec<u8>,
}

/// What the factory reports it produced: its count, as a string of digits (the legacy wire
/// shape), or nothing.
fn reported(req: &ApiGatewayV2httpRequest) -> Result<Option<i64>, String> {
    let Some(text) = body(req).filter(|b| !b.trim().is_empty()) else { return Ok(None) };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("the report is not JSON: {e}"))?;
    match v.get("MessageAttributeProductCnt") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(c) => {
            let n = c.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| c.as_i64());
            n.filter(|n| (0..=1_000_000).contains(n))
                .map(Some)
                .ok_or_else(|| format!("MessageAttributeProductCnt `{c}` is not a count"))
        }
    }
}

pub async fn handle(s: &StockArrival, req: ApiGatewayV2httpRequest) -> Response {
    if route(&req) != "POST /factory/callback" {
        return error(404, "not_found", "no such route");
    }
    let (Some(order_id), Some(attempt_id), Some(tok)) =
        (query(&req, "order"), query(&req, "attempt"), query(&req, "token"))
    else {
        return error(401, "unauthenticated", "callback URL without order, attempt and token");
    };
    if !token::verify(&s.callback_key, order_id, attempt_id, tok) {
        tracing::warn!(order_id, attempt_id, "callback with a forged token rejected");
        return error(403, "forbidden", "invalid callback token");
    }
    let produced = match reported(&req) {
        Ok(p) => p,
        Err(why) => return error(400, "bad_report", &why),
    };
    match apply(s, order_id, attempt_id, produced).await {
        Ok(r) => r,
        Err(f) => {
            tracing::error!(order_id, attempt_id, "callback failed: {f}");
            // The factory retries on 5xx; the attempt stays uncounted until then.
            error(503, "try_again", "stock could not be updated; call back again")
        }
    }
}

async fn apply(s: &StockArrival, order_id: &str, attempt_id: &str, reported: Option<i64>) -> Result<Response, Failure> {
    let mut tx = s.pool.begin().await?;
    let Some(a) = sqlx::query(
        "SELECT a.counted_at IS NOT NULL AS counted, o.product_id, o.quantity, o.cycle FROM factory_attempt a JOIN restock_order o ON o.order_id = a.order_id
         WHERE a.attempt_id = ? AND a.order_id = ? FOR UPDATE",
    )
    .bind(attempt_id)
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        tx.rollback().await?;
        return Ok(error(404, "unknown_order", "no such order attempt"));
    };
    if a.get::<bool, _>("counted") {
        tx.rollback().await?;
        tracing::info!(order_id, attempt_id, "duplicate callback: already counted");
        return Ok(json(
            200,
            &serde_json::json!({ "order_id": order_id, "attempt_id": attempt_id, "applied": false, "reason": "already counted" }),
        ));
    }
    let ordered = i64::from(a.get::<i32, _>("quantity"));
    let produced = reported.unwrap_or(ordered);
    if produced != ordered {
        tracing::warn!(
            order_id,
            attempt_id,
            ordered,
            produced,
            "the factory reports a different quantity than ordered; counting what it produced"
        );
    }
    let product_id: Vec<u8> = a.get("product_id");
    sqlx::query("UPDATE factory_attempt SET produced = ?, counted_at = NOW(3) WHERE attempt_id = ?")
        .bind(produced)
        .bind(attempt_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE restock_order SET status = 'delivered', delivered_at = COALESCE(delivered_at, NOW(3)), claimed_until = NULL, produced = produced + ? WHERE order_id = ?",
    )
    .bind(produced)
    .bind(order_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE product SET stock = stock + ?, restocking = IF(restock_cycle = ?, FALSE, restocking) WHERE product_id = ?")
        .bind(produced)
        .bind(a.get::<i64, _>("cycle"))
        .bind(&product_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(order_id, attempt_id, produced, "stock arrived");
    Ok(json(
        200,
        &serde_json::json!({ "order_id": order_id, "attempt_id": attempt_id, "applied": true, "quantity": produced }),
    ))
}
