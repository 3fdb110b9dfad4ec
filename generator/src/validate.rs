//! Raw config -> one validated [`System`] per stage, plus every diagnostic.
//!
//! All checks run, whatever fails first; the caller writes nothing when any error is found.

use crate::config::{Name, RawConfig, RawFunction, RawTrigger, Sp};
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::ids::pascal;
use crate::model::*;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_TIMEOUT: u64 = 10;
pub const DEFAULT_MEMORY: u64 = 256;
pub const DEFAULT_LOG_RETENTION: u64 = 30;
pub const DEFAULT_QUEUE_RETENTION_DAYS: u64 = 4;
pub const DEFAULT_DLQ_RETENTION_DAYS: u64 = 14;
pub const DEFAULT_MAX_RECEIVES: u64 = 5;
pub const DEFAULT_BATCH_SIZE: u64 = 10;
pub const DEFAULT_THROTTLE_RATE: u64 = 50;
pub const DEFAULT_THROTTLE_BURST: u64 = 100;
/// Lambda's default for asynchronous invocations.
pub const DEFAULT_SCHEDULE_RETRIES: u64 = 2;
/// An hour: a run that cannot start within it has been overtaken by later runs anyway.
pub const DEFAULT_MAX_EVENT_AGE: u64 = 3600;
/// API Gateway HTTP APIs end an integration after 30 s.
pub const HTTP_MAX_TIMEOUT: u64 = 30;
/// Values CloudWatch Logs accepts for RetentionInDays.
pub const LOG_RETENTION_DAYS: &[u64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const DAY: u64 = 86_400;

/// Validates the whole config; returns one system per stage (sorted by stage name) when
/// there are no errors. Warnings are returned either way.
pub fn validate(raw: &RawConfig) -> (Vec<System>, Vec<Diagnostic>) {
    let mut v = Validator { diags: Vec::new() };
    let systems = v.run(raw);
    let has_errors = v.diags.iter().any(Diagnostic::is_error);
    (if has_errors { Vec::new() } else { systems }, v.diags)
}

struct Validator {
    diags: Vec<Diagnostic>,
}

/// The kinds of names, for messages.
#[derive(Clone, Copy)]
enum Kind {
    Topic,
    Queue,
    Function,
    Email,
    Database,
    Endpoint,
    Secret,
    Stage,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Topic => "topic",
            Kind::Queue => "queue",
            Kind::Function => "function",
            Kind::Email => "email sender",
            Kind::Database => "database",
            Kind::Endpoint => "endpoint",
            Kind::Secret => "secret",
            Kind::Stage => "stage",
        }
    }
    fn section(self) -> &'static str {
        match self {
            Kind::Topic => "topics",
            Kind::Queue => "queues",
            Kind::Function => "functions",
            Kind::Email => "email",
            Kind::Database => "databases",
            Kind::Endpoint => "endpoints",
            Kind::Secret => "secrets",
            Kind::Stage => "stages",
        }
    }
}

impl Validator {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Names: lowercase letters, digits, `_` and `-`, starting with a letter; unique after the
    /// conversion to a logical ID (PascalCase).
    fn names<T>(&mut self, kind: Kind, items: &[(Name, T)]) -> BTreeSet<String> {
        let mut seen: BTreeMap<String, &Name> = BTreeMap::new();
        let mut out = BTreeSet::new();
        for (name, _) in items {
            let n = &name.value;
            let ok_chars = n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            let ok = match kind {
                Kind::Stage => n.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                _ => ok_chars,
            };
            if !ok {
                let rule = match kind {
                    Kind::Stage => "stage names are lowercase letters and digits, e.g. `dev`, `prod`",
                    _ => "names start with a lowercase letter and use lowercase letters, digits, `_` and `-`",
                };
                self.err(
                    Diagnostic::error("E007", name.span, format!("invalid {} name `{n}`", kind.word())).with_help(rule),
                );
                continue;
            }
            let key = pascal(n);
            if let Some(prev) = seen.get(&key) {
                self.err(
                    Diagnostic::error(
                        "E006",
                        name.span,
                        format!("{} `{n}` clashes with `{}` (both become `{key}` in the template)", kind.word(), prev.value),
                    )
                    .with_help(format!("rename one of them; line {} has the other", prev.span.line)),
                );
                continue;
            }
            seen.insert(key, name);
            out.insert(n.clone());
        }
        out
    }

    fn resolve(&mut self, kind: Kind, r: &Name, known: &BTreeSet<String>, from: &str) -> bool {
        if known.contains(&r.value) {
            return true;
        }
        let help = did_you_mean(&r.value, known.iter().map(String::as_str)).unwrap_or_else(|| {
            if known.is_empty() {
                format!("define it under `{}:`", kind.section())
            } else {
                format!(
                    "defined {}s: {}",
                    kind.word(),
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                )
            }
        });
        self.err(
            Diagnostic::error("E005", r.span, format!("{from} refers to {} `{}`, which is not defined", kind.word(), r.value))
                .with_help(help),
        );
        false
    }

    fn refs(&mut self, kind: Kind, refs: &[Name], known: &BTreeSet<String>, from: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for r in refs {
            if !seen.insert(r.value.clone()) {
                self.err(
                    Diagnostic::error("E006", r.span, format!("{} `{}` is listed twice in {from}", kind.word(), r.value))
                        .with_help("list it once"),
                );
                continue;
            }
            if self.resolve(kind, r, known, from) {
                out.push(r.value.clone());
            }
        }
        out.sort();
        out
    }

    fn length(&mut self, span: Span, what: &str, physical: &str, max: usize) {
        if physical.len() > max {
            self.err(
                Diagnostic::error(
                    "E008",
                    span,
                    format!("{what} `{physical}` is {} characters; AWS allows {max}", physical.len()),
                )
                .with_help("shorten the name (the physical name is `<system>-<stage>-<name>`)"),
            );
        }
    }

    fn run(&mut self, raw: &RawConfig) -> Vec<System> {
        match &raw.version {
            Some(v) if v.value == 1 => {}
            Some(v) => self.err(
                Diagnostic::error("E025", v.span, format!("config version {} is not supported", v.value))
                    .with_help("this flowform reads `version: 1`"),
            ),
            None => self.err(Diagnostic::error("E004", raw.top, "missing `version`").with_help("add `version: 1` at the top")),
        }
        let system = match &raw.system {
            Some(s) => {
                let ok = s.value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && s.value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && s.value.len() <= 24;
                if !ok {
                    self.err(
                        Diagnostic::error("E007", s.span, format!("invalid system name `{}`", s.value))
                            .with_help("use at most 24 lowercase letters, digits and `-`, starting with a letter"),
                    );
                }
                s.value.clone()
            }
            None => {
                self.err(
                    Diagnostic::error("E004", raw.top, "missing `system`")
                        .with_help("add `system: <name>`; it prefixes every physical name"),
                );
                String::from("system")
            }
        };

        let handlers_crate = match &raw.handlers_crate {
            Some(c) => {
                if c.value.is_empty() || !c.value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
                    self.err(
                        Diagnostic::error("E007", c.span, format!("invalid cargo package name `{}`", c.value))
                            .with_help("name the workspace package that holds one binary per handler, e.g. `shop`"),
                    );
                }
                c.value.clone()
            }
            None => "handlers".to_string(),
        };
        let topics = self.names(Kind::Topic, &raw.topics);
        let queues = self.names(Kind::Queue, &raw.queues);
        let functions = self.names(Kind::Function, &raw.functions);
        let emails = self.names(Kind::Email, &raw.email);
        let databases = self.names(Kind::Database, &raw.databases);
        let endpoints = self.names(Kind::Endpoint, &raw.endpoints);
        let secrets = self.names(Kind::Secret, &raw.secrets);
        let stages = self.names(Kind::Stage, &raw.stages);
        if raw.stages.is_empty() {
            self.err(
                Diagnostic::error("E004", raw.top, "no `stages` defined")
                    .with_help("add `stages: { dev: {}, prod: {} }`; each stage gets its own template under out/"),
            );
        }

        let defaults_arch = self.architecture(raw.defaults.architecture.as_ref()).unwrap_or(Architecture::X86_64);
        let log_retention = self.log_retention(raw.defaults.log_retention_days.as_ref()).unwrap_or(DEFAULT_LOG_RETENTION);

        // Sections independent of the stage.
        let topic_list: Vec<Topic> = raw
            .topics
            .iter()
            .filter(|(n, _)| topics.contains(&n.value))
            .map(|(n, t)| {
                let fifo = t.fifo.as_ref().is_some_and(|f| f.value);
                if let Some(cbd) = &t.content_based_dedup {
                    if cbd.value && !fifo {
                        self.err(
                            Diagnostic::error("E009", cbd.span, format!("topic `{}` is not FIFO, so it cannot deduplicate by content", n.value))
                                .with_help("add `fifo: true`, or remove `content_based_dedup`"),
                        );
                    }
                }
                Topic {
                    name: n.value.clone(),
                    fifo,
                    content_based_dedup: t.content_based_dedup.as_ref().is_some_and(|c| c.value),
                    description: t.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let email_list = self.emails(raw, &emails, &system);
        let db_list: Vec<Database> = raw
            .databases
            .iter()
            .filter(|(n, _)| databases.contains(&n.value))
            .map(|(n, d)| {
                if let Some(e) = &d.engine {
                    if e.value != "mysql" {
                        self.err(
                            Diagnostic::error("E012", e.span, format!("database engine `{}` is not supported", e.value))
                                .with_help("flowform reaches RDS MySQL/MariaDB: write `engine: mysql`"),
                        );
                    }
                }
                Database {
                    name: n.value.clone(),
                    port: d.port.as_ref().map(|p| p.value).unwrap_or(3306),
                    db_name: d.name.as_ref().map(|p| p.value.clone()).unwrap_or_else(|| n.value.clone()),
                    iam_user: d.iam_user.as_ref().map(|u| u.value.clone()),
                    description: d.description.as_ref().map(|p| p.value.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let endpoint_list: Vec<Endpoint> = raw
            .endpoints
            .iter()
            .filter(|(n, _)| endpoints.contains(&n.value))
            .map(|(n, e)| {
                if let Some(d) = &e.default {
                    if !(d.value.starts_with("https://") || d.value.starts_with("http://")) {
                        self.err(
                            Diagnostic::error("E012", d.span, format!("endpoint default `{}` is not an http(s) URL", d.value))
                                .with_help("write a URL such as `https://factory.example.com`"),
                        );
                    }
                }
                Endpoint {
                    name: n.value.clone(),
                    default: e.default.as_ref().map(|d| d.value.clone()),
                    description: e.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let secret_list: Vec<Secret> = raw
            .secrets
            .iter()
            .filter(|(n, _)| secrets.contains(&n.value))
            .map(|(n, s)| Secret {
                name: n.value.clone(),
                length: s.length.as_ref().map(|l| l.value).unwrap_or(64),
                description: s.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            })
            .collect();

        // Functions, as written (stage overrides are applied per stage below).
        let mut funcs: Vec<(Function, &RawFunction)> = Vec::new();
        let mut all_routes: BTreeMap<Route, (String, Span)> = BTreeMap::new();
        let mut consumers: BTreeMap<String, (String, Span)> = BTreeMap::new();
        for (n, f) in &raw.functions {
            if !functions.contains(&n.value) {
                continue;
            }
            let from = format!("function `{}`", n.value);
            let trigger = match &f.trigger {
                None => {
                    self.err(
                        Diagnostic::error("E004", n.span, format!("function `{}` has no `trigger`", n.value))
                            .with_help("add `trigger: { queue: <queue> }`, `trigger: { http: { auth: public, routes: [...] } }` or `trigger: { schedule: rate(1 hour) }`"),
                    );
                    None
                }
                Some(t) => self.trigger(t, &n.value, &queues, raw, &mut all_routes, &mut consumers),
            };
            let publishes = self.refs(Kind::Topic, &f.publishes, &topics, &from);
            let dbs = self.refs(Kind::Database, &f.databases, &databases, &from);
            let ems = self.refs(Kind::Email, &f.emails, &emails, &from);
            let eps = self.refs(Kind::Endpoint, &f.endpoints, &endpoints, &from);
            let secs = self.refs(Kind::Secret, &f.secrets, &secrets, &from);
            let handler = match &f.handler {
                Some(h) => {
                    if !h.value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        || !h.value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                    {
                        self.err(
                            Diagnostic::error("E007", h.span, format!("invalid handler binary name `{}`", h.value))
                                .with_help("a handler is the name of a binary in the handlers crate, e.g. `checkout`"),
                        );
                    }
                    h.value.clone()
                }
                None => n.value.replace('_', "-"),
            };
            let env = self.env(&f.env, &[]);
            let Some(trigger) = trigger else { continue };
            funcs.push((
                Function {
                    name: n.value.clone(),
                    handler,
                    description: f.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                    timeout: f.timeout.as_ref().or(raw.defaults.timeout.as_ref()).map(|t| t.value).unwrap_or(DEFAULT_TIMEOUT),
                    memory: f.memory.as_ref().or(raw.defaults.memory.as_ref()).map(|t| t.value).unwrap_or(DEFAULT_MEMORY),
                    architecture: match &f.architecture {
                        Some(a) => self.architecture(Some(a)).unwrap_or(defaults_arch),
                        None => defaults_arch,
                    },
                    reserved_concurrency: f.reserved_concurrency.as_ref().map(|r| r.value),
                    trigger,
                    publishes,
                    databases: dbs,
                    emails: ems,
                    endpoints: eps,
                    secrets: secs,
                    callbacks: Vec::new(),
                    env,
                },
                f,
            ));
        }
        // Callbacks refer to routes of any function, so they resolve after all triggers.
        for (func, rf) in &mut funcs {
            let mut cbs = Vec::new();
            for c in &rf.callbacks {
                let Some(route) = self.route(c) else { continue };
                if !all_routes.contains_key(&route) {
                    let known: Vec<String> = all_routes.keys().map(Route::key).collect();
                    let help = did_you_mean(&c.value, known.iter().map(String::as_str))
                        .unwrap_or_else(|| "callbacks name a route of some function's `trigger.http.routes`".into());
                    self.err(
                        Diagnostic::error("E005", c.span, format!("function `{}` hands out route `{}`, which no function serves", func.name, c.value))
                            .with_help(help),
                    );
                    continue;
                }
                cbs.push(route);
            }
            cbs.sort();
            func.callbacks = cbs;
        }
        // Signed routes need a secret to verify with.
        for (func, rf) in &funcs {
            if let Trigger::Http { auth: RouteAuth::Signed, .. } = func.trigger {
                if func.secrets.is_empty() {
                    let span = rf.trigger.as_ref().map(|t| t.span).unwrap_or(rf.span);
                    self.err(
                        Diagnostic::error("E020", span, format!("function `{}` has `auth: signed` routes but no secret to verify signatures", func.name))
                            .with_help("add `secrets: [<secret>]` naming the key its callers sign with"),
                    );
                }
            }
        }

        // Queues (visibility timeouts depend on the consumer's timeout, so they are built per stage).
        let mut subscribed_topics: BTreeSet<String> = BTreeSet::new();
        for (qn, q) in &raw.queues {
            if !queues.contains(&qn.value) {
                continue;
            }
            let q_fifo = q.fifo.as_ref().is_some_and(|f| f.value);
            let mut seen = BTreeSet::new();
            for s in &q.subscribe {
                if !seen.insert(s.topic.value.clone()) {
                    self.err(
                        Diagnostic::error("E006", s.topic.span, format!("queue `{}` subscribes to topic `{}` twice", qn.value, s.topic.value))
                            .with_help("merge the two subscriptions into one"),
                    );
                    continue;
                }
                if !self.resolve(Kind::Topic, &s.topic, &topics, &format!("queue `{}`", qn.value)) {
                    continue;
                }
                subscribed_topics.insert(s.topic.value.clone());
                let t_fifo = topic_list.iter().any(|t| t.name == s.topic.value && t.fifo);
                if q_fifo && !t_fifo {
                    self.err(
                        Diagnostic::error("E009", s.topic.span, format!("FIFO queue `{}` cannot subscribe to standard topic `{}`", qn.value, s.topic.value))
                            .with_help("SNS standard topics deliver only to standard queues: make the topic FIFO or the queue standard"),
                    );
                }
                if let Some(scope) = &s.filter_scope {
                    if scope.value != "attributes" && scope.value != "body" {
                        self.err(
                            Diagnostic::error("E002", scope.span, format!("`filter_scope` must be `attributes` or `body`, found `{}`", scope.value))
                                .with_help("`attributes` matches message attributes (the default); `body` matches the JSON message body"),
                        );
                    }
                    if s.filter.is_none() {
                        self.err(
                            Diagnostic::error("E016", scope.span, "`filter_scope` without a `filter`")
                                .with_help("add a `filter`, or remove `filter_scope`"),
                        );
                    }
                }
                if let Some(f) = &s.filter {
                    let body = s.filter_scope.as_ref().is_some_and(|sc| sc.value == "body");
                    self.filter(f, body);
                }
            }
            if let Some(cbd) = &q.content_based_dedup {
                if cbd.value && !q_fifo {
                    self.err(
                        Diagnostic::error("E009", cbd.span, format!("queue `{}` is not FIFO, so it cannot deduplicate by content", qn.value))
                            .with_help("add `fifo: true`, or remove `content_based_dedup`"),
                    );
                }
            }
            let retention = q.retention_days.as_ref().map(|r| r.value).unwrap_or(DEFAULT_QUEUE_RETENTION_DAYS);
            let dlq = match &q.dlq {
                Some(Sp { value: Some(d), span }) => Some((d.retention_days.as_ref(), *span)),
                Some(Sp { value: None, .. }) => None,
                None => Some((None, qn.span)),
            };
            if let Some(Sp { value: Some(d), .. }) = &q.dlq {
                if let (Some(m), Some(w)) = (&d.max_receives, &d.retry_window) {
                    self.err(
                        Diagnostic::error("E002", w.span, format!("queue `{}` sets both `dlq.max_receives` ({}) and `dlq.retry_window`", qn.value, m.value))
                            .with_help("the retry window decides how many receives a message gets; keep one of the two"),
                    );
                }
                if let Some(w) = d.retry_window.as_ref().filter(|w| w.value >= retention * DAY) {
                    self.err(
                        Diagnostic::error("E017", w.span, format!("queue `{}` retries for {} s, not less than it keeps messages ({retention} days)", qn.value, w.value))
                            .with_help("a message would expire before it reached the DLQ: shorten `dlq.retry_window` or raise `retention_days`"),
                    );
                }
            }
            if let Some((dlq_retention, span)) = dlq {
                let dlq_ret = dlq_retention.map(|r| r.value).unwrap_or(DEFAULT_DLQ_RETENTION_DAYS);
                if dlq_ret <= retention {
                    let at = dlq_retention.map(|r| r.span).or(q.retention_days.as_ref().map(|r| r.span)).unwrap_or(span);
                    self.err(
                        Diagnostic::error(
                            "E017",
                            at,
                            format!("the DLQ of queue `{}` keeps messages {dlq_ret} days, not longer than the queue's {retention}", qn.value),
                        )
                        .with_help("a message's age counts from its first enqueue, so the DLQ must keep messages longer than its source: raise `dlq.retention_days` or lower `retention_days`"),
                    );
                }
            }
            if !consumers.contains_key(&qn.value) {
                self.err(
                    Diagnostic::warning("W002", qn.span, format!("no function consumes queue `{}`", qn.value))
                        .with_help("messages will pile up until they expire; add a function with `trigger: { queue: ... }`"),
                );
            }
            // Names of the queue and its DLQ for every stage.
            for stage in &stages {
                let base = format!("{system}-{stage}-{}", qn.value.replace('_', "-"));
                let suffix = if q_fifo { ".fifo" } else { "" };
                self.length(qn.span, "queue name", &format!("{base}-dlq{suffix}"), 80);
            }
        }
        self.sqs_names(raw, &queues, &stages, &funcs, &system);
        for (n, t) in &raw.topics {
            if !topics.contains(&n.value) {
                continue;
            }
            let suffix = if t.fifo.as_ref().is_some_and(|f| f.value) { ".fifo" } else { "" };
            if !subscribed_topics.contains(&n.value) && funcs.iter().any(|(f, _)| f.publishes.contains(&n.value)) {
                self.err(
                    Diagnostic::warning("W001", n.span, format!("topic `{}` is published to but no queue subscribes", n.value))
                        .with_help("its messages are dropped; subscribe a queue or stop publishing"),
                );
            }
            for stage in &stages {
                self.length(n.span, "topic name", &format!("{system}-{stage}-{}{suffix}", n.value.replace('_', "-")), 256);
            }
        }
        for (n, _) in &raw.functions {
            for stage in &stages {
                self.length(n.span, "function name", &format!("{system}-{stage}-{}", n.value.replace('_', "-")), 64);
            }
        }
        // Declared but unused dependencies.
        let names_of = |items: Vec<&Name>| items.into_iter().cloned().collect::<Vec<Name>>();
        for (kind, declared, used) in [
            (Kind::Database, names_of(raw.databases.iter().map(|(n, _)| n).collect()), funcs.iter().flat_map(|(f, _)| f.databases.clone()).collect::<BTreeSet<_>>()),
            (Kind::Email, names_of(raw.email.iter().map(|(n, _)| n).collect()), funcs.iter().flat_map(|(f, _)| f.emails.clone()).collect()),
            (Kind::Endpoint, names_of(raw.endpoints.iter().map(|(n, _)| n).collect()), funcs.iter().flat_map(|(f, _)| f.endpoints.clone()).collect()),
            (Kind::Secret, names_of(raw.secrets.iter().map(|(n, _)| n).collect()), funcs.iter().flat_map(|(f, _)| f.secrets.clone()).collect()),
        ] {
            for n in &declared {
                if !used.contains(&n.value) {
                    self.err(
                        Diagnostic::warning("W003", n.span, format!("{} `{}` is declared but no function uses it", kind.word(), n.value))
                            .with_help("remove it, or list it in a function"),
                    );
                }
            }
        }

        // Per stage: apply overrides, then the checks that depend on final values.
        let mut systems = Vec::new();
        for (sn, st) in &raw.stages {
            if !stages.contains(&sn.value) {
                continue;
            }
            let mut fs: Vec<Function> = funcs.iter().map(|(f, _)| f.clone()).collect();
            for (on, o) in &st.functions {
                if !self.resolve(Kind::Function, on, &functions, &format!("stage `{}`", sn.value)) {
                    continue;
                }
                let Some(f) = fs.iter_mut().find(|f| f.name == on.value) else { continue };
                if let Some(t) = &o.timeout {
                    f.timeout = t.value;
                }
                if let Some(m) = &o.memory {
                    f.memory = m.value;
                }
                if let Some(r) = &o.reserved_concurrency {
                    f.reserved_concurrency = Some(r.value);
                }
                let base: Vec<(String, String)> = f.env.clone();
                f.env = self.env(&o.env, &base);
            }
            let stage_funcs: BTreeMap<&str, &RawFunction> = funcs.iter().map(|(f, r)| (f.name.as_str(), *r)).collect();
            for f in &fs {
                let rf = stage_funcs[f.name.as_str()];
                let overridden = st.functions.iter().find(|(n, _)| n.value == f.name).and_then(|(_, o)| o.timeout.as_ref());
                let at = overridden.or(rf.timeout.as_ref()).map(|t| t.span).unwrap_or(rf.span);
                if let Trigger::Http { .. } = f.trigger {
                    if f.timeout > HTTP_MAX_TIMEOUT {
                        self.err(
                            Diagnostic::error(
                                "E011",
                                at,
                                format!("function `{}` answers HTTP routes but may run {} s (stage `{}`); API Gateway gives up after {HTTP_MAX_TIMEOUT} s", f.name, f.timeout, sn.value),
                            )
                            .with_help(format!("lower `timeout` to {HTTP_MAX_TIMEOUT} or less, or move the slow work behind a queue")),
                        );
                    }
                }
                if let Trigger::Queue { max_concurrency, .. } = &f.trigger {
                    if let (Some(mc), Some(rc)) = (max_concurrency, f.reserved_concurrency) {
                        if *mc > rc {
                            let at = rf.reserved_concurrency.as_ref().map(|r| r.span).unwrap_or(rf.span);
                            self.err(
                                Diagnostic::error(
                                    "E027",
                                    at,
                                    format!("function `{}` reserves {rc} concurrent runs but its queue trigger may start {mc}", f.name),
                                )
                                .with_help("the extra pollers would be throttled and messages would burn receive counts: make `max_concurrency` <= `reserved_concurrency`"),
                            );
                        }
                    }
                }
            }
            let mut queue_list = Vec::new();
            for (qn, q) in &raw.queues {
                if !queues.contains(&qn.value) {
                    continue;
                }
                let consumer = consumers.get(&qn.value).map(|(f, _)| f.clone());
                let vt = consumer
                    .as_ref()
                    .and_then(|c| fs.iter().find(|f| &f.name == c))
                    .map(|f| match f.trigger {
                        Trigger::Queue { batch_window, .. } => 6 * f.timeout + batch_window,
                        Trigger::Http { .. } | Trigger::Schedule { .. } => 30,
                    })
                    .unwrap_or(30);
                let mut subs: Vec<Subscription> = q
                    .subscribe
                    .iter()
                    .filter(|s| topics.contains(&s.topic.value))
                    .map(|s| Subscription {
                        topic: s.topic.value.clone(),
                        raw: s.raw.as_ref().is_some_and(|r| r.value),
                        filter_scope: if s.filter_scope.as_ref().is_some_and(|sc| sc.value == "body") {
                            FilterScope::Body
                        } else {
                            FilterScope::Attributes
                        },
                        filter: s.filter.as_ref().map(|f| f.value.clone()),
                    })
                    .collect();
                subs.sort_by(|a, b| a.topic.cmp(&b.topic));
                subs.dedup_by(|a, b| a.topic == b.topic);
                queue_list.push(Queue {
                    name: qn.value.clone(),
                    fifo: q.fifo.as_ref().is_some_and(|f| f.value),
                    content_based_dedup: q.content_based_dedup.as_ref().is_some_and(|c| c.value),
                    retention_seconds: q.retention_days.as_ref().map(|r| r.value).unwrap_or(DEFAULT_QUEUE_RETENTION_DAYS) * DAY,
                    dlq: match &q.dlq {
                        Some(Sp { value: None, .. }) => None,
                        Some(Sp { value: Some(d), .. }) => Some(Dlq {
                            max_receives: match (&d.max_receives, &d.retry_window) {
                                (_, Some(w)) => contracts::retry::receives_for(vt, w.value),
                                (Some(m), None) => m.value,
                                (None, None) => DEFAULT_MAX_RECEIVES,
                            },
                            retention_seconds: d.retention_days.as_ref().map(|r| r.value).unwrap_or(DEFAULT_DLQ_RETENTION_DAYS) * DAY,
                            retry_window: d.retry_window.as_ref().map(|w| w.value),
                        }),
                        None => Some(Dlq { max_receives: DEFAULT_MAX_RECEIVES, retention_seconds: DEFAULT_DLQ_RETENTION_DAYS * DAY, retry_window: None }),
                    },
                    subscriptions: subs,
                    consumer,
                    visibility_timeout: vt,
                    description: q.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                });
            }
            queue_list.sort_by(|a, b| a.name.cmp(&b.name));
            let mut ts = topic_list.clone();
            ts.sort_by(|a, b| a.name.cmp(&b.name));
            fs.sort_by(|a, b| a.name.cmp(&b.name));
            let has_http = fs.iter().any(|f| matches!(f.trigger, Trigger::Http { .. }));
            let http = |h: &crate::config::RawHttp| (h.throttle_rate.as_ref().map(|r| r.value), h.throttle_burst.as_ref().map(|r| r.value));
            let (base_rate, base_burst) = http(&raw.http);
            let (st_rate, st_burst) = http(&st.http);
            let mut es = email_list.clone();
            for e in &mut es {
                e.configuration_set = e.configuration_set.replace("{stage}", &sn.value);
            }
            let mut dbs = db_list.clone();
            dbs.sort_by(|a, b| a.name.cmp(&b.name));
            let mut eps = endpoint_list.clone();
            eps.sort_by(|a, b| a.name.cmp(&b.name));
            let mut secs = secret_list.clone();
            secs.sort_by(|a, b| a.name.cmp(&b.name));
            es.sort_by(|a, b| a.name.cmp(&b.name));
            let log_retention_days = match &st.log_retention_days {
                Some(r) => self.log_retention(Some(r)).unwrap_or(log_retention),
                None => log_retention,
            };
            systems.push(System {
                name: system.clone(),
                stage: sn.value.clone(),
                description: raw.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                handlers_crate: handlers_crate.clone(),
                topics: ts,
                queues: queue_list,
                functions: fs,
                http: has_http.then(|| HttpApi {
                    throttle_rate: st_rate.or(base_rate).unwrap_or(DEFAULT_THROTTLE_RATE),
                    throttle_burst: st_burst.or(base_burst).unwrap_or(DEFAULT_THROTTLE_BURST),
                }),
                emails: es,
                databases: dbs,
                endpoints: eps,
                secrets: secs,
                log_retention_days,
            });
        }
        systems.sort_by(|a, b| a.stage.cmp(&b.stage));
        systems
    }

    /// SQS names are unique per account and region: user queues, their DLQs and the DLQs of
    /// scheduled functions must not meet (queue `a_dlq` and the DLQ of queue `a` or of
    /// scheduled function `a` would all be `<system>-<stage>-a-dlq`). The stage prefix is
    /// shared, so one check covers every stage.
    fn sqs_names(&mut self, raw: &RawConfig, queues: &BTreeSet<String>, stages: &BTreeSet<String>, funcs: &[(Function, &RawFunction)], system: &str) {
        let stage = stages.iter().next().map(String::as_str).unwrap_or("{stage}");
        let physical = |name: &str| format!("{system}-{stage}-{}", name.replace('_', "-"));
        let mut claims: Vec<(String, String, Span)> = Vec::new();
        for (qn, q) in raw.queues.iter().filter(|(n, _)| queues.contains(&n.value)) {
            let suffix = if q.fifo.as_ref().is_some_and(|f| f.value) { ".fifo" } else { "" };
            claims.push((format!("{}{suffix}", physical(&qn.value)), format!("queue `{}`", qn.value), qn.span));
            if !matches!(q.dlq, Some(Sp { value: None, .. })) {
                claims.push((format!("{}-dlq{suffix}", physical(&qn.value)), format!("the dead-letter queue of queue `{}`", qn.value), qn.span));
            }
        }
        for (f, rf) in funcs {
            if let Trigger::Schedule { .. } = f.trigger {
                claims.push((format!("{}-dlq", physical(&f.name)), format!("the dead-letter queue of scheduled function `{}`", f.name), rf.span));
            }
        }
        let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
        let mut clashes = Vec::new();
        for (name, what, span) in &claims {
            match seen.get(name.as_str()) {
                Some((other, at)) => clashes.push(
                    Diagnostic::error("E006", *span, format!("{what} would be named `{name}`, like {other}"))
                        .with_help(format!("SQS queue names are unique: rename one of them (line {} has the other)", at.line)),
                ),
                None => {
                    seen.insert(name, (what, *span));
                }
            }
        }
        for d in clashes {
            self.err(d);
        }
    }

    fn architecture(&mut self, a: Option<&Sp<String>>) -> Option<Architecture> {
        let a = a?;
        match a.value.as_str() {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            other => {
                self.err(
                    Diagnostic::error("E012", a.span, format!("unknown architecture `{other}`"))
                        .with_help("write `x86_64` or `arm64`"),
                );
                None
            }
        }
    }

    fn log_retention(&mut self, r: Option<&Sp<u64>>) -> Option<u64> {
        let r = r?;
        if LOG_RETENTION_DAYS.contains(&r.value) {
            return Some(r.value);
        }
        let nearest = LOG_RETENTION_DAYS.iter().min_by_key(|d| d.abs_diff(r.value)).copied().unwrap_or(30);
        self.err(
            Diagnostic::error("E012", r.span, format!("CloudWatch Logs cannot keep logs {} days", r.value))
                .with_help(format!("allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...; nearest is {nearest}")),
        );
        None
    }

    fn emails(&mut self, raw: &RawConfig, known: &BTreeSet<String>, system: &str) -> Vec<Email> {
        let mut out = Vec::new();
        for (n, e) in &raw.email {
            if !known.contains(&n.value) {
                continue;
            }
            let identity = match &e.identity {
                Some(i) => {
                    let ok = !i.value.is_empty()
                        && i.value.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@+".contains(c))
                        && i.value.contains('.');
                    if !ok {
                        self.err(
                            Diagnostic::error("E012", i.span, format!("`{}` is not an email address or domain", i.value))
                                .with_help("write a domain (`donut.example.com`) or an address (`ads@donut.example.com`)"),
                        );
                    }
                    i.value.clone()
                }
                None => {
                    self.err(
                        Diagnostic::error("E004", n.span, format!("email `{}` has no `identity`", n.value))
                            .with_help("add `identity: <domain or address>` that SES sends as"),
                    );
                    String::new()
                }
            };
            let cs = match &e.configuration_set {
                Some(c) => {
                    if c.value.is_empty() || c.value.len() > 64 || !c.value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
                        self.err(
                            Diagnostic::error("E008", c.span, format!("invalid configuration set name `{}`", c.value))
                                .with_help("use up to 64 letters, digits, `-` and `_`"),
                        );
                    }
                    c.value.clone()
                }
                None => {
                    let longest = raw.stages.iter().map(|(s, _)| s.value.len()).max().unwrap_or(0);
                    let len = system.len() + longest + n.value.len() + 2;
                    if len > 64 {
                        self.err(
                            Diagnostic::error("E008", n.span, format!("the default configuration set name of email `{}` would be {len} characters; SES allows 64", n.value))
                                .with_help("set `configuration_set:` to a shorter name"),
                        );
                    }
                    format!("{system}-{{stage}}-{}", n.value.replace('_', "-"))
                }
            };
            if e.senders.is_empty() {
                self.err(
                    Diagnostic::error("E004", n.span, format!("email `{}` lists no `senders`", n.value))
                        .with_help("list the From addresses functions may use; the IAM policy allows only these"),
                );
            }
            for s in &e.senders {
                let domain_ok = match s.value.split_once('@') {
                    Some((local, domain)) => {
                        !local.is_empty() && (identity == s.value || domain == identity || domain.ends_with(&format!(".{identity}")))
                    }
                    None => false,
                };
                if !domain_ok {
                    self.err(
                        Diagnostic::error("E012", s.span, format!("sender `{}` is not an address of identity `{identity}`", s.value))
                            .with_help(format!("SES sends only as verified identities: use an address `@{identity}`")),
                    );
                }
            }
            let mut senders: Vec<String> = Vec::new();
            for s in &e.senders {
                if senders.contains(&s.value) {
                    self.err(Diagnostic::error("E006", s.span, format!("sender `{}` is listed twice", s.value)).with_help("list it once"));
                } else {
                    senders.push(s.value.clone());
                }
            }
            out.push(Email { name: n.value.clone(), identity, configuration_set: cs, senders });
        }
        out
    }

    /// User env vars: upper snake case, not flowform's prefix, no secrets in plain text.
    fn env(&mut self, env: &[(Name, Sp<String>)], base: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = base.iter().cloned().collect();
        for (k, v) in env {
            let ok = k.value.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && k.value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                self.err(
                    Diagnostic::error("E021", k.span, format!("env var name `{}` is not UPPER_SNAKE_CASE", k.value))
                        .with_help("use capital letters, digits and `_`"),
                );
                continue;
            }
            if k.value.starts_with(contracts::PREFIX) || k.value.starts_with("AWS_") || k.value.starts_with("LAMBDA_") {
                self.err(
                    Diagnostic::error("E021", k.span, format!("env var `{}` uses a reserved prefix", k.value))
                        .with_help("`FLOWFORM_` is set by flowform from the wiring; `AWS_` and `LAMBDA_` by Lambda"),
                );
                continue;
            }
            let upper = k.value.as_str();
            if ["PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY"].iter().any(|w| upper.contains(w)) {
                self.err(
                    Diagnostic::error("E021", k.span, format!("env var `{}` looks like a secret, written in plain text", k.value))
                        .with_help("declare it under `secrets:` and list it in the function's `secrets`; the handler reads it from Secrets Manager"),
                );
                continue;
            }
            out.insert(k.value.clone(), v.value.clone());
        }
        out.into_iter().collect()
    }

    fn route(&mut self, r: &Sp<String>) -> Option<Route> {
        let bad = |v: &mut Self, why: &str| {
            v.err(
                Diagnostic::error("E015", r.span, format!("invalid route `{}`: {why}", r.value))
                    .with_help("write `METHOD /path`, e.g. `POST /checkout` or `GET /orders/{id}`"),
            );
        };
        let Some((method, path)) = r.value.split_once(' ') else {
            bad(self, "expected a method and a path");
            return None;
        };
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
        if !methods.contains(&method) {
            bad(self, &format!("unknown method `{method}`"));
            return None;
        }
        let path = path.trim();
        if !path.starts_with('/') || path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
            bad(self, "the path must start with `/` and have no empty segments");
            return None;
        }
        for seg in path.split('/').skip(1) {
            let param = seg.starts_with('{') && seg.ends_with('}') && seg.len() > 2;
            let inner = if param { &seg[1..seg.len() - 1] } else { seg };
            if !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') || (path != "/" && inner.is_empty()) {
                bad(self, &format!("segment `{seg}` has characters API Gateway does not accept"));
                return None;
            }
        }
        Some(Route { method: method.to_string(), path: path.to_string() })
    }

    fn trigger(
        &mut self,
        t: &Sp<RawTrigger>,
        fname: &str,
        queues: &BTreeSet<String>,
        raw: &RawConfig,
        all_routes: &mut BTreeMap<Route, (String, Span)>,
        consumers: &mut BTreeMap<String, (String, Span)>,
    ) -> Option<Trigger> {
        match &t.value {
            RawTrigger::Queue { queue, batch_size, batch_window, max_concurrency } => {
                if !self.resolve(Kind::Queue, queue, queues, &format!("function `{fname}`")) {
                    return None;
                }
                if let Some((other, _)) = consumers.get(&queue.value) {
                    self.err(
                        Diagnostic::error("E013", queue.span, format!("queue `{}` is already consumed by function `{other}`", queue.value))
                            .with_help("a queue feeds one function; to fan out, subscribe another queue to the same topic"),
                    );
                    return None;
                }
                consumers.insert(queue.value.clone(), (fname.to_string(), queue.span));
                let fifo = raw.queues.iter().any(|(n, q)| n.value == queue.value && q.fifo.as_ref().is_some_and(|f| f.value));
                let size = batch_size.as_ref().map(|b| b.value).unwrap_or(DEFAULT_BATCH_SIZE);
                let window = batch_window.as_ref().map(|b| b.value).unwrap_or(0);
                if fifo && size > 10 {
                    self.err(
                        Diagnostic::error("E010", batch_size.as_ref().map(|b| b.span).unwrap_or(t.span), format!("batch size {size} is too large for FIFO queue `{}`", queue.value))
                            .with_help("FIFO queues deliver at most 10 messages per batch"),
                    );
                }
                if fifo && window > 0 {
                    self.err(
                        Diagnostic::error("E010", batch_window.as_ref().map(|b| b.span).unwrap_or(t.span), format!("FIFO queue `{}` does not support a batching window", queue.value))
                            .with_help("remove `batch_window` (Lambda reads FIFO queues without one)"),
                    );
                }
                if !fifo && size > 10 && window == 0 {
                    self.err(
                        Diagnostic::error("E018", batch_size.as_ref().map(|b| b.span).unwrap_or(t.span), format!("batch size {size} needs a batching window"))
                            .with_help("Lambda requires `batch_window` of at least 1 s for batches over 10"),
                    );
                }
                Some(Trigger::Queue {
                    queue: queue.value.clone(),
                    batch_size: size,
                    batch_window: window,
                    max_concurrency: max_concurrency.as_ref().map(|m| m.value),
                })
            }
            RawTrigger::Http { auth, routes } => {
                let auth = match auth {
                    None => {
                        self.err(
                            Diagnostic::error("E004", t.span, format!("the HTTP trigger of `{fname}` does not say who may call it"))
                                .with_help("add `auth: public`, `auth: iam` or `auth: signed` (the handler verifies a signature)"),
                        );
                        RouteAuth::Public
                    }
                    Some(a) => match a.value.as_str() {
                        "public" => RouteAuth::Public,
                        "iam" => RouteAuth::Iam,
                        "signed" => RouteAuth::Signed,
                        other => {
                            self.err(
                                Diagnostic::error("E002", a.span, format!("unknown auth `{other}`"))
                                    .with_help(did_you_mean(other, ["public", "iam", "signed"]).unwrap_or_else(|| "write `public`, `iam` or `signed`".into())),
                            );
                            RouteAuth::Public
                        }
                    },
                };
                if routes.is_empty() {
                    self.err(
                        Diagnostic::error("E004", t.span, format!("the HTTP trigger of `{fname}` lists no routes"))
                            .with_help("add `routes: [\"GET /path\"]`"),
                    );
                    return None;
                }
                let mut out = Vec::new();
                for r in routes {
                    let Some(route) = self.route(r) else { continue };
                    if let Some((other, span)) = all_routes.get(&route) {
                        self.err(
                            Diagnostic::error("E014", r.span, format!("route `{}` is already served by function `{other}`", r.value))
                                .with_help(format!("line {} has the other; each route goes to one function", span.line)),
                        );
                        continue;
                    }
                    all_routes.insert(route.clone(), (fname.to_string(), r.span));
                    out.push(route);
                }
                out.sort();
                Some(Trigger::Http { auth, routes: out })
            }
            RawTrigger::Schedule { expression, retries, max_event_age } => {
                if let Err((problem, help)) = schedule_expression(&expression.value) {
                    self.err(
                        Diagnostic::error("E028", expression.span, format!("schedule `{}` of function `{fname}`: {problem}", expression.value))
                            .with_help(help),
                    );
                    return None;
                }
                Some(Trigger::Schedule {
                    expression: expression.value.clone(),
                    retries: retries.as_ref().map(|r| r.value).unwrap_or(DEFAULT_SCHEDULE_RETRIES),
                    max_event_age: max_event_age.as_ref().map(|a| a.value).unwrap_or(DEFAULT_MAX_EVENT_AGE),
                })
            }
        }
    }

    /// SNS filter policy rules: attribute scope is flat, body scope may nest; every leaf is a
    /// list of values or operator objects; at most 5 keys at the top (SNS's limit).
    fn filter(&mut self, f: &Sp<Json>, body: bool) {
        let Json::Object(map) = &f.value else {
            self.err(
                Diagnostic::error("E016", f.span, "a filter policy must be a mapping of attribute names to conditions")
                    .with_help("e.g. `filter: { quantity: [{ numeric: [\">=\", 100] }] }`"),
            );
            return;
        };
        if map.is_empty() || map.len() > 5 {
            self.err(
                Diagnostic::error("E016", f.span, format!("a filter policy has {} keys; SNS allows 1 to 5", map.len()))
                    .with_help("split the subscription, or match fewer attributes"),
            );
        }
        self.filter_object(map, body, f.span, 0);
    }

    fn filter_object(&mut self, map: &serde_json::Map<String, Json>, body: bool, span: Span, depth: usize) {
        for (k, v) in map {
            match v {
                Json::Array(items) => {
                    if items.is_empty() {
                        self.err(Diagnostic::error("E016", span, format!("filter condition `{k}` is an empty list")).with_help("list at least one value"));
                    }
                    for item in items {
                        self.filter_leaf(k, item, span);
                    }
                }
                Json::Object(inner) if body && depth < 4 => self.filter_object(inner, body, span, depth + 1),
                Json::Object(_) => self.err(
                    Diagnostic::error("E016", span, format!("filter condition `{k}` nests a mapping"))
                        .with_help(if body { "body filters nest at most 5 levels" } else { "attribute filters are flat; use `filter_scope: body` to match nested JSON" }),
                ),
                _ => self.err(
                    Diagnostic::error("E016", span, format!("filter condition `{k}` must be a list"))
                        .with_help(format!("write `{k}: [{}]`", v)),
                ),
            }
        }
    }

    fn filter_leaf(&mut self, key: &str, item: &Json, span: Span) {
        let Json::Object(op) = item else { return };
        let ops = ["numeric", "prefix", "suffix", "anything-but", "exists", "equals-ignore-case", "cidr"];
        for (name, arg) in op {
            if !ops.contains(&name.as_str()) {
                self.err(
                    Diagnostic::error("E016", span, format!("unknown filter operator `{name}` in `{key}`"))
                        .with_help(did_you_mean(name, ops).unwrap_or_else(|| format!("operators: {}", ops.join(", ")))),
                );
                continue;
            }
            if name == "numeric" {
                let valid = match arg {
                    Json::Array(parts) if parts.len() == 2 || parts.len() == 4 => parts.chunks(2).all(|c| {
                        matches!(&c[0], Json::String(s) if ["<", "<=", "=", ">", ">="].contains(&s.as_str())) && c[1].is_number()
                    }),
                    _ => false,
                };
                if !valid {
                    self.err(
                        Diagnostic::error("E016", span, format!("`numeric` condition on `{key}` is malformed"))
                            .with_help("write `numeric: [\">=\", 100]` or `numeric: [\">\", 0, \"<=\", 5]`, with the operator quoted"),
                    );
                }
            }
            if name == "exists" && !arg.is_boolean() {
                self.err(Diagnostic::error("E016", span, format!("`exists` on `{key}` takes `true` or `false`")).with_help("write `exists: true`"));
            }
        }
    }
}

/// One field of an EventBridge cron expression: its values and the wildcards it admits.
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for min, min + 1, ... (months, weekdays).
    names: &'static [&'static str],
    /// Admits `/` (increments).
    slash: bool,
    /// Day-of-month / day-of-week extras: `?`, `L`, `W` (day-of-month), `#` (day-of-week).
    day: Option<Day>,
}

#[derive(Clone, Copy, PartialEq)]
enum Day {
    OfMonth,
    OfWeek,
}

const CRON_FIELDS: [CronField; 6] = [
    CronField { name: "minutes", min: 0, max: 59, names: &[], slash: true, day: None },
    CronField { name: "hours", min: 0, max: 23, names: &[], slash: true, day: None },
    CronField { name: "day-of-month", min: 1, max: 31, names: &[], slash: true, day: Some(Day::OfMonth) },
    CronField { name: "month", min: 1, max: 12, names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], slash: true, day: None },
    CronField { name: "day-of-week", min: 1, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], slash: false, day: Some(Day::OfWeek) },
    CronField { name: "year", min: 1970, max: 2199, names: &[], slash: true, day: None },
];

const SCHEDULE_HELP: &str = "write `rate(<N> <unit>)` (minute, hour or day; plural when N > 1) or `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)` in UTC, e.g. `rate(5 minutes)`, `cron(0 3 * * ? *)`";

/// Checks an EventBridge schedule expression (the `ScheduleExpression` of an
/// `AWS::Events::Rule`): `rate(N unit)` or a six-field `cron(...)`. On error returns what is
/// wrong and a help line.
pub fn schedule_expression(s: &str) -> Result<(), (String, String)> {
    let fail = |problem: String, help: &str| Err((problem, help.to_string()));
    if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let parts: Vec<&str> = inner.split(' ').collect();
        let [value, unit] = parts.as_slice() else {
            return fail(format!("`rate(...)` takes a number and a unit separated by one space, found `{inner}`"), "e.g. `rate(1 minute)`, `rate(5 minutes)`, `rate(12 hours)`");
        };
        let n = match value.parse::<u64>() {
            Ok(n) if n > 0 && value.chars().all(|c| c.is_ascii_digit()) => n,
            _ => return fail(format!("`{value}` is not a positive whole number"), "the rate is a whole number of minutes, hours or days, at least 1: e.g. `rate(5 minutes)`"),
        };
        let singular = match *unit {
            "minute" | "minutes" => "minute",
            "hour" | "hours" => "hour",
            "day" | "days" => "day",
            other => {
                let units = ["minute", "minutes", "hour", "hours", "day", "days"];
                let best = did_you_mean(other, units);
                let close = units.iter().find(|u| best.as_deref() == Some(format!("did you mean `{u}`?").as_str()));
                let help = match close {
                    Some(u) => {
                        let one = u.trim_end_matches('s');
                        format!("did you mean `rate({n} {one}{})`?", if n == 1 { "" } else { "s" })
                    }
                    None => "units are `minute`, `hour` and `day` (plural for more than 1)".into(),
                };
                return Err((format!("unknown unit `{other}`"), help));
            }
        };
        let want = if n == 1 { singular.to_string() } else { format!("{singular}s") };
        if *unit != want {
            let number = if n == 1 { "singular" } else { "plural" };
            return Err((format!("a rate of {n} takes the {number} `{want}`"), format!("write `rate({n} {want})` (EventBridge rejects `rate({n} {unit})`)")));
        }
        return Ok(());
    }
    let Some(inner) = s.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) else {
        if (s.starts_with("cron(") || s.starts_with("rate(")) && !s.ends_with(')') {
            return fail(
                format!("`{s}` has no closing `)`"),
                "close the parenthesis; inside `{ ... }` a `,` ends the value, so quote an expression that has one: `\"cron(0 8,20 * * ? *)\"`",
            );
        }
        return fail(format!("`{s}` is neither `rate(...)` nor `cron(...)`"), SCHEDULE_HELP);
    };
    let fields: Vec<&str> = if inner.is_empty() { Vec::new() } else { inner.split(' ').collect() };
    let six = "six fields separated by one space: minutes hours day-of-month month day-of-week year, e.g. `cron(0 3 * * ? *)`";
    if fields.iter().any(|f| f.is_empty()) {
        return fail("`cron(...)` fields must be separated by single spaces".into(), six);
    }
    if fields.len() != 6 {
        let help = if fields.len() == 5 {
            "EventBridge cron has a sixth field, the year, and takes `?` in day-of-month or day-of-week: e.g. `cron(0 3 * * ? *)` rather than `cron(0 3 * * *)`"
        } else {
            six
        };
        return fail(format!("`cron(...)` needs 6 fields, found {}", fields.len()), help);
    }
    for (field, value) in CRON_FIELDS.iter().zip(&fields) {
        if let Err(why) = cron_field(field, value) {
            return Err((format!("{} `{value}` {why}", field.name), format!("{}: {}", field.name, cron_field_rule(field))));
        }
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return fail(
            format!("day-of-month `{dom}` and day-of-week `{dow}`: exactly one of them must be `?`"),
            "EventBridge cannot match both day fields: write `?` in the one you do not use, e.g. `cron(0 3 * * ? *)` (every day) or `cron(0 3 ? * MON *)` (Mondays)",
        );
    }
    Ok(())
}

fn cron_field_rule(f: &CronField) -> String {
    let names = if f.names.is_empty() { String::new() } else { format!(" or {}-{}", f.names[0], f.names[f.names.len() - 1]) };
    let mut wild = vec![",", "-", "*"];
    if f.slash {
        wild.push("/");
    }
    match f.day {
        Some(Day::OfMonth) => wild.extend(["?", "L", "W"]),
        Some(Day::OfWeek) => wild.extend(["?", "L", "#"]),
        None => {}
    }
    format!("{}-{}{names}, with {}", f.min, f.max, wild.join(" "))
}

/// One cron field: `?` alone (day fields), or a list of `*`, values and ranges, each with an
/// optional `/step`, plus `L`, `LW`, `<n>W` (day-of-month) and `L`, `<n>L`, `<n>#<k>`
/// (day-of-week).
fn cron_field(f: &CronField, v: &str) -> Result<(), String> {
    let value = |x: &str| -> Result<u32, String> {
        let n = match x.parse::<u32>() {
            Ok(n) if x.chars().all(|c| c.is_ascii_digit()) => n,
            _ => match f.names.iter().position(|name| name.eq_ignore_ascii_case(x)) {
                Some(i) => f.min + i as u32,
                None => return Err(format!("has `{x}`, which is not a value")),
            },
        };
        if (f.min..=f.max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("has `{x}`, outside {}-{}", f.min, f.max))
        }
    };
    if v == "?" {
        return if f.day.is_some() { Ok(()) } else { Err("cannot be `?` (only day-of-month and day-of-week can)".into()) };
    }
    for item in v.split(',') {
        if item.is_empty() {
            return Err("has an empty list entry".into());
        }
        match f.day {
            Some(Day::OfMonth) if item == "L" || item == "LW" => continue,
            Some(Day::OfMonth) if item.len() > 1 && item.ends_with('W') => {
                value(&item[..item.len() - 1])?;
                continue;
            }
            Some(Day::OfWeek) if item == "L" => continue,
            Some(Day::OfWeek) if item.len() > 1 && item.ends_with('L') => {
                value(&item[..item.len() - 1])?;
                continue;
            }
            Some(Day::OfWeek) if item.contains('#') => {
                let (day, nth) = item.split_once('#').unwrap_or_default();
                value(day)?;
                if !matches!(nth, "1" | "2" | "3" | "4" | "5") {
                    return Err(format!("has `{item}`: `#` takes the week of the month, 1 to 5"));
                }
                continue;
            }
            _ => {}
        }
        let (base, step) = match item.split_once('/') {
            Some((b, st)) => (b, Some(st)),
            None => (item, None),
        };
        if let Some(st) = step {
            if !f.slash {
                return Err("cannot use `/`".into());
            }
            if !(st.chars().all(|c| c.is_ascii_digit()) && st.parse::<u32>().is_ok_and(|n| n > 0)) {
                return Err(format!("has `{item}`: the increment after `/` must be a positive whole number"));
            }
        }
        if base == "*" {
            continue;
        }
        match base.split_once('-') {
            Some((a, b)) => {
                value(a)?;
                value(b)?;
            }
            None => {
                value(base)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::schedule_expression;

    #[test]
    fn schedule_expressions() {
        let ok = [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(12 hours)",
            "rate(1 day)",
            "rate(7 days)",
            "cron(0 3 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0 8-18 ? * MON-FRI *)",
            "cron(30 12 L * ? 2030)",
            "cron(0 0 15W * ? *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 9 ? * 6L *)",
            "cron(0 10 1,15 jan,jul ? 1970-2199)",
        ];
        for e in ok {
            assert_eq!(schedule_expression(e), Ok(()), "{e}");
        }
        // (expression, start of the problem)
        let bad = [
            ("rate(1 minutes)", "a rate of 1 takes the singular `minute`"),
            ("rate(5 minute)", "a rate of 5 takes the plural `minutes`"),
            ("rate(0 minutes)", "`0` is not a positive whole number"),
            ("rate(+5 minutes)", "`+5` is not a positive whole number"),
            ("rate(5 weeks)", "unknown unit `weeks`"),
            ("rate(10 mins)", "unknown unit `mins`"),
            ("rate(5  minutes)", "`rate(...)` takes a number and a unit"),
            ("rate(5minutes)", "`rate(...)` takes a number and a unit"),
            ("every 5 minutes", "`every 5 minutes` is neither"),
            ("rate(5 minutes", "`rate(5 minutes` has no closing `)`"),
            ("cron(0 8", "`cron(0 8` has no closing `)`"),
            ("at(2030-01-01T00:00:00)", "`at(2030-01-01T00:00:00)` is neither"),
            ("cron(0 3 * * *)", "`cron(...)` needs 6 fields, found 5"),
            ("cron(0 3 * * ? * *)", "`cron(...)` needs 6 fields, found 7"),
            ("cron(0  3 * * ? *)", "`cron(...)` fields must be separated by single spaces"),
            ("cron()", "`cron(...)` needs 6 fields, found 0"),
            ("cron(0 3 * * * *)", "day-of-month `*` and day-of-week `*`: exactly one"),
            ("cron(0 3 ? * ? *)", "day-of-month `?` and day-of-week `?`: exactly one"),
            ("cron(60 3 * * ? *)", "minutes `60` has `60`, outside 0-59"),
            ("cron(0 24 * * ? *)", "hours `24` has `24`, outside 0-23"),
            ("cron(0 3 0 * ? *)", "day-of-month `0` has `0`, outside 1-31"),
            ("cron(0 3 * 13 ? *)", "month `13` has `13`, outside 1-12"),
            ("cron(0 3 ? * MONDAY *)", "day-of-week `MONDAY` has `MONDAY`, which is not a value"),
            ("cron(0 3 ? * 1/2 *)", "day-of-week `1/2` cannot use `/`"),
            ("cron(0 3 * * ? 1969)", "year `1969` has `1969`, outside 1970-2199"),
            ("cron(? 3 * * ? *)", "minutes `?` cannot be `?`"),
            ("cron(*/0 3 * * ? *)", "minutes `*/0` has `*/0`: the increment"),
            ("cron(0 3 ? * 2#6 *)", "day-of-week `2#6` has `2#6`: `#` takes"),
            ("cron(0,,5 3 * * ? *)", "minutes `0,,5` has an empty list entry"),
        ];
        for (e, want) in bad {
            match schedule_expression(e) {
                Ok(()) => panic!("{e} was accepted"),
                Err((problem, help)) => {
                    assert!(problem.starts_with(want), "{e}: {problem}");
                    assert!(!help.is_empty(), "{e}: no help");
                }
            }
        }
    }
}
