//! The names the generator writes into templates and the handlers read at run time.
//!
//! This crate is the ONE source of env-var names: the generator calls these functions to
//! build each function's `Environment.Variables`, and the handlers call the same functions to
//! read them. A name spelled anywhere else is a bug.
//!
//! Config names (`out_of_stock`, `stock`) are lower snake/kebab case; env-var names are their
//! upper snake case, e.g. `topic_arn("out_of_stock") == "FLOWFORM_TOPIC_OUT_OF_STOCK_ARN"`.
//!
//! It also holds the wire shapes both sides of a call build from one declaration ([`wire`]).
//! Its one dependency is serde's derive; it does no I/O.

/// Prefix of every env var flowform sets, so they never collide with user `env:` entries.
pub const PREFIX: &str = "FLOWFORM_";

/// The stage the function runs in (`dev`, `prod`, ...).
pub const STAGE: &str = "FLOWFORM_STAGE";

/// Base URL of the stack's HTTP API (`https://<id>.execute-api.<region>.<suffix>`), set for
/// functions that hand out callback URLs.
pub const HTTP_API_URL: &str = "FLOWFORM_HTTP_API_URL";

fn upper(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// ARN of a topic the function publishes to.
pub fn topic_arn(topic: &str) -> String {
    format!("{PREFIX}TOPIC_{}_ARN", upper(topic))
}

/// Host name of a database the function reaches.
pub fn db_host(db: &str) -> String {
    format!("{PREFIX}DB_{}_HOST", upper(db))
}

/// TCP port of a database.
pub fn db_port(db: &str) -> String {
    format!("{PREFIX}DB_{}_PORT", upper(db))
}

/// Schema (database) name inside the server.
pub fn db_name(db: &str) -> String {
    format!("{PREFIX}DB_{}_NAME", upper(db))
}

/// ARN of the Secrets Manager secret holding `username` and `password` for the database.
pub fn db_secret_arn(db: &str) -> String {
    format!("{PREFIX}DB_{}_SECRET_ARN", upper(db))
}

/// Database user for IAM authentication (set only when the database uses IAM auth).
pub fn db_iam_user(db: &str) -> String {
    format!("{PREFIX}DB_{}_IAM_USER", upper(db))
}

/// The CA bundle a database's server certificate must chain to: [`DB_CA_RDS`] (the RDS
/// certificate authorities, built into the handlers) or the path, relative to the Lambda task
/// root, of a PEM file `flowform package` puts in the zip ([`db_ca_file`]).
pub fn db_ca(db: &str) -> String {
    format!("{PREFIX}DB_{}_CA", upper(db))
}

/// The value of [`db_ca`] for the RDS certificate authorities (the default).
pub const DB_CA_RDS: &str = "rds";

/// Where in a function's zip `flowform package` puts the CA bundle a config names for `db`.
pub fn db_ca_file(db: &str) -> String {
    format!("ca/{db}.pem")
}

/// Local-development override: a `mysql://` URL of a database on this machine that replaces
/// host/port/secret/CA and connects WITHOUT TLS. Never set by a template; the handlers refuse
/// it unless its host is a loopback address ([`loopback_db_host`]).
pub fn db_plaintext_url(db: &str) -> String {
    format!("{PREFIX}DB_{}_PLAINTEXT_URL", upper(db))
}

/// Whether `host` is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of a `mysql://` URL when it is this machine ([`is_loopback_host`]), else why not:
/// a plaintext connection must never leave the machine. A first check on the text; the
/// handlers check again the host their MySQL driver parsed from the same URL.
pub fn loopback_db_host(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("mysql://").ok_or("not a mysql:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| h).ok_or("an unclosed [ in the host")?,
        None => hostport.split(':').next().unwrap_or_default(),
    };
    if is_loopback_host(host) {
        Ok(host.to_string())
    } else {
        Err(format!("host `{host}` is not a loopback address (localhost, 127.0.0.0/8, ::1)"))
    }
}

/// Base URL of an external HTTP endpoint (the Factory API, the marketing system).
pub fn endpoint_url(endpoint: &str) -> String {
    format!("{PREFIX}ENDPOINT_{}_URL", upper(endpoint))
}

/// SES identity (domain or address) the function sends from.
pub fn email_identity(email: &str) -> String {
    format!("{PREFIX}EMAIL_{}_IDENTITY", upper(email))
}

/// SES configuration set the function sends through.
pub fn email_configuration_set(email: &str) -> String {
    format!("{PREFIX}EMAIL_{}_CONFIGURATION_SET", upper(email))
}

/// The address the function puts in `From:` (the first allowed sender).
pub fn email_from(email: &str) -> String {
    format!("{PREFIX}EMAIL_{}_FROM", upper(email))
}

/// ARN of a secret generated by the stack (e.g. the callback signing key).
pub fn secret_arn(secret: &str) -> String {
    format!("{PREFIX}SECRET_{}_ARN", upper(secret))
}

/// Seconds a queue function waits before the first retry of a failed record: the queue's
/// visibility timeout. Set for queue-triggered functions; the retry schedule is [`retry`].
pub const RETRY_BASE_SECONDS: &str = "FLOWFORM_RETRY_BASE_SECONDS";

/// The retry schedule of failed queue records, shared by the generator (which turns a retry
/// window into `maxReceiveCount`) and the handlers (which set each failed record's visibility
/// with `ChangeMessageVisibility`): the wait after the n-th failed receive doubles from the
/// base up to a cap, so an outage of an hour costs a handful of receives, not hundreds.
pub mod retry {
    /// The longest wait between two receives of one message (15 minutes), unless the base is
    /// longer (the base is never shortened).
    pub const MAX_WAIT_SECONDS: u64 = 900;

    /// Seconds to wait after the `receive`-th (1-based) failed receive.
    pub fn wait(base: u64, receive: u64) -> u64 {
        let cap = MAX_WAIT_SECONDS.max(base);
        let doublings = receive.saturating_sub(1).min(32) as u32;
        base.saturating_mul(1u64 << doublings).min(cap)
    }

    /// Seconds from the first receive to the `receive`-th (the waits before it, summed).
    pub fn elapsed_before(base: u64, receive: u64) -> u64 {
        (1..receive).map(|n| wait(base, n)).sum()
    }

    /// The `maxReceiveCount` that keeps retrying for at least `window` seconds: the last
    /// receive before the message moves to the DLQ comes `window` seconds or more after the
    /// first. At least 2 (one retry).
    pub fn receives_for(base: u64, window: u64) -> u64 {
        let mut receives = 2;
        while elapsed_before(base, receives) < window && receives < 1000 {
            receives += 1;
        }
        receives
    }
}

/// Message attribute names that cross the wire between handlers (and that filter policies
/// in the config refer to).
pub mod attributes {
    /// Out-of-stock event: product id (UUID text).
    pub const PRODUCT_ID: &str = "MessageAttributeProductId";
    /// Out-of-stock event: factory id.
    pub const FACTORY_ID: &str = "MessageAttributeFactoryId";
    /// Out-of-stock event: how many units to order.
    pub const PRODUCT_CNT: &str = "MessageAttributeProductCnt";
    /// Out-of-stock event: who asked.
    pub const REQUESTER: &str = "MessageAttributeRequester";
    /// Purchase event: units bought (a `Number` attribute, so numeric filters route it).
    pub const QUANTITY: &str = "quantity";
    /// Purchase event: customer id.
    pub const CUSTOMER: &str = "customer";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_doubles_to_its_cap_and_covers_its_window() {
        let waits: Vec<u64> = (1..=6).map(|n| retry::wait(180, n)).collect();
        assert_eq!(waits, vec![180, 360, 720, 900, 900, 900]);
        assert_eq!(retry::wait(1200, 3), 1200, "a base above the cap is not shortened");
        assert_eq!(retry::wait(30, 200), 900, "no overflow");
        // An hour of outage with a 3-minute base: receives at 0, 180, 540, 1260, 2160, 3060, 3960 s.
        assert_eq!(retry::receives_for(180, 3600), 7);
        assert!(retry::elapsed_before(180, 7) >= 3600 && retry::elapsed_before(180, 6) < 3600);
        assert_eq!(retry::receives_for(60, 1), 2);
    }

    #[test]
    fn a_plaintext_database_url_must_stay_on_this_machine() {
        for ok in [
            "mysql://root@127.0.0.1:3306/test",
            "mysql://app:p%40ss@localhost/donut",
            "mysql://LOCALHOST:3306",
            "mysql://u:p@[::1]:3306/x?ssl-mode=disabled",
            "mysql://127.8.9.10/x",
        ] {
            assert!(loopback_db_host(ok).is_ok(), "{ok}");
        }
        for bad in [
            "mysql://root@10.0.0.5:3306/test",
            "mysql://db.example.com/x",
            "mysql://127.0.0.1.example.com/x",
            "mysql://localhost@evil.example.com/x",
            "mysql://u:p@[2001:db8::1]:3306/x",
            "mysql://[::1/x",
            "mysql://u:pw@db.example.com:3306#@127.0.0.1/donut",
            "mysql://u:pw@db.example.com#x@localhost",
            "postgres://127.0.0.1/x",
            "mysql://0.0.0.0/x",
        ] {
            assert!(loopback_db_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_upper_snake_with_prefix() {
        assert_eq!(topic_arn("out_of_stock"), "FLOWFORM_TOPIC_OUT_OF_STOCK_ARN");
        assert_eq!(db_secret_arn("stock"), "FLOWFORM_DB_STOCK_SECRET_ARN");
        assert_eq!(endpoint_url("factory-api"), "FLOWFORM_ENDPOINT_FACTORY_API_URL");
        assert_eq!(email_from("shop"), "FLOWFORM_EMAIL_SHOP_FROM");
        assert_eq!(secret_arn("callback_key"), "FLOWFORM_SECRET_CALLBACK_KEY_ARN");
    }
}

/// Wire shapes shared by a handler and the stand-in it calls: one declaration, so the two
/// cannot drift apart.
pub mod wire {
    use serde::{Deserialize, Serialize};

    /// The Factory API's order: six strings, as the legacy API expects (`stock_request`
    /// sends it; the factory stand-in validates and answers it).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "PascalCase")]
    pub struct FactoryOrder {
        pub message_group_id: String,
        pub message_attribute_product_id: String,
        pub message_attribute_product_cnt: String,
        pub message_attribute_factory_id: String,
        pub message_attribute_requester: String,
        pub callback_url: String,
    }

    #[cfg(test)]
    mod tests {
        use super::FactoryOrder;

        /// The bytes the Factory API documents (PascalCase keys, every value a string).
        #[test]
        fn factory_order_wire_bytes() {
            let o = FactoryOrder {
                message_group_id: "g".into(),
                message_attribute_product_id: "donut".into(),
                message_attribute_product_cnt: "100".into(),
                message_attribute_factory_id: "f1".into(),
                message_attribute_requester: "shop".into(),
                callback_url: "https://x/cb".into(),
            };
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                r#"{"MessageGroupId":"g","MessageAttributeProductId":"donut","MessageAttributeProductCnt":"100","MessageAttributeFactoryId":"f1","MessageAttributeRequester":"shop","CallbackUrl":"https://x/cb"}"#
            );
        }
    }
}
