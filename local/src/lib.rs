//! flowform-local: the system described by flowform.yaml, running on one machine against
//! moto, MariaDB and the stand-ins, through the same pieces a user deploys.
//!
//! - [`provision`]: what moto's CloudFormation skips, created from the model through the APIs;
//! - [`runtime`]: a local Lambda Runtime API per function and the handler binary behind it;
//! - [`dev`]: queue pollers with event-source-mapping semantics, the HTTP front, the logs;
//! - [`dlq`]: list, peek at and redrive the dead-letter queues (on AWS too);
//! - [`jwt`]: a local OIDC issuer and API Gateway's JWT authorizer checks for `auth: jwt`;
//! - [`iam`]: the IAM gate holding each function's AWS calls to its generated role statements;
//! - [`locals`]: the template's references resolved to the local resources;
//! - [`moto`]: a private moto server when `dev` is given no AWS endpoint.

pub mod dev;
pub mod dlq;
pub mod iam;
pub mod jwt;
pub mod locals;
pub mod moto;
pub mod provision;
pub mod runtime;

/// SDK config for a local AWS endpoint (moto) with its fixed dummy credentials.
pub async fn aws_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config_as(endpoint, region, "testing").await
}

/// SDK config for a local AWS endpoint that signs with `access_key` (a function's key, for the
/// IAM gate: [`iam::access_key`]).
pub async fn aws_config_as(endpoint: &str, region: &str, access_key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            access_key,
            "testing",
            None,
            None,
            "flowform-local",
        ))
        .load()
        .await
}
