//! Once-only external effects (an email, a notice to another system): a claim row with a
//! lease, taken before the call, in the manner of Powertools' idempotency utility.
//!
//! - [`take`] succeeds for exactly one caller while the effect is not done: the first, or the
//!   first after a failure was [`release`]d, or the first after a holder's lease expired (the
//!   holder died mid-call). Concurrent duplicates get [`Claim::Busy`] and retry later.
//! - Every claim carries its holder's token: [`confirm`] renews the lease right before the
//!   external call (and fails if another caller took the claim meanwhile, e.g. after this one
//!   stalled on the database past its lease), and [`done`] / [`release`] only act on the
//!   holder's own claim. The lease must outlast the call: callers bound the external call with
//!   a timeout shorter than the lease, so a live holder never loses its claim to a duplicate.
//! - [`done`] records the effect; later deliveries get [`Claim::Done`] and do nothing.
//!
//! Left open by design: a holder that dies AFTER the external system acted but BEFORE
//! [`done`] leaves the effect ambiguous; the next delivery repeats it once the lease expires.
//! That window is one call long, and the only way to close it is an idempotency key the
//! external system honours.

use crate::Failure;
use sqlx::{Executor, MySql, MySqlPool, Row};
use std::time::Duration;

/// Once-only external effects (an email, a notice): a claim with a lease. Create it with the function's
/// other tables (migrations).
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS effect_claim (
        effect_key VARCHAR(191) PRIMARY KEY,
        status VARCHAR(16) NOT NULL,
        holder CHAR(36) NULL,
        lease_until TIMESTAMP(3) NULL,
        attempts INT NOT NULL DEFAULT 1,
        done_at TIMESTAMP(3) NULL
    )";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds the lease: [`confirm`], make the call, then [`done`] or [`release`].
    Acquired(Holder),
    /// The effect happened already.
    Done,
    /// Another caller holds a live lease.
    Busy,
}

/// Who holds a claim: its key and the holder's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub key: String,
    token: String,
}

/// Tries to claim `key` for `lease`.
pub async fn take(pool: &MySqlPool, key: &str, lease: Duration) -> Result<Claim, Failure> {
    let micros = lease.as_micros() as u64;
    let holder = Holder { key: key.to_string(), token: uuid::Uuid::new_v4().to_string() };
    let inserted = sqlx::query("INSERT IGNORE INTO effect_claim (effect_key, status, holder, lease_until) VALUES (?, 'in_progress', ?, NOW(3) + INTERVAL ? MICROSECOND)")
        .bind(key)
        .bind(&holder.token)
        .bind(micros)
        .execute(pool)
        .await?
        .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Acquired(holder));
    }
    let stolen = sqlx::query(
        "UPDATE effect_claim SET status = 'in_progress', holder = ?, lease_until = NOW(3) + INTERVAL ? MICROSECOND, attempts = attempts + 1
         WHERE effect_key = ? AND (status = 'failed' OR (status = 'in_progress' AND lease_until < NOW(3)))",
    )
    .bind(&holder.token)
    .bind(micros)
    .bind(key)
    .execute(pool)
    .await?
    .rows_affected();
    if stolen == 1 {
        return Ok(Claim::Acquired(holder));
    }
    let status: Option<String> = sqlx::query("SELECT status FROM effect_claim WHERE effect_key = ?")
        .bind(key)
        .fetch_optional(pool)
        .await?
        .map(|r| r.get(0));
    Ok(match status.as_deref() {
        Some("done") => Claim::Done,
        _ => Claim::Busy,
    })
}

/// [`take`] for a caller that acts only when it holds the claim: `Ok(Some(holder))` to go on,
/// `Ok(None)` when the effect is done already, a retryable failure while another caller holds it.
pub async fn acquire(pool: &MySqlPool, key: &str, lease: Duration) -> Result<Option<Holder>, Failure> {
    match take(pool, key, lease).await? {
        Claim::Acquired(h) => Ok(Some(h)),
        Claim::Done => {
            tracing::info!(key, "duplicate delivery: already done");
            Ok(None)
        }
        Claim::Busy => Err(Failure::Retryable(format!("`{key}` is in progress elsewhere"))),
    }
}

/// Renews the lease right before the external call; a retryable failure when the claim is no
/// longer this holder's (its lease ran out while it waited, and another caller took it).
pub async fn confirm(pool: &MySqlPool, h: &Holder, lease: Duration) -> Result<(), Failure> {
    let renewed = sqlx::query("UPDATE effect_claim SET lease_until = NOW(3) + INTERVAL ? MICROSECOND WHERE effect_key = ? AND holder = ? AND status = 'in_progress'")
        .bind(lease.as_micros() as u64)
        .bind(&h.key)
        .bind(&h.token)
        .execute(pool)
        .await?
        .rows_affected();
    if renewed == 1 {
        Ok(())
    } else {
        Err(Failure::Retryable(format!("lost the claim on `{}` before the call", h.key)))
    }
}

/// Records the effect as done (even if the lease ran out meanwhile: the call happened). Takes
/// an executor so it can join the transaction that records the effect's consequences.
pub async fn done<'e, E: Executor<'e, Database = MySql>>(ex: E, h: &Holder) -> Result<(), Failure> {
    sqlx::query("UPDATE effect_claim SET status = 'done', lease_until = NULL, done_at = NOW(3) WHERE effect_key = ? AND holder = ?").bind(&h.key).bind(&h.token).execute(ex).await?;
    Ok(())
}

/// Gives this holder's claim back after a failed call, so the retry can take it at once.
pub async fn release(pool: &MySqlPool, h: &Holder) -> Result<(), Failure> {
    sqlx::query("UPDATE effect_claim SET status = 'failed', lease_until = NULL WHERE effect_key = ? AND holder = ? AND status = 'in_progress'")
        .bind(&h.key)
        .bind(&h.token)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records what an external call did, retrying a transient database failure a few times (a
/// dropped connection, a failover): after the call succeeded, failing to record it would
/// leave the claim to expire and the call to be repeated.
pub async fn record<F, Fut>(what: &str, mut write: F) -> Result<(), Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let mut pause = Duration::from_millis(50);
    for _ in 0..4 {
        match write().await {
            Err(Failure::Retryable(e)) => {
                tracing::warn!("recording {what} failed, trying again: {e}");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    write().await
}

/// Runs `call` under the claim of `key`: at most once at a time, never again once it
/// succeeded. `Ok(true)` when this caller made the call, `Ok(false)` when it was done already.
/// A busy claim is a retryable failure (the record comes back after its visibility timeout).
pub async fn once<F, Fut>(pool: &MySqlPool, key: &str, lease: Duration, call: F) -> Result<bool, Failure>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let Some(h) = acquire(pool, key, lease).await? else { return Ok(false) };
    confirm(pool, &h, lease).await?;
    match call().await {
        Ok(()) => {
            record(key, || done(pool, &h)).await?;
            Ok(true)
        }
        Err(f) => {
            release(pool, &h).await?;
            Err(f)
        }
    }
}
