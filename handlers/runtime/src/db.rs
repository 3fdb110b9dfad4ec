//! MySQL connections: credentials from Secrets Manager by ARN (or an IAM token), fetched once
//! per container; one small pool per container, reused across invocations. Every connection
//! is TLS that proves the server: its certificate must chain to the database's CA bundle (or to
//! one of the public web roots sqlx's rustls build always adds) and name the host
//! (`VerifyIdentity`), so a man in the middle inside the VPC learns no password and no row. `FLOWFORM_DB_<NAME>_PLAINTEXT_URL` (a `mysql://` URL of a database on this
//! machine, loopback hosts only) replaces all of it for local development and tests.

use crate::deps::{env, secret};
use crate::Failure;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use std::time::Duration;

/// The certificate authorities of Amazon RDS, every commercial region (`certs/README.md` says
/// where they come from and how to refresh them): the trust of a database whose config leaves
/// `ca_bundle` at `rds`.
pub const RDS_CA_BUNDLE: &[u8] = include_bytes!("../certs/rds-ca-bundle.pem");

/// A database server as the handlers reach it: where, which schema, and the certificate
/// authorities (PEM) its certificate must chain to.
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub ca_pem: Vec<u8>,
}

impl Server {
    /// Connection options for `user`: TLS required, the server's certificate verified against
    /// `ca_pem` (plus sqlx's public web roots) and its name against `host`. A server without TLS, a certificate of another
    /// authority or for another name fails the handshake; nothing is sent in clear.
    pub fn options(&self, user: &str) -> MySqlConnectOptions {
        MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .database(&self.database)
            .username(user)
            .ssl_mode(MySqlSslMode::VerifyIdentity)
            .ssl_ca_from_pem(self.ca_pem.clone())
    }

    /// The server of the config's database `db`, from the function's environment.
    pub fn from_env(db: &str) -> Result<Server, Failure> {
        let port = env(&contracts::db_port(db))?;
        Ok(Server {
            host: env(&contracts::db_host(db))?,
            port: port.parse().map_err(|_| Failure::Permanent(format!("{} is not a port", contracts::db_port(db))))?,
            database: env(&contracts::db_name(db))?,
            ca_pem: ca_bundle(db)?,
        })
    }
}

/// The CA bundle `FLOWFORM_DB_<NAME>_CA` names: `rds` (also when unset) is [`RDS_CA_BUNDLE`];
/// anything else is a PEM file under the Lambda task root, put in the zip by `flowform package`.
pub fn ca_bundle(db: &str) -> Result<Vec<u8>, Failure> {
    let var = contracts::db_ca(db);
    let value = std::env::var(&var).unwrap_or_else(|_| contracts::DB_CA_RDS.to_string());
    if value == contracts::DB_CA_RDS {
        return Ok(RDS_CA_BUNDLE.to_vec());
    }
    let root = std::env::var_os("LAMBDA_TASK_ROOT").map(std::path::PathBuf::from).unwrap_or_default();
    let path = root.join(&value);
    let pem = std::fs::read(&path).map_err(|e| {
        Failure::Permanent(format!("CA bundle of database {db} ({var}={value}): {}: {e}", path.display()))
    })?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(Failure::Permanent(format!(
            "CA bundle of database {db} ({}) holds no PEM certificate",
            path.display()
        )));
    }
    Ok(pem)
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A connection URL fit for a log: the password (between `user:` and the authority's last `@`)
/// as `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else { return url.to_string() };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// An RDS IAM authentication token for `user` at `host:port`: a `connect` request for the
/// `rds-db` service, presigned with SigV4 in the query and valid 15 minutes (what
/// `aws rds generate-db-auth-token` prints). It is the password of a TLS connection that uses
/// the cleartext plugin.
pub fn iam_token(
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    credentials: &aws_sdk_secretsmanager::config::Credentials,
    now: std::time::SystemTime,
) -> Result<String, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
    use aws_sigv4::sign::v4;
    let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(900));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let user: String = user
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let url = format!("https://{host}:{port}/?Action=connect&DBUser={user}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| format!("token request: {e}"))?;
    let (instructions, _) = sign(request, &params).map_err(|e| format!("signing: {e}"))?.into_parts();
    let mut signed = http::Request::builder().uri(&url).body(()).map_err(|e| format!("token request: {e}"))?;
    instructions.apply_to_request_http1x(&mut signed);
    Ok(signed.uri().to_string().trim_start_matches("https://").to_string())
}

/// A pool that authenticates with IAM tokens. A token is checked only when a connection
/// opens, so open connections outlive it; new ones need a fresh token, which a background
/// task sets every 10 minutes (tokens last 15).
async fn iam_pool(
    pool: MySqlPoolOptions,
    base: MySqlConnectOptions,
    (host, port, user): (String, u16, String),
    config: aws_config::SdkConfig,
) -> Result<MySqlPool, Failure> {
    use aws_sdk_secretsmanager::config::ProvideCredentials;
    let token = {
        let config = config.clone();
        let (host, user) = (host.clone(), user.clone());
        move || {
            let config = config.clone();
            let (host, user) = (host.clone(), user.clone());
            async move {
                let provider = config.credentials_provider().ok_or("no AWS credentials")?;
                let credentials = provider.provide_credentials().await.map_err(|e| e.to_string())?;
                let region = config.region().map(|r| r.to_string()).ok_or("no AWS region")?;
                iam_token(&host, port, &user, &region, &credentials, std::time::SystemTime::now())
            }
        }
    };
    let first = token().await.map_err(|e| Failure::Retryable(format!("IAM token for {user}@{host}: {e}")))?;
    let db = pool
        .connect_with(base.clone().password(&first))
        .await
        .map_err(|e| Failure::Retryable(format!("connecting to {host}:{port} as {user} (IAM): {e}")))?;
    let refreshed = db.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(600)).await;
            match token().await {
                Ok(t) => refreshed.set_connect_options(base.clone().password(&t)),
                Err(e) => tracing::warn!("IAM token refresh for {user}@{host}: {e}"),
            }
        }
    });
    Ok(db)
}

/// Connects to the database named `db` in the config. `max` connections: a Lambda container
/// runs one invocation at a time, so 2 is plenty there; tests pass more.
pub async fn connect(
    db: &str,
    secrets: Option<&aws_sdk_secretsmanager::Client>,
    max: u32,
) -> Result<MySqlPool, Failure> {
    let pool = MySqlPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10));
    if let Ok(url) = std::env::var(contracts::db_plaintext_url(db)) {
        return plaintext(db, &url, pool).await;
    }
    let server = Server::from_env(db)?;
    let secrets = secrets.ok_or_else(|| Failure::Permanent("no Secrets Manager client".into()))?;
    if let Ok(user) = std::env::var(contracts::db_iam_user(db)) {
        let base = server.options(&user).enable_cleartext_plugin(true);
        // The function's own credentials and region (the execution role's, on Lambda).
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        return iam_pool(pool, base, (server.host, server.port, user), aws).await;
    }
    let creds: Credentials = serde_json::from_str(&secret(secrets, &env(&contracts::db_secret_arn(db))?).await?)
        .map_err(|e| Failure::Permanent(format!("database secret of {db} is not {{username, password}} JSON: {e}")))?;
    let opts = server.options(&creds.username).password(&creds.password);
    pool.connect_with(opts)
        .await
        .map_err(|e| Failure::Retryable(format!("connecting to {db} at {}:{}: {e}", server.host, server.port)))
}

/// The local override: a database on this machine, without TLS, said so in the log. A host
/// that is not loopback is refused (permanent): the override must not become a way around TLS.
async fn plaintext(db: &str, url: &str, pool: MySqlPoolOptions) -> Result<MySqlPool, Failure> {
    let var = contracts::db_plaintext_url(db);
    let host = contracts::loopback_db_host(url).map_err(|e| {
        Failure::Permanent(format!("{var} ({}): {e}; a plaintext connection stays on this machine", redacted(url)))
    })?;
    let opts: MySqlConnectOptions =
        url.parse().map_err(|e| Failure::Permanent(format!("{var} ({}): {e}", redacted(url))))?;
    // The host the driver will connect to, whatever the text check read from the URL.
    if opts.get_socket().is_none() && !contracts::is_loopback_host(opts.get_host()) {
        return Err(Failure::Permanent(format!(
            "{var} ({}): the driver reads host `{}`, not a loopback address",
            redacted(url),
            opts.get_host()
        )));
    }
    tracing::warn!("database {db}: plaintext connection to {host} ({var}: local development only)");
    pool.connect_with(opts.ssl_mode(MySqlSslMode::Disabled))
        .await
        .map_err(|e| Failure::Retryable(format!("connecting to {db} ({}): {e}", redacted(url))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_plaintext_override_never_leaves_this_machine() {
        // Refused before any connection is tried (db.example.com does not resolve here anyway).
        for url in [
            "mysql://app:pw@db.example.com:3306/donut",
            "mysql://app:pw@db.example.com:3306#@127.0.0.1/donut",
            "mysql://app:pw@10.0.0.7/donut",
        ] {
            let pool = MySqlPoolOptions::new().acquire_timeout(Duration::from_millis(100));
            match plaintext("stock", url, pool).await {
                Err(Failure::Permanent(m)) => {
                    assert!(m.contains("loopback") && !m.contains(":pw@"), "{url}: {m}");
                }
                Err(Failure::Retryable(m)) => panic!("{url}: a connection was tried: {m}"),
                Ok(_) => panic!("{url}: connected in plaintext"),
            }
        }
    }

    #[test]
    fn passwords_never_reach_a_log() {
        assert_eq!(
            redacted("mysql://app:s3cr%40t@db.example.com:3306/donut"),
            "mysql://app:***@db.example.com:3306/donut"
        );
        assert_eq!(redacted("mysql://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(redacted("not a url"), "not a url");
        assert_eq!(redacted("mysql://app:p@ss@127.0.0.1/x"), "mysql://app:***@127.0.0.1/x");
        assert_eq!(redacted("mysql://app:pw@h/x?note=a@b"), "mysql://app:***@h/x?note=a@b");
    }
}
