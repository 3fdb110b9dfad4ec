//! The raw, spanned config: the only layer that knows YAML input.
//!
//! `parse` turns `flowform.yaml` text into [`RawConfig`], where every value keeps its position.
//! It checks shapes only (types, unknown keys, ranges of single values) and collects every
//! problem; cross-references and AWS rules live in `validate`.

use crate::codes::Code;
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::schema::keys;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoaderOptions, Node};
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
    /// Span of the whole document's first line, for file-level problems.
    pub top: Span,
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
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct RawFunctionOverride {
    pub timeout: Option<Sp<u64>>,
    pub memory: Option<Sp<u64>>,
    pub reserved_concurrency: Option<Sp<u64>>,
    pub env: Vec<(Name, Sp<String>)>,
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
}

#[derive(Clone, Debug, Default)]
pub struct RawQueue {
    pub fifo: Option<Sp<bool>>,
    pub content_based_dedup: Option<Sp<bool>>,
    pub retention_days: Option<Sp<u64>>,
    /// `None` = default DLQ; `Some(None)` = `dlq: false`.
    pub dlq: Option<Sp<Option<RawDlq>>>,
    pub subscribe: Vec<RawSubscription>,
    pub description: Option<Sp<String>>,
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
    pub span: Span,
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
    pub description: Option<Sp<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawEndpoint {
    pub default: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct RawSecret {
    pub length: Option<Sp<u64>>,
    pub description: Option<Sp<String>>,
}

/// Parses config text. Returns the raw config (as far as it could be read) and every shape
/// problem found. Never panics, whatever the input.
pub fn parse(text: &str) -> (RawConfig, Vec<Diagnostic>) {
    let mut p = Parser { diags: Vec::new() };
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

/// The largest config flowform reads (the donut shop is 5 KB; 1,000 functions are about 200 KB).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The deepest nesting of collections flowform reads (the schema needs 8).
pub const MAX_NESTING: usize = 64;

/// E031 for a file over [`MAX_CONFIG_BYTES`] (at the line where the limit is crossed) or nested
/// deeper than [`MAX_NESTING`] (at the collection that goes too deep).
fn too_big_or_deep(text: &str) -> Option<Diagnostic> {
    let line_of = |offset: usize| text[..offset].bytes().filter(|b| *b == b'\n').count() + 1;
    if text.len() > MAX_CONFIG_BYTES {
        let mut at = MAX_CONFIG_BYTES;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        return Some(
            Diagnostic::error(
                Code::TooLarge,
                Span::new(line_of(at), 1, 1),
                format!("the file is {} bytes; flowform reads configs of at most {MAX_CONFIG_BYTES} bytes", text.len()),
            )
            .with_help("a config this large is not a system description: check that this is the right file"),
        );
    }
    let deep = |line: usize, col: usize| {
        Diagnostic::error(
            Code::TooLarge,
            Span::new(line, col, 1),
            format!("collections nested more than {MAX_NESTING} levels deep"),
        )
        .with_help("flowform configs nest a few levels; flatten this value")
    };
    let (mut flow, mut quote) = (0usize, None::<char>);
    for (i, l) in text.lines().enumerate() {
        // Block nesting: indentation plus `- ` list markers at the start of the line.
        let indent = l.len() - l.trim_start_matches(' ').len();
        let mut rest = l.trim_start_matches(' ');
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start_matches(' ');
        }
        if quote.is_none() && (indent + 2 * dashes) / 2 > MAX_NESTING {
            return Some(deep(i + 1, indent + 1));
        }
        // Flow nesting: `[` and `{` outside quotes and comments.
        for (col, c) in l.chars().enumerate() {
            match (quote, c) {
                (None, '#')
                    if col == 0
                        || l[..l.char_indices().nth(col).map_or(l.len(), |(b, _)| b)].ends_with([' ', '\t']) =>
                {
                    break
                }
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_NESTING {
                        return Some(deep(i + 1, col + 1));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        if quote == Some('\'') || flow == 0 {
            quote = None; // single-quoted scalars rarely span lines; never let one hide the rest
        }
    }
    None
}

/// The line of a document marker (`---` or `...` at column 1) that has config content both
/// before and after it: a second document, which the loader would silently drop.
fn second_document(text: &str) -> Option<usize> {
    let is_marker = |l: &str| {
        let t = l.trim_end();
        ["---", "..."].iter().any(|m| t == *m || t.strip_prefix(m).is_some_and(|rest| rest.starts_with([' ', '\t'])))
    };
    let is_content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && !l.starts_with('%')
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut seen_content = false;
    for (i, l) in lines.iter().enumerate() {
        if is_marker(l) {
            let inline = l.trim_end().len() > 3 && is_content(&l[3..]);
            if seen_content && (inline || lines[i + 1..].iter().any(|l| is_content(l) && !is_marker(l))) {
                return Some(i + 1);
            }
            seen_content |= inline;
        } else if is_content(l) {
            seen_content = true;
        }
    }
    None
}

#[cfg(test)]
mod document_tests {
    #[test]
    fn a_second_document_is_found_and_a_leading_marker_is_not() {
        let cases: &[(&str, Option<usize>)] = &[
            ("version: 1\n", None),
            ("---\nversion: 1\n", None),
            ("# c\n---\nversion: 1\n...\n# trailing comment\n", None),
            ("version: 1\n---\nsystem: s\n", Some(2)),
            ("version: 1\n...\nsystem: s\n", Some(2)),
            ("version: 1\n--- {system: s}\n", Some(2)),
            ("version: 1\n---\n", None),
            ("description: |\n  ---\n  text\n", None),
            ("a: 1\n----\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(super::second_document(text), *want, "{text:?}");
        }
    }

    #[test]
    fn size_and_nesting_are_bounded_before_loading() {
        let deep_flow = format!("version: 1\nx: {}{}\n", "[".repeat(65), "]".repeat(65));
        let d = super::too_big_or_deep(&deep_flow).expect("65 levels");
        assert_eq!((d.code.as_str(), d.span.line, d.span.col), ("E031", 2, 68));
        assert!(super::too_big_or_deep(&format!("x: {}{}\n", "[".repeat(64), "]".repeat(64))).is_none());
        assert!(
            super::too_big_or_deep("x: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n")
                .is_none(),
            "inside quotes"
        );
        let deep_block = format!("x:\n{}y\n", "- ".repeat(70));
        assert_eq!(super::too_big_or_deep(&deep_block).map(|d| d.span.line), Some(2));
        let big = "# padding\n".repeat(120_000);
        let d = super::too_big_or_deep(&big).expect("over 1 MiB");
        assert_eq!(d.span.line, super::MAX_CONFIG_BYTES / 10 + 1);
        assert!(super::too_big_or_deep(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../flowform.yaml")).unwrap()
        )
        .is_none());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let (_, diags) = super::parse("\u{feff}version: 1\nsystem: s\nstages: { dev: {} }\n");
        assert!(diags.iter().all(|d| d.code != "E003" && d.code != "E004"), "{diags:?}");
    }
}

fn load_error(e: &marked_yaml::LoadError) -> Diagnostic {
    use marked_yaml::LoadError::*;
    let at = |m: &marked_yaml::Marker| Span::new(m.line(), m.column(), 1);
    match e {
        TopLevelMustBeMapping(m) => Diagnostic::error(Code::Yaml, at(m), "the config must be a mapping of sections")
            .with_help("start with `version: 1` and `system: <name>`"),
        TopLevelMustBeSequence(m) => Diagnostic::error(Code::Yaml, at(m), "unexpected top-level sequence"),
        UnexpectedAnchor(m) => Diagnostic::error(Code::Yaml, at(m), "YAML anchors are not supported")
            .with_help("write the value out in full; flowform configs do not use anchors or aliases"),
        MappingKeyMustBeScalar(m) => Diagnostic::error(Code::Yaml, at(m), "mapping keys must be plain names"),
        UnexpectedTag(m) => Diagnostic::error(Code::Yaml, at(m), "YAML tags (`!tag`) are not supported in the config")
            .with_help("CloudFormation intrinsics are generated by flowform; write plain values"),
        ScanError(m, err) => {
            let msg = err.to_string();
            let msg = msg.split(" at byte").next().and_then(|m| m.split(" at line").next()).unwrap_or(&msg).to_string();
            Diagnostic::error(Code::Yaml, at(m), format!("invalid YAML: {msg}"))
                .with_help("check indentation and quoting around this place")
        }
        DuplicateKey(inner) => {
            let k = &inner.key;
            let prev = inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            Diagnostic::error(Code::Duplicate, scalar_span(k), format!("`{}` is defined twice", k.as_str()))
                .with_help(format!("the first definition is on line {prev}; keep one"))
        }
    }
}

fn scalar_span(s: &MarkedScalarNode) -> Span {
    match s.span().start() {
        Some(m) => Span::new(m.line(), m.column(), s.as_str().chars().count().max(1)),
        None => Span::NONE,
    }
}

fn node_span(n: &Node) -> Span {
    match n {
        Node::Scalar(s) => scalar_span(s),
        other => match other.span().start() {
            Some(m) => Span::new(m.line(), m.column(), 1),
            None => Span::NONE,
        },
    }
}

fn kind_name(n: &Node) -> &'static str {
    match n {
        Node::Scalar(_) => "a single value",
        Node::Mapping(_) => "a mapping",
        Node::Sequence(_) => "a list",
    }
}

struct Parser {
    diags: Vec<Diagnostic>,
}

/// Fields of one YAML mapping, checked against the allowed keys of its schema object.
struct Fields<'n> {
    map: &'n MarkedMappingNode,
    /// The object of [`crate::schema::OBJECTS`] these fields belong to.
    object: &'static str,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.map.get_node(key)
    }
}

impl Parser {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn wrong_type(&mut self, n: &Node, what: &str, expected: &str) {
        self.err(
            Diagnostic::error(
                Code::WrongType,
                node_span(n),
                format!("{what} must be {expected}, found {}", kind_name(n)),
            )
            .with_help(format!("write {what} as {expected}")),
        );
    }

    /// Reads a mapping whose keys must be keys of the schema's `object`; reports every other key.
    fn fields<'n>(&mut self, n: &'n Node, what: &str, object: &'static str) -> Option<Fields<'n>> {
        let allowed = keys(object);
        let Some(map) = n.as_mapping() else {
            // An empty value (`key:`) reads as an empty scalar: treat it as an empty mapping.
            if let Node::Scalar(s) = n {
                if s.as_str().is_empty() && s.may_coerce() {
                    return None;
                }
            }
            self.wrong_type(n, what, "a mapping");
            return None;
        };
        for (k, _) in map.iter() {
            if !allowed.contains(&k.as_str()) {
                let help = did_you_mean(k.as_str(), allowed.iter().copied()).unwrap_or_else(|| {
                    format!("{what} takes: {}", allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))
                });
                self.err(
                    Diagnostic::error(
                        Code::UnknownKey,
                        scalar_span(k),
                        format!("unknown key `{}` in {what}", k.as_str()),
                    )
                    .with_help(help),
                );
            }
        }
        Some(Fields { map, object })
    }

    /// Reads a mapping of user-chosen names to values, in document order.
    fn named<'n>(&mut self, n: Option<&'n Node>, what: &str) -> Vec<(Name, &'n Node)> {
        let Some(n) = n else { return Vec::new() };
        let Some(map) = n.as_mapping() else {
            if let Node::Scalar(s) = n {
                if s.as_str().is_empty() && s.may_coerce() {
                    return Vec::new();
                }
            }
            self.wrong_type(n, what, "a mapping of names");
            return Vec::new();
        };
        map.iter().map(|(k, v)| (Sp::new(k.as_str().to_string(), scalar_span(k)), v)).collect()
    }

    fn string(&mut self, n: Option<&Node>, what: &str) -> Option<Sp<String>> {
        let n = n?;
        match n {
            Node::Scalar(s) => Some(Sp::new(s.as_str().to_string(), scalar_span(s))),
            _ => {
                self.wrong_type(n, what, "a string");
                None
            }
        }
    }

    /// A whole-number key of `f`, checked against the range the schema gives it.
    fn int(&mut self, f: &Fields, key: &str, what: &str) -> Option<Sp<u64>> {
        let (min, max) = crate::schema::range(f.object, key).unwrap_or((0, u64::MAX));
        debug_assert!(crate::schema::range(f.object, key).is_some(), "schema has no whole number {}.{key}", f.object);
        self.uint(f.get(key), what, min, max)
    }

    fn uint(&mut self, n: Option<&Node>, what: &str, min: u64, max: u64) -> Option<Sp<u64>> {
        let n = n?;
        let Node::Scalar(s) = n else {
            self.wrong_type(n, what, "a whole number");
            return None;
        };
        let parsed = if s.may_coerce() { s.as_str().parse::<u64>().ok() } else { None };
        match parsed {
            Some(v) if (min..=max).contains(&v) => Some(Sp::new(v, scalar_span(s))),
            Some(v) => {
                self.err(
                    Diagnostic::error(
                        Code::OutOfRange,
                        scalar_span(s),
                        format!("{what} is {v}, outside {min}..={max}"),
                    )
                    .with_help(format!("use a value from {min} to {max}")),
                );
                None
            }
            None => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        scalar_span(s),
                        format!("{what} must be a whole number, found `{}`", s.as_str()),
                    )
                    .with_help(format!("write a number from {min} to {max}, without quotes")),
                );
                None
            }
        }
    }

    fn boolean(&mut self, n: Option<&Node>, what: &str) -> Option<Sp<bool>> {
        let n = n?;
        let Node::Scalar(s) = n else {
            self.wrong_type(n, what, "`true` or `false`");
            return None;
        };
        match s.as_bool() {
            Some(b) => Some(Sp::new(b, scalar_span(s))),
            None => {
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        scalar_span(s),
                        format!("{what} must be `true` or `false`, found `{}`", s.as_str()),
                    )
                    .with_help("write `true` or `false`, without quotes"),
                );
                None
            }
        }
    }

    fn strings(&mut self, n: Option<&Node>, what: &str) -> Vec<Sp<String>> {
        let Some(n) = n else { return Vec::new() };
        let Some(seq) = n.as_sequence() else {
            self.wrong_type(n, what, "a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            if let Some(s) = self.string(Some(item), &format!("each entry of {what}")) {
                out.push(s);
            }
        }
        out
    }

    fn env(&mut self, n: Option<&Node>, what: &str) -> Vec<(Name, Sp<String>)> {
        let mut out = Vec::new();
        for (k, v) in self.named(n, what) {
            if let Some(s) = self.string(Some(v), &format!("env var `{}`", k.value)) {
                out.push((k, s));
            }
        }
        out
    }

    /// Reports trigger options that belong to another kind of trigger than `kind`.
    fn only_for(&mut self, tf: &Fields, kind: &str, foreign: &[&str]) {
        for k in foreign {
            let Some(node) = tf.get(k) else { continue };
            let (owner, help) = match *k {
                "retries" | "max_event_age" => ("schedule", "remove it, or trigger the function on a schedule"),
                _ => ("queue", "remove it, or trigger the function from a queue"),
            };
            if owner != kind {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        node_span(node),
                        format!("`{k}` applies to {owner} triggers only"),
                    )
                    .with_help(help),
                );
            }
        }
    }

    fn config(&mut self, root: &Node) -> RawConfig {
        let mut cfg = RawConfig { top: Span::new(1, 1, 1), ..RawConfig::default() };
        let Some(f) = self.fields(root, "the config", "config") else {
            return cfg;
        };
        // Any number parses; validation says which versions this flowform reads (E025).
        cfg.version = self.uint(f.get("version"), "`version`", 0, u64::MAX);
        cfg.system = self.string(f.get("system"), "`system`");
        cfg.description = self.string(f.get("description"), "`description`");
        cfg.handlers_crate = self.string(f.get("handlers_crate"), "`handlers_crate`");
        if let Some(n) = f.get("defaults") {
            if let Some(d) = self.fields(n, "`defaults`", "defaults") {
                cfg.defaults = RawDefaults {
                    timeout: self.int(&d, "timeout", "`defaults.timeout`"),
                    memory: self.int(&d, "memory", "`defaults.memory`"),
                    architecture: self.string(d.get("architecture"), "`defaults.architecture`"),
                    log_retention_days: self.int(&d, "log_retention_days", "`defaults.log_retention_days`"),
                };
            }
        }
        for (name, n) in self.named(f.get("stages"), "`stages`") {
            let what = format!("stage `{}`", name.value);
            let mut st = RawStage { span: name.span, ..RawStage::default() };
            if let Some(sf) = self.fields(n, &what, "stage") {
                st.log_retention_days = self.int(&sf, "log_retention_days", "`log_retention_days`");
                st.http = self.http(sf.get("http"), &format!("`http` of {what}"));
                for (fname, fnode) in self.named(sf.get("functions"), &format!("`functions` of {what}")) {
                    let fw = format!("override of function `{}`", fname.value);
                    let o = match self.fields(fnode, &fw, "function_override") {
                        Some(of) => RawFunctionOverride {
                            timeout: self.int(&of, "timeout", "`timeout`"),
                            memory: self.int(&of, "memory", "`memory`"),
                            reserved_concurrency: self.int(&of, "reserved_concurrency", "`reserved_concurrency`"),
                            env: self.env(of.get("env"), "`env`"),
                        },
                        None => RawFunctionOverride::default(),
                    };
                    st.functions.push((fname, o));
                }
            }
            cfg.stages.push((name, st));
        }
        cfg.http = self.http(f.get("http"), "`http`");
        for (name, n) in self.named(f.get("topics"), "`topics`") {
            let what = format!("topic `{}`", name.value);
            let t = match self.fields(n, &what, "topic") {
                Some(tf) => RawTopic {
                    fifo: self.boolean(tf.get("fifo"), "`fifo`"),
                    content_based_dedup: self.boolean(tf.get("content_based_dedup"), "`content_based_dedup`"),
                    description: self.string(tf.get("description"), "`description`"),
                },
                None => RawTopic::default(),
            };
            cfg.topics.push((name, t));
        }
        for (name, n) in self.named(f.get("queues"), "`queues`") {
            let q = self.queue(n, &name);
            cfg.queues.push((name, q));
        }
        for (name, n) in self.named(f.get("functions"), "`functions`") {
            let func = self.function(n, &name);
            cfg.functions.push((name, func));
        }
        for (name, n) in self.named(f.get("email"), "`email`") {
            let what = format!("email `{}`", name.value);
            let e = match self.fields(n, &what, "email") {
                Some(ef) => RawEmail {
                    identity: self.string(ef.get("identity"), "`identity`"),
                    configuration_set: self.string(ef.get("configuration_set"), "`configuration_set`"),
                    senders: self.strings(ef.get("senders"), "`senders`"),
                },
                None => RawEmail::default(),
            };
            cfg.email.push((name, e));
        }
        for (name, n) in self.named(f.get("databases"), "`databases`") {
            let what = format!("database `{}`", name.value);
            let d = match self.fields(n, &what, "database") {
                Some(df) => RawDatabase {
                    engine: self.string(df.get("engine"), "`engine`"),
                    port: self.int(&df, "port", "`port`"),
                    name: self.string(df.get("name"), "`name`"),
                    iam_user: self.string(df.get("iam_user"), "`iam_user`"),
                    description: self.string(df.get("description"), "`description`"),
                },
                None => RawDatabase::default(),
            };
            cfg.databases.push((name, d));
        }
        for (name, n) in self.named(f.get("endpoints"), "`endpoints`") {
            let what = format!("endpoint `{}`", name.value);
            let e = match self.fields(n, &what, "endpoint") {
                Some(ef) => RawEndpoint {
                    default: self.string(ef.get("default"), "`default`"),
                    description: self.string(ef.get("description"), "`description`"),
                },
                None => RawEndpoint::default(),
            };
            cfg.endpoints.push((name, e));
        }
        for (name, n) in self.named(f.get("secrets"), "`secrets`") {
            let what = format!("secret `{}`", name.value);
            let s = match self.fields(n, &what, "secret") {
                Some(sf) => RawSecret {
                    length: self.int(&sf, "length", "`length`"),
                    description: self.string(sf.get("description"), "`description`"),
                },
                None => RawSecret::default(),
            };
            cfg.secrets.push((name, s));
        }
        cfg
    }

    fn http(&mut self, n: Option<&Node>, what: &str) -> RawHttp {
        let Some(n) = n else { return RawHttp::default() };
        let Some(hf) = self.fields(n, what, "http") else { return RawHttp::default() };
        let Some(t) = hf.get("throttle") else { return RawHttp::default() };
        let Some(tf) = self.fields(t, "`throttle`", "throttle") else { return RawHttp::default() };
        RawHttp {
            throttle_rate: self.int(&tf, "rate", "`throttle.rate`"),
            throttle_burst: self.int(&tf, "burst", "`throttle.burst`"),
        }
    }

    fn queue(&mut self, n: &Node, name: &Name) -> RawQueue {
        let what = format!("queue `{}`", name.value);
        let Some(qf) = self.fields(n, &what, "queue") else {
            return RawQueue::default();
        };
        let mut q = RawQueue {
            fifo: self.boolean(qf.get("fifo"), "`fifo`"),
            content_based_dedup: self.boolean(qf.get("content_based_dedup"), "`content_based_dedup`"),
            retention_days: self.int(&qf, "retention_days", "`retention_days`"),
            description: self.string(qf.get("description"), "`description`"),
            ..RawQueue::default()
        };
        if let Some(d) = qf.get("dlq") {
            match d {
                Node::Scalar(s) if s.as_bool() == Some(false) => q.dlq = Some(Sp::new(None, scalar_span(s))),
                Node::Scalar(s) if s.as_bool() == Some(true) || (s.as_str().is_empty() && s.may_coerce()) => {
                    q.dlq = Some(Sp::new(Some(RawDlq::default()), scalar_span(s)))
                }
                _ => {
                    if let Some(df) = self.fields(d, "`dlq`", "dlq") {
                        q.dlq = Some(Sp::new(
                            Some(RawDlq {
                                max_receives: self.int(&df, "max_receives", "`dlq.max_receives`"),
                                retention_days: self.int(&df, "retention_days", "`dlq.retention_days`"),
                                retry_window: self.int(&df, "retry_window", "`dlq.retry_window`"),
                            }),
                            node_span(d),
                        ));
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

    fn function(&mut self, n: &Node, name: &Name) -> RawFunction {
        let what = format!("function `{}`", name.value);
        let mut func = RawFunction { span: name.span, ..RawFunction::default() };
        let Some(ff) = self.fields(n, &what, "function") else {
            return func;
        };
        func.handler = self.string(ff.get("handler"), "`handler`");
        func.description = self.string(ff.get("description"), "`description`");
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
                            func.trigger = Some(Sp::new(
                                RawTrigger::Http { auth: self.string(hf.get("auth"), "`auth`"), routes },
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
        func
    }
}

/// A filter policy as JSON: plain numbers and booleans keep their type, quoted text stays text.
fn to_json(n: &Node) -> Json {
    match n {
        Node::Scalar(s) => {
            let t = s.as_str();
            if !s.may_coerce() {
                return Json::String(t.to_string());
            }
            if let Some(b) = s.as_bool() {
                return Json::Bool(b);
            }
            if t == "null" || t == "~" {
                return Json::Null;
            }
            if let Ok(i) = t.parse::<i64>() {
                return Json::from(i);
            }
            if let Ok(f) = t.parse::<f64>() {
                if let Some(num) = serde_json::Number::from_f64(f) {
                    return Json::Number(num);
                }
            }
            Json::String(t.to_string())
        }
        Node::Sequence(seq) => Json::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(map) => Json::Object(map.iter().map(|(k, v)| (k.as_str().to_string(), to_json(v))).collect()),
    }
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
