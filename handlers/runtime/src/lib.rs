//! flowform's runtime for Rust Lambda handlers: the types the generated bindings
//! (`out/bindings.rs`) read a function's wiring into, and the helpers that make a handler
//! correct under retries, races and timeouts, whatever the system:
//!
//! - [`batch`]: an SQS batch with partial batch failures, a time budget that starts no record
//!   the invocation cannot finish, and backoff (ChangeMessageVisibility) between receives;
//! - [`claim`]: once-only external effects, a claim with a lease in MySQL taken before the call;
//! - [`outbox`]: events staged in the transaction that makes them true, published after commit,
//!   and a relay for whatever was left;
//! - [`db`]: MySQL pools with TLS verified against the database's CA bundle (the RDS CAs built
//!   in, or a zipped PEM), passwords from Secrets Manager or IAM authentication;
//! - [`bind`]: topics, databases, endpoints, secrets, email senders and the consumed queue, as
//!   the bindings read them from the environment;
//! - [`sns`], [`metrics`], [`deps`]: the SNS envelope, EMF metrics, clients and env.
//!
//! Every failure is a [`Failure`], retryable or permanent; both end in the queue's DLQ after
//! `maxReceiveCount` tries.

pub mod batch;
pub mod bind;
pub mod claim;
pub mod db;
pub mod deps;
pub mod error;
pub mod metrics;
pub mod outbox;
pub mod sns;

pub use error::Failure;
