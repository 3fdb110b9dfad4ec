//! flowform-local: the system described by flowform.yaml, running on one machine against
//! moto, MariaDB and the stand-ins, through the same pieces a user deploys.
//!
//! - [`provision`]: what moto's CloudFormation skips, created from the model through the APIs;
//! - [`runtime`]: a local Lambda Runtime API per function and the handler binary behind it;
//! - [`dev`]: queue pollers with event-source-mapping semantics, the HTTP front, the logs.

pub mod dev;
pub mod provision;
pub mod runtime;
