//! Stock arrival (the factory's callback, `POST /factory/callback?order=..&token=..`).
//!
//! Authenticated by the HMAC token in the URL (401 without one, 403 for a wrong one); stock
//! grows once per order, in one transaction that also closes the restock cycle. A repeated
//! or replayed callback finds the order delivered and changes nothing.

use crate::http::{error, json, query, route, Response};
use crate::{token, Failure};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use sqlx::{MySqlPool, Row};

pub struct StockArrival {
    pub pool: MySqlPool,
    pub callback_key: Vec<u8>,
}

pub async fn handle(s: &StockArrival, req: ApiGatewayV2httpRequest) -> Response {
    if route(&req) != "POST /factory/callback" {
        return error(404, "not_found", "no such route");
    }
    let (Some(order_id), Some(tok)) = (query(&req, "order"), query(&req, "token")) else {
        return error(401, "unauthenticated", "callback URL without order and token");
    };
    if !token::verify(&s.callback_key, order_id, tok) {
        tracing::warn!(order_id, "callback with a forged token rejected");
        return error(403, "forbidden", "invalid callback token");
    }
    match apply(s, order_id).await {
        Ok(r) => r,
        Err(f) => {
            tracing::error!(order_id, "callback failed: {f}");
            // The factory retries on 5xx; the order stays undelivered until then.
            error(503, "try_again", "stock could not be updated; call back again")
        }
    }
}

async fn apply(s: &StockArrival, order_id: &str) -> Result<Response, Failure> {
    let mut tx = s.pool.begin().await?;
    let Some(o) = sqlx::query("SELECT product_id, quantity, status FROM restock_order WHERE order_id = ? FOR UPDATE")
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.rollback().await?;
        return Ok(error(404, "unknown_order", "no such order"));
    };
    let status: String = o.get("status");
    if status == "delivered" {
        tx.rollback().await?;
        tracing::info!(order_id, "duplicate callback: already delivered");
        return Ok(json(200, &serde_json::json!({ "order_id": order_id, "applied": false, "reason": "already delivered" })));
    }
    let quantity: i32 = o.get("quantity");
    let product_id: Vec<u8> = o.get("product_id");
    sqlx::query("UPDATE restock_order SET status = 'delivered', delivered_at = NOW(3), claimed_until = NULL WHERE order_id = ?")
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE product SET stock = stock + ?, restocking = FALSE WHERE product_id = ?")
        .bind(quantity)
        .bind(&product_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(order_id, quantity, "stock arrived");
    Ok(json(200, &serde_json::json!({ "order_id": order_id, "applied": true, "quantity": quantity })))
}
