//! Failures of one unit of work (an SQS record, an HTTP request), classified.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again: a timeout, a 5xx, a lost connection. The record is reported failed
    /// and SQS redelivers it after the visibility timeout.
    Retryable(String),
    /// Trying again cannot help: a malformed message, a reference to nothing. The record is
    /// reported failed too, so it reaches the DLQ after `maxReceiveCount` receives instead of
    /// disappearing; the log says it is permanent.
    Permanent(String),
}

impl Failure {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Failure::Retryable(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Retryable(m) => write!(f, "retryable: {m}"),
            Failure::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        // Database trouble is transient from a handler's point of view (failover, pool
        // exhaustion, deadlock victim); constraint violations are handled where they matter.
        Failure::Retryable(format!("database: {e}"))
    }
}
