//! The raw, spanned config: the only layer that knows YAML input.
//!
//! `parse` turns `flowform.yaml` text into [`RawConfig`], where every value keeps its position.
//! It checks shapes only (types, unknown keys, ranges of single values) and collects every
//! problem; cross-references and AWS rules live in `validate`.

pub mod imports;
mod limits;
mod reader;
mod sections;

pub use limits::{MAX_CONFIG_BYTES, MAX_NESTING};

use crate::codes::Code;
use crate::diag::{Diagnostic, Span};
use limits::{load_error, second_document, too_big_or_deep};
use marked_yaml::LoaderOptions;
use reader::Parser;
use serde_json::Value as Json;

/// A value with the place it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

pub type Name = Sp<String>;

#[derive(Clone, Debug, Default)]
pub struct RawConfig {
    pub version: Option<Sp<u64>>,
    pub system: Option<Name>,
    pub description: Option<Sp<String>>,
    /// Cargo package holding one binary per handler (`flowform package` builds it).
    pub handlers_crate: Option<Sp<String>>,
    /// Nested stacks per stage (the function units hash into them); none: one template.
    pub nested_stacks: Option<Sp<u64>>,
    pub defaults: RawDefaults,
    pub stages: Vec<(Name, RawStage)>,
    pub http: RawHttp,
    pub topics: Vec<(Name, RawTopic)>,
    pub queues: Vec<(Name, RawQueue)>,
    pub functions: Vec<(Name, RawFunction)>,
    pub email: Vec<(Name, RawEmail)>,
    pub databases: Vec<(Name, RawDatabase)>,
    pub endpoints: Vec<(Name, RawEndpoint)>,
    pub secrets: Vec<(Name, RawSecret)>,
    /// JWT issuers that HTTP routes with `auth: jwt` trust.
    pub authorizers: Vec<(Name, RawAuthorizer)>,
    /// Other systems whose exported topics this config uses: system name -> its config file.
    pub imports: Vec<(Name, RawImport)>,
    /// Span of the whole document's first line, for file-level problems.
    pub top: Span,
    /// Keys (`version`, `system`, `stages`, `nested_stacks`) whose value the parser refused
    /// with an error: validation does not also call them missing.
    pub refused: Vec<&'static str>,
}

impl RawConfig {
    /// Every user-chosen name of every section except stages, in config order.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        fn keys<T>(v: &[(Name, T)]) -> impl Iterator<Item = &Name> {
            v.iter().map(|(n, _)| n)
        }
        keys(&self.topics)
            .chain(keys(&self.queues))
            .chain(keys(&self.functions))
            .chain(keys(&self.email))
            .chain(keys(&self.databases))
            .chain(keys(&self.endpoints))
            .chain(keys(&self.secrets))
            .chain(keys(&self.authorizers))
    }
}

#[derive(Clone, Debug, Default)]
pub struct RawDefaults {
    pub timeout: Option<Sp<u64>>,
    pub memory: Option<Sp<u64>>,
    pub architecture: Option<Sp<String>>,
    pub log_retention_days: Option<Sp<u64>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawStage {
    pub log_retention_days: Option<Sp<u64>>,
    pub http: RawHttp,
    pub functions: Vec<(Name, RawFunctionOverride)>,
    pub queues: Vec<(Name, RawQueueOverride)>,
    pub operators: Vec<Sp<String>>,
    pub span: Span,
}

/// A stage's settings for one queue, over the queue's own.
#[derive(Clone, Debug, Default)]
pub struct RawQueueOverride {
    pub retention_days: Option<Sp<u64>>,
    pub delay_seconds: Option<Sp<u64>>,
    pub max_message_size: Option<Sp<u64>>,
    pub visibility_timeout: Option<Sp<u64>>,
    pub dlq: Option<Sp<RawDlq>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawFunctionOverride {
    pub timeout: Option<Sp<u64>>,
    pub memory: Option<Sp<u64>>,
    pub reserved_concurrency: Option<Sp<u64>>,
    pub env: Vec<(Name, Sp<String>)>,
    pub throttle: Option<RawHttp>,
}

#[derive(Clone, Debug, Default)]
pub struct RawHttp {
    pub throttle_rate: Option<Sp<u64>>,
    pub throttle_burst: Option<Sp<u64>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawTopic {
    pub fifo: Option<Sp<bool>>,
    pub content_based_dedup: Option<Sp<bool>>,
    pub description: Option<Sp<String>>,
    /// The name whose resources this topic keeps.
    pub renamed_from: Option<Name>,
    /// Who else may use it.
    pub export: Option<Sp<RawExport>>,
    /// The system (a key of `imports`) whose topic of this name this is.
    pub import: Option<Name>,
    /// With `import`: the topic's name in the exporting config, when it differs.
    pub topic: Option<Name>,
}

/// A topic's `export`: the systems that may subscribe to it and publish to it.
#[derive(Clone, Debug, Default)]
pub struct RawExport {
    pub subscribe: Vec<Name>,
    pub publish: Vec<Name>,
}

/// An entry of `imports`.
#[derive(Clone, Debug, Default)]
pub struct RawImport {
    /// The exporting config's path, relative to this config's directory.
    pub config: Option<Sp<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawQueue {
    pub fifo: Option<Sp<bool>>,
    pub content_based_dedup: Option<Sp<bool>>,
    pub retention_days: Option<Sp<u64>>,
    pub high_throughput: Option<Sp<bool>>,
    pub delay_seconds: Option<Sp<u64>>,
    pub max_message_size: Option<Sp<u64>>,
    pub visibility_timeout: Option<Sp<u64>>,
    /// `None` = default DLQ; `Some(None)` = `dlq: false`.
    pub dlq: Option<Sp<Option<RawDlq>>>,
    pub subscribe: Vec<RawSubscription>,
    pub description: Option<Sp<String>>,
    /// The name whose resources this queue keeps.
    pub renamed_from: Option<Name>,
}

#[derive(Clone, Debug, Default)]
pub struct RawDlq {
    pub max_receives: Option<Sp<u64>>,
    pub retention_days: Option<Sp<u64>>,
    pub retry_window: Option<Sp<u64>>,
}

#[derive(Clone, Debug)]
pub struct RawSubscription {
    pub topic: Name,
    pub raw: Option<Sp<bool>>,
    pub filter_scope: Option<Sp<String>>,
    pub filter: Option<Sp<Json>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawFunction {
    pub handler: Option<Name>,
    pub description: Option<Sp<String>>,
    pub timeout: Option<Sp<u64>>,
    pub memory: Option<Sp<u64>>,
    pub architecture: Option<Sp<String>>,
    pub reserved_concurrency: Option<Sp<u64>>,
    pub trigger: Option<Sp<RawTrigger>>,
    pub publishes: Vec<Name>,
    pub databases: Vec<Name>,
    pub emails: Vec<Name>,
    pub endpoints: Vec<Name>,
    pub secrets: Vec<Name>,
    pub callbacks: Vec<Sp<String>>,
    pub env: Vec<(Name, Sp<String>)>,
    /// The name whose resources this function keeps.
    pub renamed_from: Option<Name>,
    /// `stack`: the nested stack it is pinned to.
    pub stack: Option<Name>,
    pub span: Span,
    /// `trigger.http.throttle`: the routes' own throttling.
    pub route_throttle: Option<RawHttp>,
    /// `trigger` was present but refused with an error (so it is not also "missing").
    pub trigger_refused: bool,
}

#[derive(Clone, Debug)]
pub enum RawTrigger {
    Queue {
        queue: Name,
        batch_size: Option<Sp<u64>>,
        batch_window: Option<Sp<u64>>,
        max_concurrency: Option<Sp<u64>>,
    },
    Http {
        auth: Option<Sp<String>>,
        routes: Vec<Sp<String>>,
        /// `auth: jwt`: which of `authorizers` (default: the only one).
        authorizer: Option<Name>,
        /// `auth: jwt`: the token must carry at least one of these.
        scopes: Vec<Sp<String>>,
    },
    /// An EventBridge schedule; the expression is checked in `validate`.
    Schedule {
        expression: Sp<String>,
        retries: Option<Sp<u64>>,
        max_event_age: Option<Sp<u64>>,
    },
}

#[derive(Clone, Debug, Default)]
pub struct RawEmail {
    /// `identity` was present but refused with an error (so it is not also "missing").
    pub identity_refused: bool,
    pub identity: Option<Sp<String>>,
    pub configuration_set: Option<Sp<String>>,
    pub senders: Vec<Sp<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawDatabase {
    pub engine: Option<Sp<String>>,
    pub port: Option<Sp<u64>>,
    pub name: Option<Sp<String>>,
    pub iam_user: Option<Sp<String>>,
    pub ca_bundle: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawEndpoint {
    pub default: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
    pub allow_http: Option<Sp<bool>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawAuthorizer {
    pub issuer: Option<Sp<String>>,
    pub audience: Vec<Sp<String>>,
    pub description: Option<Sp<String>>,
    /// Span of the authorizer's mapping, for what it lacks.
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct RawSecret {
    pub length: Option<Sp<u64>>,
    pub description: Option<Sp<String>>,
    pub existing: Option<Sp<bool>>,
    pub own_key: Option<Sp<bool>>,
}

/// Parses config text. Returns the raw config (as far as it could be read) and every shape
/// problem found. Never panics, whatever the input.
pub fn parse(text: &str) -> (RawConfig, Vec<Diagnostic>) {
    let mut p = Parser::default();
    // A UTF-8 byte-order mark is not part of the config (editors on Windows write one).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Bounded work for any input: a size limit and a nesting limit, before the YAML loader
    // (which takes time and memory in proportion to both).
    if let Some(d) = too_big_or_deep(text) {
        p.diags.push(d);
        return (RawConfig::default(), p.diags);
    }
    // The loader reads the first YAML document and drops the rest without a word; a config
    // read in part must never pass.
    if let Some(line) = second_document(text) {
        p.diags.push(
            Diagnostic::error(Code::SecondDocument, Span::new(line, 1, 3), "the file holds more than one YAML document; flowform reads exactly one")
                .with_help("remove this `---` (or `...`) and merge what follows into the config above, or put it in a file of its own and pass it with `-c`"),
        );
        return (RawConfig::default(), p.diags);
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true);
    // marked-yaml reaches `unreachable!()` on some malformed alias input; a config must never
    // crash flowform, so a panic inside the YAML loader is turned into a syntax error.
    let loaded = std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, text, options));
    let root = match loaded {
        Ok(Ok(node)) => node,
        Ok(Err(e)) => {
            p.diags.push(load_error(&e));
            return (RawConfig::default(), p.diags);
        }
        Err(_) => {
            p.diags.push(
                Diagnostic::error(Code::Yaml, Span::NONE, "the file is not YAML that flowform can read")
                    .with_help("remove YAML anchors and aliases (`&name`, `*name`); flowform configs do not use them"),
            );
            return (RawConfig::default(), p.diags);
        }
    };
    let cfg = p.config(&root);
    (cfg, p.diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_all_reported_with_positions() {
        let (_, d) = parse("version: 1\nsystem: x\nbogus: 1\ntopics:\n  a:\n    fifoo: true\n");
        let codes: Vec<_> = d.iter().map(|d| (d.code.as_str(), d.span.line, d.span.col)).collect();
        assert_eq!(codes, vec![("E003", 3, 1), ("E003", 6, 5)]);
        assert_eq!(d[1].help.as_deref(), Some("did you mean `fifo`?"));
    }

    #[test]
    fn quoted_numbers_are_not_numbers() {
        let (_, d) = parse("version: \"1\"\n");
        assert_eq!(d[0].code, "E002");
    }

    #[test]
    fn aliases_and_garbage_never_panic() {
        for text in ["a: *x\n", "a: &x 1\nb: *x\n", "[", "{a: [}", "- 1\n", "a:\n\t- b\n", "\u{0}", ": :"] {
            let _ = parse(text);
        }
    }
}
