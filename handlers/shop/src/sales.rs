//! The Sales API: `GET /product/donut` (product function) and `POST /checkout`.
//!
//! Checkout decrements stock in one conditional UPDATE (never read-then-write) and, in the same
//! transaction, records the sale and stages its purchase event in the outbox. When stock cannot
//! cover the order, the first request of a restock cycle flips the product's `restocking` flag,
//! records the factory order (the product's `reorder_quantity`, never the buyer's quantity)
//! and stages ONE out-of-stock event; later requests of the cycle see the flag and stage
//! nothing. Events are published after commit: no network call while the product row is
//! locked, and an SNS outage delays events without stopping sales (see `crate::outbox`).

use crate::bindings::topics;
use crate::events::{uuid_text, OutOfStock, Purchase};
use crate::http::{body, error, json, jwt_subject, query, route, Response};
use crate::outbox::{self, Event, Publisher};
use crate::Failure;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use serde::Deserialize;
use sqlx::{MySqlPool, Row};

pub struct Checkout {
    pub pool: MySqlPool,
    /// Publishes `out_of_stock` and `purchases` after commit.
    pub publisher: Publisher,
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
struct CheckoutBody {
    #[serde(alias = "product")]
    sku: String,
    quantity: i64,
    /// Refused when present: the customer is the verified token's subject, never the body's
    /// word (anyone could order in anyone's name, or make anyone a VIP).
    #[serde(default)]
    customer: Option<serde_json::Value>,
    /// Optional idempotency key (a UUID the client chooses): a retry with the same id answers
    /// the first outcome and sells nothing again, so a client that lost the answer (a timeout,
    /// a dropped connection after the commit) can safely try again. It becomes the purchase id;
    /// another customer's id is refused (409), never answered with their sale.
    #[serde(default)]
    checkout_id: Option<String>,
}

/// A checkout: the body's order and the verified customer.
struct CheckoutRequest {
    sku: String,
    quantity: i64,
    customer: String,
    checkout_id: Option<String>,
}

/// `POST /checkout` with `{"sku": "CP-502101", "quantity": 1}` and a bearer token: the
/// customer is the token's `sub` (API Gateway verified it; `auth: jwt` in flowform.yaml).
pub async fn checkout(c: &Checkout, req: ApiGatewayV2httpRequest) -> Response {
    if route(&req) != "POST /checkout" {
        return error(404, "not_found", "no such route");
    }
    let Some(customer) = jwt_subject(&req) else {
        return error(401, "unauthorized", "checkout needs a verified customer: call it with a bearer token");
    };
    let Some(Ok(body)) = body(&req).map(|b| serde_json::from_str::<CheckoutBody>(&b)) else {
        return error(400, "bad_request", "expected JSON {\"sku\": string, \"quantity\": number}");
    };
    if body.customer.is_some() {
        return error(
            400,
            "bad_request",
            "`customer` is not taken from the body: the customer is the signed-in user (the token's subject); remove it",
        );
    }
    if body.sku.is_empty() || body.sku.len() > 32 || !(1..=10_000).contains(&body.quantity) {
        return error(400, "bad_request", "sku (1-32 chars) and quantity (1-10000) are required");
    }
    if customer.len() > 64 {
        return error(403, "forbidden", "the token's subject is longer than a customer id (64 chars)");
    }
    // One spelling per UUID (hyphenated, lowercase): the braced, URN or upper-case forms of
    // one id must find the same sale, never make a second one.
    let checkout_id = match body.checkout_id.as_deref().map(uuid::Uuid::parse_str) {
        None => None,
        Some(Ok(id)) => Some(id.hyphenated().to_string()),
        Some(Err(_)) => return error(400, "bad_request", "checkout_id, when given, must be a UUID"),
    };
    let order = CheckoutRequest { sku: body.sku, quantity: body.quantity, customer: customer.to_string(), checkout_id };
    match try_checkout(c, &order).await {
        Ok(r) => r,
        Err(f) => {
            tracing::error!(sku = %order.sku, "checkout failed: {f}");
            match f {
                // Only a client that sent a checkout_id can retry without risk of buying twice.
                Failure::Retryable(_) if order.checkout_id.is_some() => error(
                    503,
                    "try_again",
                    "the checkout could not be confirmed; try again with the same checkout_id to never buy twice",
                ),
                Failure::Retryable(_) => error(
                    503,
                    "try_again",
                    "the checkout could not be confirmed; it may or may not have sold: send a checkout_id (a UUID) with each order so a retry can never buy twice",
                ),
                Failure::Permanent(_) => error(500, "internal", "checkout failed"),
            }
        }
    }
}

/// What the transaction decided; events are published only after it committed.
enum Outcome {
    /// `event` is None when this is a retry of a checkout already sold (its event is in the
    /// outbox already).
    Sold {
        purchase_id: String,
        event: Option<Event>,
    },
    /// `expected_in`: seconds until the open order's deadline (the reconciler acts then).
    OutOfStock {
        available: i32,
        expected_in: i64,
        opened: Option<Event>,
    },
    OverLimit {
        max: i32,
    },
    NoProduct,
    /// The checkout_id is another customer's sale.
    NotYours,
    /// The checkout_id is this customer's sale of something else (another sku or quantity).
    OtherOrder,
}

async fn try_checkout(c: &Checkout, order: &CheckoutRequest) -> Result<Response, Failure> {
    let outcome = decide(&c.pool, order).await?;
    Ok(match outcome {
        Outcome::Sold { purchase_id, event } => {
            if let Some(e) = &event {
                outbox::publish_ids(&c.pool, &c.publisher, std::slice::from_ref(e)).await;
            }
            json(
                200,
                &serde_json::json!({ "status": "sold", "purchase_id": purchase_id, "sku": order.sku, "quantity": order.quantity, "replayed": event.is_none() }),
            )
        }
        Outcome::OutOfStock { available, expected_in, opened } => {
            if let Some(e) = &opened {
                outbox::publish_ids(&c.pool, &c.publisher, std::slice::from_ref(e)).await;
            }
            json(
                409,
                &serde_json::json!({
                    "error": "out_of_stock",
                    "message": format!("only {available} left of {}; more has been ordered from the factory, expected within {} minutes", order.sku, (expected_in + 59) / 60),
                    "available": available,
                    "restock": if opened.is_some() { "ordered now" } else { "already ordered" },
                    "expected_in_seconds": expected_in,
                }),
            )
        }
        Outcome::OverLimit { max } => json(
            422,
            &serde_json::json!({ "error": "over_limit", "message": format!("at most {max} of {} per order", order.sku), "max_per_order": max }),
        ),
        Outcome::NoProduct => error(404, "no_product", "no such product"),
        Outcome::NotYours => {
            error(409, "checkout_id_taken", "this checkout_id belongs to another checkout: choose a new UUID")
        }
        Outcome::OtherOrder => error(
            409,
            "checkout_id_reused",
            "this checkout_id was sold for another sku or quantity: a retry sends the same order, a new order a new UUID",
        ),
    })
}

/// The answer to a checkout whose id was sold already: the sale if it is this customer's
/// and this order (a retry), else a refusal that shows nothing of the sale.
async fn replayed<'e>(
    db: impl sqlx::MySqlExecutor<'e>,
    order: &CheckoutRequest,
    checkout_id: &str,
) -> Result<Option<Outcome>, Failure> {
    let sale = sqlx::query(
        "SELECT s.customer_id, s.quantity, p.sku FROM sale s JOIN product p ON p.product_id = s.product_id WHERE s.purchase_id = ?",
    )
    .bind(checkout_id)
    .fetch_optional(db)
    .await?;
    Ok(sale.map(|r| {
        if r.get::<String, _>("customer_id") != order.customer {
            Outcome::NotYours
        } else if r.get::<String, _>("sku") != order.sku || i64::from(r.get::<i32, _>("quantity")) != order.quantity {
            Outcome::OtherOrder
        } else {
            Outcome::Sold { purchase_id: checkout_id.to_string(), event: None }
        }
    }))
}

/// The checkout's transaction: sale + purchase event, or the restock cycle + out-of-stock
/// event, or nothing. No network call happens inside.
async fn decide(pool: &MySqlPool, order: &CheckoutRequest) -> Result<Outcome, Failure> {
    if let Some(id) = &order.checkout_id {
        if let Some(o) = replayed(pool, order, id).await? {
            return Ok(o);
        }
    }
    let mut tx = pool.begin().await?;
    let sold = sqlx::query("UPDATE product SET stock = stock - ? WHERE sku = ? AND stock >= ? AND max_per_order >= ?")
        .bind(order.quantity)
        .bind(&order.sku)
        .bind(order.quantity)
        .bind(order.quantity)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if sold {
        let purchase = Purchase {
            purchase_id: order.checkout_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            sku: order.sku.clone(),
            customer: order.customer.clone(),
            quantity: order.quantity,
        };
        let recorded = sqlx::query("INSERT INTO sale (purchase_id, product_id, customer_id, quantity) SELECT ?, product_id, ?, ? FROM product WHERE sku = ?")
            .bind(&purchase.purchase_id)
            .bind(&purchase.customer)
            .bind(purchase.quantity)
            .bind(&purchase.sku)
            .execute(&mut *tx)
            .await;
        if let Err(e) = recorded {
            // A concurrent retry with the same checkout_id sold first: undo ours, answer theirs.
            if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                tx.rollback().await?;
                // The other sale committed before our insert failed; not finding it is a
                // fault to retry, never an answer.
                return replayed(pool, order, &purchase.purchase_id)
                    .await?
                    .ok_or_else(|| Failure::Retryable("a checkout_id collision whose sale is not visible".into()));
            }
            return Err(e.into());
        }
        let event = Event::new(&purchase.purchase_id, topics::PURCHASES, &purchase, purchase.attributes())?;
        outbox::stage(&mut tx, &event).await?;
        tx.commit().await?;
        return Ok(Outcome::Sold { purchase_id: purchase.purchase_id, event: Some(event) });
    }
    // Not enough stock, over the per-order limit, or no such product. The row is locked until
    // the transaction ends.
    let Some(p) = sqlx::query(
        "SELECT product_id, factory_id, stock, restocking, restock_cycle, reorder_quantity, max_per_order, restock_deadline_seconds FROM product WHERE sku = ? FOR UPDATE",
    )
    .bind(&order.sku)
    .fetch_optional(&mut *tx)
    .await?
    else {
        tx.rollback().await?;
        return Ok(Outcome::NoProduct);
    };
    // A concurrent retry with the same checkout_id may have sold while this request waited
    // for the row: that sale is the answer, not "out of stock".
    if let Some(id) = &order.checkout_id {
        if let Some(o) = replayed(&mut *tx, order, id).await? {
            tx.rollback().await?;
            return Ok(o);
        }
    }
    let max: i32 = p.get("max_per_order");
    if order.quantity > i64::from(max) {
        tx.rollback().await?;
        return Ok(Outcome::OverLimit { max });
    }
    let available: i32 = p.get("stock");
    let product_id: Vec<u8> = p.get("product_id");
    let opened = if p.get::<bool, _>("restocking") {
        None
    } else {
        let cycle: i64 = p.get::<i64, _>("restock_cycle") + 1;
        let event = OutOfStock {
            order_id: uuid::Uuid::new_v4().to_string(),
            product_id: uuid_text(&product_id),
            sku: order.sku.clone(),
            factory_id: uuid_text(p.get::<Vec<u8>, _>("factory_id").as_slice()),
            count: i64::from(p.get::<i32, _>("reorder_quantity")),
            requester: order.customer.clone(),
            cycle,
        };
        sqlx::query("UPDATE product SET restocking = TRUE, restock_cycle = ? WHERE product_id = ?")
            .bind(cycle)
            .bind(&product_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO restock_order (order_id, product_id, cycle, quantity, requester, status, due_at) VALUES (?, ?, ?, ?, ?, 'requested', NOW(3) + INTERVAL ? SECOND)",
        )
        .bind(&event.order_id)
        .bind(&product_id)
        .bind(cycle)
        .bind(event.count)
        .bind(&event.requester)
        .bind(p.get::<i32, _>("restock_deadline_seconds"))
        .execute(&mut *tx)
        .await?;
        let staged = Event::new(&event.order_id, topics::OUT_OF_STOCK, &event, event.attributes())?;
        outbox::stage(&mut tx, &staged).await?;
        tracing::info!(sku = %order.sku, cycle, order_id = %event.order_id, "restock cycle opened");
        Some(staged)
    };
    let expected_in: i64 = sqlx::query(
        "SELECT CAST(GREATEST(TIMESTAMPDIFF(SECOND, NOW(3), o.due_at), 0) AS SIGNED) FROM restock_order o JOIN product p ON p.product_id = o.product_id AND p.restock_cycle = o.cycle WHERE p.product_id = ?",
    )
    .bind(&product_id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.get(0))
    .unwrap_or(0);
    tx.commit().await?;
    Ok(Outcome::OutOfStock { available, expected_in, opened })
}
