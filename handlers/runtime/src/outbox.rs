//! Transactional outbox: an event is a row written in the same transaction as the change that
//! makes it true ([`stage`]), so a rolled-back change never emits an event and a committed one
//! always does. Publishing happens after commit, never while a row lock is held:
//! - the fast path: the writer publishes its own rows right after commit ([`publish_ids`]);
//! - the relay (a scheduled function) publishes whatever is left ([`relay`]): rows older than
//!   a grace period, claimed with a lease so two relays never publish the same row at once.
//!
//! Delivery is at least once (a crash between publish and mark republishes); every consumer
//! deduplicates on the event's id (order id, purchase id).

use crate::sns::Attributes;
use crate::Failure;
use serde::Serialize;
use sqlx::{MySql, MySqlPool, Row, Transaction};
use std::collections::BTreeMap;
use std::time::Duration;

/// Events waiting to be published: written in the transaction that makes them true, published
/// after commit (and by the relay for whatever is left). Create it with the
/// function's other tables (migrations).
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS outbox (
        event_id CHAR(36) PRIMARY KEY,
        topic VARCHAR(64) NOT NULL,
        body TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        claimed_until TIMESTAMP(3) NULL,
        claim_token CHAR(36) NULL,
        attempts INT NOT NULL DEFAULT 0,
        published_at TIMESTAMP(3) NULL,
        KEY pending (published_at, created_at)
    )";

/// Where events go: topic config name -> ARN (from the function's env).
#[derive(Clone)]
pub struct Publisher {
    pub sns: aws_sdk_sns::Client,
    pub topics: BTreeMap<String, String>,
}

impl Publisher {
    /// Publishes to the function's bound topics (`Wiring.topics`), by config name and, for a
    /// renamed topic, by its old name too (rows staged before the rename carry it).
    pub fn new(sns: aws_sdk_sns::Client, topics: &[&crate::bind::Topic]) -> Publisher {
        let names = topics.iter().flat_map(|t| std::iter::once(t.name).chain(t.renamed_from).map(|n| (n, &t.arn)));
        Publisher { sns, topics: names.map(|(n, arn)| (n.to_string(), arn.clone())).collect() }
    }
}

/// One event to publish.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_id: String,
    pub topic: String,
    pub body: String,
    pub attributes: Attributes,
}

impl Event {
    pub fn new(event_id: &str, topic: &str, body: &impl Serialize, attributes: Attributes) -> Result<Event, Failure> {
        Ok(Event {
            event_id: event_id.to_string(),
            topic: topic.to_string(),
            body: serde_json::to_string(body).map_err(|e| Failure::Permanent(e.to_string()))?,
            attributes,
        })
    }
}

/// Writes `event` inside `tx`; it becomes visible (and publishable) when `tx` commits.
pub async fn stage(tx: &mut Transaction<'_, MySql>, event: &Event) -> Result<(), Failure> {
    let attrs = serde_json::to_string(&event.attributes).map_err(|e| Failure::Permanent(e.to_string()))?;
    sqlx::query("INSERT INTO outbox (event_id, topic, body, attributes) VALUES (?, ?, ?, ?)")
        .bind(&event.event_id)
        .bind(&event.topic)
        .bind(&event.body)
        .bind(attrs)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn publish_one(p: &Publisher, e: &Event) -> Result<(), Failure> {
    let arn = p
        .topics
        .get(&e.topic)
        .ok_or_else(|| Failure::Permanent(format!("no ARN for topic `{}` in this function's wiring", e.topic)))?;
    crate::sns::publish_raw(&p.sns, arn, &e.body, &e.attributes).await.map(|_| ())
}

async fn mark(pool: &MySqlPool, event_id: &str) -> Result<(), Failure> {
    sqlx::query("UPDATE outbox SET published_at = NOW(3), claimed_until = NULL, claim_token = NULL WHERE event_id = ? AND published_at IS NULL").bind(event_id).execute(pool).await?;
    Ok(())
}

/// The longest one publish may take (the SNS client's bound in the binaries): a relay stops
/// publishing its claimed rows when the lease could run out during the next one.
pub const PUBLISH_BOUND: Duration = Duration::from_secs(2);

/// The fast path, after commit: publishes `events` and marks each one published. Failures
/// are logged and left to the relay; the count of events published is returned.
pub async fn publish_ids(pool: &MySqlPool, p: &Publisher, events: &[Event]) -> usize {
    let mut n = 0;
    for e in events {
        match publish_one(p, e).await {
            Ok(()) => {
                n += 1;
                if let Err(f) = mark(pool, &e.event_id).await {
                    tracing::warn!(event_id = %e.event_id, "published but not marked (the relay publishes it again): {f}");
                }
            }
            Err(f) => {
                tracing::warn!(event_id = %e.event_id, topic = %e.topic, "publish after commit failed; the relay will publish it: {f}")
            }
        }
    }
    n
}

/// What one relay pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub claimed: usize,
    pub published: usize,
    pub failed: usize,
    /// Age in milliseconds of the oldest row still unpublished after the pass (0 if none).
    pub oldest_unpublished_ms: i64,
}

impl RelayReport {
    /// A backlog older than `limit` is an operational failure (SNS down for long, or the relay
    /// cannot keep up): the scheduled relay fails its run, so its DLQ alarm fires.
    pub fn check_backlog(&self, limit: Duration) -> Result<(), Failure> {
        if self.oldest_unpublished_ms > limit.as_millis() as i64 {
            return Err(Failure::Retryable(format!(
                "the oldest unpublished event is {} s old (limit {} s)",
                self.oldest_unpublished_ms / 1000,
                limit.as_secs()
            )));
        }
        Ok(())
    }
}

/// One relay pass: claims up to `limit` unpublished rows older than `grace` (the fast path's
/// window), publishes them oldest first, marks each. A failed row keeps its claim until the
/// lease expires, which spaces out retries during an SNS outage. The pass stops publishing
/// when its lease could run out (a slow SNS): the rest are published after the lease, by
/// whichever relay claims them, so a pass never outlives its lease and two relays never hold
/// one row.
pub async fn relay(
    pool: &MySqlPool,
    p: &Publisher,
    grace: Duration,
    lease: Duration,
    limit: u32,
) -> Result<RelayReport, Failure> {
    let token = uuid::Uuid::new_v4().to_string();
    let claimed_at = std::time::Instant::now(); // the lease starts no earlier than this
    let claimed = sqlx::query(
        "UPDATE outbox SET claimed_until = NOW(3) + INTERVAL ? MICROSECOND, claim_token = ?, attempts = attempts + 1
         WHERE published_at IS NULL AND created_at <= NOW(3) - INTERVAL ? MICROSECOND AND (claimed_until IS NULL OR claimed_until < NOW(3))
         ORDER BY created_at LIMIT ?",
    )
    .bind(lease.as_micros() as u64)
    .bind(&token)
    .bind(grace.as_micros() as u64)
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected() as usize;
    let rows = sqlx::query("SELECT event_id, topic, body, attributes FROM outbox WHERE claim_token = ? AND published_at IS NULL ORDER BY created_at").bind(&token).fetch_all(pool).await?;
    let mut report = RelayReport { claimed, ..Default::default() };
    for r in rows {
        if claimed_at.elapsed() + PUBLISH_BOUND >= lease {
            tracing::warn!(
                left = claimed - report.published - report.failed,
                "relay pass stops before its lease runs out; the rest follow after it"
            );
            break;
        }
        let attributes: Attributes = serde_json::from_str(r.get::<&str, _>("attributes")).unwrap_or_default();
        let e = Event { event_id: r.get("event_id"), topic: r.get("topic"), body: r.get("body"), attributes };
        match publish_one(p, &e).await {
            Ok(()) => {
                mark(pool, &e.event_id).await?;
                report.published += 1;
            }
            Err(f) => {
                tracing::warn!(event_id = %e.event_id, topic = %e.topic, "relay publish failed; retried after the lease: {f}");
                report.failed += 1;
            }
        }
    }
    report.oldest_unpublished_ms = sqlx::query("SELECT CAST(COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(3)) DIV 1000, 0) AS SIGNED) FROM outbox WHERE published_at IS NULL")
        .fetch_one(pool)
        .await?
        .get(0);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows staged under a topic's old name before a `renamed_from` rename still publish.
    #[test]
    fn a_renamed_topic_takes_rows_staged_under_its_old_name() {
        let conf =
            aws_sdk_sns::Config::builder().behavior_version(aws_sdk_sns::config::BehaviorVersion::latest()).build();
        let t = crate::bind::Topic { name: "sales", renamed_from: Some("purchases"), arn: "arn:sales".into() };
        let p = Publisher::new(aws_sdk_sns::Client::from_conf(conf), &[&t]);
        assert_eq!(p.topics.get("sales").map(String::as_str), Some("arn:sales"));
        assert_eq!(p.topics.get("purchases").map(String::as_str), Some("arn:sales"));
        assert_eq!(p.topics.len(), 2);
    }

    #[test]
    fn a_backlog_older_than_the_limit_fails_the_run() {
        let old = RelayReport { oldest_unpublished_ms: 301_000, ..Default::default() };
        assert!(
            matches!(old.check_backlog(Duration::from_secs(300)), Err(Failure::Retryable(m)) if m.contains("301 s"))
        );
        let fresh = RelayReport { oldest_unpublished_ms: 299_000, ..Default::default() };
        assert_eq!(fresh.check_backlog(Duration::from_secs(300)), Ok(()));
    }
}
