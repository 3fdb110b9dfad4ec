//! Reading wiring from the environment and building clients, once per container.

use crate::Failure;

/// An env var the function's wiring must provide; its absence is a deployment bug.
pub fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| {
        Failure::Permanent(format!("env var {name} is not set (is the template in step with the handler?)"))
    })
}

/// The AWS SDK config: region and credentials from the Lambda environment; endpoints from
/// `AWS_ENDPOINT_URL` when set (moto in tests and local runs).
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// `aws` with every call bounded by `limit` (each attempt and the whole operation), so an AWS
/// call that hangs is a retryable failure well inside the function's timeout.
pub fn bounded(aws: &aws_config::SdkConfig, limit: std::time::Duration) -> aws_config::SdkConfig {
    let timeouts =
        aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(limit).operation_timeout(limit).build();
    aws.to_builder().timeout_config(timeouts).build()
}

/// A secret's string value by ARN.
pub async fn secret(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, Failure> {
    let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
        Failure::Retryable(format!("reading secret {arn}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e)))
    })?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| Failure::Permanent(format!("secret {arn} has no string value")))
}

/// The HTTP client for external endpoints: bounded timeouts, so a hanging endpoint is a
/// retryable failure well inside the function's timeout.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("TLS backend available")
}

/// Logs to stdout (CloudWatch), JSON, level from `RUST_LOG` (default info).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// Classifies an HTTP call's outcome: timeouts, connection errors, 408, 429 and 5xx are worth
/// retrying; other 4xx mean the request itself is wrong.
pub async fn classify(
    what: &str,
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, Failure> {
    match res {
        Ok(r) if r.status().is_success() => Ok(r),
        Ok(r) if r.status().is_server_error() || matches!(r.status().as_u16(), 408 | 429) => {
            Err(Failure::Retryable(format!("{what}: HTTP {}", r.status())))
        }
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            Err(Failure::Permanent(format!("{what}: HTTP {status}: {}", body.chars().take(200).collect::<String>())))
        }
        Err(e) if e.is_timeout() => Err(Failure::Retryable(format!("{what}: timed out"))),
        Err(e) => Err(Failure::Retryable(format!("{what}: {e}"))),
    }
}
