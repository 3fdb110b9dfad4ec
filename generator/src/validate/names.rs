//! Names: the rules every user-chosen name follows, and references from one part of the
//! config to another (with "did you mean" help).

use super::Validator;
use crate::codes::Code;
use crate::config::{Name, RawConfig};
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::ids::pascal;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds of names, for messages.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Topic,
    Queue,
    Function,
    Email,
    Database,
    Endpoint,
    Secret,
    Authorizer,
    Stage,
}

impl Kind {
    pub(super) fn word(self) -> &'static str {
        match self {
            Kind::Topic => "topic",
            Kind::Queue => "queue",
            Kind::Function => "function",
            Kind::Email => "email sender",
            Kind::Database => "database",
            Kind::Endpoint => "endpoint",
            Kind::Secret => "secret",
            Kind::Authorizer => "authorizer",
            Kind::Stage => "stage",
        }
    }
    pub(super) fn section(self) -> &'static str {
        match self {
            Kind::Topic => "topics",
            Kind::Queue => "queues",
            Kind::Function => "functions",
            Kind::Email => "email",
            Kind::Database => "databases",
            Kind::Endpoint => "endpoints",
            Kind::Secret => "secrets",
            Kind::Authorizer => "authorizers",
            Kind::Stage => "stages",
        }
    }
}

/// The rule of every user-chosen name but a stage's: a lowercase letter, then lowercase
/// letters, digits, `_` and `-`.
pub(super) fn rule_ok(n: &str) -> bool {
    n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The valid names declared in each section; references resolve against these.
pub(super) struct Declared {
    pub topics: BTreeSet<String>,
    pub queues: BTreeSet<String>,
    pub functions: BTreeSet<String>,
    pub emails: BTreeSet<String>,
    pub databases: BTreeSet<String>,
    pub endpoints: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub authorizers: BTreeSet<String>,
    pub stages: BTreeSet<String>,
    /// Topics, queues and functions with a valid `renamed_from`: (section, name) -> the name
    /// whose resources they keep.
    pub renamed: BTreeMap<(&'static str, String), String>,
}

impl Declared {
    /// The name a topic's, queue's or function's resources are named after: its
    /// `renamed_from`, else its name.
    pub(super) fn identity<'a>(&'a self, kind: Kind, name: &'a str) -> &'a str {
        self.renamed.get(&(kind.section(), name.to_string())).map_or(name, String::as_str)
    }
}

impl Validator {
    pub(super) fn declared(&mut self, raw: &RawConfig) -> Declared {
        let mut declared = Declared {
            topics: self.names(Kind::Topic, &raw.topics),
            queues: self.names(Kind::Queue, &raw.queues),
            functions: self.names(Kind::Function, &raw.functions),
            emails: self.names(Kind::Email, &raw.email),
            databases: self.names(Kind::Database, &raw.databases),
            endpoints: self.names(Kind::Endpoint, &raw.endpoints),
            secrets: self.names(Kind::Secret, &raw.secrets),
            authorizers: self.names(Kind::Authorizer, &raw.authorizers),
            stages: self.names(Kind::Stage, &raw.stages),
            renamed: BTreeMap::new(),
        };
        declared.renamed = self.renames(raw, &declared);
        if raw.stages.is_empty() && !raw.refused.contains(&"stages") {
            self.err(
                Diagnostic::error(Code::Missing, raw.top, "no `stages` defined")
                    .with_help("add `stages: { dev: {}, prod: {} }`; each stage gets its own template under out/"),
            );
        }
        declared
    }

    /// Names: lowercase letters, digits, `_` and `-`, starting with a letter; unique after the
    /// conversion to a logical ID (PascalCase).
    pub(super) fn names<T>(&mut self, kind: Kind, items: &[(Name, T)]) -> BTreeSet<String> {
        let mut seen: BTreeMap<String, &Name> = BTreeMap::new();
        let mut out = BTreeSet::new();
        for (name, _) in items {
            let n = &name.value;
            let ok_chars = rule_ok(n);
            let ok = match kind {
                Kind::Stage => {
                    n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                }
                _ => ok_chars,
            };
            if !ok {
                self.refused.insert((kind.section(), n.clone()));
                let rule = match kind {
                    Kind::Stage => "stage names are lowercase letters and digits, e.g. `dev`, `prod`".to_string(),
                    Kind::Queue | Kind::Topic if n.strip_suffix(".fifo").is_some_and(rule_ok) => format!(
                        "write `{}` with `fifo: true`: flowform adds the `.fifo` suffix to the {} name",
                        n.trim_end_matches(".fifo"),
                        kind.word()
                    ),
                    _ => {
                        "names start with a lowercase letter and use lowercase letters, digits, `_` and `-`".to_string()
                    }
                };
                self.err(
                    Diagnostic::error(Code::BadName, name.span, format!("invalid {} name `{n}`", kind.word()))
                        .with_help(rule),
                );
                continue;
            }
            let key = pascal(n);
            if let Some(prev) = seen.get(&key) {
                self.refused.insert((kind.section(), n.clone()));
                self.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        name.span,
                        format!(
                            "{} `{n}` clashes with `{}` (both become `{key}` in the template)",
                            kind.word(),
                            prev.value
                        ),
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

    pub(super) fn resolve(&mut self, kind: Kind, r: &Name, known: &BTreeSet<String>, from: &str) -> bool {
        if known.contains(&r.value) {
            return true;
        }
        if self.refused.contains(&(kind.section(), r.value.clone())) {
            return false; // its definition is already reported
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
            Diagnostic::error(
                Code::Undefined,
                r.span,
                format!("{from} refers to {} `{}`, which is not defined", kind.word(), r.value),
            )
            .with_help(help),
        );
        false
    }

    pub(super) fn refs(&mut self, kind: Kind, refs: &[Name], known: &BTreeSet<String>, from: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for r in refs {
            if !seen.insert(r.value.clone()) {
                self.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        r.span,
                        format!("{} `{}` is listed twice in {from}", kind.word(), r.value),
                    )
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

    pub(super) fn length(&mut self, span: Span, what: &str, physical: &str, max: usize) {
        if physical.len() > max {
            self.err(
                Diagnostic::error(
                    Code::NameTooLong,
                    span,
                    format!("{what} `{physical}` is {} characters; AWS allows {max}", physical.len()),
                )
                .with_help("shorten the name (the physical name is `<system>-<stage>-<name>`)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn names() {
        check(&[
            ("topics:\n  t_1: {}\n", &[]),
            ("topics:\n  Bad_Name: {}\n", &[BadName]),
            ("topics:\n  t-x: {}\n  t_x: {}\n", &[Duplicate]),
        ]);
    }
}
