//! Lowering: validated [`System`] -> view model for the Tera templates.
//!
//! Every name, ARN, logical ID, IAM statement and derived value is computed here, in Rust;
//! templates only lay the values out. Values that CloudFormation resolves (Ref, GetAtt, Sub)
//! are JSON objects in their long form (`{"Ref": "X"}`); the render filter prints them in
//! short form (`!Ref X`).

use crate::ids::{pascal, route_id};
use crate::model::*;
use serde::Serialize;
use serde_json::{json, Value as Json};

/// Where the Lambda zips are, relative to `out/<stage>/template.yaml`. `flowform package`
/// (handlers, issue #3) writes them; `aws cloudformation package` uploads them.
pub const CODE_DIR: &str = "../../dist/lambda";

/// CloudFormation's limit of resources per stack.
pub const MAX_RESOURCES: usize = 500;

pub const KEY_ID: &str = "EncryptionKey";
pub const ALARM_TOPIC_ID: &str = "AlarmTopic";
pub const HTTP_API_ID: &str = "HttpApi";
/// EventBridge's upper bound of RetryPolicy.MaximumRetryAttempts.
pub const EVENTBRIDGE_MAX_RETRY_ATTEMPTS: u64 = 185;

fn r(id: &str) -> Json {
    json!({ "Ref": id })
}

fn arn(id: &str) -> Json {
    json!({ "Fn::GetAtt": [id, "Arn"] })
}

fn sub(s: &str) -> Json {
    json!({ "Fn::Sub": s })
}

fn one_or_many(mut v: Vec<Json>) -> Json {
    if v.len() == 1 {
        v.remove(0)
    } else {
        Json::Array(v)
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Pair {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct Skip {
    pub id: String,
    pub comment: String,
}

/// Resource Metadata: why derived values are what they are, and every scanner suppression
/// with its reason.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Meta {
    pub derived: Vec<Pair>,
    pub checkov: Vec<Skip>,
    pub cfn_lint: Vec<Skip>,
}

impl Meta {
    fn why(mut self, key: &str, value: impl Into<String>) -> Self {
        self.derived.push(Pair { key: key.into(), value: value.into() });
        self
    }
    fn checkov(mut self, id: &str, comment: impl Into<String>) -> Self {
        self.checkov.push(Skip { id: id.into(), comment: comment.into() });
        self
    }
    fn cfn_lint(mut self, id: &str, comment: impl Into<String>) -> Self {
        self.cfn_lint.push(Skip { id: id.into(), comment: comment.into() });
        self
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Statement {
    pub sid: String,
    pub effect: &'static str,
    pub principal: Option<Json>,
    pub actions: Vec<String>,
    pub resources: Json,
    pub condition: Option<Json>,
}

fn allow(sid: &str, actions: &[&str], resources: Json) -> Statement {
    Statement {
        sid: sid.into(),
        effect: "Allow",
        principal: None,
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources,
        condition: None,
    }
}

fn deny_insecure_transport(actions: &[&str], resources: Json) -> Statement {
    Statement {
        sid: "DenyInsecureTransport".into(),
        effect: "Deny",
        principal: Some(json!("*")),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources,
        condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ParamView {
    pub id: String,
    pub kind: String,
    pub description: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub constraint: Option<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct KeyView {
    pub id: String,
    pub alias_id: String,
    pub alias: String,
    pub description: String,
    pub statements: Vec<Statement>,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct TopicView {
    pub id: String,
    pub policy_id: String,
    pub name: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub statements: Vec<Statement>,
    pub subscription: Option<EmailSubscriptionView>,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct EmailSubscriptionView {
    pub id: String,
    pub endpoint: Json,
}

#[derive(Serialize, Clone, Debug)]
pub struct QueueView {
    pub id: String,
    pub policy_id: String,
    pub name: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub visibility_timeout: u64,
    pub retention: u64,
    pub redrive: Option<Json>,
    pub redrive_allow: Option<Json>,
    pub statements: Vec<Statement>,
    pub policy_queues: Vec<Json>,
    pub meta: Meta,
    pub alarm: Option<AlarmView>,
}

#[derive(Serialize, Clone, Debug)]
pub struct AlarmView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub queue_name: Json,
}

#[derive(Serialize, Clone, Debug)]
pub struct SubscriptionView {
    pub id: String,
    pub topic: Json,
    pub queue: Json,
    pub raw: bool,
    pub filter: Option<Json>,
    pub filter_scope: Option<String>,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct EnvVar {
    pub name: String,
    pub value: Json,
}

#[derive(Serialize, Clone, Debug)]
pub struct FunctionView {
    pub id: String,
    pub role_id: String,
    pub role_description: String,
    pub log_group_id: String,
    pub name: String,
    pub description: String,
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
    pub dead_letter_arn: Option<Json>,
    pub schedule: Option<ScheduleView>,
    pub meta: Meta,
}

/// A scheduled function's EventBridge rule, its async-invocation settings and its DLQ.
#[derive(Serialize, Clone, Debug)]
pub struct ScheduleView {
    pub rule_id: String,
    pub rule_name: String,
    pub rule_description: String,
    /// Resources that must exist before the rule fires for the first time.
    pub rule_depends_on: Vec<String>,
    pub rule_meta: Meta,
    pub expression: String,
    pub target_id: String,
    /// EventBridge's delivery retries (RetryPolicy.MaximumRetryAttempts).
    pub delivery_attempts: u64,
    pub max_event_age: u64,
    pub invoke_config_id: String,
    pub invoke_config_meta: Meta,
    pub retries: u64,
    pub dlq: QueueView,
}

#[derive(Serialize, Clone, Debug)]
pub struct VpcView {
    pub sg_id: String,
    pub sg_description: String,
    pub egress: Vec<EgressRule>,
    pub ingress: Vec<IngressView>,
}

#[derive(Serialize, Clone, Debug)]
pub struct EgressRule {
    pub description: String,
    pub port: u64,
    pub cidr: Option<String>,
    pub destination_sg: Option<Json>,
}

#[derive(Serialize, Clone, Debug)]
pub struct IngressView {
    pub id: String,
    pub db_sg: Json,
    pub port: u64,
    pub description: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct EsmView {
    pub id: String,
    pub queue_arn: Json,
    pub batch_size: u64,
    pub batch_window: u64,
    pub max_concurrency: Option<u64>,
}

#[derive(Serialize, Clone, Debug)]
pub struct PermissionView {
    pub id: String,
    pub principal: String,
    pub source_arn: Json,
}

#[derive(Serialize, Clone, Debug)]
pub struct HttpView {
    pub api_id: String,
    pub name: String,
    pub stage_id: String,
    pub log_group_id: String,
    pub log_group_name: String,
    pub log_retention: u64,
    pub access_log_format: String,
    pub throttle_rate: u64,
    pub throttle_burst: u64,
    pub integrations: Vec<IntegrationView>,
    pub routes: Vec<RouteView>,
}

#[derive(Serialize, Clone, Debug)]
pub struct IntegrationView {
    pub id: String,
    pub function_arn: Json,
    pub timeout_ms: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct RouteView {
    pub id: String,
    pub key: String,
    pub target: Json,
    pub auth: String,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct EmailView {
    pub identity_id: String,
    pub identity: String,
    pub config_set_id: String,
    pub config_set: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct SecretView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub length: u64,
    pub meta: Meta,
}

#[derive(Serialize, Clone, Debug)]
pub struct OutputView {
    pub id: String,
    pub description: String,
    pub value: Json,
}

#[derive(Serialize, Clone, Debug)]
pub struct StackView {
    pub system: String,
    pub stage: String,
    pub description: String,
    pub parameters: Vec<ParamView>,
    pub key: KeyView,
    pub secrets: Vec<SecretView>,
    pub alarm_topic: Option<TopicView>,
    pub topics: Vec<TopicView>,
    pub queues: Vec<QueueView>,
    pub subscriptions: Vec<SubscriptionView>,
    pub functions: Vec<FunctionView>,
    pub http: Option<HttpView>,
    pub emails: Vec<EmailView>,
    pub outputs: Vec<OutputView>,
    pub resource_count: usize,
}

pub fn topic_id(name: &str) -> String {
    format!("{}Topic", pascal(name))
}
pub fn queue_id(name: &str) -> String {
    format!("{}Queue", pascal(name))
}
pub fn dlq_id(name: &str) -> String {
    format!("{}DeadLetterQueue", pascal(name))
}
pub fn function_dlq_id(name: &str) -> String {
    format!("{}DeadLetterQueue", pascal(name))
}
pub fn schedule_rule_id(name: &str) -> String {
    format!("{}ScheduleRule", pascal(name))
}
/// ARN of a scheduled function's rule, spelled out from its deterministic name: the key
/// policy and the rule's own dependencies (permission, DLQ policy) cannot reference the rule.
pub fn schedule_rule_arn(sys: &System, f: &Function) -> Json {
    sub(&format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}", f.physical_name(sys)))
}
pub fn function_id(name: &str) -> String {
    format!("{}Function", pascal(name))
}
pub fn role_id(name: &str) -> String {
    format!("{}Role", pascal(name))
}
pub fn subscription_id(topic: &str, queue: &str) -> String {
    format!("{}To{}Subscription", pascal(topic), pascal(queue))
}
pub fn secret_id(name: &str) -> String {
    format!("{}Secret", pascal(name))
}
pub fn db_param(db: &str, what: &str) -> String {
    format!("{}Db{what}", pascal(db))
}
pub fn endpoint_param(ep: &str) -> String {
    format!("{}Url", pascal(ep))
}
fn email_identity_id(e: &str) -> String {
    format!("{}EmailIdentity", pascal(e))
}
pub fn email_config_set_id(e: &str) -> String {
    format!("{}ConfigurationSet", pascal(e))
}

const LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}"#;

pub fn lower(sys: &System) -> StackView {
    let prefix = sys.prefix();
    let scheduled: Vec<&Function> =
        sys.functions.iter().filter(|f| matches!(f.trigger, Trigger::Schedule { .. })).collect();
    // Dead-letter queues (of queues and of scheduled functions) alarm to the alarm topic.
    let has_dlq = sys.queues.iter().any(|q| q.dlq.is_some()) || !scheduled.is_empty();
    let vpc = sys.vpc_functions().next().is_some();

    // Parameters: per-account values, derived from the wiring, then the user's own.
    let mut parameters = Vec::new();
    if has_dlq {
        parameters.push(ParamView {
            id: "AlarmEmail".into(),
            kind: "String".into(),
            description: "Address that receives dead-letter-queue alarms".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^[^@\s]+@[^@\s]+\.[^@\s]+$".into()),
            constraint: Some("must be an email address".into()),
        });
    }
    if vpc {
        parameters.push(ParamView {
            id: "VpcId".into(),
            kind: "AWS::EC2::VPC::Id".into(),
            description: "VPC of the databases; functions that reach a database run in it".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
        parameters.push(ParamView {
            id: "PrivateSubnetIds".into(),
            kind: "List<AWS::EC2::Subnet::Id>".into(),
            description: "Private subnets (with a NAT or VPC endpoints) for functions that reach a database".into(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
    }
    for db in &sys.databases {
        let what = if db.description.is_empty() { format!("database `{}`", db.name) } else { db.description.clone() };
        parameters.push(ParamView {
            id: db_param(&db.name, "Host"),
            kind: "String".into(),
            description: format!("Endpoint host name of {what}"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^[A-Za-z0-9.-]+$".into()),
            constraint: Some("must be a host name".into()),
        });
        parameters.push(ParamView {
            id: db_param(&db.name, "SecretArn"),
            kind: "String".into(),
            description: format!("ARN of the Secrets Manager secret with username and password of {what}"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: Some(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$".into()),
            constraint: Some("must be a Secrets Manager secret ARN".into()),
        });
        parameters.push(ParamView {
            id: db_param(&db.name, "SecurityGroupId"),
            kind: "AWS::EC2::SecurityGroup::Id".into(),
            description: format!("Security group of {what}; flowform adds an ingress rule per function"),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint: None,
        });
        if db.iam_user.is_some() {
            parameters.push(ParamView {
                id: db_param(&db.name, "ResourceId"),
                kind: "String".into(),
                description: format!("DbiResourceId (db-...) of {what}, for IAM database authentication"),
                default: None,
                allowed_values: vec![],
                allowed_pattern: Some(r"^db-[A-Z0-9]+$".into()),
                constraint: Some("must be a DbiResourceId such as db-ABCDEFGHIJKL".into()),
            });
        }
    }
    for ep in &sys.endpoints {
        parameters.push(ParamView {
            id: endpoint_param(&ep.name),
            kind: "String".into(),
            description: if ep.description.is_empty() {
                format!("Base URL of endpoint `{}`", ep.name)
            } else {
                format!("Base URL of {}", ep.description)
            },
            default: ep.default.clone(),
            allowed_values: vec![],
            allowed_pattern: Some("^https?://.+$".into()),
            constraint: Some("must be an http(s) URL".into()),
        });
    }

    // The customer key: encrypts topics, queues, logs, env vars and generated secrets.
    // Topic ARNs are spelled out (not `!Ref`): the topics are encrypted with this key, so a
    // reference would make key and topics depend on each other.
    let delivering: Vec<Json> = sys
        .delivering_topics()
        .iter()
        .map(|t| {
            sub(&format!("arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{}", t.physical_name(sys)))
        })
        .collect();
    let mut key_statements = vec![Statement {
        sid: "AccountAdministersKeyThroughIam".into(),
        effect: "Allow",
        principal: Some(json!({ "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") })),
        actions: vec!["kms:*".into()],
        resources: json!("*"),
        condition: None,
    }];
    if !delivering.is_empty() {
        key_statements.push(Statement {
            sid: "SnsEncryptsForSubscribedQueues".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "sns.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: json!("*"),
            condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(delivering.clone()) } })),
        });
    }
    if !scheduled.is_empty() {
        key_statements.push(Statement {
            sid: "EventBridgeEncryptsForScheduleDeadLetterQueues".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "events.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: json!("*"),
            condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(scheduled.iter().map(|f| schedule_rule_arn(sys, f)).collect()) } })),
        });
    }
    if has_dlq {
        key_statements.push(Statement {
            sid: "CloudWatchAlarmsPublishToAlarmTopic".into(),
            effect: "Allow",
            principal: Some(json!({ "Service": "cloudwatch.amazonaws.com" })),
            actions: vec!["kms:Decrypt".into(), "kms:GenerateDataKey".into()],
            resources: json!("*"),
            condition: Some(json!({ "ArnLike": { "aws:SourceArn": sub(&format!("arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{prefix}-*")) } })),
        });
    }
    key_statements.push(Statement {
        sid: "CloudWatchLogsEncryptsStackLogGroups".into(),
        effect: "Allow",
        principal: Some(json!({ "Service": sub("logs.${AWS::Region}.amazonaws.com") })),
        actions: vec!["kms:Decrypt*".into(), "kms:Describe*".into(), "kms:Encrypt*".into(), "kms:GenerateDataKey*".into(), "kms:ReEncrypt*".into()],
        resources: json!("*"),
        condition: Some(json!({ "ArnLike": { "kms:EncryptionContext:aws:logs:arn": [
            sub(&format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{prefix}-*")),
            sub(&format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/apigateway/{prefix}"))
        ] } })),
    });
    let mut key_why = String::from("A customer key, because SNS cannot deliver to queues encrypted with the AWS-managed SQS key. Function roles get kms grants in IAM (the root statement enables that); naming them here would make the key and the roles depend on each other.");
    if !scheduled.is_empty() {
        key_why.push_str(" EventBridge may encrypt only for the schedule rules, whose ARNs are spelled out: the rules reference the dead-letter queues this key encrypts.");
    }
    let key = KeyView {
        id: KEY_ID.into(),
        alias_id: "EncryptionKeyAlias".into(),
        alias: format!("alias/{prefix}"),
        description: format!("{prefix}: encrypts topics, queues, logs, env vars and secrets"),
        statements: key_statements,
        meta: Meta::default().why("KeyPolicy", key_why),
    };

    let secrets: Vec<SecretView> = sys
        .secrets
        .iter()
        .map(|s| SecretView {
            id: secret_id(&s.name),
            name: format!("{}/{}/{}", sys.name, sys.stage, s.name),
            description: if s.description.is_empty() { format!("{prefix}: generated secret `{}`", s.name) } else { s.description.clone() },
            length: s.length,
            meta: Meta::default().checkov(
                "CKV2_AWS_57",
                "Rotation would invalidate tokens already handed out (e.g. callback URLs in flight); rotate by redeploying with a new secret name.",
            ),
        })
        .collect();

    let alarm_topic = has_dlq.then(|| TopicView {
        id: ALARM_TOPIC_ID.into(),
        policy_id: "AlarmTopicPolicy".into(),
        name: format!("{prefix}-alarms"),
        fifo: false,
        content_based_dedup: false,
        statements: vec![
            Statement {
                sid: "CloudWatchAlarmsPublish".into(),
                effect: "Allow",
                principal: Some(json!({ "Service": "cloudwatch.amazonaws.com" })),
                actions: vec!["sns:Publish".into()],
                resources: r(ALARM_TOPIC_ID),
                condition: Some(json!({ "ArnLike": { "aws:SourceArn": sub(&format!("arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{prefix}-*")) } })),
            },
            deny_insecure_transport(&["sns:Publish"], r(ALARM_TOPIC_ID)),
        ],
        subscription: Some(EmailSubscriptionView { id: "AlarmEmailSubscription".into(), endpoint: r("AlarmEmail") }),
        meta: Meta::default(),
    });

    let topics: Vec<TopicView> = sys
        .topics
        .iter()
        .map(|t| {
            let id = topic_id(&t.name);
            TopicView {
                policy_id: format!("{}TopicPolicy", pascal(&t.name)),
                name: t.physical_name(sys),
                fifo: t.fifo,
                content_based_dedup: t.content_based_dedup,
                statements: vec![deny_insecure_transport(&["sns:Publish"], r(&id))],
                subscription: None,
                meta: Meta::default(),
                id,
            }
        })
        .collect();

    let mut queues = Vec::new();
    let mut subscriptions = Vec::new();
    for q in &sys.queues {
        let id = queue_id(&q.name);
        let consumer = q.consumer.as_ref().and_then(|c| sys.function(c));
        let vt_why = match consumer {
            Some(f) => {
                let window = match f.trigger {
                    Trigger::Queue { batch_window, .. } => batch_window,
                    Trigger::Http { .. } | Trigger::Schedule { .. } => 0,
                };
                format!(
                    "{} s = 6 x the {} s timeout of function `{}` + its {} s batching window (AWS guidance), so a message is not redelivered while a retried invocation may still hold it",
                    q.visibility_timeout, f.timeout, f.name, window
                )
            }
            None => format!("{} s, the SQS default: no function consumes this queue", q.visibility_timeout),
        };
        let mut meta = Meta::default().why("VisibilityTimeout", vt_why);
        let dlq = q.dlq.as_ref().map(|d| (dlq_id(&q.name), d));
        if let Some((_, d)) = &dlq {
            let why = match d.retry_window {
                Some(w) => format!(
                    "{} receives: failed records wait {} s, doubling up to {} s, before the next receive (the handlers set it with ChangeMessageVisibility), so the last retry comes {} s after the first receive, covering the {w} s `dlq.retry_window`; then the message moves to the dead-letter queue",
                    d.max_receives,
                    q.visibility_timeout,
                    contracts::retry::MAX_WAIT_SECONDS.max(q.visibility_timeout),
                    contracts::retry::elapsed_before(q.visibility_timeout, d.max_receives)
                ),
                None => format!("after {} receives without success a message moves to the dead-letter queue instead of being retried forever", d.max_receives),
            };
            meta = meta.why("RedrivePolicy", why);
        } else {
            meta = meta.why(
                "RedrivePolicy",
                "none: `dlq: false` in the config; failed messages are retried until they expire",
            );
        }
        let mut statements = Vec::new();
        if !q.subscriptions.is_empty() {
            let topics: Vec<Json> = q.subscriptions.iter().map(|s| r(&topic_id(&s.topic))).collect();
            statements.push(Statement {
                sid: "SubscribedTopicsSend".into(),
                effect: "Allow",
                principal: Some(json!({ "Service": "sns.amazonaws.com" })),
                actions: vec!["sqs:SendMessage".into()],
                resources: arn(&id),
                condition: Some(json!({ "ArnEquals": { "aws:SourceArn": one_or_many(topics) } })),
            });
        }
        statements.push(deny_insecure_transport(&["sqs:*"], arn(&id)));
        queues.push(QueueView {
            policy_id: format!("{}QueuePolicy", pascal(&q.name)),
            name: q.physical_name(sys),
            fifo: q.fifo,
            content_based_dedup: q.content_based_dedup,
            visibility_timeout: q.visibility_timeout,
            retention: q.retention_seconds,
            redrive: dlq
                .as_ref()
                .map(|(did, d)| json!({ "deadLetterTargetArn": arn(did), "maxReceiveCount": d.max_receives })),
            redrive_allow: None,
            statements,
            policy_queues: vec![r(&id)],
            meta,
            alarm: None,
            id: id.clone(),
        });
        if let Some((did, d)) = dlq {
            queues.push(QueueView {
                policy_id: format!("{}DeadLetterQueuePolicy", pascal(&q.name)),
                name: q.dlq_physical_name(sys),
                fifo: q.fifo,
                content_based_dedup: q.fifo,
                visibility_timeout: 30,
                retention: d.retention_seconds,
                redrive: None,
                // The source ARN is spelled out: `!GetAtt` would make the queue and its DLQ
                // depend on each other.
                redrive_allow: Some(json!({ "redrivePermission": "byQueue", "sourceQueueArns": [sub(&format!(
                    "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{}",
                    q.physical_name(sys)
                ))] })),
                statements: vec![deny_insecure_transport(&["sqs:*"], arn(&did))],
                policy_queues: vec![r(&did)],
                meta: Meta::default().why(
                    "MessageRetentionPeriod",
                    format!(
                        "{} days, longer than the {} days of queue `{}`: a message's age counts from its first enqueue, so a shorter DLQ retention would drop it on arrival",
                        d.retention_seconds / 86_400,
                        q.retention_seconds / 86_400,
                        q.name
                    ),
                ),
                alarm: Some(AlarmView {
                    id: format!("{}DeadLetterQueueAlarm", pascal(&q.name)),
                    name: format!("{}-dlq-not-empty", sys.physical(&q.name)),
                    description: format!("Messages of queue `{}` failed {} times and wait in its dead-letter queue", q.name, d.max_receives),
                    queue_name: json!({ "Fn::GetAtt": [did.clone(), "QueueName"] }),
                }),
                id: did,
            });
        }
        for s in &q.subscriptions {
            let topic = sys.topic(&s.topic);
            let mut meta = Meta::default();
            if !s.raw {
                meta = meta.why(
                    "RawMessageDelivery",
                    "false: the consumer reads the SNS envelope (message attributes stay inside the body)",
                );
            }
            if topic.is_some_and(|t| t.fifo) && !q.fifo {
                meta = meta.why(
                    "Ordering",
                    "a FIFO topic delivering to a standard queue: order and deduplication end at the queue",
                );
            }
            subscriptions.push(SubscriptionView {
                id: subscription_id(&s.topic, &q.name),
                topic: r(&topic_id(&s.topic)),
                queue: arn(&id),
                raw: s.raw,
                filter: s.filter.clone(),
                filter_scope: s.filter.as_ref().map(|_| match s.filter_scope {
                    FilterScope::Attributes => "MessageAttributes".to_string(),
                    FilterScope::Body => "MessageBody".to_string(),
                }),
                meta,
            });
        }
    }

    let http = sys.http.as_ref().map(|h| lower_http(sys, h));
    let functions: Vec<FunctionView> = sys.functions.iter().map(|f| lower_function(sys, f)).collect();

    let emails: Vec<EmailView> = sys
        .emails
        .iter()
        .map(|e| EmailView {
            identity_id: email_identity_id(&e.name),
            identity: e.identity.clone(),
            config_set_id: email_config_set_id(&e.name),
            config_set: e.configuration_set.clone(),
        })
        .collect();

    let mut outputs = Vec::new();
    if http.is_some() {
        outputs.push(OutputView {
            id: "HttpApiUrl".into(),
            description: "Base URL of the HTTP API".into(),
            value: sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
        });
    }
    for q in &sys.queues {
        outputs.push(OutputView {
            id: format!("{}QueueUrl", pascal(&q.name)),
            description: format!("URL of queue `{}`", q.name),
            value: r(&queue_id(&q.name)),
        });
        if q.dlq.is_some() {
            outputs.push(OutputView {
                id: format!("{}DeadLetterQueueUrl", pascal(&q.name)),
                description: format!("URL of the dead-letter queue of `{}`", q.name),
                value: r(&dlq_id(&q.name)),
            });
        }
    }
    for f in &scheduled {
        outputs.push(OutputView {
            id: format!("{}DeadLetterQueueUrl", pascal(&f.name)),
            description: format!("URL of the dead-letter queue of scheduled function `{}`", f.name),
            value: r(&function_dlq_id(&f.name)),
        });
    }
    for t in &sys.topics {
        outputs.push(OutputView {
            id: format!("{}TopicArn", pascal(&t.name)),
            description: format!("ARN of topic `{}`", t.name),
            value: r(&topic_id(&t.name)),
        });
    }

    let mut view = StackView {
        system: sys.name.clone(),
        stage: sys.stage.clone(),
        description: if sys.description.is_empty() {
            format!("{prefix} (generated by flowform)")
        } else {
            format!("{} ({}, generated by flowform)", sys.description, sys.stage)
        },
        parameters,
        key,
        secrets,
        alarm_topic,
        topics,
        queues,
        subscriptions,
        functions,
        http,
        emails,
        outputs,
        resource_count: 0,
    };
    view.resource_count = logical_ids(&view).len();
    view
}

/// Logical IDs of every resource the templates will emit for this view, in template order.
/// Used for the resource limit and for ID clashes between kinds; `verify` re-checks the
/// rendered template.
pub fn logical_ids(v: &StackView) -> Vec<String> {
    let mut ids = vec![v.key.id.clone(), v.key.alias_id.clone()];
    ids.extend(v.secrets.iter().map(|s| s.id.clone()));
    for t in v.alarm_topic.iter().chain(&v.topics) {
        ids.push(t.id.clone());
        ids.push(t.policy_id.clone());
        ids.extend(t.subscription.iter().map(|s| s.id.clone()));
    }
    for q in &v.queues {
        ids.push(q.id.clone());
        ids.push(q.policy_id.clone());
        ids.extend(q.alarm.iter().map(|a| a.id.clone()));
    }
    ids.extend(v.subscriptions.iter().map(|s| s.id.clone()));
    for f in &v.functions {
        ids.extend([f.role_id.clone(), f.log_group_id.clone(), f.id.clone()]);
        ids.extend(f.esm.iter().map(|e| e.id.clone()));
        ids.extend(f.permissions.iter().map(|p| p.id.clone()));
        if let Some(sch) = &f.schedule {
            ids.extend([
                sch.rule_id.clone(),
                sch.invoke_config_id.clone(),
                sch.dlq.id.clone(),
                sch.dlq.policy_id.clone(),
            ]);
            ids.extend(sch.dlq.alarm.iter().map(|a| a.id.clone()));
        }
        if let Some(vpc) = &f.vpc {
            ids.push(vpc.sg_id.clone());
            ids.extend(vpc.ingress.iter().map(|i| i.id.clone()));
        }
    }
    if let Some(h) = &v.http {
        ids.extend([h.api_id.clone(), h.log_group_id.clone(), h.stage_id.clone()]);
        ids.extend(h.integrations.iter().map(|i| i.id.clone()));
        ids.extend(h.routes.iter().map(|r| r.id.clone()));
    }
    for e in &v.emails {
        ids.extend([e.config_set_id.clone(), e.identity_id.clone()]);
    }
    ids
}

/// Logical IDs used twice (by resources or parameters), from names of different kinds that
/// map to one ID, e.g. queue `a_dead_letter` and the dead-letter queue of queue `a`.
pub fn clashing_ids(v: &StackView) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut clashes = std::collections::BTreeSet::new();
    for id in logical_ids(v).into_iter().chain(v.parameters.iter().map(|p| p.id.clone())) {
        if !seen.insert(id.clone()) {
            clashes.insert(id);
        }
    }
    clashes.into_iter().collect()
}

fn lower_http(sys: &System, h: &HttpApi) -> HttpView {
    let prefix = sys.prefix();
    let mut integrations = Vec::new();
    let mut routes = Vec::new();
    for f in &sys.functions {
        let Trigger::Http { auth, routes: rs } = &f.trigger else { continue };
        let integration_id = format!("{}Integration", pascal(&f.name));
        integrations.push(IntegrationView {
            id: integration_id.clone(),
            function_arn: arn(&function_id(&f.name)),
            timeout_ms: (f.timeout * 1000).min(30_000),
        });
        for route in rs {
            let mut meta = Meta::default();
            match auth {
                RouteAuth::Public => {
                    meta = meta.checkov(
                        "CKV_AWS_309",
                        format!("`auth: public` in the config: `{}` is meant to be called by anyone", route.key()),
                    );
                }
                RouteAuth::Signed => {
                    meta = meta.checkov(
                        "CKV_AWS_309",
                        format!("`auth: signed` in the config: function `{}` rejects calls without a valid signature made with its secret", f.name),
                    );
                }
                RouteAuth::Iam => {}
            }
            routes.push(RouteView {
                id: format!("{}Route", route_id(&route.method, &route.path)),
                key: route.key(),
                target: sub(&format!("integrations/${{{integration_id}}}")),
                auth: match auth {
                    RouteAuth::Iam => "AWS_IAM".into(),
                    _ => "NONE".into(),
                },
                meta,
            });
        }
    }
    routes.sort_by(|a, b| a.id.cmp(&b.id));
    HttpView {
        api_id: HTTP_API_ID.into(),
        name: prefix.clone(),
        stage_id: "HttpApiStage".into(),
        log_group_id: "HttpApiAccessLogGroup".into(),
        log_group_name: format!("/aws/apigateway/{prefix}"),
        log_retention: sys.log_retention_days,
        access_log_format: LOG_FORMAT.into(),
        throttle_rate: h.throttle_rate,
        throttle_burst: h.throttle_burst,
        integrations,
        routes,
    }
}

fn lower_function(sys: &System, f: &Function) -> FunctionView {
    let id = function_id(&f.name);
    let log_group_id = format!("{}LogGroup", pascal(&f.name));
    let mut st = vec![allow("WriteOwnLogs", &["logs:CreateLogStream", "logs:PutLogEvents"], arn(&log_group_id))];
    let mut env: Vec<EnvVar> = vec![EnvVar { name: contracts::STAGE.into(), value: json!(sys.stage) }];
    let mut kms_actions: Vec<&str> = vec!["kms:Decrypt"];

    if let Trigger::Queue { queue, .. } = &f.trigger {
        st.push(allow(
            "ConsumeOwnQueue",
            &["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            arn(&queue_id(queue)),
        ));
    }
    if let Trigger::Schedule { .. } = &f.trigger {
        // Lambda writes failed asynchronous runs to the DLQ with the execution role; the
        // queue is encrypted with the stack key, so the role also needs to make data keys.
        st.push(allow("SendToOwnDeadLetterQueue", &["sqs:SendMessage"], arn(&function_dlq_id(&f.name))));
        kms_actions.push("kms:GenerateDataKey");
    }
    if !f.publishes.is_empty() {
        st.push(allow(
            "PublishToTopics",
            &["sns:Publish"],
            one_or_many(f.publishes.iter().map(|t| r(&topic_id(t))).collect()),
        ));
        if !kms_actions.contains(&"kms:GenerateDataKey") {
            kms_actions.push("kms:GenerateDataKey");
        }
        for t in &f.publishes {
            env.push(EnvVar { name: contracts::topic_arn(t), value: r(&topic_id(t)) });
        }
    }
    for e in &f.emails {
        let Some(email) = sys.email(e) else { continue };
        let identity = sub(&format!(
            "arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{}",
            email.identity
        ));
        let cs = sub(&format!(
            "arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/${{{}}}",
            email_config_set_id(e)
        ));
        let mut s = allow(&format!("SendEmailAs{}", pascal(e)), &["ses:SendEmail"], json!([identity, cs]));
        s.condition = Some(
            json!({ "StringEquals": { "ses:FromAddress": one_or_many(email.senders.iter().map(|a| json!(a)).collect()) } }),
        );
        st.push(s);
        env.push(EnvVar { name: contracts::email_identity(e), value: json!(email.identity) });
        env.push(EnvVar { name: contracts::email_configuration_set(e), value: r(&email_config_set_id(e)) });
        env.push(EnvVar {
            name: contracts::email_from(e),
            value: json!(email.senders.first().cloned().unwrap_or_default()),
        });
    }
    let mut secret_arns = Vec::new();
    for d in &f.databases {
        let Some(db) = sys.database(d) else { continue };
        secret_arns.push(r(&db_param(d, "SecretArn")));
        env.push(EnvVar { name: contracts::db_host(d), value: r(&db_param(d, "Host")) });
        env.push(EnvVar { name: contracts::db_port(d), value: json!(db.port.to_string()) });
        env.push(EnvVar { name: contracts::db_name(d), value: json!(db.db_name) });
        env.push(EnvVar { name: contracts::db_secret_arn(d), value: r(&db_param(d, "SecretArn")) });
        if let Some(user) = &db.iam_user {
            env.push(EnvVar { name: contracts::db_iam_user(d), value: json!(user) });
            st.push(allow(
                &format!("ConnectTo{}DbWithIam", pascal(d)),
                &["rds-db:connect"],
                sub(&format!(
                    "arn:${{AWS::Partition}}:rds-db:${{AWS::Region}}:${{AWS::AccountId}}:dbuser:${{{}}}/{user}",
                    db_param(d, "ResourceId")
                )),
            ));
        }
    }
    if !secret_arns.is_empty() {
        st.push(allow("ReadDatabaseSecrets", &["secretsmanager:GetSecretValue"], one_or_many(secret_arns)));
    }
    if !f.secrets.is_empty() {
        st.push(allow(
            "ReadGeneratedSecrets",
            &["secretsmanager:GetSecretValue"],
            one_or_many(f.secrets.iter().map(|s| r(&secret_id(s))).collect()),
        ));
        for s in &f.secrets {
            env.push(EnvVar { name: contracts::secret_arn(s), value: r(&secret_id(s)) });
        }
    }
    for ep in &f.endpoints {
        env.push(EnvVar { name: contracts::endpoint_url(ep), value: r(&endpoint_param(ep)) });
    }
    if let Some(q) = f.queue().and_then(|q| sys.queues.iter().find(|x| x.name == q)) {
        env.push(EnvVar { name: contracts::RETRY_BASE_SECONDS.into(), value: json!(q.visibility_timeout.to_string()) });
    }
    if !f.callbacks.is_empty() {
        env.push(EnvVar {
            name: contracts::HTTP_API_URL.into(),
            value: sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
        });
    }
    for (k, v) in &f.env {
        env.push(EnvVar { name: k.clone(), value: json!(v) });
    }
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let mut kms = allow("UseStackKey", &[], arn(KEY_ID));
    kms_actions.sort();
    kms.actions = kms_actions.iter().map(|s| s.to_string()).collect();
    st.push(kms);

    let vpc = (!f.databases.is_empty()).then(|| {
        let sg_id = format!("{}SecurityGroup", pascal(&f.name));
        st.push(allow("DescribeNetworkInterfaces", &["ec2:DescribeNetworkInterfaces"], json!("*")));
        st.push(allow(
            "ManageOwnNetworkInterfaces",
            &[
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            json!([
                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*"),
                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*"),
                sub(&format!(
                    "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/${{{sg_id}}}"
                )),
            ]),
        ));
        let mut egress = vec![EgressRule {
            description: "HTTPS to AWS APIs and external endpoints (through NAT or VPC endpoints)".into(),
            port: 443,
            cidr: Some("0.0.0.0/0".into()),
            destination_sg: None,
        }];
        let mut ingress = Vec::new();
        for d in &f.databases {
            let Some(db) = sys.database(d) else { continue };
            egress.push(EgressRule {
                description: format!("MySQL to database {d}"),
                port: db.port,
                cidr: None,
                destination_sg: Some(r(&db_param(d, "SecurityGroupId"))),
            });
            ingress.push(IngressView {
                id: format!("{}To{}DbIngress", pascal(&f.name), pascal(d)),
                db_sg: r(&db_param(d, "SecurityGroupId")),
                port: db.port,
                description: format!("function {} of {} reaches database {d}", f.name, sys.prefix()),
            });
        }
        VpcView { sg_description: format!("{}: function {}", sys.prefix(), f.name), sg_id, egress, ingress }
    });

    let esm = match &f.trigger {
        Trigger::Queue { queue, batch_size, batch_window, max_concurrency } => Some(EsmView {
            id: format!("{}EventSourceMapping", pascal(&f.name)),
            queue_arn: arn(&queue_id(queue)),
            batch_size: *batch_size,
            batch_window: *batch_window,
            max_concurrency: *max_concurrency,
        }),
        Trigger::Http { .. } | Trigger::Schedule { .. } => None,
    };
    let permissions = match &f.trigger {
        Trigger::Http { routes, .. } => routes
            .iter()
            .map(|route| {
                let path: String = route
                    .path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "*" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                let method = if route.method == "ANY" { "*" } else { &route.method };
                PermissionView {
                    id: format!("{}Permission", route_id(&route.method, &route.path)),
                    principal: "apigateway.amazonaws.com".into(),
                    source_arn: sub(&format!(
                        "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{HttpApi}}/*/{method}{path}"
                    )),
                }
            })
            .collect(),
        // The rule ARN is spelled out: the rule depends on this permission (so its first
        // run is allowed), and a `!GetAtt` back would be a cycle.
        Trigger::Schedule { .. } => vec![PermissionView {
            id: format!("{}SchedulePermission", pascal(&f.name)),
            principal: "events.amazonaws.com".into(),
            source_arn: schedule_rule_arn(sys, f),
        }],
        Trigger::Queue { .. } => Vec::new(),
    };
    let schedule = match &f.trigger {
        Trigger::Schedule { expression, retries, max_event_age } => {
            Some(lower_schedule(sys, f, expression, *retries, *max_event_age))
        }
        _ => None,
    };

    let mut meta = Meta::default().cfn_lint("W3002", "Code is the local zip that `flowform package` builds; `aws cloudformation package` uploads it and rewrites this property");
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
    FunctionView {
        role_id: role_id(&f.name),
        role_description: format!("Execution role of {}", f.physical_name(sys)),
        log_group_id: log_group_id.clone(),
        name: f.physical_name(sys),
        description: if f.description.is_empty() {
            format!("{}: {}", sys.prefix(), f.name)
        } else {
            f.description.clone()
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

/// "after 2 retries", "after 1 retry", "with no retry".
pub fn retry_words(n: u64) -> String {
    match n {
        0 => "with no retry".into(),
        1 => "after 1 retry".into(),
        n => format!("after {n} retries"),
    }
}

/// The EventBridge rule that invokes a scheduled function, its invoke config (Lambda's
/// retries) and its dead-letter queue, which collects both the runs Lambda gave up on and the
/// events EventBridge could not deliver.
fn lower_schedule(sys: &System, f: &Function, expression: &str, retries: u64, max_event_age: u64) -> ScheduleView {
    let p = pascal(&f.name);
    let dlq_id = function_dlq_id(&f.name);
    let rule_id = schedule_rule_id(&f.name);
    let invoke_config_id = format!("{p}EventInvokeConfig");
    let permission_id = format!("{p}SchedulePermission");
    let dlq = QueueView {
        policy_id: format!("{p}DeadLetterQueuePolicy"),
        name: f.dlq_physical_name(sys),
        fifo: false,
        content_based_dedup: false,
        visibility_timeout: 30,
        retention: crate::validate::DEFAULT_DLQ_RETENTION_DAYS * 86_400,
        redrive: None,
        redrive_allow: Some(json!({ "redrivePermission": "denyAll" })),
        statements: vec![
            Statement {
                sid: "ScheduleRuleSendsUndeliveredEvents".into(),
                effect: "Allow",
                principal: Some(json!({ "Service": "events.amazonaws.com" })),
                actions: vec!["sqs:SendMessage".into()],
                resources: arn(&dlq_id),
                condition: Some(json!({ "ArnEquals": { "aws:SourceArn": schedule_rule_arn(sys, f) } })),
            },
            deny_insecure_transport(&["sqs:*"], arn(&dlq_id)),
        ],
        policy_queues: vec![r(&dlq_id)],
        meta: Meta::default()
            .why(
                "MessageRetentionPeriod",
                format!("{} days, the SQS maximum: failed scheduled runs of function `{}` wait here to be looked at", crate::validate::DEFAULT_DLQ_RETENTION_DAYS, f.name),
            )
            .why("RedriveAllowPolicy", format!("denyAll: this queue collects the failed runs of function `{}`; no queue may make it its dead-letter queue", f.name)),
        alarm: Some(AlarmView {
            id: format!("{dlq_id}Alarm"),
            name: format!("{}-dlq-not-empty", f.physical_name(sys)),
            description: format!(
                "Scheduled runs of function `{}` failed ({}, or older than {max_event_age} s) and wait in its dead-letter queue",
                f.name,
                retry_words(retries)
            ),
            queue_name: json!({ "Fn::GetAtt": [dlq_id.clone(), "QueueName"] }),
        }),
        id: dlq_id,
    };
    let rule_meta = Meta::default()
        .why(
            "RetryPolicy",
            format!(
                "EventBridge retries handing a run to Lambda (throttling, service errors) with backoff until the event is {max_event_age} s old (`max_event_age`), then puts it in the dead-letter queue. MaximumRetryAttempts is EventBridge's maximum, {EVENTBRIDGE_MAX_RETRY_ATTEMPTS}: its backoff spreads those over about 24 h, so the age always ends the retries first and one config value bounds both EventBridge and Lambda"
            ),
        )
        .why(
            "DependsOn",
            "the permission, the invoke config and the dead-letter queue's policy exist before the first run is due; they name this rule by its spelled-out ARN, so depending on them makes no cycle",
        );
    ScheduleView {
        rule_name: f.physical_name(sys),
        rule_description: format!("Runs function {} of {} on {expression}{}", f.name, sys.prefix(), if expression.starts_with("cron(") { " (UTC)" } else { "" }),
        rule_depends_on: {
            let mut d = vec![dlq.policy_id.clone(), invoke_config_id.clone(), permission_id];
            d.sort();
            d
        },
        rule_meta,
        expression: expression.to_string(),
        target_id: f.physical_name(sys),
        delivery_attempts: EVENTBRIDGE_MAX_RETRY_ATTEMPTS,
        max_event_age,
        invoke_config_meta: Meta::default()
            .why(
                "MaximumRetryAttempts",
                match retries {
                    0 => "0 (`retries`): Lambda does not run a failed scheduled run again; the event goes straight to the function's dead-letter queue".to_string(),
                    n => format!("{n} (`retries`): Lambda runs a failed scheduled run again up to {n} more time{}, then sends the event to the function's dead-letter queue", if n == 1 { "" } else { "s" }),
                },
            )
            .why("MaximumEventAgeInSeconds", format!("{max_event_age} s (`max_event_age`): a run still waiting (throttled, or between retries) after that goes to the dead-letter queue instead")),
        invoke_config_id,
        retries,
        rule_id,
        dlq,
    }
}
