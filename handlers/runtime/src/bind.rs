//! The values a function's wiring gives it, as its generated bindings read them.
//!
//! `flowform generate` writes `out/bindings.rs` from the config: for each function a module
//! with a `Wiring` struct holding exactly what the function is wired to (its topics,
//! databases, endpoints, secrets, email senders, the queue it consumes, ...), each as one of
//! the types below, read once per container by `Wiring::from_env()`. A handlers crate
//! includes that file; using a topic the function is not wired to does not compile, and
//! removing a wire from the config breaks the build where the handler used it.
//!
//! Env var names come from `contracts`, the one source the generator writes them from.

use crate::deps::env;
use crate::Failure;

/// A topic the function publishes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    /// Its name in the config (what outbox rows and logs name it by).
    pub name: &'static str,
    /// Its `renamed_from`: outbox rows staged before the rename carry this name.
    pub renamed_from: Option<&'static str>,
    pub arn: String,
}

impl Topic {
    pub fn from_env(name: &'static str, renamed_from: Option<&'static str>) -> Result<Topic, Failure> {
        Ok(Topic { name, renamed_from, arn: env(&contracts::topic_arn(name))? })
    }
}

/// A database the function reaches (connect with [`Database::connect`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub name: &'static str,
    pub host: String,
    pub port: u16,
    /// The schema (`databases.<db>.name`).
    pub schema: String,
    /// The secret holding `{username, password}`.
    pub secret_arn: String,
    /// `rds` or the zipped CA file (`ca/<db>.pem`).
    pub ca: String,
    /// The database user of IAM authentication, when the config sets `iam_user`.
    pub iam_user: Option<String>,
}

impl Database {
    /// `iam`: whether the config gives the database an `iam_user` (then its env var must be set).
    pub fn from_env(name: &'static str, iam: bool) -> Result<Database, Failure> {
        let port = env(&contracts::db_port(name))?;
        Ok(Database {
            name,
            host: env(&contracts::db_host(name))?,
            port: port
                .parse()
                .map_err(|_| Failure::Permanent(format!("{} is not a port", contracts::db_port(name))))?,
            schema: env(&contracts::db_name(name))?,
            secret_arn: env(&contracts::db_secret_arn(name))?,
            ca: env(&contracts::db_ca(name))?,
            iam_user: if iam { Some(env(&contracts::db_iam_user(name))?) } else { None },
        })
    }

    /// A pool of at most `max` connections, TLS verified against the database's CA bundle
    /// ([`crate::db::connect`]); a Lambda container runs one invocation at a time, so 2 is
    /// plenty there.
    pub async fn connect(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
        max: u32,
    ) -> Result<sqlx::MySqlPool, Failure> {
        crate::db::connect(self.name, Some(secrets), max).await
    }
}

/// An external HTTP endpoint the function calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub name: &'static str,
    pub url: String,
}

impl Endpoint {
    pub fn from_env(name: &'static str) -> Result<Endpoint, Failure> {
        Ok(Endpoint { name, url: env(&contracts::endpoint_url(name))? })
    }
}

/// A secret the function reads (read its value with [`Secret::value`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    pub name: &'static str,
    pub arn: String,
}

impl Secret {
    pub fn from_env(name: &'static str) -> Result<Secret, Failure> {
        Ok(Secret { name, arn: env(&contracts::secret_arn(name))? })
    }

    pub async fn value(&self, client: &aws_sdk_secretsmanager::Client) -> Result<String, Failure> {
        crate::deps::secret(client, &self.arn).await
    }
}

/// An SES sender the function sends through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub name: &'static str,
    /// The domain or address SES sends as.
    pub identity: String,
    pub configuration_set: String,
    /// The first of the config's `senders`: the From address IAM allows.
    pub from: String,
}

impl Email {
    pub fn from_env(name: &'static str) -> Result<Email, Failure> {
        Ok(Email {
            name,
            identity: env(&contracts::email_identity(name))?,
            configuration_set: env(&contracts::email_configuration_set(name))?,
            from: env(&contracts::email_from(name))?,
        })
    }
}

/// The queue the function consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumed {
    pub name: &'static str,
    /// The queue's visibility timeout: the first wait of a failed record
    /// ([`crate::batch::Backoff`]).
    pub retry_base_seconds: u64,
}

impl Consumed {
    pub fn from_env(name: &'static str) -> Result<Consumed, Failure> {
        let v = env(contracts::RETRY_BASE_SECONDS)?;
        let retry_base_seconds = v
            .parse()
            .map_err(|_| Failure::Permanent(format!("{} is not a number of seconds", contracts::RETRY_BASE_SECONDS)))?;
        Ok(Consumed { name, retry_base_seconds })
    }
}

/// A plain env var of the config's `env:` (or the stage, the API URL).
pub fn var(name: &str) -> Result<String, Failure> {
    env(name)
}

/// For a handler's tests: sets every variable of `env` (a bindings module's `ENV`) that is not
/// set yet to a placeholder every binding reads (`1`: a port, a number of seconds, a name), so
/// `Wiring::from_env()` works without a deployment. Never call it in a handler.
pub fn placeholders(env: &[&str]) {
    for v in env {
        if std::env::var_os(v).is_none() {
            std::env::set_var(v, "1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_a_permanent_failure_naming_it() {
        let e = Topic::from_env("never_wired_anywhere", None).unwrap_err();
        assert!(matches!(&e, Failure::Permanent(m) if m.contains("FLOWFORM_TOPIC_NEVER_WIRED_ANYWHERE_ARN")), "{e}");
    }
}
