//! Reading spanned YAML: the parser's state, typed readers of single values (checked against
//! the schema table), and positions.

use super::{Name, Sp};
use crate::codes::Code;
use crate::diag::{did_you_mean, surely_meant, Diagnostic, Span};
use crate::schema::keys;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::Node;
use serde_json::Value as Json;

pub(super) fn scalar_span(s: &MarkedScalarNode) -> Span {
    match s.span().start() {
        Some(m) => Span::new(m.line(), m.column(), s.as_str().chars().count().max(1)),
        None => Span::NONE,
    }
}

pub(super) fn node_span(n: &Node) -> Span {
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

#[derive(Default)]
pub(super) struct Parser {
    pub(super) diags: Vec<Diagnostic>,
}

/// Fields of one YAML mapping, checked against the allowed keys of its schema object.
pub(super) struct Fields<'n> {
    map: &'n MarkedMappingNode,
    /// The object of [`crate::schema::OBJECTS`] these fields belong to.
    object: &'static str,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.map.get_node(key)
    }
}

impl Parser {
    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(super) fn wrong_type(&mut self, n: &Node, what: &str, expected: &str) {
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
    pub(super) fn fields<'n>(&mut self, n: &'n Node, what: &str, object: &'static str) -> Option<Fields<'n>> {
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
                // A near-certain typo first (`queue` for `queues`), then a key of another part
                // of the config (`batch_size` on a queue), then a looser guess, then the list.
                let elsewhere = crate::schema::places_of(k.as_str(), object);
                let help = surely_meant(k.as_str(), allowed.iter().copied())
                    .or_else(|| {
                        (!elsewhere.is_empty() && elsewhere.len() <= 3)
                            .then(|| format!("`{}` belongs to {}, not to {what}", k.as_str(), elsewhere.join(" or ")))
                    })
                    .or_else(|| did_you_mean(k.as_str(), allowed.iter().copied()))
                    .unwrap_or_else(|| {
                        format!(
                            "{what} takes: {}",
                            allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                        )
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
    pub(super) fn named<'n>(&mut self, n: Option<&'n Node>, what: &str) -> Vec<(Name, &'n Node)> {
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

    pub(super) fn string(&mut self, n: Option<&Node>, what: &str) -> Option<Sp<String>> {
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
    pub(super) fn int(&mut self, f: &Fields, key: &str, what: &str) -> Option<Sp<u64>> {
        let (min, max) = crate::schema::range(f.object, key).unwrap_or((0, u64::MAX));
        debug_assert!(crate::schema::range(f.object, key).is_some(), "schema has no whole number {}.{key}", f.object);
        self.uint(f.get(key), what, min, max)
    }

    pub(super) fn uint(&mut self, n: Option<&Node>, what: &str, min: u64, max: u64) -> Option<Sp<u64>> {
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
                let text = s.as_str();
                let quoted = !s.may_coerce() && text.trim().parse::<u64>().is_ok();
                let (found, help) = if quoted {
                    (
                        format!("the text \"{text}\""),
                        format!("write `{}` without quotes: quoted, it is text", text.trim()),
                    )
                } else if max == u64::MAX {
                    (format!("`{text}`"), "write a whole number without quotes".to_string())
                } else {
                    (format!("`{text}`"), format!("write a number from {min} to {max}, without quotes"))
                };
                self.err(
                    Diagnostic::error(
                        Code::WrongType,
                        scalar_span(s),
                        format!("{what} must be a whole number, found {found}"),
                    )
                    .with_help(help),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, n: Option<&Node>, what: &str) -> Option<Sp<bool>> {
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

    pub(super) fn strings(&mut self, n: Option<&Node>, what: &str) -> Vec<Sp<String>> {
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

    pub(super) fn env(&mut self, n: Option<&Node>, what: &str) -> Vec<(Name, Sp<String>)> {
        let mut out = Vec::new();
        for (k, v) in self.named(n, what) {
            if let Some(s) = self.string(Some(v), &format!("env var `{}`", k.value)) {
                out.push((k, s));
            }
        }
        out
    }

    /// Reports trigger options that belong to another kind of trigger than `kind`.
    pub(super) fn only_for(&mut self, tf: &Fields, kind: &str, foreign: &[&str]) {
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
}

/// A filter policy as JSON: plain numbers and booleans keep their type, quoted text stays text.
pub(super) fn to_json(n: &Node) -> Json {
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
