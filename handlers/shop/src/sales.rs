//! The Sales API: `GET /product/donut` (product function) and `POST /checkout`.
//!
//! Checkout decrements stock in one conditional UPDATE (never read-then-write). When stock
//! cannot cover the order, the first request of a restock cycle flips the product's
//! `restocking` flag, records the factory order and publishes ONE out-of-stock event, all in
//! one transaction that holds the product row; later requests of the same cycle see the flag
//! and publish nothing. Every purchase publishes a purchase event inside the decrement's
//! transaction: if SNS fails, the sale is rolled back and the caller gets 503.

use crate::events::{publish, OutOfStock, Purchase};
use crate::http::{body, error, json, query, route, Response};
use crate::Failure;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use serde::Deserialize;
use sqlx::{MySqlPool, Row};

pub struct Checkout {
    pub pool: MySqlPool,
    pub sns: aws_sdk_sns::Client,
    pub out_of_stock_arn: String,
    pub purchases_arn: String,
}

fn uuid_text(bytes: &[u8]) -> String {
    uuid::Uuid::from_slice(bytes).map(|u| u.to_string()).unwrap_or_default()
}

/// `GET /product/donut[?sku=...]`: 200 with the product, 400 when there is none.
pub async fn product(pool: &MySqlPool, req: ApiGatewayV2httpRequest) -> Response {
    if route(&req) != "GET /product/donut" {
        return error(404, "not_found", "no such route");
    }
    let sku = query(&req, "sku");
    let row = sqlx::query("SELECT product_id, sku, name, price, stock, restocking FROM product WHERE (? IS NULL OR sku = ?) ORDER BY sku LIMIT 1")
        .bind(sku)
        .bind(sku)
        .fetch_optional(pool)
        .await;
    match row {
        Ok(Some(r)) => json(
            200,
            &serde_json::json!({
                "product_id": uuid_text(r.get::<Vec<u8>, _>("product_id").as_slice()),
                "sku": r.get::<String, _>("sku"),
                "name": r.get::<String, _>("name"),
                "price": r.get::<i32, _>("price"),
                "stock": r.get::<i32, _>("stock"),
                "restocking": r.get::<bool, _>("restocking"),
            }),
        ),
        Ok(None) => error(400, "no_product", "no such product"),
        Err(e) => {
            tracing::error!("product lookup failed: {e}");
            error(500, "database", "the stock database is unavailable")
        }
    }
}

#[derive(Deserialize)]
struct CheckoutRequest {
    #[serde(alias = "product")]
    sku: String,
    quantity: i64,
    customer: String,
}

/// `POST /checkout` with `{"sku": "CP-502101", "quantity": 1, "customer": "c-1001"}`.
pub async fn checkout(c: &Checkout, req: ApiGatewayV2httpRequest) -> Response {
    if route(&req) != "POST /checkout" {
        return error(404, "not_found", "no such route");
    }
    let Some(Ok(order)) = body(&req).map(|b| serde_json::from_str::<CheckoutRequest>(&b)) else {
        return error(400, "bad_request", "expected JSON {\"sku\": string, \"quantity\": number, \"customer\": string}");
    };
    if order.sku.is_empty() || order.sku.len() > 32 || order.customer.is_empty() || order.customer.len() > 64 || !(1..=10_000).contains(&order.quantity) {
        return error(400, "bad_request", "sku (1-32 chars), customer (1-64 chars) and quantity (1-10000) are required");
    }
    match try_checkout(c, &order).await {
        Ok(r) => r,
        Err(f) => {
            tracing::error!(sku = %order.sku, "checkout failed: {f}");
            match f {
                Failure::Retryable(_) => error(503, "try_again", "the shop is busy; nothing was charged, try again"),
                Failure::Permanent(_) => error(500, "internal", "checkout failed; nothing was charged"),
            }
        }
    }
}

async fn try_checkout(c: &Checkout, order: &CheckoutRequest) -> Result<Response, Failure> {
    let mut tx = c.pool.begin().await?;
    let sold = sqlx::query("UPDATE product SET stock = stock - ? WHERE sku = ? AND stock >= ?")
        .bind(order.quantity)
        .bind(&order.sku)
        .bind(order.quantity)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if sold {
        let purchase = Purchase {
            purchase_id: uuid::Uuid::new_v4().to_string(),
            sku: order.sku.clone(),
            customer: order.customer.clone(),
            quantity: order.quantity,
        };
        publish(&c.sns, &c.purchases_arn, &purchase, purchase.attributes()).await?;
        tx.commit().await?;
        return Ok(json(200, &serde_json::json!({ "status": "sold", "purchase_id": purchase.purchase_id, "sku": order.sku, "quantity": order.quantity })));
    }
    // Not enough stock, or no such product. The row is locked until the transaction ends.
    let Some(p) = sqlx::query("SELECT product_id, factory_id, stock, restocking, restock_cycle, reorder_quantity FROM product WHERE sku = ? FOR UPDATE")
        .bind(&order.sku)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.rollback().await?;
        return Ok(error(404, "no_product", "no such product"));
    };
    let stock: i32 = p.get("stock");
    let restocking: bool = p.get("restocking");
    let mut opened = false;
    if !restocking {
        let cycle: i64 = p.get::<i64, _>("restock_cycle") + 1;
        let product_id: Vec<u8> = p.get("product_id");
        let quantity = i64::from(p.get::<i32, _>("reorder_quantity")).max(order.quantity);
        let event = OutOfStock {
            order_id: uuid::Uuid::new_v4().to_string(),
            product_id: uuid_text(&product_id),
            sku: order.sku.clone(),
            factory_id: uuid_text(p.get::<Vec<u8>, _>("factory_id").as_slice()),
            count: quantity,
            requester: order.customer.clone(),
            cycle,
        };
        sqlx::query("UPDATE product SET restocking = TRUE, restock_cycle = ? WHERE product_id = ?").bind(cycle).bind(&product_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO restock_order (order_id, product_id, cycle, quantity, status) VALUES (?, ?, ?, ?, 'requested')")
            .bind(&event.order_id)
            .bind(&product_id)
            .bind(cycle)
            .bind(quantity)
            .execute(&mut *tx)
            .await?;
        publish(&c.sns, &c.out_of_stock_arn, &event, event.attributes()).await?;
        tracing::info!(sku = %order.sku, cycle, order_id = %event.order_id, "restock cycle opened");
        opened = true;
    }
    tx.commit().await?;
    Ok(json(
        409,
        &serde_json::json!({
            "error": "out_of_stock",
            "message": format!("only {stock} left of {}; more has been ordered from the factory", order.sku),
            "available": stock,
            "restock": if opened { "ordered now" } else { "already ordered" },
        }),
    ))
}
