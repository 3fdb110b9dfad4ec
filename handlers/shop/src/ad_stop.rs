//! Ad stop (SQS): while a product is being restocked, ask its ad manager (product.ad_id ->
//! advertisement.manager_email) to pause the ad, once per restock cycle, and record that
//! the ad is paused.
//!
//! Once per cycle even under concurrent duplicate deliveries: the email is sent under a claim
//! (`crate::claim`) keyed by (product, cycle) whose lease outlasts the SES client's timeout;
//! the notice, the paused ad and the claim's `done` commit together.

use crate::batch::{each, BatchResponse, Budget};
use crate::claim;
use crate::events::{unwrap, Envelope, OutOfStock};
use crate::Failure;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use sqlx::{MySqlPool, Row};

pub struct AdStop {
    pub pool: MySqlPool,
    pub ses: aws_sdk_sesv2::Client,
    pub from: String,
    pub configuration_set: String,
    /// How long the claim keeps duplicates off; longer than the SES client's operation timeout.
    pub lease: std::time::Duration,
}

pub async fn handle(s: &AdStop, event: SqsEvent, budget: Budget) -> BatchResponse {
    each(event, budget, |r| one(s, r)).await
}

fn content(text: &str) -> Result<Content, Failure> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| Failure::Permanent(e.to_string()))
}

async fn one(s: &AdStop, record: SqsMessage) -> Result<(), Failure> {
    let (_env, ev): (Envelope, OutOfStock) = unwrap(record.body.as_deref())?;
    let product_id = uuid::Uuid::parse_str(&ev.product_id)
        .map_err(|_| Failure::Permanent(format!("bad product id `{}`", ev.product_id)))?;
    let pid = product_id.as_bytes().to_vec();
    // One notice per (product, cycle): the claim is the idempotency key.
    let key = format!("ad-stop:{product_id}:{}", ev.cycle);
    let Some(holder) = claim::acquire(&s.pool, &key, s.lease).await? else { return Ok(()) };
    let row = match sqlx::query("SELECT p.name, p.sku, a.ad_id, a.manager_email FROM product p JOIN advertisement a ON a.ad_id = p.ad_id WHERE p.product_id = ?")
        .bind(&pid)
        .fetch_optional(&s.pool)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            claim::release(&s.pool, &holder).await?;
            return Err(e.into());
        }
    };
    let Some(row) = row else {
        let mut tx = s.pool.begin().await?;
        sqlx::query("INSERT INTO ad_stop_notice (product_id, cycle, status, sent_at) VALUES (?, ?, 'no-ad', NOW())")
            .bind(&pid)
            .bind(ev.cycle)
            .execute(&mut *tx)
            .await?;
        claim::done(&mut *tx, &holder).await?;
        tx.commit().await?;
        tracing::info!(sku = %ev.sku, "product has no ad; nothing to stop");
        return Ok(());
    };
    let name: String = row.get("name");
    let manager: String = row.get("manager_email");
    let ad_id: Vec<u8> = row.get("ad_id");
    let subject = format!("[광고 중지 요청] {name} 재입고 중 / Please pause the ad for {name}");
    let text = format!(
        "안녕하세요,\n\n{name} ({sku}) 상품의 재고가 소진되어 공장에 재입고를 요청했습니다.\n재입고가 완료될 때까지 광고를 중지해 주세요.\n\n\
         Hello,\n\n{name} ({sku}) is out of stock and has been reordered from the factory.\nPlease pause its ad until the stock is back.\n\n\
         (restock cycle {cycle}, order {order})\n",
        sku = ev.sku,
        cycle = ev.cycle,
        order = ev.order_id
    );
    claim::confirm(&s.pool, &holder, s.lease).await?;
    let sent = s
        .ses
        .send_email()
        .from_email_address(&s.from)
        .destination(Destination::builder().to_addresses(&manager).build())
        .configuration_set_name(&s.configuration_set)
        .content(
            EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(content(&subject)?)
                        .body(Body::builder().text(content(&text)?).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            Failure::Retryable(format!("SES send to {manager}: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e)))
        });
    if let Err(f) = sent {
        claim::release(&s.pool, &holder).await?;
        return Err(f);
    }
    claim::record(&key, || async {
        let mut tx = s.pool.begin().await?;
        sqlx::query("UPDATE advertisement SET status = FALSE, paused_at = NOW() WHERE ad_id = ?")
            .bind(&ad_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO ad_stop_notice (product_id, cycle, status, sent_at) VALUES (?, ?, 'sent', NOW())")
            .bind(&pid)
            .bind(ev.cycle)
            .execute(&mut *tx)
            .await?;
        claim::done(&mut *tx, &holder).await?;
        tx.commit().await?;
        Ok(())
    })
    .await?;
    tracing::info!(sku = %ev.sku, cycle = ev.cycle, to = %manager, "ad stop requested");
    Ok(())
}
