//! Every integration test of flowform, in one binary (one link of the AWS SDKs instead of
//! one per file). Tests that deploy the donut shop to the shared moto, or that keep a core
//! busy for long (the scanners), hold [`tests::alone`] so they run one at a time.

mod auth;
mod dbtls;
mod deploy;
mod devsh;
mod dlq;
mod e2e;
mod fuzz;
mod generate;
mod handlers;
mod iam;
mod lint;
mod package;
mod review;
mod strings;
mod wiring;

/// Counts each thread's heap, so `fuzz` can bound what one build holds.
#[global_allocator]
static ALLOC: fuzz::Counting = fuzz::Counting;
