//! MySQL connections: credentials from Secrets Manager by ARN, fetched once per container;
//! one small pool per container, reused across invocations. `FLOWFORM_DB_<NAME>_URL`
//! (a `mysql://` URL) replaces all of it for local development and tests.

use crate::deps::{env, secret};
use crate::Failure;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use std::time::Duration;

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A connection URL fit for a log: the password (between `user:` and `@`) as `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Connects to the database named `db` in the config. `max` connections: a Lambda container
/// runs one invocation at a time, so 2 is plenty there; tests pass more.
pub async fn connect(
    db: &str,
    secrets: Option<&aws_sdk_secretsmanager::Client>,
    max: u32,
) -> Result<MySqlPool, Failure> {
    let pool = MySqlPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10));
    if let Ok(url) = std::env::var(contracts::db_url(db)) {
        return pool
            .connect(&url)
            .await
            .map_err(|e| Failure::Retryable(format!("connecting to {db} ({}): {e}", redacted(&url))));
    }
    let host = env(&contracts::db_host(db))?;
    let port: u16 = env(&contracts::db_port(db))?
        .parse()
        .map_err(|_| Failure::Permanent(format!("{} is not a port", contracts::db_port(db))))?;
    let name = env(&contracts::db_name(db))?;
    let secrets = secrets.ok_or_else(|| Failure::Permanent("no Secrets Manager client".into()))?;
    let creds: Credentials = serde_json::from_str(&secret(secrets, &env(&contracts::db_secret_arn(db))?).await?)
        .map_err(|e| Failure::Permanent(format!("database secret of {db} is not {{username, password}} JSON: {e}")))?;
    let opts = MySqlConnectOptions::new()
        .host(&host)
        .port(port)
        .database(&name)
        .username(&creds.username)
        .password(&creds.password)
        .ssl_mode(MySqlSslMode::Required);
    pool.connect_with(opts).await.map_err(|e| Failure::Retryable(format!("connecting to {db} at {host}:{port}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_reach_a_log() {
        assert_eq!(
            redacted("mysql://app:s3cr%40t@db.example.com:3306/donut"),
            "mysql://app:***@db.example.com:3306/donut"
        );
        assert_eq!(redacted("mysql://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(redacted("not a url"), "not a url");
    }
}
