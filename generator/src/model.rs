//! The validated system model, resolved for one stage.
//!
//! Everything here is known to be consistent: every reference resolves, names fit AWS rules,
//! derived values (visibility timeouts, retention) are computed. Collections are sorted by name,
//! so nothing downstream depends on the order of the config file.

use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq)]
pub struct System {
    /// `donut-shop`
    pub name: String,
    /// `dev`
    pub stage: String,
    pub description: String,
    /// Cargo package with the handler binaries.
    pub handlers_crate: String,
    /// `nested_stacks`: a root template plus at most this many nested ones (see `split`).
    pub nested_stacks: Option<u32>,
    pub topics: Vec<Topic>,
    pub queues: Vec<Queue>,
    pub functions: Vec<Function>,
    pub http: Option<HttpApi>,
    pub emails: Vec<Email>,
    pub databases: Vec<Database>,
    pub endpoints: Vec<Endpoint>,
    pub secrets: Vec<Secret>,
    /// The JWT authorizers the stage's routes use (sorted by name).
    pub authorizers: Vec<Authorizer>,
    pub log_retention_days: u64,
    /// Principal ARNs (roles, users, an account root) that may send to the queues and
    /// publish to the topics besides the wiring; sorted, once each.
    pub operators: Vec<String>,
    /// The config file's name, as the generated files cite it (`flowform.yaml`).
    pub source: String,
}

/// The config file flowform reads when none is named, and the generated files cite when
/// the build was given no file name.
pub const CONFIG_FILE: &str = "flowform.yaml";

impl System {
    /// The command that regenerates the stage's files: `flowform generate`, with `-c <file>`
    /// for a config not named [`CONFIG_FILE`].
    pub fn regenerate(&self) -> String {
        if self.source == CONFIG_FILE {
            "flowform generate".into()
        } else {
            format!("flowform generate -c {}", self.source)
        }
    }
}

/// The physical-name rules, in one place: every name flowform gives a resource comes from a
/// method here (validation checks lengths and clashes with them before there is a
/// [`System`]; lowering names the resources with them). `<system>-<stage>-<name>` with `_`
/// turned into `-`; FIFO queues and topics end in `.fifo`; a dead-letter queue is the name
/// plus `-dlq`.
#[derive(Clone, Copy)]
pub struct Naming<'a> {
    pub system: &'a str,
    pub stage: &'a str,
}

impl Naming<'_> {
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.system, self.stage)
    }
    /// `donut-shop-dev-stock-request`.
    pub fn of(&self, name: &str) -> String {
        format!("{}-{}", self.prefix(), name.replace('_', "-"))
    }
    /// A queue or topic, `.fifo` when FIFO.
    pub fn fifo(&self, name: &str, fifo: bool) -> String {
        format!("{}{}", self.of(name), if fifo { ".fifo" } else { "" })
    }
    /// The dead-letter queue of a queue (FIFO like its queue) or of a scheduled function.
    pub fn dlq(&self, name: &str, fifo: bool) -> String {
        format!("{}-dlq{}", self.of(name), if fifo { ".fifo" } else { "" })
    }
    /// The CloudWatch alarm on the dead-letter queue of a queue or scheduled function.
    pub fn dlq_alarm(&self, name: &str) -> String {
        format!("{}-dlq-not-empty", self.of(name))
    }
    /// Every name of this stage followed by `-` and anything: `donut-shop-dev-*` (alarm and
    /// log group ARN patterns in policies).
    pub fn wildcard(&self) -> String {
        format!("{}-*", self.prefix())
    }
    /// The SNS topic DLQ alarms publish to.
    pub fn alarm_topic(&self) -> String {
        format!("{}-alarms", self.prefix())
    }
    /// The log group Lambda writes a function's logs to.
    pub fn lambda_log_group(&self, function: &str) -> String {
        format!("/aws/lambda/{}", self.of(function))
    }
    /// The HTTP API.
    pub fn http_api(&self) -> String {
        self.prefix()
    }
    /// The HTTP API's access log group.
    pub fn http_log_group(&self) -> String {
        format!("/aws/apigateway/{}", self.prefix())
    }
    /// A generated Secrets Manager secret: `donut-shop/dev/factory-callback`.
    pub fn secret(&self, name: &str) -> String {
        format!("{}/{}/{}", self.system, self.stage, name)
    }
    /// The alias of the stack's customer-managed key.
    pub fn key_alias(&self) -> String {
        format!("alias/{}", self.prefix())
    }
    /// The EventBridge rule of a scheduled function (its target ID too).
    pub fn schedule_rule(&self, function: &str) -> String {
        self.of(function)
    }
    /// The SES configuration set of an email sender that names none.
    pub fn config_set(&self, email: &str) -> String {
        self.of(email)
    }
    /// The name of a CloudFormation export of this stage's stack: `donut-shop-dev-PurchasesTopicArn`
    /// for output `PurchasesTopicArn` (unique in the account and region, as the prefix is).
    pub fn export(&self, output: &str) -> String {
        format!("{}-{output}", self.prefix())
    }
    /// The IAM path of the roles of functions that publish to another system's topic: that
    /// system's topic policy admits the roles under it (`/flowform/<system>/<stage>/`).
    pub fn role_path(&self) -> String {
        format!("/flowform/{}/{}/", self.system, self.stage)
    }
}

impl System {
    pub fn naming(&self) -> Naming<'_> {
        Naming { system: &self.name, stage: &self.stage }
    }

    /// Physical-name prefix: `donut-shop-dev`.
    pub fn prefix(&self) -> String {
        self.naming().prefix()
    }

    /// Physical name of a named thing: `donut-shop-dev-stock-request`.
    pub fn physical(&self, name: &str) -> String {
        self.naming().of(name)
    }

    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The identity of topic `name` (see [`Topic::identity`]).
    pub fn topic_identity<'a>(&'a self, name: &'a str) -> &'a str {
        self.topic(name).map_or(name, |t| &t.identity)
    }

    /// The identity of queue `name`.
    pub fn queue_identity<'a>(&'a self, name: &'a str) -> &'a str {
        self.queue(name).map_or(name, |q| &q.identity)
    }

    /// The identity of function `name`.
    pub fn function_identity<'a>(&'a self, name: &'a str) -> &'a str {
        self.function(name).map_or(name, |f| &f.identity)
    }

    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| d.name == name)
    }

    pub fn email(&self, name: &str) -> Option<&Email> {
        self.emails.iter().find(|e| e.name == name)
    }

    /// Topics that deliver into at least one queue (their ARNs go into the key policy).
    pub fn delivering_topics(&self) -> Vec<&Topic> {
        self.topics
            .iter()
            .filter(|t| self.queues.iter().any(|q| q.subscriptions.iter().any(|s| s.topic == t.name)))
            .collect()
    }

    /// Every scope the routes of JWT authorizer `authorizer` require (sorted, once each):
    /// what a token of that issuer needs to call all of them.
    pub fn jwt_scopes(&self, authorizer: &str) -> Vec<String> {
        let mut all: Vec<String> = self
            .functions
            .iter()
            .filter_map(|f| match &f.trigger {
                Trigger::Http { auth: RouteAuth::Jwt { authorizer: a, scopes }, .. } if a == authorizer => {
                    Some(scopes.clone())
                }
                _ => None,
            })
            .flatten()
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Functions placed in the VPC (those that reach a database).
    pub fn vpc_functions(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().filter(|f| !f.databases.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    pub name: String,
    /// The name its resources are named after (logical IDs, physical names): its
    /// `renamed_from`, else `name`.
    pub identity: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub description: String,
    /// Another system's topic (`import`): no resource in this stack.
    pub imported: Option<Imported>,
    /// The systems that may use this topic (`export`).
    pub export: Export,
}

/// Where an imported topic lives: the exporting system (same stage, account and region) and
/// the topic's identity there.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub system: String,
    /// Its name in the exporting config.
    pub topic: String,
    pub identity: String,
}

/// A topic's `export`: systems whose queues may subscribe, and whose functions may publish.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Export {
    pub subscribe: Vec<String>,
    pub publish: Vec<String>,
}

impl Export {
    pub fn any(&self) -> bool {
        !self.subscribe.is_empty() || !self.publish.is_empty()
    }
}

impl Topic {
    pub fn physical_name(&self, sys: &System) -> String {
        match &self.imported {
            Some(i) => Naming { system: &i.system, stage: &sys.stage }.fifo(&i.identity, self.fifo),
            None => sys.naming().fifo(&self.identity, self.fifo),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub name: String,
    /// The name its resources are named after (logical IDs, physical names): its
    /// `renamed_from`, else `name`.
    pub identity: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub retention_seconds: u64,
    pub dlq: Option<Dlq>,
    pub subscriptions: Vec<Subscription>,
    /// The function whose event source mapping reads this queue.
    pub consumer: Option<String>,
    /// 6 x the consumer's timeout + its batching window (AWS guidance); 30 s without consumer;
    /// or `visibility_timeout` from the config, which is at least that floor.
    pub visibility_timeout: u64,
    /// Whether `visibility_timeout` came from the config (else derived).
    pub visibility_timeout_set: bool,
    /// FIFO high throughput: deduplication and throughput limit per message group.
    pub high_throughput: bool,
    /// `DelaySeconds` (0 = none).
    pub delay_seconds: u64,
    /// `MaximumMessageSize`, when set.
    pub max_message_size: Option<u64>,
    pub description: String,
}

impl Queue {
    pub fn physical_name(&self, sys: &System) -> String {
        sys.naming().fifo(&self.identity, self.fifo)
    }

    pub fn dlq_physical_name(&self, sys: &System) -> String {
        sys.naming().dlq(&self.identity, self.fifo)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dlq {
    /// `maxReceiveCount`: from `dlq.max_receives`, or computed from `retry_window`.
    pub max_receives: u64,
    pub retention_seconds: u64,
    /// `dlq.retry_window` (seconds), when the receive count was derived from it.
    pub retry_window: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterScope {
    Attributes,
    Body,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub topic: String,
    pub raw: bool,
    pub filter_scope: FilterScope,
    pub filter: Option<Json>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_aws(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// A route's own throttling; a value left out is the stage's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub rate: Option<u64>,
    pub burst: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    /// The name its resources are named after (logical IDs, physical names): its
    /// `renamed_from`, else `name`.
    pub identity: String,
    /// `stack`: the nested stack it is pinned to (with `nested_stacks`); none: its hash's.
    pub stack: Option<String>,
    /// Binary of the handlers workspace that implements it.
    pub handler: String,
    pub description: String,
    pub timeout: u64,
    pub memory: u64,
    pub architecture: Architecture,
    pub reserved_concurrency: Option<u64>,
    pub trigger: Trigger,
    pub publishes: Vec<String>,
    pub databases: Vec<String>,
    pub emails: Vec<String>,
    pub endpoints: Vec<String>,
    pub secrets: Vec<String>,
    /// Routes whose URL this function hands out (it gets the API base URL).
    pub callbacks: Vec<Route>,
    pub env: Vec<(String, String)>,
    /// HTTP functions: their routes' own throttling; what it leaves out is the stage's.
    pub route_throttle: Option<Throttle>,
}

impl Function {
    /// Seconds its event source mapping may gather a batch (queue triggers; 0 otherwise).
    pub fn batch_window(&self) -> u64 {
        match self.trigger {
            Trigger::Queue { batch_window, .. } => batch_window,
            Trigger::Http { .. } | Trigger::Schedule { .. } => 0,
        }
    }

    /// The least visibility timeout of the queue it consumes: 6 x its timeout + its batching
    /// window (AWS guidance), so a message is not redelivered while a retried invocation may
    /// still hold it.
    pub fn visibility_floor(&self) -> u64 {
        6 * self.timeout + self.batch_window()
    }

    /// The JWT authorizer of its routes (`auth: jwt`).
    pub fn authorizer(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::Http { auth: RouteAuth::Jwt { authorizer, .. }, .. } => Some(authorizer),
            _ => None,
        }
    }

    pub fn physical_name(&self, sys: &System) -> String {
        sys.physical(&self.identity)
    }

    pub fn log_group_name(&self, sys: &System) -> String {
        sys.naming().lambda_log_group(&self.identity)
    }

    pub fn queue(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::Queue { queue, .. } => Some(queue),
            Trigger::Http { .. } | Trigger::Schedule { .. } => None,
        }
    }

    /// Physical name of the dead-letter queue of a scheduled function (same pattern as a
    /// queue's DLQ; validation rejects configs where the two could meet).
    pub fn dlq_physical_name(&self, sys: &System) -> String {
        sys.naming().dlq(&self.identity, false)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Queue {
        queue: String,
        batch_size: u64,
        batch_window: u64,
        max_concurrency: Option<u64>,
    },
    Http {
        auth: RouteAuth,
        routes: Vec<Route>,
    },
    /// An EventBridge rule invokes the function asynchronously: `expression` is a checked
    /// `rate(...)` or `cron(...)`; `retries` (0..2) and `max_event_age` (s) bound Lambda's
    /// retries of a failed run before the event goes to the function's own DLQ.
    Schedule {
        expression: String,
        retries: u64,
        max_event_age: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAuth {
    /// Anyone on the internet may call it (stated explicitly in the config).
    Public,
    /// Callers sign requests with SigV4 (API Gateway `AWS_IAM`).
    Iam,
    /// Open at the gateway; the handler verifies a signature made with one of its secrets.
    Signed,
    /// API Gateway verifies a bearer JWT with `authorizer` (of [`System::authorizers`]); a
    /// token without one of `scopes` (when any) is refused with 403.
    Jwt { authorizer: String, scopes: Vec<String> },
}

impl RouteAuth {
    pub fn as_str(&self) -> &'static str {
        match self {
            RouteAuth::Public => "public",
            RouteAuth::Iam => "iam",
            RouteAuth::Signed => "signed",
            RouteAuth::Jwt { .. } => "jwt",
        }
    }
}

/// A JWT issuer that `auth: jwt` routes trust: API Gateway fetches its keys from the
/// issuer's OIDC discovery document and checks `iss`, `aud` (or `client_id`), `exp`, `nbf`.
#[derive(Clone, Debug, PartialEq)]
pub struct Authorizer {
    pub name: String,
    /// `https://...`: the default of the `<Name>JwtIssuer` parameter (none: the deployer
    /// passes it).
    pub issuer: Option<String>,
    /// Accepted audiences, at least one: the default of `<Name>JwtAudience`.
    pub audience: Vec<String>,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    /// `/factory/callback/{order}`
    pub path: String,
}

impl Route {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpApi {
    pub throttle_rate: u64,
    pub throttle_burst: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Email {
    pub name: String,
    pub identity: String,
    pub configuration_set: String,
    pub senders: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    pub name: String,
    pub port: u64,
    pub db_name: String,
    pub iam_user: Option<String>,
    /// The PEM file (relative to the config) the server's certificate must chain to; `None`:
    /// the certificate authorities of Amazon RDS, built into the handlers.
    pub ca_bundle: Option<String>,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub default: Option<String>,
    pub description: String,
    /// `http://` accepted too; by default the parameter takes `https://` URLs only.
    pub allow_http: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub name: String,
    pub length: u64,
    pub description: String,
    /// Exists already: its ARN is a parameter, nothing is generated.
    pub existing: bool,
    /// Encrypted with its own customer-managed key (a parameter), which readers may use
    /// through Secrets Manager.
    pub own_key: bool,
}
