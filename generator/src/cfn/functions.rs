//! Functions: role and policy derived from what each reaches, env vars, VPC placement,
//! the trigger's event source or permissions, and Metadata. The parts are in [`super::access`],
//! [`super::vpc`] and [`super::triggers`]; this file assembles them.

use super::access::access;
use super::expr::{arn, Expr, LogicalId};
use super::policy::{Meta, Statement};
use super::schedule::{retry_words, ScheduleView};
use super::triggers::triggers;
use super::vpc::vpc;
use super::CODE_DIR;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct EnvVar {
    pub name: String,
    pub value: Expr,
}

#[derive(Serialize, Clone, Debug)]
pub struct FunctionView {
    pub id: LogicalId,
    pub role_id: LogicalId,
    pub role_description: String,
    /// `/flowform/<system>/<stage>/` when the function publishes to another system's topic,
    /// whose policy admits this stage's roles under that path.
    pub role_path: Option<String>,
    pub log_group_id: LogicalId,
    pub name: String,
    /// The config's text as written ([`Expr::text`]).
    pub description: Expr,
    pub code: String,
    pub memory: u64,
    pub timeout: u64,
    pub architecture: String,
    pub reserved_concurrency: Option<u64>,
    pub env: Vec<EnvVar>,
    pub vpc: Option<VpcView>,
    pub statements: Vec<Statement>,
    pub log_group_name: String,
    pub log_retention: u64,
    pub esm: Option<EsmView>,
    pub permissions: Vec<PermissionView>,
    /// `DeadLetterConfig.TargetArn`: the function's own DLQ (scheduled functions).
    pub dead_letter_arn: Option<Expr>,
    pub schedule: Option<ScheduleView>,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct VpcView {
    pub sg_id: LogicalId,
    pub sg_description: String,
    /// The `VpcId` and `PrivateSubnetIds` parameters.
    pub vpc_id: Expr,
    pub subnets: Expr,
    pub egress: Vec<EgressRule>,
    pub ingress: Vec<IngressView>,
}

#[derive(Serialize, Clone, Debug)]
pub struct EgressRule {
    pub description: String,
    pub port: u64,
    pub cidr: Option<String>,
    pub destination_sg: Option<Expr>,
}

#[derive(Serialize, Clone, Debug)]
pub struct IngressView {
    pub id: LogicalId,
    pub db_sg: Expr,
    pub port: u64,
    pub description: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct EsmView {
    pub id: LogicalId,
    pub queue_arn: Expr,
    pub batch_size: u64,
    pub batch_window: u64,
    pub max_concurrency: Option<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct PermissionView {
    pub id: LogicalId,
    pub principal: String,
    pub source_arn: Expr,
}

pub(super) fn function(sys: &System, f: &Function) -> FunctionView {
    let id = LogicalId::function(&f.identity);
    let log_group_id = LogicalId::log_group(&f.identity);
    let (mut st, env) = access(sys, f, &log_group_id);
    let vpc = vpc(sys, f, &mut st);
    let (esm, permissions, schedule) = triggers(sys, f);
    let meta = meta(sys, f);
    FunctionView {
        role_id: LogicalId::role(&f.identity),
        role_description: format!("Execution role of {}", f.physical_name(sys)),
        role_path: f
            .publishes
            .iter()
            .any(|t| sys.topic(t).is_some_and(|t| t.imported.is_some()))
            .then(|| sys.naming().role_path()),
        log_group_id: log_group_id.clone(),
        name: f.physical_name(sys),
        description: if f.description.is_empty() {
            Expr::lit(format!("{}: {}", sys.prefix(), f.name))
        } else {
            Expr::text(&f.description)
        },
        code: format!("{CODE_DIR}/{}.zip", f.handler),
        memory: f.memory,
        timeout: f.timeout,
        architecture: f.architecture.as_aws().into(),
        reserved_concurrency: f.reserved_concurrency,
        env,
        vpc,
        statements: st,
        log_group_name: f.log_group_name(sys),
        log_retention: sys.log_retention_days,
        esm,
        permissions,
        dead_letter_arn: schedule.as_ref().map(|sch| arn(&sch.dlq.id)),
        schedule,
        meta,
        id,
    }
}

/// Resource Metadata of the function: the zip path, why no async DLQ (or which one), and the
/// scanner findings the config's choices explain.
fn meta(sys: &System, f: &Function) -> Meta {
    let mut meta = Meta::default().renamed(&f.identity, &f.name).cfn_lint("W3002", "Code is the local zip that `flowform package` builds; `aws cloudformation package` uploads it and rewrites this property");
    match &f.trigger {
        Trigger::Queue { .. } => {
            meta = meta.checkov("CKV_AWS_116", "Invoked synchronously by its SQS event source mapping; failed messages go to the queue's dead-letter queue, an async DLQ would never receive anything");
        }
        Trigger::Http { .. } => {
            meta = meta.checkov("CKV_AWS_116", "Invoked synchronously by API Gateway; the caller sees the error, an async DLQ would never receive anything");
        }
        Trigger::Schedule { expression, retries, max_event_age } => {
            meta = meta.why(
                "DeadLetterConfig",
                format!(
                    "invoked asynchronously by its schedule ({expression}): a run that still fails {}, or waits longer than {max_event_age} s, goes to dead-letter queue {} (alarmed) instead of being dropped",
                    retry_words(*retries),
                    f.dlq_physical_name(sys)
                ),
            );
        }
    }
    if f.reserved_concurrency.is_none() {
        meta = meta.checkov("CKV_AWS_115", "No `reserved_concurrency` in the config: the function shares the account's unreserved pool (reserving on an account with the default quota of 10 fails the deploy)");
    }
    if f.databases.is_empty() {
        meta = meta.checkov(
            "CKV_AWS_117",
            "Reaches no VPC resource; running it in a VPC would only add NAT or endpoint cost for its AWS API calls",
        );
    }
    if let Trigger::Queue { .. } = f.trigger {
        meta = meta.why("Timeout", format!("{} s; the queue's visibility timeout is derived from it", f.timeout));
    }
    meta
}
