//! The config's sections, key by key: each reads its mapping against its schema object.

use super::reader::{node_span, scalar_span, to_json, Parser};
use super::*;
use crate::diag::Span;
use marked_yaml::Node;

impl Parser {
    pub(super) fn config(&mut self, root: &Node) -> RawConfig {
        let mut cfg = RawConfig { top: Span::new(1, 1, 1), ..RawConfig::default() };
        let Some(f) = self.fields(root, "the config", "config") else {
            return cfg;
        };
        // Any number parses; validation says which versions this flowform reads (E025).
        let before = self.diags.len();
        cfg.version = self.uint(f.get("version"), "`version`", 0, u64::MAX);
        if self.diags.len() > before {
            cfg.refused.push("version");
        }
        let before = self.diags.len();
        cfg.system = self.string(f.get("system"), "`system`");
        if self.diags.len() > before {
            cfg.refused.push("system");
        }
        cfg.description = self.string(f.get("description"), "`description`");
        cfg.handlers_crate = self.string(f.get("handlers_crate"), "`handlers_crate`");
        let before = self.diags.len();
        cfg.nested_stacks = self.int(&f, "nested_stacks", "`nested_stacks`");
        if self.diags.len() > before {
            cfg.refused.push("nested_stacks");
        }
        if let Some(d) = f.get("defaults").and_then(|n| self.fields(n, "`defaults`", "defaults")) {
            cfg.defaults = RawDefaults {
                timeout: self.int(&d, "timeout", "`defaults.timeout`"),
                memory: self.int(&d, "memory", "`defaults.memory`"),
                architecture: self.string(d.get("architecture"), "`defaults.architecture`"),
                log_retention_days: self.int(&d, "log_retention_days", "`defaults.log_retention_days`"),
            };
        }
        cfg.http = self.http(f.get("http"), "`http`");
        let before = self.diags.len();
        cfg.stages = self.each(f.get("stages"), "`stages`", Self::stage);
        if self.diags.len() > before {
            cfg.refused.push("stages");
        }
        cfg.topics = self.each(f.get("topics"), "`topics`", Self::topic);
        cfg.queues = self.each(f.get("queues"), "`queues`", Self::queue);
        cfg.functions = self.each(f.get("functions"), "`functions`", Self::function);
        cfg.email = self.each(f.get("email"), "`email`", Self::email);
        cfg.databases = self.each(f.get("databases"), "`databases`", Self::database);
        cfg.endpoints = self.each(f.get("endpoints"), "`endpoints`", Self::endpoint);
        cfg.secrets = self.each(f.get("secrets"), "`secrets`", Self::secret);
        cfg.authorizers = self.each(f.get("authorizers"), "`authorizers`", Self::authorizer);
        cfg.imports = self.each(f.get("imports"), "`imports`", Self::import);
        cfg
    }

    /// A section of named entries, each read by `read`, in document order.
    fn each<T>(&mut self, n: Option<&Node>, what: &str, read: fn(&mut Self, &Node, &Name) -> T) -> Vec<(Name, T)> {
        let entries = self.named(n, what);
        entries.into_iter().map(|(name, n)| (name.clone(), read(self, n, &name))).collect()
    }

    fn stage(&mut self, n: &Node, name: &Name) -> RawStage {
        let what = format!("stage `{}`", name.value);
        let mut st = RawStage { span: name.span, ..RawStage::default() };
        let Some(sf) = self.fields(n, &what, "stage") else { return st };
        st.log_retention_days = self.int(&sf, "log_retention_days", "`log_retention_days`");
        st.http = self.http(sf.get("http"), &format!("`http` of {what}"));
        st.functions = self.each(sf.get("functions"), &format!("`functions` of {what}"), Self::function_override);
        st.queues = self.each(sf.get("queues"), &format!("`queues` of {what}"), Self::queue_override);
        st.operators = self.strings(sf.get("operators"), &format!("`operators` of {what}"));
        st
    }

    fn queue_override(&mut self, n: &Node, name: &Name) -> RawQueueOverride {
        let what = format!("override of queue `{}`", name.value);
        let Some(of) = self.fields(n, &what, "queue_override") else { return RawQueueOverride::default() };
        RawQueueOverride {
            retention_days: self.int(&of, "retention_days", "`retention_days`"),
            delay_seconds: self.int(&of, "delay_seconds", "`delay_seconds`"),
            max_message_size: self.int(&of, "max_message_size", "`max_message_size`"),
            visibility_timeout: self.int(&of, "visibility_timeout", "`visibility_timeout`"),
            dlq: of.get("dlq").and_then(|d| Some(Sp::new(self.dlq(d)?, node_span(d)))),
        }
    }

    /// The settings of a dead-letter queue.
    fn dlq(&mut self, d: &Node) -> Option<RawDlq> {
        let df = self.fields(d, "`dlq`", "dlq")?;
        Some(RawDlq {
            max_receives: self.int(&df, "max_receives", "`dlq.max_receives`"),
            retention_days: self.int(&df, "retention_days", "`dlq.retention_days`"),
            retry_window: self.int(&df, "retry_window", "`dlq.retry_window`"),
        })
    }

    fn function_override(&mut self, n: &Node, name: &Name) -> RawFunctionOverride {
        let what = format!("override of function `{}`", name.value);
        let Some(of) = self.fields(n, &what, "function_override") else { return RawFunctionOverride::default() };
        RawFunctionOverride {
            timeout: self.int(&of, "timeout", "`timeout`"),
            memory: self.int(&of, "memory", "`memory`"),
            reserved_concurrency: self.int(&of, "reserved_concurrency", "`reserved_concurrency`"),
            env: self.env(of.get("env"), "`env`"),
            throttle: of.get("throttle").map(|t| self.throttle(t)),
        }
    }

    fn topic(&mut self, n: &Node, name: &Name) -> RawTopic {
        let Some(tf) = self.fields(n, &format!("topic `{}`", name.value), "topic") else { return RawTopic::default() };
        RawTopic {
            fifo: self.boolean(tf.get("fifo"), "`fifo`"),
            content_based_dedup: self.boolean(tf.get("content_based_dedup"), "`content_based_dedup`"),
            description: self.string(tf.get("description"), "`description`"),
            renamed_from: self.string(tf.get("renamed_from"), "`renamed_from`"),
            export: tf.get("export").and_then(|e| {
                let ef = self.fields(e, &format!("`export` of topic `{}`", name.value), "export")?;
                let export = RawExport {
                    subscribe: self.strings(ef.get("subscribe"), "`export.subscribe`"),
                    publish: self.strings(ef.get("publish"), "`export.publish`"),
                };
                Some(Sp::new(export, node_span(e)))
            }),
            import: self.string(tf.get("import"), "`import`"),
            topic: self.string(tf.get("topic"), "`topic`"),
        }
    }

    fn import(&mut self, n: &Node, name: &Name) -> RawImport {
        let Some(f) = self.fields(n, &format!("import `{}`", name.value), "import") else {
            return RawImport::default();
        };
        RawImport { config: self.string(f.get("config"), "`config`") }
    }

    fn email(&mut self, n: &Node, name: &Name) -> RawEmail {
        let Some(ef) = self.fields(n, &format!("email `{}`", name.value), "email") else { return RawEmail::default() };
        let before = self.diags.len();
        let identity = self.string(ef.get("identity"), "`identity`");
        RawEmail {
            identity_refused: self.diags.len() > before,
            identity,
            configuration_set: self.string(ef.get("configuration_set"), "`configuration_set`"),
            senders: self.strings(ef.get("senders"), "`senders`"),
        }
    }

    fn database(&mut self, n: &Node, name: &Name) -> RawDatabase {
        let Some(df) = self.fields(n, &format!("database `{}`", name.value), "database") else {
            return RawDatabase::default();
        };
        RawDatabase {
            engine: self.string(df.get("engine"), "`engine`"),
            port: self.int(&df, "port", "`port`"),
            name: self.string(df.get("name"), "`name`"),
            iam_user: self.string(df.get("iam_user"), "`iam_user`"),
            ca_bundle: self.string(df.get("ca_bundle"), "`ca_bundle`"),
            description: self.string(df.get("description"), "`description`"),
        }
    }

    fn endpoint(&mut self, n: &Node, name: &Name) -> RawEndpoint {
        let Some(ef) = self.fields(n, &format!("endpoint `{}`", name.value), "endpoint") else {
            return RawEndpoint::default();
        };
        RawEndpoint {
            default: self.string(ef.get("default"), "`default`"),
            description: self.string(ef.get("description"), "`description`"),
            allow_http: self.boolean(ef.get("allow_http"), "`allow_http`"),
        }
    }

    fn authorizer(&mut self, n: &Node, name: &Name) -> RawAuthorizer {
        let span = node_span(n);
        let Some(af) = self.fields(n, &format!("authorizer `{}`", name.value), "authorizer") else {
            return RawAuthorizer { span, ..RawAuthorizer::default() };
        };
        RawAuthorizer {
            issuer: self.string(af.get("issuer"), "`issuer`"),
            audience: self.strings(af.get("audience"), "`audience`"),
            description: self.string(af.get("description"), "`description`"),
            span,
        }
    }

    fn secret(&mut self, n: &Node, name: &Name) -> RawSecret {
        let Some(sf) = self.fields(n, &format!("secret `{}`", name.value), "secret") else {
            return RawSecret::default();
        };
        RawSecret {
            length: self.int(&sf, "length", "`length`"),
            description: self.string(sf.get("description"), "`description`"),
            existing: self.boolean(sf.get("existing"), "`existing`"),
            own_key: self.boolean(sf.get("own_key"), "`own_key`"),
        }
    }

    pub(super) fn http(&mut self, n: Option<&Node>, what: &str) -> RawHttp {
        let Some(n) = n else { return RawHttp::default() };
        let Some(hf) = self.fields(n, what, "http") else { return RawHttp::default() };
        hf.get("throttle").map(|t| self.throttle(t)).unwrap_or_default()
    }

    /// `{ rate, burst }` of API Gateway throttling; naming neither says nothing (E004).
    fn throttle(&mut self, t: &Node) -> RawHttp {
        let empty = matches!(t, Node::Scalar(s) if s.as_str().is_empty());
        let Some(tf) = self.fields(t, "`throttle`", "throttle") else {
            if empty {
                self.err(
                    Diagnostic::error(Code::Missing, node_span(t), "`throttle` names neither `rate` nor `burst`")
                        .with_help("write `throttle: { rate: 5, burst: 10 }`, or remove it to keep the default"),
                );
            }
            return RawHttp::default();
        };
        let h = RawHttp {
            throttle_rate: self.int(&tf, "rate", "`throttle.rate`"),
            throttle_burst: self.int(&tf, "burst", "`throttle.burst`"),
        };
        if tf.get("rate").is_none() && tf.get("burst").is_none() {
            self.err(
                Diagnostic::error(Code::Missing, node_span(t), "`throttle` names neither `rate` nor `burst`")
                    .with_help("write `throttle: { rate: 5, burst: 10 }`, or remove it to keep the default"),
            );
        }
        h
    }

    pub(super) fn queue(&mut self, n: &Node, name: &Name) -> RawQueue {
        let what = format!("queue `{}`", name.value);
        let Some(qf) = self.fields(n, &what, "queue") else {
            return RawQueue::default();
        };
        let mut q = RawQueue {
            fifo: self.boolean(qf.get("fifo"), "`fifo`"),
            content_based_dedup: self.boolean(qf.get("content_based_dedup"), "`content_based_dedup`"),
            retention_days: self.int(&qf, "retention_days", "`retention_days`"),
            high_throughput: self.boolean(qf.get("high_throughput"), "`high_throughput`"),
            delay_seconds: self.int(&qf, "delay_seconds", "`delay_seconds`"),
            max_message_size: self.int(&qf, "max_message_size", "`max_message_size`"),
            visibility_timeout: self.int(&qf, "visibility_timeout", "`visibility_timeout`"),
            description: self.string(qf.get("description"), "`description`"),
            renamed_from: self.string(qf.get("renamed_from"), "`renamed_from`"),
            ..RawQueue::default()
        };
        if let Some(d) = qf.get("dlq") {
            match d {
                Node::Scalar(s) if s.as_bool() == Some(false) => q.dlq = Some(Sp::new(None, scalar_span(s))),
                Node::Scalar(s) if s.as_bool() == Some(true) || (s.as_str().is_empty() && s.may_coerce()) => {
                    q.dlq = Some(Sp::new(Some(RawDlq::default()), scalar_span(s)))
                }
                _ => {
                    if let Some(dlq) = self.dlq(d) {
                        q.dlq = Some(Sp::new(Some(dlq), node_span(d)));
                    }
                }
            }
        }
        if let Some(s) = qf.get("subscribe") {
            let Some(seq) = s.as_sequence() else {
                self.wrong_type(s, "`subscribe`", "a list of topics");
                return q;
            };
            for item in seq.iter() {
                match item {
                    Node::Scalar(t) => q.subscribe.push(RawSubscription {
                        topic: Sp::new(t.as_str().to_string(), scalar_span(t)),
                        raw: None,
                        filter_scope: None,
                        filter: None,
                    }),
                    _ => {
                        let Some(sf) = self.fields(item, "a subscription", "subscription") else {
                            continue;
                        };
                        let Some(topic) = self.string(sf.get("topic"), "`topic`") else {
                            self.err(
                                Diagnostic::error(Code::Missing, node_span(item), "subscription has no `topic`")
                                    .with_help("add `topic: <name of a topic>`"),
                            );
                            continue;
                        };
                        let filter = sf.get("filter").map(|f| Sp::new(to_json(f), node_span(f)));
                        q.subscribe.push(RawSubscription {
                            topic,
                            raw: self.boolean(sf.get("raw"), "`raw`"),
                            filter_scope: self.string(sf.get("filter_scope"), "`filter_scope`"),
                            filter,
                        });
                    }
                }
            }
        }
        q
    }

    pub(super) fn function(&mut self, n: &Node, name: &Name) -> RawFunction {
        let what = format!("function `{}`", name.value);
        let mut func = RawFunction { span: name.span, ..RawFunction::default() };
        let Some(ff) = self.fields(n, &what, "function") else {
            return func;
        };
        func.handler = self.string(ff.get("handler"), "`handler`");
        func.description = self.string(ff.get("description"), "`description`");
        func.renamed_from = self.string(ff.get("renamed_from"), "`renamed_from`");
        func.stack = self.string(ff.get("stack"), "`stack`");
        func.timeout = self.int(&ff, "timeout", "`timeout`");
        func.memory = self.int(&ff, "memory", "`memory`");
        func.architecture = self.string(ff.get("architecture"), "`architecture`");
        func.reserved_concurrency = self.int(&ff, "reserved_concurrency", "`reserved_concurrency`");
        func.publishes = self.strings(ff.get("publishes"), "`publishes`");
        func.databases = self.strings(ff.get("databases"), "`databases`");
        func.emails = self.strings(ff.get("emails"), "`emails`");
        func.endpoints = self.strings(ff.get("endpoints"), "`endpoints`");
        func.secrets = self.strings(ff.get("secrets"), "`secrets`");
        func.callbacks = self.strings(ff.get("callbacks"), "`callbacks`");
        func.env = self.env(ff.get("env"), "`env`");
        let before = self.diags.len();
        if let Some(t) = ff.get("trigger") {
            if let Some(tf) = self.fields(t, "`trigger`", "trigger") {
                let span = node_span(t);
                let kinds: Vec<(&str, &Node)> =
                    ["queue", "http", "schedule"].into_iter().filter_map(|k| tf.get(k).map(|n| (k, n))).collect();
                let article = |k: &str| if k == "http" { "an" } else { "a" };
                match kinds.as_slice() {
                    [(first, _), rest @ ..] if !rest.is_empty() => {
                        for (other, n) in rest {
                            self.err(
                                Diagnostic::error(Code::Conflict, node_span(n), format!("{what} has both {} `{first}` and {} `{other}` trigger", article(first), article(other)))
                                    .with_help("a function has one trigger: split it into two functions"),
                            );
                        }
                    }
                    [("queue", q)] => {
                        self.only_for(&tf, "queue", &["retries", "max_event_age"]);
                        if let Some(queue) = self.string(Some(q), "`trigger.queue`") {
                            func.trigger = Some(Sp::new(
                                RawTrigger::Queue {
                                    queue,
                                    batch_size: self.int(&tf, "batch_size", "`batch_size`"),
                                    batch_window: self.int(&tf, "batch_window", "`batch_window`"),
                                    max_concurrency: self.int(&tf, "max_concurrency", "`max_concurrency`"),
                                },
                                span,
                            ));
                        }
                    }
                    [("http", h)] => {
                        self.only_for(&tf, "http", &["batch_size", "batch_window", "max_concurrency", "retries", "max_event_age"]);
                        if let Some(hf) = self.fields(h, "`trigger.http`", "http_trigger") {
                            let routes = self.strings(hf.get("routes"), "`routes`");
                            func.route_throttle = hf.get("throttle").map(|t| self.throttle(t));
                            func.trigger = Some(Sp::new(
                                RawTrigger::Http {
                                    auth: self.string(hf.get("auth"), "`auth`"),
                                    routes,
                                    authorizer: self.string(hf.get("authorizer"), "`authorizer`"),
                                    scopes: self.strings(hf.get("scopes"), "`scopes`"),
                                },
                                span,
                            ));
                        }
                    }
                    [("schedule", s)] => {
                        self.only_for(&tf, "schedule", &["batch_size", "batch_window", "max_concurrency"]);
                        if let Some(expression) = self.string(Some(s), "`trigger.schedule`") {
                            func.trigger = Some(Sp::new(
                                RawTrigger::Schedule {
                                    expression,
                                    retries: self.int(&tf, "retries", "`retries`"),
                                    max_event_age: self.int(&tf, "max_event_age", "`max_event_age`"),
                                },
                                span,
                            ));
                        }
                    }
                    _ => self.err(
                        Diagnostic::error(Code::Missing, span, format!("the trigger of {what} names none of `queue`, `http`, `schedule`"))
                            .with_help("write `trigger: { queue: <queue> }`, `trigger: { http: { auth: public, routes: [...] } }` or `trigger: { schedule: rate(1 hour) }`"),
                    ),
                }
            }
        }
        func.trigger_refused = self.diags.len() > before;
        func
    }
}
