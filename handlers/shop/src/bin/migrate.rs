//! Creates (if missing), migrates and optionally seeds the donut shop's two databases:
//! `migrate --stock mysql://root@127.0.0.1:3306/donut --customer mysql://root@127.0.0.1:3306/customer --seed`.
//! Not a Lambda function; for local runs and first deploys. A database on this machine
//! (loopback host) is reached as the URL says; any other only with TLS that proves the server,
//! as the handlers do: its certificate must chain to the RDS certificate authorities (or the
//! PEM file `--ca FILE` names) and carry the URL's host name.

use shop::db::redacted;
use shop::schema;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlSslMode};

/// Connection options for `url`: as written on this machine, verified TLS elsewhere.
fn options(url: &str, ca: &[u8]) -> Result<MySqlConnectOptions, String> {
    let opts: MySqlConnectOptions = url.parse().map_err(|e| format!("{}: {e}", redacted(url)))?;
    let here = opts.get_socket().is_some() || contracts::is_loopback_host(opts.get_host());
    Ok(if here { opts } else { opts.ssl_mode(MySqlSslMode::VerifyIdentity).ssl_ca_from_pem(ca.to_vec()) })
}

async fn prepare(url: &str, ca: &[u8], statements: &[&'static str]) -> Result<sqlx::MySqlPool, String> {
    let shown = redacted(url);
    let (server, name) = url.rsplit_once('/').ok_or_else(|| format!("`{shown}` has no database name"))?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
        return Err(format!("database name `{name}` must be letters, digits and _"));
    }
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(options(server, ca)?)
        .await
        .map_err(|e| format!("{}: {e}", redacted(server)))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )))
    .execute(&admin)
    .await
    .map_err(|e| e.to_string())?;
    let pool = MySqlPoolOptions::new()
        .max_connections(2)
        .connect_with(options(url, ca)?)
        .await
        .map_err(|e| format!("{shown}: {e}"))?;
    schema::migrate(&pool, statements).await.map_err(|e| e.to_string())?;
    Ok(pool)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let seed = args.iter().any(|a| a == "--seed");
    let run = async {
        let ca = match arg("--ca") {
            Some(f) => std::fs::read(&f).map_err(|e| format!("--ca {f}: {e}"))?,
            None => shop::db::RDS_CA_BUNDLE.to_vec(),
        };
        if let Some(url) = arg("--stock") {
            let pool = prepare(&url, &ca, schema::STOCK).await?;
            if seed {
                schema::seed_stock(
                    &pool,
                    3,
                    &arg("--factory-api").unwrap_or_else(|| "https://factory.example.com".into()),
                )
                .await
                .map_err(|e| e.to_string())?;
            }
            println!("stock database ready: {}", redacted(&url));
        }
        if let Some(url) = arg("--customer") {
            let pool = prepare(&url, &ca, schema::CUSTOMER).await?;
            if seed {
                schema::seed_customers(&pool).await.map_err(|e| e.to_string())?;
            }
            println!("customer database ready: {}", redacted(&url));
        }
        if arg("--stock").is_none() && arg("--customer").is_none() {
            return Err(
                "usage: migrate [--stock URL] [--customer URL] [--seed] [--factory-api URL] [--ca FILE]".to_string()
            );
        }
        Ok::<(), String>(())
    };
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
