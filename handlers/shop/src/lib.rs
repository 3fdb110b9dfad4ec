//! The donut shop's Lambda handlers. Logic lives here; each binary in `src/bin/` reads its
//! function's wiring with the bindings generated from flowform.yaml ([`bindings`]), builds its
//! clients once and hands events to these functions. The helpers that make them correct under
//! retries and races (batch, claim, outbox, db) are `flowform_runtime`'s.
//!
//! Every function is correct under retries and concurrency:
//! - stock changes are single SQL statements or row-locked transactions, never read-then-write;
//! - events are outbox rows written with the change that makes them true, published after
//!   commit (`outbox`); no network call is made while a row lock is held;
//! - one factory order per restock cycle, claimed in the database before it is sent; each send
//!   has its own signed callback, and every production the factory confirms counts once;
//! - other external effects (email, marketing notice) run under a leased claim (`claim`);
//! - overdue restock orders are asked for again by a scheduled pass (`reconcile`);
//! - queue handlers start a record only when the invocation's time can hold it (`batch`);
//! - queue handlers report partial batch failures, so one bad record neither fails nor
//!   re-runs the others; every failure is classified [`Failure::Retryable`] or
//!   [`Failure::Permanent`], and both end in the queue's DLQ after `maxReceiveCount` tries.

pub mod bindings;
pub mod events;
pub mod http;
pub mod reconcile;
pub mod schema;
pub mod token;

// The runtime's helpers under the names the shop has always used.
pub use flowform_runtime::{batch, claim, db, deps, error, metrics, outbox};

pub mod ad_stop;
pub mod sales;
pub mod stock_arrival;
pub mod stock_request;
pub mod vip;

pub use flowform_runtime::Failure;
