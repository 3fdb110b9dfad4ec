//! The donut shop's Lambda handlers. Logic lives here; each binary in `src/bin/` only wires
//! dependencies from env vars (names from `contracts`) and hands events to these functions.
//!
//! Every function is correct under retries and concurrency:
//! - stock changes are single SQL statements or row-locked transactions, never read-then-write;
//! - one factory order per restock cycle, claimed in the database before it is sent;
//! - the factory callback is authenticated (HMAC of the order id) and applied once per order;
//! - queue handlers report partial batch failures, so one bad record neither fails nor
//!   re-runs the others; every failure is classified [`Failure::Retryable`] or
//!   [`Failure::Permanent`], and both end in the queue's DLQ after `maxReceiveCount` tries.

pub mod batch;
pub mod db;
pub mod deps;
pub mod error;
pub mod events;
pub mod http;
pub mod schema;
pub mod token;
pub mod wiring;

pub mod ad_stop;
pub mod sales;
pub mod stock_arrival;
pub mod stock_request;
pub mod vip;

pub use error::Failure;
